// Shift assignments against the small GTFS fixture (feed "city", agency zone Europe/Moscow):
// block B1 = T1 08:00–08:20 + T2 08:30–08:45 of route R1 ("1"); block B2 = T3 23:50–24:10 of
// route R2 ("2"), past midnight. Several a day per vehicle, clashes refused unless forced,
// changed, cancelled and handed over (each journalled), listed, and loaded on their local
// service date in absolute time.
#include <doctest/doctest.h>

#include "dispatch/assignments.hpp"
#include "dispatch/fleet_register.hpp"
#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "geo/error.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

void prepare(pqxx::connection& conn) {
    const auto feed = gtfs::read_feed(std::string(FLEET_TEST_DATA) + "/gtfs/small");
    gtfs::import_feed(conn, feed, "city", {.actor = "test", .source = "small", .progress = {}});
    add_vehicles(conn, {{.registration = "A123BC"}, {.registration = "SPARE-1"}}, "test");
    add_drivers(conn,
                {{.personnel_number = "0042", .fields = {.full_name = "Ivan Petrov"}},
                 {.personnel_number = "0043", .fields = {.full_name = "Anna Smirnova"}}},
                "test");
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

std::string text(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    const auto f = tx.exec1(sql)[0];
    return f.is_null() ? "NULL" : f.as<std::string>();
}

// 2024-03-05 + `t` in UTC.
Millis march5_utc(std::chrono::minutes t) {
    return Millis(std::chrono::sys_days(std::chrono::year_month_day(
               std::chrono::year(2024), std::chrono::month(3), std::chrono::day(5)))) +
           t;
}

AssignmentRequest block(const std::string& vehicle, const std::string& b,
                        const std::string& driver = "") {
    AssignmentRequest q;
    q.service_date = "2024-03-05";  // a Tuesday: service WD runs
    q.vehicle = vehicle;
    q.driver = driver;
    q.feed = "city";
    q.block = b;
    return q;
}

std::vector<std::string> trip_codes(const Assignment& a) {
    std::vector<std::string> out;
    for (const auto& t : a.trips) {
        out.push_back(t.code);
    }
    return out;
}

std::shared_ptr<Assignment> loaded(pqxx::connection& conn, std::int64_t id) {
    const auto all = load_assignments(conn, AssignmentSelection{.ids = {id}});
    return all.empty() ? nullptr : all.front();
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a block assigned for a weekday loads as its trips in Moscow time") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto id = save_assignment(db.conn(), block("A123BC", "B1", "0042"));
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment created'"
                    " AND kind = 'assignment' AND vehicle_id IS NOT NULL"
                    " AND driver_id IS NOT NULL AND assignment_id IS NOT NULL") == 1);

        const auto loaded = load_assignments(db.conn(), "2024-03-05");
        REQUIRE(loaded.size() == 1);
        const Assignment& a = *loaded[0];
        CHECK(a.assignment_id == id);
        CHECK(a.driver_id.has_value());
        CHECK(a.service_date == "2024-03-05");
        CHECK(a.block == "B1");
        REQUIRE(a.trips.size() == 2);
        CHECK(a.trips[0].code == "T1");  // by first departure, whatever the file order
        CHECK(a.trips[1].code == "T2");
        CHECK(a.trips[0].route_code == "R1");
        CHECK(a.trips[0].route_short_name == "1");
        // T1 leaves S1 at 08:00 Europe/Moscow = 05:00 UTC.
        const Millis expected = march5_utc(5h);
        CHECK(a.trips[0].stops.front().departure == expected);
        CHECK(a.trips[0].stops[2].departure - a.trips[0].stops[2].arrival == 1min);
        // Stops lie along the shape in order.
        for (std::size_t i = 1; i < a.trips[0].stops.size(); ++i) {
            CHECK(a.trips[0].stops[i].distance_along_m > a.trips[0].stops[i - 1].distance_along_m);
        }
        CHECK(a.planned_start == expected - 15min);
    }

    TEST_CASE("two assignments a day for one vehicle are both kept and both loaded") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto morning = save_assignment(db.conn(), block("A123BC", "B1", "0042"));
        const auto evening = save_assignment(db.conn(), block("A123BC", "B2", "0043"));
        CHECK(morning != evening);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.shift_assignments WHERE status = 'planned'") == 2);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment created'") == 2);
        const auto day = load_assignments(db.conn(), "2024-03-05");
        REQUIRE(day.size() == 2);
        CHECK(day[0]->assignment_id == morning);
        CHECK(trip_codes(*day[0]) == std::vector<std::string>{"T1", "T2"});
        CHECK(day[1]->assignment_id == evening);
        CHECK(trip_codes(*day[1]) == std::vector<std::string>{"T3"});
        CHECK(day[0]->vehicle_id == day[1]->vehicle_id);
        CHECK(day[0]->driver_id != day[1]->driver_id);
    }

    TEST_CASE("the same block, driver or vehicle twice at once is refused naming the clash") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto first = save_assignment(db.conn(), block("A123BC", "B1", "0042"));
        const std::string other = "assignment " + std::to_string(first) +
                                  " of vehicle A123BC, 2024-03-05 08:00–08:45 (Europe/Moscow)";

        // The same block on another bus.
        CHECK_THROWS_WITH_AS(
            save_assignment(db.conn(), block("SPARE-1", "B1")),
            doctest::Contains(("the work 2024-03-05 08:00–08:45 (Europe/Moscow) clashes: block "
                               "'B1' of feed 'city' is already assigned on 2024-03-05: " +
                               other + " (--force saves it anyway)")
                                  .c_str()),
            InputError);
        // The same driver at the same time, on other work (T3 of B2, from a shift start at 08:30).
        auto driver_twice = block("SPARE-1", "B2", "0042");
        driver_twice.start = "08:30";
        CHECK_THROWS_WITH_AS(
            save_assignment(db.conn(), driver_twice),
            doctest::Contains(
                ("clashes: driver 'Ivan Petrov' already works then: " + other).c_str()),
            InputError);
        // The same vehicle at the same time.
        auto vehicle_twice = block("A123BC", "B2");
        vehicle_twice.start = "08:40";
        CHECK_THROWS_WITH_AS(
            save_assignment(db.conn(), vehicle_twice),
            doctest::Contains(("clashes: vehicle 'A123BC' is already busy then: " + other).c_str()),
            InputError);
        // Trips of the block given one by one clash as the block does.
        auto trips = block("SPARE-1", "");
        trips.trips = {"T2"};
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), trips),
                             doctest::Contains("block 'B1' of feed 'city' is already assigned"),
                             InputError);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.shift_assignments") == 1);

        // Forced, each is saved, and the journal says what it overrode.
        for (auto q : {block("SPARE-1", "B1"), driver_twice, vehicle_twice}) {
            q.force = true;
            save_assignment(db.conn(), q);
        }
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.shift_assignments") == 4);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment created'"
                    " AND jsonb_array_length(details->'forced') >= 1") == 3);
    }

    TEST_CASE("a spare vehicle takes over the rest of a block in one step") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto original = save_assignment(db.conn(), block("A123BC", "B1", "0042"));
        HandoverRequest r;
        r.service_date = "2024-03-05";
        r.feed = "city";
        r.block = "B1";
        r.from_trip = "T2";
        r.vehicle = "SPARE-1";
        r.reason = "gearbox";
        const auto done = hand_over(db.conn(), r);
        CHECK(done.original_id == original);
        CHECK(done.trips_kept == 1);
        CHECK(done.trips_moved == 1);

        const auto before = loaded(db.conn(), original);
        const auto spare = loaded(db.conn(), done.spare_id);
        REQUIRE(before);
        REQUIRE(spare);
        CHECK(trip_codes(*before) == std::vector<std::string>{"T1"});
        CHECK(trip_codes(*spare) == std::vector<std::string>{"T2"});
        CHECK(spare->block == "B1");
        CHECK(spare->driver_id == before->driver_id);  // the same driver moved over
        CHECK(spare->vehicle_id != before->vehicle_id);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment handed over'"
                    " AND details->>'to_vehicle' = 'SPARE-1' AND details->>'reason' = 'gearbox'"
                    " AND assignment_id = " +
                        std::to_string(original)) == 1);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment created'"
                    " AND (details->>'handed_over_from')::bigint = " +
                        std::to_string(original)) == 1);

        // Refused, and nothing changes: a trip it does not hold, its own vehicle.
        r = {};
        r.assignment_id = original;
        r.from_trip = "T2";
        r.vehicle = "SPARE-1";
        CHECK_THROWS_WITH_AS(hand_over(db.conn(), r),
                             doctest::Contains("does not hold trip 'T2' (its trips: T1)"),
                             InputError);
        r.from_trip = "T1";
        r.vehicle = "A123BC";
        CHECK_THROWS_WITH_AS(hand_over(db.conn(), r),
                             doctest::Contains("vehicle 'A123BC' already drives assignment"),
                             InputError);
        // Everything handed over: the original is cancelled, saying why.
        r.vehicle = "SPARE-1";  // it drives T2 later: no clash
        hand_over(db.conn(), r);
        CHECK(text(db.conn(),
                   "SELECT status || ': ' || cancel_reason FROM"
                   " fleet.shift_assignments WHERE assignment_id = " +
                       std::to_string(original)) ==
              "cancelled: handed over to SPARE-1 from trip T1");
    }

    TEST_CASE("a change keeps the id and journals what it was; bad changes change nothing") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto id = save_assignment(db.conn(), block("A123BC", "B1"));
        ChangeRequest c;
        c.assignment_id = id;
        c.driver = "0043";
        c.reason = "swap";
        CHECK(change_assignment(db.conn(), c));
        CHECK(loaded(db.conn(), id)->driver_id.has_value());
        CHECK(text(db.conn(),
                   "SELECT (details->'previous'->>'driver') IS NULL AND"
                   " details->'current'->>'driver' = 'Anna Smirnova' AND"
                   " details->>'reason' = 'swap' AND driver_id IS NOT NULL"
                   " FROM fleet.journal WHERE action = 'assignment changed'") == "t");
        // The same again: nothing to write.
        CHECK_FALSE(change_assignment(db.conn(), c));
        // Trips of its block only: T2.
        c = {};
        c.assignment_id = id;
        c.block = "B1";
        c.trips = std::vector<std::string>{"T2"};
        CHECK(change_assignment(db.conn(), c));
        CHECK(trip_codes(*loaded(db.conn(), id)) == std::vector<std::string>{"T2"});
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment changed'") == 2);

        // A clash with another assignment, an unknown trip, an unknown id: refused.
        const auto other = save_assignment(db.conn(), block("SPARE-1", "B2"));
        c = {};
        c.assignment_id = other;
        c.block = "B1";
        CHECK_THROWS_WITH_AS(change_assignment(db.conn(), c),
                             doctest::Contains("block 'B1' of feed 'city' is already assigned"),
                             InputError);
        c.block.reset();
        c.trips = std::vector<std::string>{"T9"};
        CHECK_THROWS_WITH_AS(change_assignment(db.conn(), c),
                             doctest::Contains("unknown trip 'T9' in feed 'city'"), InputError);
        c.assignment_id = 9999;
        CHECK_THROWS_WITH_AS(change_assignment(db.conn(), c),
                             doctest::Contains("there is no assignment 9999"), InputError);
        c = {};
        c.assignment_id = other;
        CHECK_THROWS_WITH_AS(change_assignment(db.conn(), c),
                             doctest::Contains("nothing to change"), InputError);
        CHECK(trip_codes(*loaded(db.conn(), other)) == std::vector<std::string>{"T3"});
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment changed'") == 2);
    }

    TEST_CASE("a cancel needs a reason, is journalled, and is refused twice") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto id = save_assignment(db.conn(), block("A123BC", "B1", "0042"));
        CHECK_THROWS_WITH_AS(cancel_assignment(db.conn(), id, " "),
                             doctest::Contains("needs its reason"), InputError);
        cancel_assignment(db.conn(), id, "driver ill", "dispatcher");
        CHECK(load_assignments(db.conn(), "2024-03-05").empty());
        CHECK(text(db.conn(),
                   "SELECT actor || '|' || (details->>'reason') FROM fleet.journal"
                   " WHERE action = 'assignment cancelled' AND assignment_id = " +
                       std::to_string(id) + " AND driver_id IS NOT NULL") ==
              "dispatcher|driver ill");
        CHECK_THROWS_WITH_AS(cancel_assignment(db.conn(), id, "again"),
                             doctest::Contains("was cancelled already"), InputError);
        CHECK_THROWS_WITH_AS(cancel_assignment(db.conn(), 9999, "x"),
                             doctest::Contains("there is no assignment 9999"), InputError);
        ChangeRequest c;
        c.assignment_id = id;
        c.driver = "0043";
        CHECK_THROWS_WITH_AS(change_assignment(db.conn(), c), doctest::Contains("was cancelled"),
                             InputError);
        // Its block is free again.
        CHECK_NOTHROW(save_assignment(db.conn(), block("SPARE-1", "B1")));
    }

    TEST_CASE("a block past midnight in Europe/Moscow loads on its service date") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto id = save_assignment(db.conn(), block("A123BC", "B2"));
        // 00:05 in Moscow on the 6th = 21:05 UTC on the 5th: the bus is on T3, service date 5th.
        const Millis now = march5_utc(21h + 5min);
        const auto around = load_assignments(
            db.conn(), AssignmentSelection{.service_dates = service_dates_around(now),
                                           .active_from = now - 4h,
                                           .active_to = now + 6h});
        REQUIRE(around.size() == 1);
        const Assignment& a = *around[0];
        CHECK(a.assignment_id == id);
        CHECK(a.service_date == "2024-03-05");
        REQUIRE(a.trips.size() == 1);
        const auto& stops = a.trips[0].stops;
        REQUIRE(stops.size() == 3);
        CHECK(stops[0].departure == march5_utc(20h + 50min));  // 23:50 Moscow on the 5th
        CHECK(stops[1].arrival == march5_utc(21h));            // 24:00 = 00:00 on the 6th
        CHECK(stops[1].departure == march5_utc(21h + 1min));
        CHECK(stops[2].arrival == march5_utc(21h + 10min));  // 24:10
        CHECK(a.planned_end == march5_utc(21h + 20min));
        // Half a day later it is out of the window; the service date of the 6th has no B2 work.
        const Millis later = march5_utc(36h);
        CHECK(load_assignments(db.conn(),
                               AssignmentSelection{.service_dates = service_dates_around(later),
                                                   .active_from = later - 4h,
                                                   .active_to = later + 6h})
                  .empty());
        CHECK(service_dates_around(now) ==
              std::vector<std::string>{"2024-03-04", "2024-03-05", "2024-03-06"});
    }

    TEST_CASE("the list shows a day's assignments in local time, cancelled ones with why") {
        test::MigratedDatabase db;
        prepare(db.conn());
        const auto morning = save_assignment(db.conn(), block("A123BC", "B1", "0042"));
        const auto night = save_assignment(db.conn(), block("SPARE-1", "B2"));
        cancel_assignment(db.conn(), night, "no demand");
        const auto rows = list_assignments(db.conn(), {.service_date = "2024-03-05"});
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].assignment_id == morning);
        CHECK(rows[0].vehicle == "A123BC");
        CHECK(rows[0].driver == "Ivan Petrov");
        CHECK(rows[0].personnel_number == "0042");
        CHECK(rows[0].block == "B1");
        CHECK(rows[0].trips == std::vector<std::string>{"T1", "T2"});
        CHECK(rows[0].start == "2024-03-05T08:00:00+03:00");
        CHECK(rows[0].end == "2024-03-05T08:45:00+03:00");
        CHECK(rows[0].status == "planned");
        CHECK(rows[1].end == "2024-03-06T00:10:00+03:00");
        CHECK(rows[1].status == "cancelled");
        CHECK(rows[1].cancel_reason == "no demand");
        CHECK(list_assignments(db.conn(), {.service_date = "2024-03-05", .vehicle = "SPARE-1"})
                  .size() == 1);
        CHECK_THROWS_WITH_AS(
            list_assignments(db.conn(), {.service_date = "2024-03-05", .vehicle = "NOPE"}),
            doctest::Contains("unknown vehicle 'NOPE'"), InputError);
    }

    TEST_CASE(
        "unknown vehicles, drivers, blocks and days without service are refused, nothing saved") {
        test::MigratedDatabase db;
        prepare(db.conn());
        AssignmentRequest q = block("NOPE", "B1");
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q),
                             doctest::Contains("unknown vehicle 'NOPE'"), InputError);
        q.vehicle = "A123BC";
        q.driver = "Nobody";
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q), doctest::Contains("unknown driver"),
                             InputError);
        q.driver.clear();
        q.service_date = "2024-03-09";  // a Saturday: WD does not run
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q),
                             doctest::Contains("has no trips on 2024-03-09"), InputError);
        q.service_date = "5 March";
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q), doctest::Contains("is not YYYY-MM-DD"),
                             InputError);
        q = block("A123BC", "B1");
        q.from_trip = "T7";
        CHECK_THROWS_WITH_AS(
            save_assignment(db.conn(), q),
            doctest::Contains("trip 'T7' is not a trip of block 'B1' on 2024-03-05 (its trips: "
                              "T1, T2)"),
            InputError);
        q = block("A123BC", "");
        q.trips = {"T4"};  // runs only on the holiday
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q),
                             doctest::Contains("trip 'T4' of feed 'city' does not run on"),
                             InputError);
        q = block("A123BC", "B1");
        q.start = "08:10";
        CHECK_THROWS_WITH_AS(
            save_assignment(db.conn(), q),
            doctest::Contains("the shift starts (08:10) after its first trip 'T1' departs "
                              "(2024-03-05 08:00)"),
            InputError);
        q.start.clear();
        q.time_zone = "Asia/Tokyo";
        CHECK_THROWS_WITH_AS(save_assignment(db.conn(), q),
                             doctest::Contains("runs in its feed's agency time zone"), InputError);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.shift_assignments") == 0);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action LIKE 'assignment%'") == 0);
    }
}

TEST_CASE("an assignment's fingerprint changes with its work, and only with it") {
    Assignment a;
    a.assignment_id = 7;
    a.vehicle_id = 3;
    a.service_date = "2024-03-05";
    a.block = "B1";
    a.planned_start = march5_utc(4h + 45min);
    a.planned_end = march5_utc(6h);
    TripPlan t;
    t.trip_id = 11;
    t.code = "T1";
    t.route_code = "R1";
    t.shape = std::make_shared<geo::Polyline>(
        std::vector<geo::LonLat>{{37.60, 55.75}, {37.62, 55.76}}, "trip T1");
    PlannedStop s;
    s.name = "A Terminal";
    s.position = {37.60, 55.75};
    s.arrival = s.departure = march5_utc(5h);
    t.stops = {s, s};
    t.stops[1].position = {37.62, 55.76};
    a.trips = {t};
    const auto same = a;
    CHECK(fingerprint(a) == fingerprint(same));

    const auto differs = [&](auto change) {
        auto b = a;
        change(b);
        return fingerprint(b) != fingerprint(a);
    };
    CHECK(differs([](Assignment& b) { b.driver_id = 42; }));
    CHECK(differs([](Assignment& b) { b.vehicle_id = 4; }));
    CHECK(differs([](Assignment& b) { b.planned_end += 1min; }));
    CHECK(differs([](Assignment& b) { b.trips[0].stops[1].arrival += 1ms; }));
    CHECK(differs([](Assignment& b) { b.trips[0].stops[0].radius_m = 80; }));
    CHECK(differs([](Assignment& b) { b.trips[0].thresholds["late-after"] = 600; }));
    CHECK(differs([](Assignment& b) { b.trips[0].speed_segments.push_back({0, 100, 40}); }));
    CHECK(differs([](Assignment& b) {
        b.trips[0].shape = std::make_shared<geo::Polyline>(
            std::vector<geo::LonLat>{{37.60, 55.75}, {37.63, 55.76}}, "trip T1");
    }));
    CHECK(differs([](Assignment& b) { b.trips.push_back(b.trips[0]); }));
}
