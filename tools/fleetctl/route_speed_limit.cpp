#include <atomic>
#include <iostream>
#include <optional>

#include <boost/program_options.hpp>

#include "dispatch/route_rules.hpp"
#include "geo/error.hpp"
#include "geo/number_text.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/option_errors.hpp"
#include "tools/fleetctl/waybill_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = boost::program_options;

const char* const usage =
    "route-speed-limit set --route CODE [--feed F] --from-m A --to-m B --limit KMH\n"
    "         | unset --route CODE [--feed F] --from-m A --to-m B | list [--route CODE] "
    "[--feed F]";

po::options_description options() {
    po::options_description d("route-speed-limit options");
    // clang-format off
    d.add_options()
        ("route", po::value<std::string>()->value_name("CODE"), "route code")
        ("feed", po::value<std::string>()->value_name("F"), (feed_help("the route's feed") + "; list without --feed: every feed").c_str())
        ("from-m", po::value<double>()->value_name("M"), "start of the stretch, metres along the route's line")
        ("to-m", po::value<double>()->value_name("M"), "end of the stretch, metres (exclusive; beyond the end: to the end)")
        ("limit", po::value<double>()->value_name("KMH"), "the limit on the stretch, km/h (5-300)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int route_speed_limit(const server::Config& config, const std::vector<std::string>& args) {
    po::options_description all;
    all.add(options()).add_options()("words", po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add("words", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw ConfigError("route-speed-limit",
                          explain_option_error(e, all, "route-speed-limit") + "; usage: " + usage);
    }
    const auto text = [&](const char* key) {
        return vm.count(key) ? vm[key].as<std::string>() : std::string();
    };
    const std::string route = text("route");
    const std::string feed = text("feed");
    const std::string actor = text("actor");
    const auto words =
        vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
    const auto from_m = cli::optional<double>(vm, "from-m");
    const auto to_m = cli::optional<double>(vm, "to-m");
    const auto limit = cli::optional<double>(vm, "limit");
    const std::string action = words.size() == 1 ? words.front() : "";
    const bool ok = (action == "set" && !route.empty() && from_m && to_m && limit) ||
                    (action == "unset" && !route.empty() && from_m && to_m && !limit) ||
                    (action == "list" && !from_m && !to_m && !limit);
    if (!ok) {
        throw ConfigError("route-speed-limit", std::string("usage: ") + usage);
    }
    const dispatch::RouteRef ref{.feed = feed.empty() ? default_feed : feed, .code = route};
    std::atomic<bool> never{false};
    auto db = server::open_database(config, never);
    if (action == "set") {
        const auto s = dispatch::set_route_speed_limit(*db, ref, *from_m, *to_m, *limit, actor);
        std::cout << ref.feed << "/" << ref.code << ": " << geo::plain_number(s.limit_kmh)
                  << " km/h from " << geo::plain_number(s.from_m) << " m to "
                  << geo::plain_number(s.to_m) << " m; fleetd applies it within a minute\n";
        return 0;
    }
    if (action == "unset") {
        const auto n = dispatch::unset_route_speed_limit(*db, ref, *from_m, *to_m, actor);
        std::cout << ref.feed << "/" << ref.code << ": " << geo::plain_number(*from_m) << " m to "
                  << geo::plain_number(*to_m) << " m "
                  << (n == 0 ? "had no limit of its own (nothing changed)"
                             : "cleared (" + std::to_string(n) + " stretches touched)")
                  << "\n";
        return 0;
    }
    const auto rows = dispatch::list_route_speed_limits(*db, feed, route);
    for (const auto& r : rows) {
        std::cout << r.route.feed << "/" << r.route.code << "  "
                  << geo::plain_number(r.segment.from_m) << " – "
                  << geo::plain_number(r.segment.to_m) << " m  "
                  << geo::plain_number(r.segment.limit_kmh) << " km/h\n";
    }
    if (rows.empty()) {
        // The route (or feed) exists: list_route_speed_limits refuses an unknown one.
        std::cout << "no route speed limits"
                  << (route.empty() ? "" : " for route " + (feed.empty() ? "" : feed + "/") + route)
                  << (route.empty() && !feed.empty() ? " in feed " + feed : "")
                  << " (zone limits, class caps and speed-limit apply)\n";
    }
    return 0;
}

const Registration registration(
    "route-speed-limit",
    {"speed limits along a route (metres along its line); setting a stretch replaces what it "
     "covers; the lowest of segment, zone and class cap applies; journalled",
     usage, route_speed_limit, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
