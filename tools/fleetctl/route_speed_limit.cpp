#include <atomic>
#include <iostream>
#include <optional>

#include <boost/program_options.hpp>

#include "dispatch/route_rules.hpp"
#include "geo/error.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = boost::program_options;

const char* const usage =
    "route-speed-limit set --route CODE [--feed F] --from-m A --to-m B --limit KMH\n"
    "         | unset --route CODE [--feed F] --from-m A --to-m B | list [--route CODE] "
    "[--feed F]";

int route_speed_limit(const server::Config& config, const std::vector<std::string>& args) {
    std::string route;
    std::string feed;
    std::string actor;
    std::optional<double> from_m;
    std::optional<double> to_m;
    std::optional<double> limit;
    std::vector<std::string> words;
    po::options_description options("route-speed-limit options");
    // clang-format off
    options.add_options()
        ("route", po::value(&route), "route code")
        ("feed", po::value(&feed), "the route's feed (default: local; list: every feed)")
        ("from-m", po::value<double>(), "start of the stretch, metres along the route's line")
        ("to-m", po::value<double>(), "end of the stretch (exclusive; beyond the end: to the end)")
        ("limit", po::value<double>(), "km/h")
        ("actor", po::value(&actor)->default_value("fleetctl"), "who, for the journal");
    // clang-format on
    po::options_description all;
    all.add(options).add_options()("words", po::value(&words));
    po::positional_options_description positional;
    positional.add("words", -1);
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
        for (auto [name, slot] :
             {std::pair{"from-m", &from_m}, std::pair{"to-m", &to_m}, std::pair{"limit", &limit}}) {
            if (vm.count(name)) {
                *slot = vm[name].as<double>();
            }
        }
    } catch (const po::error& e) {
        throw ConfigError("route-speed-limit", std::string(e.what()) + "; usage: " + usage);
    }
    const std::string action = words.size() == 1 ? words.front() : "";
    const bool ok = (action == "set" && !route.empty() && from_m && to_m && limit) ||
                    (action == "unset" && !route.empty() && from_m && to_m && !limit) ||
                    (action == "list" && !from_m && !to_m && !limit);
    if (!ok) {
        throw ConfigError("route-speed-limit", std::string("usage: ") + usage);
    }
    const dispatch::RouteRef ref{.feed = feed.empty() ? "local" : feed, .code = route};
    std::atomic<bool> never{false};
    auto db = server::open_database(config, never);
    if (action == "set") {
        const auto s = dispatch::set_route_speed_limit(*db, ref, *from_m, *to_m, *limit, actor);
        std::cout << ref.feed << "/" << ref.code << ": " << s.limit_kmh << " km/h from " << s.from_m
                  << " m to " << s.to_m << " m; fleetd applies it within a minute\n";
        return 0;
    }
    if (action == "unset") {
        const auto n = dispatch::unset_route_speed_limit(*db, ref, *from_m, *to_m, actor);
        std::cout << ref.feed << "/" << ref.code << ": " << *from_m << " m to " << *to_m << " m "
                  << (n == 0 ? "had no limit of its own (nothing changed)"
                             : "cleared (" + std::to_string(n) + " stretches touched)")
                  << "\n";
        return 0;
    }
    const auto rows = dispatch::list_route_speed_limits(*db, feed, route);
    for (const auto& r : rows) {
        std::cout << r.route.feed << "/" << r.route.code << "  " << r.segment.from_m << " – "
                  << r.segment.to_m << " m  " << r.segment.limit_kmh << " km/h\n";
    }
    if (rows.empty()) {
        std::cout << "no route speed limits" << (route.empty() ? "" : " for route " + route)
                  << "\n";
    }
    return 0;
}

const Registration registration(
    "route-speed-limit",
    {"speed limits along a route (metres along its line); setting a stretch replaces what it "
     "covers; the lowest of segment, zone and class cap applies; journalled",
     usage, route_speed_limit});

}  // namespace

}  // namespace fleet::tools::fleetctl
