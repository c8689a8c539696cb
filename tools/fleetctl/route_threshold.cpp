#include <atomic>
#include <charconv>
#include <cmath>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "dispatch/route_rules.hpp"
#include "dispatch/thresholds.hpp"
#include "geo/error.hpp"
#include "geo/number_text.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/option_errors.hpp"

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
        throw InputError("VALUE must be a number (digits, a '.' for decimals, no unit), not '" +
                         text + "'");
    }
    return v;
}

po::options_description options() {
    po::options_description d("route-threshold options");
    d.add_options()("route", po::value<std::string>()->value_name("CODE"), "route code")(
        "feed", po::value<std::string>()->value_name("F"),
        (feed_help("the route's feed") + "; list without --feed: every feed").c_str())(
        "actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"),
        "who, for the journal");
    return d;
}

std::string help() {
    std::ostringstream out;
    out << options() << "\nNAME: one of " << dispatch::threshold_names(true)
        << "\nVALUE: in the key's unit (seconds, metres, km/h, %, fixes; fleetd --help lists "
           "them); a route without a value of its own has the configured one\n";
    return out.str();
}

int route_threshold(const server::Config& config, const std::vector<std::string>& args) {
    po::options_description all;
    all.add(options()).add_options()("words", po::value<std::vector<std::string>>());
    po::positional_options_description positional;
    positional.add("words", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        throw ConfigError("route-threshold",
                          explain_option_error(e, all, "route-threshold") + "; usage: " + usage);
    }
    const auto text = [&](const char* key) {
        return vm.count(key) ? vm[key].as<std::string>() : std::string();
    };
    const std::string route = text("route");
    const std::string feed = text("feed");
    const std::string actor = text("actor");
    const auto words =
        vm.count("words") ? vm["words"].as<std::vector<std::string>>() : std::vector<std::string>{};
    const std::string action = words.empty() ? "" : words.front();
    const std::size_t expected = action == "set" ? 3 : action == "unset" ? 2 : 1;
    if ((action != "set" && action != "unset" && action != "list") || words.size() != expected ||
        (action != "list" && route.empty())) {
        throw ConfigError("route-threshold", std::string("usage: ") + usage + "\nNAME: one of " +
                                                 dispatch::threshold_names(true));
    }
    const dispatch::RouteRef ref{.feed = feed.empty() ? default_feed : feed, .code = route};
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
        std::cout << ref.feed << "/" << ref.code << ": " << words[1] << " = "
                  << geo::plain_number(value) << " " << key->unit
                  << " (configured: " << geo::plain_number(key->get(config.dispatch))
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
                  << geo::plain_number(key->get(config.dispatch)) << " " << key->unit << "\n";
        return 0;
    }
    const auto rows = dispatch::list_route_thresholds(*db, feed, route);
    for (const auto& r : rows) {
        const auto* k = dispatch::find_threshold_key(r.name);
        std::cout << r.route.feed << "/" << r.route.code << "  " << r.name << " = "
                  << geo::plain_number(r.value);
        if (k != nullptr) {
            std::cout << " " << k->unit
                      << " (configured: " << geo::plain_number(k->get(config.dispatch)) << ")";
        } else {
            std::cout << " (unknown name: ignored by the engine)";
        }
        std::cout << "\n";
    }
    if (rows.empty()) {
        // The route (or feed) exists: list_route_thresholds refuses an unknown one.
        std::cout << "no route thresholds"
                  << (route.empty() ? "" : " for route " + (feed.empty() ? "" : feed + "/") + route)
                  << (route.empty() && !feed.empty() ? " in feed " + feed : "")
                  << " (every value is the configured one)\n";
    }
    return 0;
}

const Registration registration(
    "route-threshold",
    {"a route's own value of a dispatch threshold, over the configured one on that route's "
     "trips; NAME: a fleetd configuration key such as late-after or on-route-distance; "
     "journalled",
     usage, route_threshold, help});

}  // namespace

}  // namespace fleet::tools::fleetctl
