#include <doctest/doctest.h>

#include "dispatch/speed_limits.hpp"
#include "dispatch/tracker.hpp"
#include "geo/error.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {
// A 1 km square block with a 200 m square courtyard (a hole) in its middle.
geo::Polygon block() {
    return {
        {{30.000, 60.000}, {30.018, 60.000}, {30.018, 60.009}, {30.000, 60.009}, {30.000, 60.000}},
        {{30.007, 60.0035},
         {30.011, 60.0035},
         {30.011, 60.0055},
         {30.007, 60.0055},
         {30.007, 60.0035}}};
}
}  // namespace

TEST_CASE("containment honours holes; the lowest limit of overlapping zones applies") {
    CHECK(contains(block(), {30.002, 60.001}));
    CHECK_FALSE(contains(block(), {30.009, 60.0045}));  // in the courtyard
    CHECK_FALSE(contains(block(), {30.020, 60.001}));
    SpeedLimits limits;
    limits.add_zone(1, {block()}, 40);
    limits.add_zone(2, {{{{30.000, 60.000}, {30.004, 60.000}, {30.004, 60.002}, {30.000, 60.002}}}},
                    20);
    CHECK(limits.zone_limit({30.002, 60.001}) == 20);  // residential corner inside the 40 zone
    CHECK(limits.zone_limit({30.010, 60.001}) == 40);
    CHECK_FALSE(limits.zone_limit({31, 61}).has_value());
}

TEST_CASE("class caps are parsed with clear errors and applied per vehicle") {
    const auto caps = parse_class_caps("bus:70,truck:70", "class-speed-limits");
    CHECK(caps.at("bus") == 70);
    CHECK_THROWS_WITH_AS(parse_class_caps("bus=70", "class-speed-limits"),
                         doctest::Contains("'class-speed-limits': 'bus=70' is not CLASS:KMH"),
                         ConfigError);
    CHECK_THROWS_AS(parse_class_caps("bus:9000", "k"), ConfigError);
    SpeedLimits limits;
    limits.set_class_cap("bus", 70);
    limits.set_vehicle_class(5, "bus");
    limits.set_vehicle_class(6, "car");
    CHECK(limits.class_cap(5) == 70);
    CHECK_FALSE(limits.class_cap(6).has_value());
}

TEST_CASE("a bus capped at 70 speeds at 85 in a 90 zone; a car in a 20 zone at 35") {
    const Millis t0 = Millis(std::chrono::milliseconds(1'764'230'400'000));
    auto drive = [&](VehicleTracker& tracker, double kmh, double zone_limit) {
        std::vector<Event> events;
        geo::LonLat p{30.0, 60.0};
        for (int i = 0; i <= 8; ++i) {
            Fix f{t0 + i * 5s, p, i < 8 ? kmh : 10.0, true, zone_limit, {}};
            auto out = tracker.on_fix(f);
            events.insert(events.end(), out.begin(), out.end());
            p.lat_deg += 0.001;
        }
        return events;
    };
    VehicleTracker bus(1, Thresholds{});
    bus.set_class_cap(70.0);
    auto events = drive(bus, 85, 90);
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().kind == EventKind::overspeed);
    CHECK(events.back().details["limit_kmh"] == 70.0);
    CHECK(events.back().magnitude == doctest::Approx(15));

    VehicleTracker car(2, Thresholds{});
    events = drive(car, 35, 20);
    REQUIRE_FALSE(events.empty());
    CHECK(events.back().details["limit_kmh"] == 20.0);
    CHECK(events.back().details["tier"] == 0);  // +15: below the fines' first tier

    VehicleTracker legal(3, Thresholds{});
    CHECK(drive(legal, 85, 90).empty());
}

TEST_CASE("one rule decides the limit: the lowest of zone and segment, else the default; the cap") {
    CHECK(effective_limit_kmh(
              {.zone_kmh = {}, .segment_kmh = {}, .class_cap_kmh = {}, .default_kmh = 60}) == 60);
    // A zone or a segment replaces the default, higher or lower.
    CHECK(effective_limit_kmh(
              {.zone_kmh = 90, .segment_kmh = {}, .class_cap_kmh = {}, .default_kmh = 60}) == 90);
    CHECK(effective_limit_kmh(
              {.zone_kmh = {}, .segment_kmh = 40, .class_cap_kmh = {}, .default_kmh = 60}) == 40);
    // Both: the lower of them.
    CHECK(effective_limit_kmh(
              {.zone_kmh = 30, .segment_kmh = 40, .class_cap_kmh = {}, .default_kmh = 60}) == 30);
    CHECK(effective_limit_kmh(
              {.zone_kmh = 50, .segment_kmh = 40, .class_cap_kmh = {}, .default_kmh = 60}) == 40);
    // The class cap over everything.
    CHECK(effective_limit_kmh(
              {.zone_kmh = 90, .segment_kmh = 80, .class_cap_kmh = 70, .default_kmh = 60}) == 70);
    CHECK(effective_limit_kmh(
              {.zone_kmh = {}, .segment_kmh = {}, .class_cap_kmh = 50, .default_kmh = 60}) == 50);
}

TEST_CASE("segment limits by distance along: from inclusive, to exclusive, lowest of overlaps") {
    const std::vector<SpeedSegment> segments = {{.from_m = 0, .to_m = 1000, .limit_kmh = 50},
                                                {.from_m = 1000, .to_m = 2000, .limit_kmh = 40},
                                                {.from_m = 1500, .to_m = 1600, .limit_kmh = 20}};
    CHECK(segment_limit(segments, 0) == 50);
    CHECK(segment_limit(segments, 999.9) == 50);
    CHECK(segment_limit(segments, 1000) == 40);
    CHECK(segment_limit(segments, 1550) == 20);
    CHECK_FALSE(segment_limit(segments, 2000).has_value());
}
