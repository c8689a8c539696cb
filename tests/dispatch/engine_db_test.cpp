// The engine on its threads with events stored in PostGIS and handed to a subscriber. No
// sleeps: sync() waits for the matching, stop() for the store.
#include <doctest/doctest.h>

#include <atomic>

#include "dispatch/engine.hpp"
#include "dispatch/event_store.hpp"
#include "dispatch/fleet_register.hpp"
#include "geo/geodesy.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const Millis eight = Millis(std::chrono::sys_days(std::chrono::year_month_day(
                         std::chrono::year(2026), std::chrono::month(11), std::chrono::day(27)))) +
                     8h;

// A 3 km trip east along 55.75° N, stops every kilometre, 2 minutes apart, from 08:00.
std::shared_ptr<Assignment> plan_for(std::int64_t vehicle, std::int64_t assignment = -1) {
    const geo::LonLat west{37.60, 55.75};
    auto shape = std::make_shared<geo::Polyline>(
        std::vector<geo::LonLat>{west, geo::destination(west, 90, 3000)}, "route");
    TripPlan trip;
    trip.shape = shape;
    for (int i = 0; i <= 3; ++i) {
        PlannedStop s;
        s.stop_id = i;
        s.name = "S" + std::to_string(i);
        s.distance_along_m = i * 1000.0;
        s.position = shape->point_at(s.distance_along_m);
        s.arrival = s.departure = eight + i * 2min;
        trip.stops.push_back(s);
    }
    auto a = std::make_shared<Assignment>();
    a->assignment_id = assignment;  // below 1: not a stored assignment
    a->vehicle_id = vehicle;
    a->planned_start = eight - 5min;
    a->planned_end = eight + 20min;
    a->trips.push_back(std::move(trip));
    return a;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a detour reaches fleet.events with its path and a subscriber, once") {
        test::MigratedDatabase db;
        const std::int64_t vehicle = add_vehicle(db.conn(), {.registration = "A777AA"}, "test");
        PostgisEventStore store(geo::ConnectionFactory({.url = db.url()}));
        Engine engine(EngineConfig{}, store, [] { return eight + 30min; });
        std::atomic<int> seen{0};
        engine.subscribe([&](const Event& e) {
            if (e.kind == EventKind::off_route && e.ended_at) {
                ++seen;
            }
        });
        engine.start();
        engine.upsert(plan_for(vehicle));

        auto shape = plan_for(vehicle)->trips[0].shape;
        std::vector<VehicleFix> fixes;
        Millis t = eight;
        // On the route to 1.2 km, 250 m north of it to 2.2 km, back on the route to the end.
        for (double d = 0; d <= 3000; d += 40) {
            geo::LonLat p = shape->point_at(d);
            if (d > 1200 && d < 2200) {
                p = geo::destination(p, 0, 250);
            }
            fixes.push_back(
                {vehicle, Fix{t, p, 30.0, true, {}, {}}, std::chrono::steady_clock::now()});
            t += 5s;
        }
        engine.on_positions(fixes);
        engine.on_positions(fixes);  // the same positions again: ignored as stale
        const auto summary = engine.summary(-1);
        const auto report = engine.stop(5s);
        CHECK(report.events_left == 0);
        CHECK(seen == 1);
        CHECK(engine.counters().fixes_dropped_stale == fixes.size());
        REQUIRE(summary);
        CHECK(summary->stops_served == 3);  // S2 was on the detour

        pqxx::read_transaction tx(db.conn());
        const auto row = tx.exec1(
            "SELECT count(*), min(ST_GeometryType(geom)), min(ST_NPoints(geom)),"
            " bool_and(ended_at IS NOT NULL), min(magnitude)"
            " FROM fleet.events WHERE kind = 'off_route'");
        CHECK(row[0].as<long>() == 1);
        CHECK(row[1].as<std::string>() == "ST_LineString");
        CHECK(row[2].as<long>() > 10);
        CHECK(row[3].as<bool>());
        CHECK(row[4].as<double>() == doctest::Approx(250).epsilon(0.05));
        CHECK(tx.exec1("SELECT count(*) FROM fleet.events WHERE kind = 'missed_stop' AND "
                       "discriminator = 'stop:2' AND cause = 'detour'")[0]
                  .as<long>() == 1);
    }

    TEST_CASE("reports of one event update one row, whatever their number") {
        test::MigratedDatabase db;
        const auto b1 = add_vehicle(db.conn(), {.registration = "B1"}, "test");
        PostgisEventStore store(geo::ConnectionFactory({.url = db.url()}));
        Event e;
        e.kind = EventKind::late;
        e.vehicle_id = b1;
        e.started_at = eight;
        e.geometry = {{30.1, 59.9}};
        e.magnitude = 320;
        e.cause = "detour (+6 min)";
        store.save({e});
        e.magnitude = 410;
        e.ended_at = eight + 9min;
        store.save({e});
        pqxx::read_transaction tx(db.conn());
        const auto row = tx.exec1(
            "SELECT count(*), max(magnitude), max(ended_at - started_at), max(ST_AsText(geom)), "
            "max(cause) FROM fleet.events");
        CHECK(row[0].as<long>() == 1);
        CHECK(row[1].as<double>() == 410);
        CHECK(row[2].as<std::string>() == "00:09:00");
        CHECK(row[3].as<std::string>() == "POINT(30.1 59.9)");
        CHECK(row[4].as<std::string>() == "detour (+6 min)");
    }

    TEST_CASE("an hour after the shift's planned end its planned-vs-actual is stored") {
        test::MigratedDatabase db;
        const std::int64_t vehicle = add_vehicle(db.conn(), {.registration = "C3"}, "test");
        std::int64_t assignment = 0;
        {
            pqxx::work tx(db.conn());
            assignment = tx.exec_params1(
                               "INSERT INTO fleet.shift_assignments (service_date, "
                               "vehicle_id, kind) VALUES ('2026-11-27', $1, 'timetable') "
                               "RETURNING assignment_id",
                               vehicle)[0]
                             .as<std::int64_t>();
            tx.commit();
        }
        PostgisEventStore store(geo::ConnectionFactory({.url = db.url()}));
        EngineConfig config;
        config.tick = 1ms;
        std::atomic<long long> clock_ms{(eight + 10min).time_since_epoch().count()};
        Engine engine(config, store,
                      [&] { return Millis(std::chrono::milliseconds(clock_ms.load())); });
        engine.start();
        auto plan = plan_for(vehicle, assignment);
        engine.upsert(plan);
        auto shape = plan->trips[0].shape;
        std::vector<VehicleFix> fixes;
        Millis t = eight;
        for (double d = 0; d <= 3000; d += 40) {  // on time all the way
            fixes.push_back({vehicle, Fix{t, shape->point_at(d), 30.0, true, {}, {}},
                             std::chrono::steady_clock::now()});
            t += std::chrono::milliseconds(4800);
        }
        engine.on_positions(fixes);
        engine.sync();
        CHECK(engine.counters().shift_results_queued == 0);  // not over yet
        CHECK(engine.counters().shift_results_stored == 0);
        // An hour past the planned end (shift-tolerance-after): over. The step stop() runs
        // ticks, hands the result to the store, and waits for it to be stored.
        clock_ms = (eight + 3h).time_since_epoch().count();
        engine.stop(5s);
        CHECK(engine.counters().shift_results_stored == 1);
        pqxx::read_transaction tx(db.conn());
        const auto row = tx.exec1(
            "SELECT trips_planned, trips_served, stops_planned, stops_served, "
            "round(km_planned::numeric, 2),"
            " timepoints, punctuality FROM fleet.shift_results");
        CHECK(row[0].as<int>() == 1);
        CHECK(row[1].as<int>() == 1);
        CHECK(row[2].as<int>() == 4);
        CHECK(row[3].as<int>() == 4);
        CHECK(row[4].as<double>() == doctest::Approx(3.0));
        CHECK(row[5].as<int>() == 3);
        CHECK(row[6].as<double>() == doctest::Approx(1.0));
    }
}
