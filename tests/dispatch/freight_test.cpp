// Freight runs against their delivery windows: a loading yard, a bakery and a warehouse along a
// 5 km road, each with the window the vehicle must arrive in, and what the tracker makes of
// arriving inside, before and after those windows.
#include <doctest/doctest.h>

#include <algorithm>

#include "dispatch/tracker.hpp"
#include "geo/geodesy.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const Millis midnight = Millis(std::chrono::sys_days(std::chrono::year_month_day(
    std::chrono::year(2026), std::chrono::month(11), std::chrono::day(27))));

Millis at(std::chrono::minutes hh_mm) {
    return midnight + hh_mm;
}

// The road runs 5 km due east along 55.75° N. Freight run of route "F1" (shift 07:45–09:45):
//   Yard       0 m  load between 08:00 and 08:20
//   Bakery  2000 m  deliver between 08:20 and 08:50
//   Warehouse 5000 m  deliver between 08:40 and 09:20
struct FreightRun {
    std::shared_ptr<geo::Polyline> road;
    std::shared_ptr<Assignment> plan = std::make_shared<Assignment>();
    VehicleTracker tracker{12, Thresholds{}};
    std::vector<Event> events;
    Millis now;
    double along_m = 0;

    FreightRun() {
        const geo::LonLat west{37.60, 55.75};
        road = std::make_shared<geo::Polyline>(
            std::vector<geo::LonLat>{west, geo::destination(west, 90, 5000)}, "route F1");
        TripPlan run;
        run.route_id = 31;
        run.code = "F1";
        run.shape = road;
        run.time_windows = true;
        auto stop = [&](std::int64_t id, const char* name, double m, Millis from, Millis to) {
            PlannedStop s;
            s.stop_id = id;
            s.name = name;
            s.distance_along_m = m;
            s.position = road->point_at(m);
            s.arrival = from;
            s.departure = to;
            run.stops.push_back(s);
        };
        stop(1, "Yard", 0, at(8h), at(8h + 20min));
        stop(2, "Bakery", 2000, at(8h + 20min), at(8h + 50min));
        stop(3, "Warehouse", 5000, at(8h + 40min), at(9h + 20min));
        plan->assignment_id = 77;
        plan->vehicle_id = 12;
        plan->planned_start = at(7h + 45min);
        plan->planned_end = at(9h + 45min);
        plan->trips.push_back(std::move(run));
        tracker.upsert(plan);
    }

    void fix(double kmh) {
        auto out = tracker.on_fix(Fix{now, road->point_at(along_m), kmh, true, {}, {}});
        events.insert(events.end(), out.begin(), out.end());
    }
    // Arrives at `m` at time `t`: a fix there, nothing before.
    void appear_at(double m, Millis t) {
        along_m = m;
        now = t;
        fix(0);
    }
    // Drives along the road to `to_m` at `kmh`, a fix every 5 s.
    void drive_to(double to_m, double kmh) {
        const double step = kmh / 3.6 * 5;
        while (along_m < to_m) {
            along_m = std::min(to_m, along_m + step);
            now += 5s;
            fix(kmh);
        }
    }
    void stand_until(Millis until) {
        while (now < until) {
            now += 10s;
            fix(0);
        }
    }
    ShiftSummary summary() const { return tracker.summary(plan->assignment_id).value(); }
    // The last report of each event of `kind`.
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

TEST_CASE("a freight run arriving inside every window is on time, whatever it waits in them") {
    FreightRun r;
    r.appear_at(0, at(8h + 2min));  // at the yard in its window
    r.stand_until(at(8h + 16min));  // loading
    r.drive_to(2000, 30);           // 4 min: the bakery as it opens
    r.stand_until(at(8h + 48min));  // 28 min at the bakery, inside its window
    r.drive_to(5000, 30);           // 6 min: the warehouse at 08:54, in its window
    r.stand_until(at(9h + 15min));  // unloading until five minutes before it closes
    r.along_m = 4500;               // and away
    r.now += 1min;
    r.fix(30);

    CHECK(r.final_of(EventKind::late).empty());
    CHECK(r.final_of(EventKind::long_dwell).empty());
    CHECK(r.final_of(EventKind::early_departure).empty());
    CHECK(r.final_of(EventKind::missed_stop).empty());
    CHECK(r.final_of(EventKind::early).empty());
    const auto s = r.summary();
    CHECK(s.stops_served == 3);
    CHECK(s.trips_served == 1);
    CHECK(s.timepoints == 3);
    CHECK(s.timepoints_on_time == 3);
}

TEST_CASE("arriving 17 minutes before the warehouse opens: early from the arrival until it opens") {
    FreightRun r;
    r.appear_at(0, at(8h + 5min));
    r.stand_until(at(8h + 16min));
    r.drive_to(2000, 30);  // the bakery as it opens
    r.drive_to(5000, 60);  // 3 km at 60 km/h: the warehouse at 08:23
    const Millis arrived = r.now;
    REQUIRE(arrived == at(8h + 23min));
    r.stand_until(at(9h + 10min));  // waits for it to open, and unloads
    r.along_m = 4500;
    r.now += 1min;
    r.fix(30);

    const auto early = r.final_of(EventKind::early);
    REQUIRE(early.size() == 1);
    CHECK(early[0].started_at == arrived);
    CHECK(early[0].magnitude == doctest::Approx(17 * 60));
    REQUIRE(early[0].ended_at);
    CHECK(*early[0].ended_at <= at(8h + 40min));  // over once the window opens
    // Waiting for the window is not a long dwell, and it left after the window opened.
    CHECK(r.final_of(EventKind::long_dwell).empty());
    CHECK(r.final_of(EventKind::early_departure).empty());
    CHECK(r.final_of(EventKind::late).empty());
    const auto s = r.summary();
    CHECK(s.timepoints == 3);
    CHECK(s.timepoints_on_time == 2);  // the warehouse was reached before its window
}

TEST_CASE("dropping the goods at the warehouse before it opens: early departure from there") {
    FreightRun r;
    r.appear_at(0, at(8h + 5min));
    r.stand_until(at(8h + 16min));
    r.drive_to(2000, 30);
    r.drive_to(5000, 60);  // 08:23
    r.stand_until(at(8h + 30min));
    r.along_m = 4500;  // gone at 08:31, nine minutes before the window opens
    r.now += 1min;
    r.fix(30);

    const auto gone = r.final_of(EventKind::early_departure);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].details["stop"] == "Warehouse");
    CHECK(gone[0].magnitude == doctest::Approx(9 * 60));
}

TEST_CASE("crawling to the warehouse, 14 minutes after its window: late, caused by traffic") {
    FreightRun r;
    r.appear_at(0, at(8h + 5min));
    r.stand_until(at(8h + 16min));
    r.drive_to(2000, 30);  // the bakery at 08:20
    r.stand_until(at(8h + 35min));
    r.drive_to(5000, 3);  // 3 km at 3 km/h: within its 50 m at 09:34, at the door at 09:35
    r.stand_until(at(9h + 37min));
    r.along_m = 4500;
    r.now += 1min;
    r.fix(30);

    const auto late = r.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    // Declared once 5 min (late-after) past the window's end had lasted 2 min (persist).
    CHECK(late[0].started_at > at(9h + 25min));
    CHECK(late[0].started_at < at(9h + 25min) + 10s);
    CHECK(late[0].magnitude == doctest::Approx(14 * 60).epsilon(0.01));
    CHECK(late[0].cause == "traffic (slow speed along the route)");
    REQUIRE(late[0].ended_at);  // over when it left its last stop
    CHECK(r.final_of(EventKind::early).empty());
    const auto s = r.summary();
    CHECK(s.timepoints == 3);
    CHECK(s.timepoints_on_time == 2);
}

TEST_CASE("staying at the bakery past its window: a long dwell there, and late because of it") {
    FreightRun r;
    r.appear_at(0, at(8h + 5min));
    r.stand_until(at(8h + 16min));
    r.drive_to(2000, 30);           // 08:20
    r.stand_until(at(9h + 30min));  // 40 min past the bakery's window
    r.drive_to(5000, 30);           // the warehouse at 09:36, 16 min after its window

    const auto dwell = r.final_of(EventKind::long_dwell);
    REQUIRE(dwell.size() == 1);
    CHECK(dwell[0].details["stop"] == "Bakery");
    CHECK(dwell[0].magnitude == doctest::Approx(40 * 60).epsilon(0.01));  // beyond the window
    const auto late = r.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].cause.starts_with("long dwell at stop 'Bakery'"));
}
