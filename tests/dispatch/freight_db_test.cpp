// Freight assignments in PostGIS: a route with planned stops and time windows, saved (journalled,
// all or nothing) and loaded for the engine as one run along the route's line.
#include <doctest/doctest.h>

#include "dispatch/assignment_input.hpp"
#include "dispatch/assignments.hpp"
#include "dispatch/fleet_register.hpp"
#include "dispatch/route_rules.hpp"
#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const geo::LonLat west{37.60, 55.75};

std::string point_wkt(geo::LonLat p) {
    return "POINT(" + std::to_string(p.lon_deg) + " " + std::to_string(p.lat_deg) + ")";
}

// Route F1: 5 km due east; the yard (stop YARD, radius 40 m) at its start, warehouse 7 (stop
// WH7, no radius of its own) at its end; route NOLINE without a line; truck T-7, driver 0042.
void prepare(pqxx::connection& conn) {
    const geo::LonLat east = geo::destination(west, 90, 5000);
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO fleet.routes (code, geom) VALUES ('F1', ST_GeomFromText($1, 4326))",
                   "LINESTRING(" + std::to_string(west.lon_deg) + " " +
                       std::to_string(west.lat_deg) + ", " + std::to_string(east.lon_deg) + " " +
                       std::to_string(east.lat_deg) + ")");
    tx.exec0("INSERT INTO fleet.routes (code) VALUES ('NOLINE')");
    tx.exec_params(
        "INSERT INTO fleet.stops (code, name, geom, radius_m) VALUES"
        " ('YARD', 'Loading yard', ST_GeomFromText($1, 4326), 40),"
        " ('WH7', 'Warehouse 7', ST_GeomFromText($2, 4326), NULL),"
        " ('FAR', 'Far away', ST_GeomFromText($3, 4326), NULL)",
        point_wkt(west), point_wkt(east), point_wkt(geo::destination(west, 0, 3000)));
    tx.commit();
    add_vehicles(conn,
                 {{.registration = "T-7", .fields = {.vehicle_class = "truck"}},
                  {.registration = "T-9", .fields = {.vehicle_class = "truck"}}},
                 "test");
    add_driver(conn, {.personnel_number = "0042", .fields = {.full_name = "Ivan Petrov"}}, "test");
}

// The bakery: 2 km along the route, 20 m north of it.
StopRequest bakery() {
    StopRequest s;
    s.name = "Bakery";
    s.position = geo::destination(geo::destination(west, 90, 2000), 0, 20);
    s.radius_m = 80;
    s.window_from = "08:20";
    s.window_to = "08:50";
    return s;
}

StopRequest known(const std::string& code, const std::string& from, const std::string& to) {
    StopRequest s;
    s.stop = code;
    s.window_from = from;
    s.window_to = to;
    return s;
}

AssignmentRequest delivery_run() {
    AssignmentRequest q;
    q.service_date = "2024-03-05";
    q.vehicle = "T-7";
    q.driver = "0042";
    q.route = "F1";
    q.start = "07:45";
    q.end = "12:00";
    q.time_zone = "Europe/Moscow";
    q.stops = {known("YARD", "08:00", "08:20"), bakery(), known("WH7", "09:00", "09:40")};
    return q;
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

std::string text(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<std::string>();
}

// 2024-03-05 hh:mm in Moscow (UTC+3).
Millis moscow(std::chrono::minutes hh_mm) {
    return Millis(std::chrono::sys_days(std::chrono::year_month_day(
               std::chrono::year(2024), std::chrono::month(3), std::chrono::day(5)))) +
           hh_mm - 3h;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("freight work saved and loaded: the route's line, its stops along it, the windows") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto id = save_assignment(db.conn(), delivery_run());

        const auto loaded = load_assignments(db.conn(), "2024-03-05");
        REQUIRE(loaded.size() == 1);
        const Assignment& a = *loaded[0];
        CHECK(a.assignment_id == id);
        CHECK(a.driver_id.has_value());
        CHECK(a.planned_start == moscow(7h + 45min));
        CHECK(a.planned_end == moscow(12h));
        REQUIRE(a.trips.size() == 1);
        const TripPlan& run = a.trips[0];
        CHECK(run.time_windows);
        CHECK(run.trip_id == 0);
        CHECK(run.code == "F1");
        CHECK(run.route_id > 0);
        REQUIRE(run.shape);
        CHECK(run.shape->length_m() == doctest::Approx(5000).epsilon(0.001));
        REQUIRE(run.stops.size() == 3);
        CHECK(run.stops[0].name == "Loading yard");
        CHECK(run.stops[0].stop_id > 0);
        CHECK(run.stops[0].radius_m == 40);  // the known stop's
        CHECK(run.stops[0].distance_along_m == doctest::Approx(0).epsilon(0.001));
        CHECK(run.stops[0].arrival == moscow(8h));
        CHECK(run.stops[0].departure == moscow(8h + 20min));
        CHECK(run.stops[1].name == "Bakery");
        CHECK(run.stops[1].stop_id == 0);    // a place of its own
        CHECK(run.stops[1].radius_m == 80);  // as given
        CHECK(run.stops[1].distance_along_m == doctest::Approx(2000).epsilon(0.001));
        CHECK(run.stops[2].name == "Warehouse 7");
        CHECK_FALSE(run.stops[2].radius_m.has_value());  // the stop-radius threshold's
        CHECK(run.stops[2].distance_along_m == doctest::Approx(5000).epsilon(0.001));
        CHECK(run.stops[2].departure == moscow(9h + 40min));

        CHECK(text(db.conn(),
                   "SELECT details->>'kind' || ' ' || (details->>'route') || ' ' ||"
                   " (details->>'stops') || ' ' || (details->>'start')"
                   " FROM fleet.journal WHERE action = 'assignment created'") ==
              "freight F1 3 2024-03-05T04:45:00Z");
    }

    TEST_CASE("times: on the date in the feed's or the given zone, or with their own offset") {
        test::MigratedDatabase db;
        prepare(db.conn());
        auto q = delivery_run();
        q.time_zone.clear();  // feed 'local' has no agency: UTC
        q.start = "2024-03-05T07:45+03:00";
        q.stops = {known("YARD", "05:00", "05:20"), known("WH7", "2024-03-05T08:40Z", "25:00")};
        q.end = "25:30";  // past midnight: the next day
        save_assignment(db.conn(), q);
        const auto a = load_assignments(db.conn(), "2024-03-05").at(0);
        CHECK(a->planned_start == moscow(7h + 45min));
        CHECK(a->planned_end == moscow(25h + 30min + 3h));
        CHECK(a->trips[0].stops[0].arrival == moscow(8h));
        CHECK(a->trips[0].stops[1].arrival == moscow(11h + 40min));
    }

    TEST_CASE("a second run of the truck at the same time is a clash; a change keeps its id") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto id = save_assignment(db.conn(), delivery_run());
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), delivery_run()),
                             doctest::Contains(("vehicle 'T-7' is already busy then: assignment " +
                                                std::to_string(id) +
                                                " of vehicle T-7, 2024-03-05 07:45–12:00 "
                                                "(Europe/Moscow)")
                                                   .c_str()),
                             InputError);
        // The afternoon run of another truck and another driver is no clash.
        auto afternoon = delivery_run();
        afternoon.vehicle = "T-9";
        afternoon.driver.clear();
        afternoon.start = "12:00";
        afternoon.end = "16:00";
        afternoon.stops = {known("YARD", "12:30", "13:00"), known("WH7", "14:00", "14:40")};
        CHECK_NOTHROW(save_assignment(db.conn(), afternoon));

        ChangeRequest c;
        c.assignment_id = id;
        auto stops = delivery_run().stops;
        stops.erase(stops.begin() + 1);  // the bakery is off today
        c.stops = stops;
        CHECK(change_assignment(db.conn(), c));
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.shift_assignments WHERE status <> 'cancelled'") ==
              2);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment changed'"
                    " AND details->'previous'->>'kind' = 'freight'"
                    " AND jsonb_array_length(details->'previous'->'stops') = 3"
                    " AND jsonb_array_length(details->'current'->'stops') = 2") == 1);
        const auto run = load_assignments(db.conn(), AssignmentSelection{.ids = {id}});
        REQUIRE(run.size() == 1);
        CHECK(run[0]->trips.at(0).stops.size() == 2);
        CHECK(run[0]->trips.at(0).stops[1].departure == moscow(9h + 40min));
        // A later end keeps the stops and their windows; one before the last window is refused.
        c = {};
        c.assignment_id = id;
        c.end = "13:00";
        CHECK(change_assignment(db.conn(), c));
        c.end = "09:30";
        CHECK_THROWS_WITH_AS(change_assignment(db.conn(), c),
                             doctest::Contains("stop 'Warehouse 7': its window"), InputError);
        CHECK(load_assignments(db.conn(), AssignmentSelection{.ids = {id}})[0]->planned_end ==
              moscow(13h));
    }

    TEST_CASE("a freight shift in a zone ahead of UTC loads on its local date") {
        test::MigratedDatabase db;
        prepare(db.conn());
        auto q = delivery_run();
        q.service_date = "2024-03-06";
        q.time_zone = "Asia/Tokyo";  // UTC+9: 07:45 on the 6th is 22:45 UTC on the 5th
        q.stops = {known("YARD", "08:00", "08:20"), known("WH7", "09:00", "09:40")};
        save_assignment(db.conn(), q);
        const Millis now = moscow(25h + 50min);  // 22:50 UTC on the 5th: UTC "today" is the 5th
        const auto around = load_assignments(
            db.conn(), AssignmentSelection{.service_dates = service_dates_around(now),
                                           .active_from = now - 4h,
                                           .active_to = now + 6h});
        REQUIRE(around.size() == 1);
        CHECK(around[0]->service_date == "2024-03-06");
        CHECK(around[0]->planned_start == moscow(25h + 45min));
        CHECK(text(db.conn(), "SELECT time_zone FROM fleet.shift_assignments") == "Asia/Tokyo");
    }

    TEST_CASE("bad freight work is refused with what is wrong, and nothing changes") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto refused = [&](auto change, const std::string& message) {
            auto q = delivery_run();
            change(q);
            CAPTURE(message);
            CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q), doctest::Contains(message.c_str()),
                                 InputError);
        };
        refused([](AssignmentRequest& q) { q.route = "F9"; }, "unknown route 'F9' in feed 'local'");
        refused([](AssignmentRequest& q) { q.route = "NOLINE"; }, "route 'NOLINE' has no line");
        refused([](AssignmentRequest& q) { q.stops[2].stop = "WH9"; },
                "unknown stop 'WH9' in feed 'local'");
        refused([](AssignmentRequest& q) { q.stops[2].window_to = "12:30"; },
                "stop 'Warehouse 7': its window 2024-03-05T06:00:00Z – 2024-03-05T09:30:00Z lies "
                "outside the shift 2024-03-05T04:45:00Z – 2024-03-05T09:00:00Z");
        refused([](AssignmentRequest& q) { q.stops[1].window_to = "08:10"; },
                "stop 'Bakery': its window ends (08:10) before it starts (08:20)");
        refused(
            [](AssignmentRequest& q) {
                q.stops = {known("WH7", "08:00", "08:20"), known("YARD", "09:00", "09:40")};
            },
            "stop 'Loading yard' is not in route order: it lies 0 m along route 'F1', before "
            "stop 'Warehouse 7' (5000 m)");
        refused([](AssignmentRequest& q) { q.stops[1] = known("FAR", "08:20", "08:50"); },
                "stop 'Far away' is 3000 m from route 'F1' (at most 500 m)");
        refused(
            [](AssignmentRequest& q) { q.stops[2].window_from = q.stops[2].window_to = "08:10"; },
            "stop 'Warehouse 7': its window closes before the window of the stop before it "
            "('Bakery') opens");
        refused([](AssignmentRequest& q) { q.end = "07:00"; }, "the shift ends (07:00) before it");
        refused([](AssignmentRequest& q) { q.start = "7 o'clock"; },
                "shift start '7 o'clock' is not a time");
        refused([](AssignmentRequest& q) { q.stops[0].window_from = "24:61"; },
                "stop 'Loading yard': window start '24:61' is not a time");
        refused([](AssignmentRequest& q) { q.time_zone = "Mars/Olympus"; },
                "unknown time zone 'Mars/Olympus'");
        refused([](AssignmentRequest& q) { q.stops.clear(); }, "at least one planned stop");
        refused([](AssignmentRequest& q) { q.block = "B1"; }, "not both");
        refused([](AssignmentRequest& q) { q.stops[1].name.clear(); }, "stop 2 needs a name");
        refused([](AssignmentRequest& q) { q.stops[1].radius_m = 0; }, "a radius must be above 0");
        refused([](AssignmentRequest& q) { q.service_date = "2024-02-30"; },
                "date '2024-02-30' is not YYYY-MM-DD");
        refused(
            [](AssignmentRequest& q) {
                q.route.clear();
                q.block = "B1";
            },
            "planned stops are for freight work: name its route");

        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.shift_assignments") == 0);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.assignment_stops") == 0);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.journal WHERE kind = 'assignment'") ==
              0);
    }

    TEST_CASE("a CSV of assignments is saved whole, with progress, or not at all") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const std::string header =
            "date,vehicle,driver,route,start,end,tz,stop,lon,lat,from,to,radius\n";
        const auto good = read_assignment_csv(
            header +
                "2024-03-05,T-7,0042,F1,07:45,12:00,Europe/Moscow,YARD,,,08:00,08:20,\n"
                "2024-03-05,T-7,,,,,,WH7,,,09:00,09:40,\n"
                "2024-03-05,T-9,,F1,10:00,14:00,Europe/Moscow,WH7,,,11:00,11:30,\n",
            "day.csv");
        std::vector<std::pair<std::size_t, std::size_t>> progress;
        const auto ids = save_assignments(
            db.conn(), good,
            [&](std::size_t done, std::size_t total) { progress.emplace_back(done, total); }, 1);
        CHECK(ids.size() == 2);
        CHECK(progress == std::vector<std::pair<std::size_t, std::size_t>>{{1, 2}, {2, 2}});
        CHECK(load_assignments(db.conn(), "2024-03-05").size() == 2);

        // A day's file whose fourth line names a stop nobody knows: nothing of it is saved.
        const auto bad = read_assignment_csv(
            header +
                "2024-03-06,T-7,0042,F1,07:45,12:00,Europe/Moscow,YARD,,,08:00,08:20,\n"
                "2024-03-06,T-7,,,,,,WH7,,,09:00,09:40,\n"
                "2024-03-06,T-9,,F1,10:00,14:00,Europe/Moscow,NOPE,,,11:00,11:30,\n",
            "day.csv");
        CHECK_THROWS_WITH_AS(save_assignments(db.conn(), bad),
                             doctest::Contains("day.csv:4: unknown stop 'NOPE'"), InputError);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.shift_assignments"
                    " WHERE service_date = '2024-03-06'") == 0);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.journal WHERE kind = 'assignment'") ==
              2);
    }

    TEST_CASE("a freight run is loaded with its route's thresholds and speed limits") {
        test::MigratedDatabase db;
        prepare(db.conn());
        save_assignment(db.conn(), delivery_run());
        const RouteRef f1{.feed = "local", .code = "F1"};
        set_route_threshold(db.conn(), f1, "late-after", 600, "test");
        set_route_speed_limit(db.conn(), f1, 1000, 2000, 40, "test");
        const auto run = load_assignments(db.conn(), "2024-03-05").at(0)->trips.at(0);
        CHECK(run.thresholds.at("late-after") == 600);
        REQUIRE(run.speed_segments.size() == 1);
        CHECK(run.speed_segments[0].from_m == 1000);
        CHECK(run.speed_segments[0].to_m == 2000);
        CHECK(run.speed_segments[0].limit_kmh == 40);
    }
}
