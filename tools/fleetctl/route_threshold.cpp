#include <atomic>
#include <charconv>
#include <cmath>
#include <iostream>

#include <boost/program_options.hpp>

#include "dispatch/route_rules.hpp"
#include "dispatch/thresholds.hpp"
#include "geo/error.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = boost::program_options;

const char* const usage =
    "route-threshold set --route CODE [--feed F] NAME VALUE | unset --route CODE [--feed F] NAME"
    "\n         | list [--route CODE] [--feed F]";

double number(const std::string& text) {
    double v = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(v)) {
        throw InputError("'" + text + "' is not a number");
    }
    return v;
}

int route_threshold(const server::Config& config, const std::vector<std::string>& args) {
    std::string route;
    std::string feed;
    std::string actor;
    std::vector<std::string> words;
    po::options_description options("route-threshold options");
    options.add_options()("route", po::value(&route), "route code")(
        "feed", po::value(&feed), "the route's feed (default: local; list: every feed)")(
        "actor", po::value(&actor)->default_value("fleetctl"), "who, for the journal");
    po::options_description all;
    all.add(options).add_options()("words", po::value(&words));
    po::positional_options_description positional;
    positional.add("words", -1);
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw ConfigError("route-threshold", std::string(e.what()) + "; usage: " + usage);
    }
    const std::string action = words.empty() ? "" : words.front();
    const std::size_t expected = action == "set" ? 3 : action == "unset" ? 2 : 1;
    if ((action != "set" && action != "unset" && action != "list") || words.size() != expected ||
        (action != "list" && route.empty())) {
        throw ConfigError("route-threshold", std::string("usage: ") + usage + "\nNAME: one of " +
                                                 dispatch::threshold_names(true));
    }
    const dispatch::RouteRef ref{.feed = feed.empty() ? "local" : feed, .code = route};
    // Names and values are checked before connecting: a typo needs no database.
    const dispatch::ThresholdKey* key = nullptr;
    double value = 0;
    if (action != "list") {
        key = &dispatch::route_threshold_key(words[1]);
    }
    if (action == "set") {
        value = number(words[2]);
        dispatch::check_route_threshold(words[1], value);
    }
    std::atomic<bool> never{false};
    auto db = server::open_database(config, never);
    if (action == "set") {
        dispatch::set_route_threshold(*db, ref, words[1], value, actor);
        std::cout << ref.feed << "/" << ref.code << ": " << words[1] << " = " << value << " "
                  << key->unit << " (configured: " << key->get(config.dispatch)
                  << "); fleetd applies it within a minute\n";
        return 0;
    }
    if (action == "unset") {
        if (!dispatch::unset_route_threshold(*db, ref, words[1], actor)) {
            std::cout << ref.feed << "/" << ref.code << ": no " << words[1]
                      << " of its own (nothing changed)\n";
            return 0;
        }
        std::cout << ref.feed << "/" << ref.code << ": " << words[1] << " back to the configured "
                  << key->get(config.dispatch) << " " << key->unit << "\n";
        return 0;
    }
    const auto rows = dispatch::list_route_thresholds(*db, feed, route);
    for (const auto& r : rows) {
        const auto* k = dispatch::find_threshold_key(r.name);
        std::cout << r.route.feed << "/" << r.route.code << "  " << r.name << " = " << r.value;
        if (k != nullptr) {
            std::cout << " " << k->unit << " (configured: " << k->get(config.dispatch) << ")";
        } else {
            std::cout << " (unknown name: ignored by the engine)";
        }
        std::cout << "\n";
    }
    if (rows.empty()) {
        std::cout << "no route thresholds" << (route.empty() ? "" : " for route " + route) << "\n";
    }
    return 0;
}

const Registration registration(
    "route-threshold",
    {"a route's own value of a dispatch threshold (NAME: a fleetd configuration key such as "
     "late-after or on-route-distance), over the configuration on that route's trips; "
     "journalled",
     usage, route_threshold});

}  // namespace

}  // namespace fleet::tools::fleetctl
