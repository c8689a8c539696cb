// The engine's thresholds by their configuration keys: what fleetd's configuration and a route's
// overrides both name.
#include <doctest/doctest.h>

#include <set>

#include "dispatch/thresholds.hpp"

using namespace fleet::dispatch;
using namespace std::chrono_literals;

TEST_CASE("every threshold has one key, a unit, a range holding its default, and round-trips") {
    std::set<std::string_view> seen;
    const Thresholds defaults;
    for (const auto& k : threshold_keys()) {
        CAPTURE(k.key);
        CHECK(seen.insert(k.key).second);
        CHECK_FALSE(k.unit.empty());
        CHECK_FALSE(k.meaning.empty());
        CHECK_FALSE(threshold_problem(k, k.get(defaults)));
        Thresholds t;
        k.set(t, k.max);
        CHECK(k.get(t) == k.max);
    }
    // The keys fleetd has always had keep their names.
    for (const char* key : {"on-route-distance", "late-after", "early-after", "deviation-persist",
                            "signal-lost-after", "speed-limit", "overspeed-min"}) {
        CHECK(find_threshold_key(key) != nullptr);
    }
    CHECK(find_threshold_key("late") == nullptr);
}

TEST_CASE("a route's overrides apply to its own thresholds only, and only sane values") {
    const Thresholds t = with_overrides(Thresholds{}, {{"late-after", 600},
                                                       {"on-route-distance", 150},
                                                       {"moving-speed", 50},  // not per route
                                                       {"early-after", -5},   // out of range
                                                       {"no-such-key", 1}});
    CHECK(t.late == 600s);
    CHECK(t.on_route_m == 150);
    CHECK(t.moving_kmh == Thresholds{}.moving_kmh);
    CHECK(t.early == Thresholds{}.early);
    CHECK(threshold_names(true).find("moving-speed") == std::string::npos);
    CHECK(threshold_names(false).find("moving-speed") != std::string::npos);
}

TEST_CASE("out-of-range and fractional values are described with the key's unit") {
    const auto* late = find_threshold_key("late-after");
    REQUIRE(late != nullptr);
    CHECK(threshold_problem(*late, 100000) == "must be between 0 and 86400 s, got 100000");
    CHECK(threshold_problem(*late, 30.5) == "must be a whole number of seconds, got 30.5");
    const auto* distance = find_threshold_key("on-route-distance");
    REQUIRE(distance != nullptr);
    CHECK_FALSE(threshold_problem(*distance, 62.5));
}
