// The threaded engine around its core, with the in-memory store: a stalled store does not stall
// matching, a failing one loses nothing silently, full queues drop the oldest and say so, and
// stop() drains within its deadline. No sleeps: sync() waits for the matching thread, stop()
// for the events thread.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "dispatch/engine.hpp"
#include "dispatch/event_queue.hpp"
#include "dispatch/memory_event_store.hpp"
#include "geo/error.hpp"
#include "geo/geodesy.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const Millis eight = Millis(std::chrono::sys_days(std::chrono::year_month_day(
                         std::chrono::year(2026), std::chrono::month(11), std::chrono::day(27)))) +
                     8h;
const geo::LonLat west{37.60, 55.75};

// A 3 km trip east along 55.75° N, stops every kilometre, 2 minutes apart, from 08:00.
std::shared_ptr<Assignment> plan_for(std::int64_t vehicle, std::int64_t assignment) {
    auto shape = std::make_shared<geo::Polyline>(
        std::vector<geo::LonLat>{west, geo::destination(west, 90, 3000)}, "route");
    TripPlan trip;
    trip.code = "T" + std::to_string(assignment);
    trip.route_short_name = "3";
    trip.shape = shape;
    for (int i = 0; i <= 3; ++i) {
        PlannedStop s;
        s.stop_id = i + 1;
        s.name = "S" + std::to_string(i);
        s.distance_along_m = i * 1000.0;
        s.position = shape->point_at(s.distance_along_m);
        s.arrival = s.departure = eight + i * 2min;
        trip.stops.push_back(s);
    }
    auto a = std::make_shared<Assignment>();
    a->assignment_id = assignment;
    a->vehicle_id = vehicle;
    a->block = "B" + std::to_string(assignment);
    a->planned_start = eight - 5min;
    a->planned_end = eight + 20min;
    a->trips.push_back(std::move(trip));
    return a;
}

// Standing at S0 until 08:10, then along the trip at its speed to 2.5 km: 10 minutes late, and
// still on its way.
std::vector<VehicleFix> late_drive(std::int64_t vehicle, const Assignment& plan) {
    std::vector<VehicleFix> out;
    const auto& shape = *plan.trips[0].shape;
    Millis t = eight - 2min;
    for (; t < eight + 10min; t += 10s) {
        out.push_back({vehicle, Fix{t, shape.point_at(0), 0.0, true, {}, {}}, {}});
    }
    for (double d = 0; d <= 2500; d += 41.7) {
        out.push_back({vehicle, Fix{t, shape.point_at(d), 30.0, true, {}, {}}, {}});
        t += 5s;
    }
    return out;
}

Event report(std::uint64_t key, std::uint32_t revision) {
    Event e;
    e.kind = EventKind::late;
    e.key = key;
    e.revision = revision;
    return e;
}

}  // namespace

TEST_CASE("the event queue keeps one report per event and drops the oldest when full") {
    EventQueue q(3);
    const auto t0 = std::chrono::steady_clock::now();
    q.push(report(1, 0), t0);
    q.push(report(1, 1), t0 + 1s);  // the same event again: replaces the queued report
    CHECK(q.size() == 1);
    CHECK(q.coalesced() == 1);
    q.push(report(2, 0), {});
    q.push(report(3, 0), {});
    q.push(report(4, 0), {});  // a fourth event in a queue of three: the oldest goes
    CHECK(q.size() == 3);
    CHECK(q.dropped() == 1);
    auto taken = q.take(2);
    REQUIRE(taken.size() == 2);
    CHECK(taken[0].event.key == 2);
    CHECK(taken[1].event.key == 3);
    q.push(report(2, 1), {});  // reported again while the first report was being stored
    q.put_back(std::move(taken));
    const auto rest = q.take(10);
    REQUIRE(rest.size() == 3);
    CHECK(rest[0].event.key == 3);  // put back in front
    CHECK(rest[1].event.key == 4);
    CHECK(rest[2].event.key == 2);
    CHECK(rest[2].event.revision == 1);  // the newer report stood
    CHECK(q.coalesced() == 2);

    EventQueue first(5);
    first.push(report(9, 0), t0 + 2s);
    first.push(report(9, 1), t0 + 5s);
    CHECK(first.take(1)[0].committed == t0 + 2s);  // the latency of the report that waited longest
}

TEST_CASE("a stalled store does not stall matching; what it held is stored once it is back") {
    MemoryEventStore store;
    store.hold();  // every save waits: a database that does not answer
    Engine engine(EngineConfig{}, store, [] { return eight + 30min; });
    std::size_t seen = 0;
    engine.subscribe([&](const Event&) { ++seen; });  // on the events thread; read after stop
    engine.start();
    const auto plan = plan_for(7, 71);
    engine.upsert(plan);
    const auto fixes = late_drive(7, *plan);
    engine.on_positions(fixes);
    engine.sync();  // returns: the matching went on while the store stalls

    auto c = engine.counters();
    CHECK(c.fixes_processed == fixes.size());
    CHECK(c.event_reports > 0);
    CHECK(c.event_reports_stored == 0);
    const auto state = engine.state(7);
    REQUIRE(state);
    CHECK(state->assignment_id == 71);
    CHECK(state->block == "B71");
    CHECK(state->trip_code == "T71");
    CHECK(state->deviation_s.value_or(0) > 500);
    bool late_open = false;
    for (const auto& e : state->open_events) {
        late_open = late_open || e.kind == EventKind::late;
    }
    CHECK(late_open);
    CHECK(engine.snapshot().size() == 1);

    store.release();
    const auto left = engine.stop(10s);
    CHECK(left.events_left == 0);
    c = engine.counters();
    CHECK(c.event_reports_stored + c.event_reports_coalesced == c.event_reports);
    CHECK(c.events_dropped_queue_full == 0);
    CHECK(seen == c.event_reports_stored);
    bool stored_late = false;
    for (const auto& e : store.events()) {
        stored_late = stored_late || (e.kind == EventKind::late && e.assignment_id == 71);
    }
    CHECK(stored_late);
}

TEST_CASE("a store that keeps failing: retried, then what is left at the deadline is counted") {
    MemoryEventStore store;
    store.fail(true);
    Engine engine(EngineConfig{}, store, [] { return eight + 30min; });
    engine.start();
    const auto plan = plan_for(7, 72);
    engine.upsert(plan);
    engine.on_positions(late_drive(7, *plan));
    engine.sync();
    const auto started = std::chrono::steady_clock::now();
    const auto left = engine.stop(300ms);
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(left.events_left > 0);
    const auto c = engine.counters();
    CHECK(c.events_dropped_stopped == left.events_left);
    CHECK(c.store_failures >= 1);
    CHECK(c.event_reports_stored == 0);
    CHECK(store.events().empty());
    std::string metrics;
    engine.write_metrics(metrics);
    CHECK(metrics.find("fleet_dispatch_events_dropped_total{reason=\"stopped\"} " +
                       std::to_string(left.events_left)) != std::string::npos);
}

TEST_CASE(
    "a full fix queue drops the oldest, stale and invalid fixes are counted, all in metrics") {
    MemoryEventStore store;
    EngineConfig config;
    config.max_queue = 5;
    Engine engine(config, store, [] { return eight; });
    std::vector<VehicleFix> fixes;
    for (int i = 0; i < 8; ++i) {
        fixes.push_back(
            {3, Fix{eight + i * 5s, geo::destination(west, 90, i * 40.0), 30.0, true, {}, {}}, {}});
    }
    engine.on_positions(fixes);  // before start: queued, the 3 oldest beyond 5 dropped
    CHECK(engine.counters().fixes_dropped_queue_full == 3);
    engine.start();
    engine.sync();
    engine.on_positions({fixes[4]});  // again: stale
    engine.sync();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    engine.on_positions({{3, Fix{eight + 1h, {nan, 55.0}, 0.0, true, {}, {}}, {}},
                         {0, Fix{eight + 1h, west, 0.0, true, {}, {}}, {}}});
    engine.sync();
    const auto c = engine.counters();
    CHECK(c.fixes_received == 11);
    CHECK(c.fixes_processed == 5);
    CHECK(c.fixes_dropped_stale == 1);
    CHECK(c.fixes_dropped_invalid == 2);
    engine.stop(1s);
    engine.on_positions({fixes[7]});  // after stop: dropped, counted
    CHECK(engine.counters().fixes_dropped_stopped == 1);

    std::string metrics;
    engine.write_metrics(metrics);
    CHECK(metrics.find("# TYPE fleet_dispatch_fixes_dropped_total counter") != std::string::npos);
    for (const char* line : {"fleet_dispatch_fixes_dropped_total{reason=\"queue_full\"} 3",
                             "fleet_dispatch_fixes_dropped_total{reason=\"stale\"} 1",
                             "fleet_dispatch_fixes_dropped_total{reason=\"invalid\"} 2",
                             "fleet_dispatch_fixes_dropped_total{reason=\"stopped\"} 1",
                             "fleet_dispatch_fixes_processed_total 5"}) {
        CAPTURE(line);
        CHECK(metrics.find(line) != std::string::npos);
    }
}

TEST_CASE("an assignment the engine cannot track is refused, naming what is wrong") {
    MemoryEventStore store;
    Engine engine(EngineConfig{}, store, [] { return eight; });
    auto no_trips = plan_for(7, 73);
    no_trips->trips.clear();
    CHECK_THROWS_WITH_AS(engine.upsert(no_trips), "assignment 73: no trips", InputError);
    auto no_id = plan_for(7, 0);
    CHECK_THROWS_AS(engine.upsert(no_id), InputError);
    auto backwards = plan_for(7, 74);
    std::swap(backwards->trips[0].stops[1], backwards->trips[0].stops[2]);
    CHECK_THROWS_WITH_AS(engine.upsert(backwards),
                         doctest::Contains("stop 'S1' is not a place along the shape"), InputError);
    auto nowhere = plan_for(7, 75);
    nowhere->trips[0].stops[0].position.lat_deg = std::nan("");
    CHECK_THROWS_AS(engine.upsert(nowhere), InputError);
    CHECK(engine.counters().assignments_refused == 4);
}
