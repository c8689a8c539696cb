// Scenarios for the live engine's per-vehicle tracker: a small timetable, an assignment, a track,
// and the deviation events expected with their causes.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>

#include "dispatch/tracker.hpp"
#include "geo/geodesy.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const Millis eight = Millis(std::chrono::sys_days(std::chrono::year_month_day(
                         std::chrono::year(2026), std::chrono::month(11), std::chrono::day(27)))) +
                     8h;

// Route 5 km due east along 55.75° N; stops S0..S5 every kilometre; the trip leaves S0 at 08:00
// and takes 2 minutes per kilometre (30 km/h); every stop a timepoint.
struct Scenario {
    std::shared_ptr<geo::Polyline> shape;
    std::shared_ptr<Assignment> plan = std::make_shared<Assignment>();
    VehicleTracker tracker{7, Thresholds{}};
    std::vector<Event> events;
    Millis now = eight - 2min;
    double along_m = 0;
    double lateral_m = 0;

    explicit Scenario(bool with_depot = false, std::vector<geo::LonLat> points = {}) {
        if (points.empty()) {
            const geo::LonLat west{37.60, 55.75};
            points = {west, geo::destination(west, 90, 5000)};
        }
        shape = std::make_shared<geo::Polyline>(points, "route 1");
        TripPlan trip;
        trip.trip_id = 101;
        trip.shape = shape;
        const int n = static_cast<int>(shape->length_m() / 1000 + 0.5);
        for (int i = 0; i <= n; ++i) {
            PlannedStop s;
            s.stop_id = i;
            s.name = "S" + std::to_string(i);
            s.distance_along_m = std::min(shape->length_m(), i * 1000.0);
            s.position = shape->point_at(s.distance_along_m);
            s.arrival = s.departure = eight + i * 2min;
            trip.stops.push_back(s);
        }
        plan->assignment_id = 55;
        plan->vehicle_id = 7;
        plan->planned_start = eight - 5min;
        plan->planned_end = trip.end() + 10min;
        if (with_depot) {
            plan->depot = geo::destination(shape->point_at(0), 0, 400);  // 400 m north of S0
        }
        plan->trips.push_back(std::move(trip));
        tracker.upsert(plan);
    }

    // The route's own thresholds and speed limits, as fleetd hands them over: the same
    // assignment again, with its route's rules.
    void route_rules(ThresholdOverrides thresholds, std::vector<SpeedSegment> speed_limits = {}) {
        auto changed = std::make_shared<Assignment>(*plan);
        changed->trips[0].thresholds = std::move(thresholds);
        changed->trips[0].speed_segments = std::move(speed_limits);
        plan = changed;
        tracker.upsert(plan);
    }
    geo::LonLat here() const {
        const geo::LonLat on = shape->point_at(along_m);
        return lateral_m == 0 ? on : geo::destination(on, 0, lateral_m);  // north of the route
    }
    void fix(std::optional<double> speed = std::nullopt, std::optional<double> limit = {}) {
        Fix f{now, here(), speed, true, limit, {}};
        auto out = tracker.on_fix(f);
        events.insert(events.end(), out.begin(), out.end());
    }
    void tick() {
        auto out = tracker.on_tick(now);
        events.insert(events.end(), out.begin(), out.end());
    }
    // Drives along the route to `to_m` at `kmh`, a fix every 5 s.
    void drive_to(double to_m, double kmh = 30) {
        const double step = kmh / 3.6 * 5;
        while (along_m < to_m) {
            along_m = std::min(to_m, along_m + step);
            now += 5s;
            fix(kmh);
        }
    }
    // Stands where it is until `until`, a fix every 10 s.
    void stand_until(Millis until) {
        while (now < until) {
            now += 10s;
            fix(0.0);
        }
    }
    std::vector<Event> of(EventKind kind) const {
        std::vector<Event> out;
        for (const auto& e : events) {
            if (e.kind == kind) {
                out.push_back(e);
            }
        }
        return out;
    }
    // The opening report of each event of `kind`.
    std::vector<Event> opened(EventKind kind) const {
        std::vector<Event> out;
        for (const auto& e : of(kind)) {
            if (e.revision == 0) {
                out.push_back(e);
            }
        }
        return out;
    }
    ShiftSummary summary() const { return tracker.summary(plan->assignment_id).value(); }
    // The last report of each event, by key.
    std::vector<Event> final_of(EventKind kind) const {
        std::vector<Event> out;
        for (const auto& e : summary().deviations) {
            if (e.kind == kind) {
                out.push_back(e);
            }
        }
        return out;
    }
};

}  // namespace

TEST_CASE("a bus that keeps its timetable raises no deviation and serves every stop") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(5000);
    s.stand_until(s.now + 1min);
    CHECK(s.summary().deviations.empty());
    const auto summary = s.summary();
    CHECK(summary.stops_served == 6);
    CHECK(summary.trips_served == 1);
    CHECK(summary.timepoints == 5);
    CHECK(summary.punctuality() == doctest::Approx(1.0));
    CHECK(summary.km_planned == doctest::Approx(5.0).epsilon(0.001));
    CHECK(summary.km_driven == doctest::Approx(5.0).epsilon(0.01));
}

TEST_CASE("leaving the first stop 8 minutes late: late, caused by the late departure") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight + 8min);
    s.drive_to(3000);
    const auto late = s.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].cause.starts_with("late departure from the first stop"));
    CHECK(late[0].magnitude >= 470);
    // Declared once the deviation had persisted past +5 min for 2 min: 08:05 + 2 min.
    CHECK(late[0].started_at == eight + 5min + 10s);
    CHECK(s.tracker.deviation_s().value() == doctest::Approx(480).epsilon(0.03));
}

TEST_CASE("a 7-minute dwell at S2: long dwell there, and the lateness it causes") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(2000);
    s.stand_until(eight + 4min + 7min);
    s.drive_to(4000);
    const auto dwell = s.final_of(EventKind::long_dwell);
    REQUIRE(dwell.size() == 1);
    CHECK(dwell[0].details["stop"] == "S2");
    CHECK(dwell[0].ended_at.has_value());
    CHECK(dwell[0].magnitude == doctest::Approx(420).epsilon(0.05));
    const auto late = s.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].cause.find("stop 'S2'") != std::string::npos);
}

TEST_CASE("a detour around S3: off route with its path, S3 missed because of it") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(2200);
    s.lateral_m = 300;  // a parallel street 300 m north
    s.drive_to(3800);
    s.lateral_m = 0;
    s.drive_to(5000);
    const auto detour = s.final_of(EventKind::off_route);
    REQUIRE(detour.size() == 1);
    CHECK(detour[0].ended_at.has_value());
    CHECK(detour[0].magnitude == doctest::Approx(300).epsilon(0.05));
    CHECK(detour[0].geometry.size() > 10);
    const auto missed = s.final_of(EventKind::missed_stop);
    REQUIRE(missed.size() == 1);
    CHECK(missed[0].details["stop"] == "S3");
    CHECK(missed[0].cause == "detour");
    // The first off-route fixes do not declare a detour on their own (anti-flapping).
    CHECK(detour[0].started_at < s.of(EventKind::off_route).front().started_at + 1min);
}

TEST_CASE("a single stray fix off the route is not a detour") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(1500);
    s.lateral_m = 150;
    s.drive_to(1540);
    s.lateral_m = 0;
    s.drive_to(3000);
    CHECK(s.final_of(EventKind::off_route).empty());
}

TEST_CASE("eight minutes without a fix: signal lost on the clock, closed by the next fix") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(1500);
    const Millis last = s.now;
    for (int i = 0; i < 16; ++i) {
        s.now += 30s;
        s.tick();
    }
    const auto opened = s.opened(EventKind::signal_lost);
    REQUIRE(opened.size() == 1);
    CHECK_FALSE(opened[0].ended_at);
    CHECK(opened[0].started_at == last);
    // While it lasts, it says how long: the last report before the fix, 8 min.
    CHECK(s.of(EventKind::signal_lost).back().magnitude == doctest::Approx(480));
    s.along_m = 3500;  // it drove on meanwhile
    s.fix(30.0);
    const auto closed = s.final_of(EventKind::signal_lost);
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].ended_at == s.now);
}

TEST_CASE("speeding in a 60 km/h zone: declared after the minimum duration, tier by the excess") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    for (int i = 0; i < 6; ++i) {  // 30 s at 95 km/h, then back to 50
        s.now += 5s;
        s.fix(95.0, 60.0);
    }
    s.now += 5s;
    s.fix(50.0, 60.0);
    const auto speeding = s.final_of(EventKind::overspeed);
    REQUIRE(speeding.size() == 1);
    CHECK(speeding[0].magnitude == doctest::Approx(35));
    CHECK(speeding[0].details["tier"] == 1);
    CHECK(speeding[0].ended_at == s.now);

    // 61 km/h is inside the 3 % hysteresis: nothing.
    Scenario t;
    for (int i = 0; i < 10; ++i) {
        t.now += 5s;
        t.fix(61.0, 60.0);
    }
    CHECK(t.final_of(EventKind::overspeed).empty());
}

TEST_CASE("shift start passed and the vehicle still in the depot: not departed") {
    Scenario s(/*with_depot=*/true);
    const auto depot = *s.plan->depot;
    auto at_depot = [&] {
        auto out = s.tracker.on_fix(Fix{s.now, depot, 0.0, true, {}, {}});
        s.events.insert(s.events.end(), out.begin(), out.end());
    };
    s.now = s.plan->planned_start - 10min;
    at_depot();
    for (int i = 0; i < 20; ++i) {  // until 10 min past the shift start
        s.now += 1min;
        at_depot();
        s.tick();
    }
    const auto nd = s.opened(EventKind::not_departed);
    REQUIRE(nd.size() == 1);
    CHECK(nd[0].started_at == s.plan->planned_start);
    CHECK(s.final_of(EventKind::unplanned_stop).empty());  // waiting in the depot is not a stop
}

TEST_CASE("a vehicle without an assignment driving around") {
    VehicleTracker tracker(9, Thresholds{});
    std::vector<Event> events;
    geo::LonLat p{30.0, 60.0};
    Millis t = eight;
    for (int i = 0; i < 40; ++i) {
        p = geo::destination(p, 45, 60);
        t += 5s;
        auto out = tracker.on_fix(Fix{t, p, 43.0, true, {}, {}});
        events.insert(events.end(), out.begin(), out.end());
    }
    // One event, declared after 2 min and followed while it lasts (its path grows).
    REQUIRE_FALSE(events.empty());
    for (const auto& e : events) {
        CHECK(e.kind == EventKind::moving_unassigned);
        CHECK(e.key == events[0].key);
    }
    CHECK(events[0].started_at == eight + 5s);
    CHECK(events.back().geometry.size() > events[0].geometry.size());
}

TEST_CASE("a vehicle driving all day without an assignment: its event's path stays bounded") {
    VehicleTracker tracker(9, Thresholds{});
    geo::LonLat p{30.0, 60.0};
    Millis t = eight;
    std::optional<Event> first;
    std::optional<Event> latest;
    for (int i = 0; i < 10 * 3600; ++i) {  // ten hours, a fix a second
        p = geo::destination(p, 45, 12);
        t += 1s;
        for (auto& e : tracker.on_fix(Fix{t, p, 43.0, true, {}, {}})) {
            if (!first) {
                first = e;
            }
            latest = std::move(e);
        }
    }
    REQUIRE(latest);
    CHECK(latest->kind == EventKind::moving_unassigned);
    CHECK(latest->key == first->key);
    CHECK(latest->geometry.size() <= max_path_points);
    const auto open = tracker.open_events();
    REQUIRE(open.size() == 1);
    const auto& path = open[0].geometry;
    CHECK(path.size() <= max_path_points);
    CHECK(path.size() > max_path_points / 4);
    // From where it was declared to where the vehicle is now.
    CHECK(geo::haversine_m(path.front(), first->geometry.front()) < 1.0);
    CHECK(geo::haversine_m(path.back(), p) < 1.0);
}

TEST_CASE("append_path keeps the first and the newest point and halves the detail when full") {
    std::vector<geo::LonLat> path;
    for (std::size_t i = 0; i < max_path_points; ++i) {
        append_path(path, {static_cast<double>(i), 0});
    }
    CHECK(path.size() == max_path_points);
    append_path(path, {1000, 0});
    CHECK(path.size() == max_path_points / 2 + 1);
    CHECK(path.front().lon_deg == 0);
    CHECK(path[1].lon_deg == 2);
    CHECK(path.back().lon_deg == 1000);
}

TEST_CASE("an out-and-back route: a fix on the street matches the pass whose time is closest") {
    const geo::LonLat a{37.60, 55.75};
    const geo::LonLat b = geo::destination(a, 90, 2500);
    Scenario s(false, {a, b, a});  // S0..S5 over 5 km: out to B at 08:05, back to A at 08:10
    // 08:08, 1 km east of A: on the way back (4 km along), not on the way out (1 km along).
    s.now = eight + 8min;
    s.along_m = 4000;
    s.fix(30.0);
    REQUIRE(s.tracker.distance_along_m());
    CHECK(*s.tracker.distance_along_m() == doctest::Approx(4000).epsilon(0.01));
    CHECK(std::abs(*s.tracker.deviation_s()) < 30);
}

TEST_CASE("lateness ends at the terminal, and driving on after the block raises nothing") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight + 8min);
    s.drive_to(5000);  // late all the way
    s.stand_until(s.now + 2min);
    s.along_m = 4000;  // then back along the route, off duty
    for (int i = 0; i < 30; ++i) {
        s.now += 5s;
        s.along_m -= 40;
        s.fix(30.0);
    }
    const auto late = s.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].ended_at.has_value());
    CHECK(s.final_of(EventKind::off_route).empty());
    CHECK_FALSE(s.tracker.deviation_s().has_value());
}

TEST_CASE("a signal loss declared by the clock ends with the next fix, whatever its gap") {
    Scenario s;
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(1000);
    s.now += 7min;
    s.tick();  // declared: 7 min without a fix
    REQUIRE(s.opened(EventKind::signal_lost).size() == 1);
    s.now -= 6min;  // the device sends what it buffered, dated in the gap
    s.along_m = 1100;
    s.fix(30.0);
    const auto closed = s.final_of(EventKind::signal_lost);
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].ended_at.has_value());
}

TEST_CASE(
    "leaving 8 minutes late: late on a route with the default, on time where 10 are allowed") {
    auto drive_late = [](Scenario& s) {
        s.fix(0.0);
        s.stand_until(eight + 8min);
        s.drive_to(5000);
    };
    Scenario by_default;
    drive_late(by_default);
    CHECK(by_default.final_of(EventKind::late).size() == 1);

    Scenario lenient;
    lenient.route_rules({{"late-after", 600}});
    drive_late(lenient);
    CHECK(lenient.final_of(EventKind::late).empty());
    CHECK(lenient.tracker.thresholds().late == 600s);
    CHECK(lenient.summary().timepoints_on_time == 5);  // judged by the route's threshold
}

TEST_CASE("100 m beside the route for 1.6 km: a detour by default, on route where 150 m is") {
    auto drive_beside = [](Scenario& s) {
        s.fix(0.0);
        s.stand_until(eight);
        s.drive_to(2200);
        s.lateral_m = 100;
        s.drive_to(3800);
        s.lateral_m = 0;
        s.drive_to(5000);
    };
    Scenario by_default;
    drive_beside(by_default);
    CHECK(by_default.final_of(EventKind::off_route).size() == 1);

    Scenario wide;
    wide.route_rules({{"on-route-distance", 150}});
    drive_beside(wide);
    CHECK(wide.final_of(EventKind::off_route).empty());
}

TEST_CASE("a route's threshold changed mid-trip applies from the next fix; the trip goes on") {
    auto held_up = [](Scenario& s, bool lenient_from_2500_m) {
        s.fix(0.0);
        s.stand_until(eight);
        s.drive_to(2500);  // on time
        if (lenient_from_2500_m) {
            s.route_rules({{"late-after", 900}, {"not-a-threshold", 1}, {"moving-speed", 50}});
        }
        s.stand_until(s.now + 8min);  // held up between S2 and S3
        s.drive_to(5000);
    };
    Scenario unchanged;
    held_up(unchanged, false);
    CHECK(unchanged.final_of(EventKind::late).size() == 1);

    Scenario s;
    held_up(s, true);
    CHECK(s.final_of(EventKind::late).empty());
    const auto summary = s.summary();
    CHECK(summary.stops_served == 6);  // nothing forgotten
    CHECK(summary.km_driven == doctest::Approx(5.0).epsilon(0.01));
    CHECK(s.tracker.thresholds().moving_kmh == 5);  // not a route's to set: ignored
}

TEST_CASE("55 km/h through a 40 km/h stretch of the route: overspeed there, nowhere else") {
    Scenario s;
    s.route_rules({}, {{.from_m = 2000, .to_m = 3000, .limit_kmh = 40}});
    s.fix(0.0);
    s.stand_until(eight);
    s.drive_to(5000, 55);
    const auto speeding = s.final_of(EventKind::overspeed);
    REQUIRE(speeding.size() == 1);
    CHECK(speeding[0].details["limit_kmh"] == 40.0);
    CHECK(speeding[0].magnitude == doctest::Approx(15));
    const auto shape = s.shape;
    auto along = [&](geo::LonLat p) { return shape->project(p).distance_along_m; };
    // Declared where it had lasted 15 s (overspeed-min), started where the stretch begins.
    CHECK(along(speeding[0].geometry.front()) >= 2000 + 15 * 55 / 3.6);
    CHECK(along(speeding[0].geometry.front()) < 2000 + 25 * 55 / 3.6);
    REQUIRE(speeding[0].ended_at);
    CHECK(along(speeding[0].geometry.back()) < 3100);

    // The same speed on a parallel street beside the stretch: the route's limit is not there.
    Scenario beside;
    beside.route_rules({}, {{.from_m = 2000, .to_m = 3000, .limit_kmh = 40}});
    beside.fix(0.0);
    beside.stand_until(eight);
    beside.drive_to(1500, 55);
    beside.lateral_m = 300;
    beside.drive_to(3500, 55);
    CHECK(beside.final_of(EventKind::overspeed).empty());

    // A route's own default limit holds on the route, outside its stretches.
    Scenario slow_route;
    slow_route.route_rules({{"speed-limit", 50}});
    slow_route.fix(0.0);
    slow_route.stand_until(eight);
    slow_route.drive_to(1000, 55);
    const auto slow = slow_route.final_of(EventKind::overspeed);
    REQUIRE(slow.size() == 1);
    CHECK(slow[0].details["limit_kmh"] == 50.0);
}
