// A vehicle's whole day through the engine's deterministic step: several assignments a day, a
// block handed over to a spare vehicle, a block past midnight, a reload mid-trip, and a block
// driven too slowly. No threads, no sleeps: fixes and a clock in, events out.
//
// The street: 6 km due east along 55.75° N with five stops,
//   Depot 0 m · Meridian Street 1500 m · Market 3000 m · Park Gate 4500 m · B Terminal 6000 m
// Trips run out (Depot → B Terminal) or back (B Terminal → Depot), 6 minutes a leg (15 km/h),
// every stop a timepoint; a block's trips chain at the terminals.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "dispatch/engine_core.hpp"
#include "geo/geodesy.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const Millis day_start = Millis(std::chrono::sys_days(std::chrono::year_month_day(
    std::chrono::year(2026), std::chrono::month(3), std::chrono::day(5))));

Millis at(std::chrono::minutes hh_mm) {
    return day_start + hh_mm;
}

const geo::LonLat west{37.60, 55.75};

geo::LonLat street(double x_m, double north_m = 0) {
    const geo::LonLat on = geo::destination(west, 90, x_m);
    return north_m == 0 ? on : geo::destination(on, 0, north_m);
}

struct StopDef {
    std::int64_t id;
    const char* code;
    const char* name;
    double x_m;
};
const std::vector<StopDef> stops = {{1, "DEP", "Depot", 0},
                                    {2, "MER", "Meridian Street", 1500},
                                    {3, "MKT", "Market", 3000},
                                    {4, "PRK", "Park Gate", 4500},
                                    {5, "BTE", "B Terminal", 6000}};

const auto out_shape = std::make_shared<geo::Polyline>(
    std::vector<geo::LonLat>{street(0), street(6000)}, "route 12 out");
const auto back_shape = std::make_shared<geo::Polyline>(
    std::vector<geo::LonLat>{street(6000), street(0)}, "route 12 back");

// A trip of route 12 ("R12", short name "12") leaving its first stop at `departs`.
TripPlan trip(std::int64_t id, const std::string& code, bool out, Millis departs) {
    TripPlan t;
    t.trip_id = id;
    t.route_id = 12;
    t.code = code;
    t.route_code = "R12";
    t.route_short_name = "12";
    t.shape = out ? out_shape : back_shape;
    for (std::size_t i = 0; i < stops.size(); ++i) {
        const StopDef& d = out ? stops[i] : stops[stops.size() - 1 - i];
        PlannedStop s;
        s.stop_id = d.id;
        s.code = d.code;
        s.name = d.name;
        s.position = street(d.x_m);
        s.distance_along_m = out ? d.x_m : 6000 - d.x_m;
        s.arrival = s.departure = departs + static_cast<int>(i) * 6min;
        t.stops.push_back(s);
    }
    return t;
}

std::shared_ptr<Assignment> block(std::int64_t id, std::int64_t vehicle, const std::string& code,
                                  std::vector<TripPlan> trips,
                                  const std::string& service_date = "2026-03-05") {
    auto a = std::make_shared<Assignment>();
    a->assignment_id = id;
    a->vehicle_id = vehicle;
    a->service_date = service_date;
    a->block = code;
    a->planned_start = trips.front().start() - 10min;
    a->planned_end = trips.back().end() + 5min;
    a->trips = std::move(trips);
    return a;
}

struct Bus;

// The engine, a clock, and buses that drive the street (a fix every 5 s).
struct Day {
    EngineCore core{EngineConfig{}};
    std::vector<Event> events;
    Millis now;

    explicit Day(Millis start) : now(start) {}

    void upsert(std::shared_ptr<Assignment> a) { core.upsert(std::move(a)); }
    void step(std::vector<VehicleFix> fixes = {}) {
        auto out = core.step(fixes, now);
        events.insert(events.end(), out.events.begin(), out.events.end());
        results.insert(results.end(), out.shift_results.begin(), out.shift_results.end());
        etas.insert(etas.end(), out.etas.begin(), out.etas.end());
        arrivals.insert(arrivals.end(), out.arrivals.begin(), out.arrivals.end());
    }
    std::vector<EtaUpdate> etas;
    std::vector<StopArrival> arrivals;
    std::vector<ShiftResult> results;
    std::vector<const Bus*> parked;  // buses standing where they are, sending fixes meanwhile

    // The last report of each event matching `pred`, in order of first report.
    template <class Pred>
    std::vector<Event> final_where(Pred pred) const {
        std::vector<Event> out;
        for (const auto& e : events) {
            if (!pred(e)) {
                continue;
            }
            auto it = std::find_if(out.begin(), out.end(),
                                   [&](const Event& o) { return o.key == e.key; });
            if (it == out.end()) {
                out.push_back(e);
            } else {
                *it = e;
            }
        }
        return out;
    }
    std::vector<Event> final_of(EventKind kind, std::int64_t vehicle = 0) const {
        return final_where([&](const Event& e) {
            return e.kind == kind && (vehicle == 0 || e.vehicle_id == vehicle);
        });
    }
    std::vector<Event> of_assignment(std::int64_t id) const {
        return final_where([&](const Event& e) { return e.assignment_id == id; });
    }
    std::vector<Event> reports_of(std::uint64_t key) const {
        std::vector<Event> out;
        for (const auto& e : events) {
            if (e.key == key) {
                out.push_back(e);
            }
        }
        return out;
    }
};

struct Bus {
    Day& day;
    std::int64_t vehicle;
    double x_m = 0;      // along the street, from its west end
    double north_m = 0;  // beside it

    VehicleFix here(double kmh) const {
        return {vehicle, Fix{day.now, street(x_m, north_m), kmh, true, {}, {}}, {}};
    }
    void fix(double kmh) {
        std::vector<VehicleFix> fixes = {here(kmh)};
        for (const Bus* other : day.parked) {
            if (other != this) {
                fixes.push_back(other->here(0));
            }
        }
        day.step(std::move(fixes));
    }
    // Stands where it is until `until`, a fix every 5 s.
    void stand_until(Millis until) {
        while (day.now < until) {
            day.now += 5s;
            fix(0);
        }
    }
    // Drives along the street (or beside it) to `to_m` at `kmh`, a fix every 5 s.
    void drive_to(double to_m, double kmh) {
        const double step = kmh / 3.6 * 5;
        while (x_m != to_m) {
            x_m = to_m > x_m ? std::min(to_m, x_m + step) : std::max(to_m, x_m - step);
            day.now += 5s;
            fix(kmh);
        }
    }
    // Drives north or south, off the street, to `to_north_m`.
    void drive_north_to(double to_north_m, double kmh) {
        const double step = kmh / 3.6 * 5;
        while (north_m != to_north_m) {
            north_m = to_north_m > north_m ? std::min(to_north_m, north_m + step)
                                           : std::max(to_north_m, north_m - step);
            day.now += 5s;
            fix(kmh);
        }
    }
};

std::multiset<std::string> kinds(const std::vector<Event>& events) {
    std::multiset<std::string> out;
    for (const auto& e : events) {
        out.insert(to_string(e.kind));
    }
    return out;
}

// The morning of the scenario: block M1 of two trips (T1 out at 10:00, T2 back at
// 10:30), driven with a late departure (6 min), a 400 m detour north of the street between
// Meridian Street and Market, and 6 minutes standing at Park Gate; then back to the Depot stop.
void drive_the_morning(Bus& bus) {
    Day& day = bus.day;
    bus.x_m = 0;
    day.now = at(9h + 50min);
    bus.fix(0);
    bus.stand_until(at(10h + 6min));  // leaves Depot 6 minutes late
    bus.drive_to(1800, 15);
    bus.drive_north_to(400, 15);  // the detour
    bus.drive_to(2700, 15);
    bus.drive_north_to(0, 15);
    bus.drive_to(4500, 15);
    bus.stand_until(day.now + 6min);  // a long dwell at Park Gate
    bus.drive_to(6000, 15);           // B Terminal
    bus.stand_until(day.now + 1min);
    bus.drive_to(0, 15);  // T2, back to the Depot stop
}

std::shared_ptr<Assignment> morning() {
    return block(101, 7, "M1",
                 {trip(1, "T1", true, at(10h)), trip(2, "T2", false, at(10h + 30min))});
}
std::shared_ptr<Assignment> evening() {
    return block(102, 7, "E1",
                 {trip(3, "T3", true, at(11h + 30min)), trip(4, "T4", false, at(12h))});
}

}  // namespace

TEST_CASE("two shifts a day") {
    // The morning alone, as the reference.
    Day alone(at(9h));
    alone.upsert(morning());
    Bus first{alone, 7};
    drive_the_morning(first);

    // The same morning with the evening block assigned too (its window, an hour either side,
    // overlaps the whole morning), and the evening then driven on time.
    Day both(at(9h));
    both.upsert(morning());
    both.upsert(evening());
    Bus bus{both, 7};
    drive_the_morning(bus);
    const Millis back_at_depot = both.now;
    // Between the shifts: from the Depot stop (where the evening begins) to the garage 500 m
    // north, a quarter of an hour there, and back for the evening's first trip.
    bus.stand_until(at(11h + 6min));
    bus.drive_north_to(500, 20);
    bus.stand_until(at(11h + 22min));
    bus.drive_north_to(0, 20);
    bus.stand_until(at(11h + 30min));
    bus.drive_to(6000, 15);
    bus.stand_until(at(12h));
    bus.drive_to(0, 15);
    bus.stand_until(at(14h));  // both windows closed: both shifts over

    const auto morning_events = both.of_assignment(101);
    CHECK(kinds(morning_events) == kinds(alone.of_assignment(101)));
    CHECK(kinds(morning_events) ==
          std::multiset<std::string>{"late", "late", "off_route", "long_dwell"});
    CHECK(both.final_of(EventKind::missed_stop).empty());
    CHECK(both.final_of(EventKind::early).empty());
    CHECK(both.final_of(EventKind::early_departure).empty());
    CHECK(both.of_assignment(102).empty());  // the evening, driven on time, has none

    const auto late = both.final_of(EventKind::late);
    REQUIRE(late.size() == 2);
    CHECK(late[0].details["trip_code"] == "T1");
    CHECK(late[0].cause.starts_with("late departure from the first stop 'Depot'"));
    CHECK(late[0].details["cause_stop"] == "Depot");
    CHECK(late[0].details["cause_stop_code"] == "DEP");
    CHECK(late[1].details["trip_code"] == "T2");
    CHECK(late[1].cause.starts_with("late departure from the first stop 'B Terminal'"));
    for (const auto& e : late) {
        CHECK(e.details["block"] == "M1");
        CHECK(e.details["route_short_name"] == "12");
        CHECK(e.details["route_code"] == "R12");
        CHECK(e.details["service_date"] == "2026-03-05");
        CHECK(e.ended_at.has_value());
    }
    const auto dwell = both.final_of(EventKind::long_dwell);
    REQUIRE(dwell.size() == 1);
    CHECK(dwell[0].details["stop"] == "Park Gate");
    CHECK(dwell[0].details["stop_code"] == "PRK");
    const auto detour = both.final_of(EventKind::off_route);
    REQUIRE(detour.size() == 1);
    CHECK(detour[0].magnitude == doctest::Approx(400).epsilon(0.05));
    CHECK(detour[0].started_at < back_at_depot);

    // Planned against actual, one result per assignment.
    REQUIRE(both.results.size() == 2);
    for (const auto& r : both.results) {
        CAPTURE(r.assignment->assignment_id);
        CHECK(r.summary.trips_planned == 2);
        CHECK(r.summary.trips_served == 2);
        CHECK(r.summary.stops_served == 10);
    }
    const auto& evening_result = both.results[0].assignment->assignment_id == 102
                                     ? both.results[0].summary
                                     : both.results[1].summary;
    CHECK(evening_result.punctuality() == doctest::Approx(1.0));
    CHECK(evening_result.deviations.empty());
}

TEST_CASE("a hand-over to a spare vehicle") {
    // Block B7: T1 out at 10:00, T2 back at 10:30, T3 out at 11:00, on bus 7. Bus 7 breaks
    // down at B Terminal at the end of T1; at 10:32 the dispatcher cuts its assignment to T1
    // and gives T2 and T3 to the spare, bus 8, parked 300 m north of B Terminal.
    Day day(at(9h + 50min));
    auto first = block(201, 7, "B7",
                       {trip(1, "T1", true, at(10h)), trip(2, "T2", false, at(10h + 30min)),
                        trip(3, "T3", true, at(11h))});
    day.upsert(first);
    Bus seven{day, 7};
    Bus eight{day, 8, 6000, 300};
    day.parked = {&eight};
    seven.fix(0);
    seven.stand_until(at(10h));
    seven.drive_to(6000, 15);  // T1 on time
    seven.stand_until(at(10h + 32min));

    auto cut = block(201, 7, "B7", {first->trips[0]});
    auto spare = block(202, 8, "B7", {first->trips[1], first->trips[2]});
    day.upsert(cut);
    day.upsert(spare);
    seven.stand_until(at(10h + 33min));
    day.parked = {&seven};
    eight.drive_north_to(0, 20);  // to B Terminal
    eight.stand_until(at(10h + 38min));
    eight.drive_to(0, 15);  // T2, 8 minutes late
    eight.stand_until(at(11h + 3min));
    eight.drive_to(6000, 15);  // T3, 3 minutes late: on time
    REQUIRE(day.core.state(7));
    REQUIRE(day.core.state(8));
    const auto spare_state = *day.core.state(8);
    CHECK(spare_state.assignment_id == 202);
    CHECK(spare_state.block == "B7");
    day.parked = {&eight};
    seven.stand_until(at(13h));  // both shifts over

    // Bus 7: T1 served, nothing more asked of it, nothing raised while it stands broken.
    CHECK(day.of_assignment(201).empty());
    CHECK(day.final_of(EventKind::missed_stop).empty());
    CHECK(day.final_of(EventKind::unplanned_stop).empty());
    // Bus 8: T2's late start, caused by its late departure from B Terminal, under its own
    // assignment.
    const auto late = day.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].vehicle_id == 8);
    CHECK(late[0].assignment_id == 202);
    CHECK(late[0].details["trip_code"] == "T2");
    CHECK(late[0].details["block"] == "B7");
    CHECK(late[0].cause.starts_with("late departure from the first stop 'B Terminal'"));

    REQUIRE(day.results.size() == 2);
    for (const auto& r : day.results) {
        const auto id = r.assignment->assignment_id;
        CAPTURE(id);
        CHECK(r.summary.trips_planned == (id == 201 ? 1 : 2));
        CHECK(r.summary.trips_served == r.summary.trips_planned);
        CHECK(r.summary.stops_served == 5 * r.summary.trips_planned);
    }
}

TEST_CASE("a block past midnight in a UTC+3 zone") {
    // Service date the 5th, block N1: T1 out at 23:30 and T2 back at 00:00 local time (UTC+3),
    // absolute times 20:30 and 21:00 UTC on the 5th; planned to end at 00:29. The 6th's first
    // block, F1, leaves Depot at 00:40 (planned from 00:30). The bus leaves B Terminal on T2
    // 8 minutes late and is still on it at 00:30: those fixes, after midnight and after N1's
    // planned end, belong to the 5th's block, which it is finishing.
    const auto local = [](int day, std::chrono::minutes hh_mm) {
        return Millis(std::chrono::sys_days(std::chrono::year_month_day(
                   std::chrono::year(2026), std::chrono::month(3), std::chrono::day(day)))) +
               hh_mm - 3h;
    };
    Day day(local(5, 23h));
    day.upsert(block(
        301, 7, "N1",
        {trip(11, "N1-T1", true, local(5, 23h + 30min)), trip(12, "N1-T2", false, local(6, 0h))},
        "2026-03-05"));
    day.upsert(block(302, 7, "F1", {trip(13, "F1-T1", true, local(6, 40min))}, "2026-03-06"));
    Bus bus{day, 7};
    bus.fix(0);
    bus.stand_until(local(5, 23h + 30min));
    bus.drive_to(6000, 15);
    bus.stand_until(local(6, 8min));
    bus.drive_to(1000, 15);  // 00:28
    bus.drive_to(500, 15);   // 00:30
    const auto state = *day.core.state(7);
    CHECK(state.assignment_id == 301);
    CHECK(state.service_date == "2026-03-05");
    CHECK(state.block == "N1");
    CHECK(state.trip_code == "N1-T2");
    CHECK(state.deviation_s.value_or(0) > 7 * 60);
    bus.drive_to(0, 15);  // 00:32 at Depot: N1 done
    bus.stand_until(local(6, 40min));
    bus.drive_to(6000, 15);  // F1 on the 6th, on time
    bus.stand_until(local(6, 3h));

    CHECK(day.final_of(EventKind::missed_stop).empty());
    CHECK(day.final_of(EventKind::early).empty());
    const auto late = day.final_of(EventKind::late);
    REQUIRE(late.size() == 1);
    CHECK(late[0].assignment_id == 301);
    CHECK(late[0].details["service_date"] == "2026-03-05");
    CHECK(late[0].details["trip_code"] == "N1-T2");
    REQUIRE(late[0].ended_at);
    CHECK(*late[0].ended_at > local(6, 30min));  // ended at Depot, on the 5th's block
    CHECK(day.of_assignment(302).empty());
    REQUIRE(day.results.size() == 2);
    for (const auto& r : day.results) {
        const auto id = r.assignment->assignment_id;
        CAPTURE(id);
        CHECK(r.summary.trips_served == (id == 301 ? 2 : 1));
        CHECK(r.summary.stops_served == (id == 301 ? 10 : 5));
        if (id == 302) {
            CHECK(r.summary.punctuality() == doctest::Approx(1.0));
        }
    }
}

TEST_CASE("a reload mid-trip") {
    // Bus 7 leaves 8 minutes late on T1; halfway, the assignment is loaded again (the same
    // work, with a route rule changed), and the evening's block of the same bus changes.
    Day day(at(9h + 50min));
    day.upsert(morning());
    day.upsert(evening());
    Bus bus{day, 7};
    bus.fix(0);
    bus.stand_until(at(10h + 8min));
    bus.drive_to(3100, 15);
    const auto before = day.final_of(EventKind::late);
    REQUIRE(before.size() == 1);
    REQUIRE_FALSE(before[0].ended_at);

    auto again = morning();
    for (auto& t : again->trips) {
        t.thresholds = {{"long-dwell-after", 600}};  // route 12's rule changed
    }
    day.upsert(again);
    day.upsert(
        block(102, 7, "E1",
              {trip(3, "T3", true, at(11h + 45min)), trip(4, "T4", false, at(12h + 15min))}));
    day.step();
    bus.drive_to(6000, 15);

    const auto late = day.final_of(EventKind::late);
    REQUIRE(late.size() == 1);  // the same event goes on
    CHECK(late[0].key == before[0].key);
    CHECK(late[0].ended_at.has_value());  // closed at B Terminal, not at the reload
    CHECK(*late[0].ended_at > at(10h + 24min));
    CHECK(day.final_of(EventKind::missed_stop).empty());
    const auto summary = day.core.summary(101).value();
    CHECK(summary.stops_served == 5);  // nothing forgotten, nothing counted twice
    CHECK(summary.trips_served == 1);
    CHECK(day.core.tracker(7)->shift(101)->thresholds().long_dwell == 600s);

    // A changed timetable of the trip being driven starts that trip again from where the bus
    // is: the stops it passed are not judged again, the evening is untouched.
    Day changed(at(9h + 50min));
    changed.upsert(morning());
    changed.upsert(evening());
    Bus other{changed, 7};
    other.fix(0);
    other.stand_until(at(10h + 8min));
    other.drive_to(3100, 15);
    auto retimed = morning();
    retimed->trips[0] = trip(1, "T1", true, at(10h + 8min));
    changed.upsert(retimed);
    changed.step();
    other.drive_to(5000, 15);
    CHECK(std::abs(changed.core.tracker(7)->shift(101)->deviation_s().value_or(1e9)) < 60);
    other.drive_to(6000, 15);
    const auto closed = changed.final_of(EventKind::late);
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].ended_at.has_value());  // the old timetable's lateness is over
    CHECK(changed.final_of(EventKind::missed_stop).empty());
    CHECK(changed.core.summary(101)->stops_served == 5);  // Depot to Market kept, then the rest
    CHECK_FALSE(changed.core.tracker(7)->shift(102)->started());
}

TEST_CASE("a two-trip block driven too slowly") {
    // T1 out at 10:00 and T2 back at 10:30 (chained at B Terminal), driven at 10 km/h instead
    // of 15: T1 reaches B Terminal 12 minutes late, T2 leaves it at once, 6 minutes late, and
    // ends 18 minutes late.
    Day day(at(9h + 50min));
    day.upsert(
        block(401, 7, "S1", {trip(1, "T1", true, at(10h)), trip(2, "T2", false, at(10h + 30min))}));
    Bus bus{day, 7};
    bus.fix(0);
    bus.stand_until(at(10h));
    bus.drive_to(6000, 10);
    bus.drive_to(0, 10);

    const auto late = day.final_of(EventKind::late);
    REQUIRE(late.size() == 2);
    // T1's lateness, followed while it lasted: declared at some 5.7 minutes (5 minutes late
    // for the 2 minutes of deviation-persist), growing, updated as it grew, at most once a
    // minute (a third of a second later every second moves it by 30 s only every 90 s).
    const auto t1 = day.reports_of(late[0].key);
    REQUIRE(t1.size() >= 4);
    CHECK(t1.front().revision == 0);
    CHECK(t1.front().magnitude == doctest::Approx(340).epsilon(0.05));
    CHECK_FALSE(t1[t1.size() - 2].ended_at);
    CHECK(t1[t1.size() - 2].magnitude > 600);  // still open and already over 10 minutes
    for (std::size_t i = 1; i < t1.size(); ++i) {
        CAPTURE(i);
        CHECK(t1[i].revision == i);
        CHECK(t1[i].magnitude >= t1[i - 1].magnitude);
        CHECK(t1[i].geometry.size() == 1);  // the place of its latest fix
    }
    REQUIRE(t1.back().ended_at.has_value());
    const double open_min =
        std::chrono::duration<double>(*t1.back().ended_at - t1.front().started_at).count() / 60;
    CHECK(static_cast<double>(t1.size()) <= open_min + 2);
    CHECK(static_cast<double>(t1.size()) >= open_min / 1.5);
    CHECK(late[0].magnitude == doctest::Approx(12 * 60).epsilon(0.05));

    // T2 begins where T1 ended: no missed stop at the terminal; its late start is caused by
    // the late departure from there; it says 19 minutes before it ends.
    CHECK(day.final_of(EventKind::missed_stop).empty());
    CHECK(late[1].details["trip_code"] == "T2");
    CHECK(late[1].cause.starts_with("late departure from the first stop 'B Terminal'"));
    CHECK(late[1].details["cause_stop"] == "B Terminal");
    const auto t2 = day.reports_of(late[1].key);
    REQUIRE(t2.size() >= 2);
    CHECK_FALSE(t2[t2.size() - 2].ended_at);
    CHECK(t2[t2.size() - 2].magnitude > 16 * 60);  // while still open
    CHECK(late[1].magnitude == doctest::Approx(18 * 60).epsilon(0.03));

    const auto summary = day.core.summary(401).value();
    CHECK(summary.stops_served == 10);
    CHECK(summary.trips_served == 2);
}

TEST_CASE("arrival times predicted through the day, and the arrivals they are judged by") {
    Day day(at(9h));
    day.upsert(morning());
    Bus bus{day, 7};
    bus.x_m = 0;
    day.now = at(9h + 50min);
    bus.fix(0);
    bus.stand_until(at(10h + 6min));  // leaves Depot 6 minutes late
    // Waiting at the first stop: every stop of T1 after it predicted, none before its
    // timetable.
    REQUIRE_FALSE(day.etas.empty());
    const EtaUpdate& waiting = day.etas.back();
    CHECK(waiting.run.trip_code == "T1");
    CHECK(waiting.run.assignment_id == 101);
    CHECK(waiting.stops.size() == 4);
    CHECK(waiting.baseline.size() == waiting.stops.size());
    for (const auto& s : waiting.stops) {
        CHECK(s.arrival >= s.scheduled_arrival);
    }

    bus.drive_to(750, 15);
    // Half way to Meridian Street, 6 minutes late: the next stops come about 6 minutes late.
    const EtaUpdate mid = day.etas.back();
    REQUIRE(mid.stops.front().stop_id == 2);
    CHECK(mid.stops.front().method == EtaMethod::progress);
    const double late_s = std::chrono::duration<double>(mid.stops.front().arrival -
                                                        mid.stops.front().scheduled_arrival)
                              .count();
    CHECK(late_s == doctest::Approx(360).epsilon(0.25));
    CHECK(mid.stops.front().horizon_s == doctest::Approx(180).epsilon(0.25));
    // The live state carries the same predictions.
    const auto state = day.core.state(7);
    REQUIRE(state);
    CHECK(state->eta.size() == mid.stops.size());
    CHECK(state->eta_made_at == mid.made_at);

    bus.drive_to(6000, 15);
    bus.stand_until(day.now + 1min);
    // Every stop of T1 arrived at once, in order, at the times the bus was there.
    std::vector<std::size_t> t1;
    for (const auto& a : day.arrivals) {
        if (a.run.trip_code == "T1") {
            t1.push_back(a.stop_index);
        }
    }
    CHECK(t1 == std::vector<std::size_t>{0, 1, 2, 3, 4});
    const auto meridian = std::find_if(day.arrivals.begin(), day.arrivals.end(),
                                       [](const auto& a) { return a.stop_index == 1; });
    REQUIRE(meridian != day.arrivals.end());
    // The prediction made half way was right within half a minute.
    CHECK(std::abs(std::chrono::duration<double>(meridian->arrived_at - mid.stops.front().arrival)
                       .count()) < 30);

    bus.drive_to(3000, 15);
    // On T2 now: predictions of its own run, for the stops ahead of the bus only.
    const EtaUpdate& back = day.etas.back();
    CHECK(back.run.trip_code == "T2");
    CHECK(back.run.trip_index == 1);
    REQUIRE_FALSE(back.stops.empty());
    CHECK(back.stops.front().stop_id == 2);  // Meridian Street, on the way back
    CHECK(back.stops.back().stop_id == 1);

    // Cancelled: no more predictions for the vehicle.
    day.core.cancel(101);
    bus.drive_to(2000, 15);
    CHECK(day.core.state(7)->eta.empty());
}
