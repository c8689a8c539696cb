// Shift assignments against the small GTFS fixture: created and changed (journalled), and loaded
// for the engine with the block's trips in absolute time.
#include <doctest/doctest.h>

#include "dispatch/assignments.hpp"
#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "geo/error.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch;

namespace {

void prepare(pqxx::connection& conn) {
    const auto feed = gtfs::read_feed(std::string(FLEET_TEST_DATA) + "/gtfs/small");
    gtfs::import_feed(conn, feed, "city", {.actor = "test", .source = "small", .progress = {}});
    pqxx::work tx(conn);
    tx.exec0("INSERT INTO fleet.vehicles (registration) VALUES ('A123BC')");
    tx.exec0(
        "INSERT INTO fleet.drivers (full_name, personnel_number) VALUES ('Ivan Petrov', '0042')");
    tx.commit();
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a block assigned for a weekday loads as its trips in Moscow time") {
        test::MigratedDatabase db;
        prepare(db.conn());
        AssignmentRequest q;
        q.service_date = "2024-03-05";  // a Tuesday: service WD runs
        q.vehicle = "A123BC";
        q.driver = "0042";
        q.feed = "city";
        q.block = "B1";
        const auto id = save_assignment(db.conn(), q);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment created'") == 1);

        const auto loaded = load_assignments(db.conn(), "2024-03-05");
        REQUIRE(loaded.size() == 1);
        const Assignment& a = *loaded[0];
        CHECK(a.assignment_id == id);
        CHECK(a.driver_id.has_value());
        REQUIRE(a.trips.size() == 2);
        CHECK(a.trips[0].code == "T1");  // by first departure, whatever the file order
        CHECK(a.trips[1].code == "T2");
        // T1 leaves S1 at 08:00 Europe/Moscow = 05:00 UTC.
        const Millis expected =
            Millis(std::chrono::sys_days(std::chrono::year_month_day(
                std::chrono::year(2024), std::chrono::month(3), std::chrono::day(5)))) +
            std::chrono::hours(5);
        CHECK(a.trips[0].stops.front().departure == expected);
        CHECK(a.trips[0].stops[2].departure - a.trips[0].stops[2].arrival ==
              std::chrono::minutes(1));
        // Stops lie along the shape in order.
        for (std::size_t i = 1; i < a.trips[0].stops.size(); ++i) {
            CHECK(a.trips[0].stops[i].distance_along_m > a.trips[0].stops[i - 1].distance_along_m);
        }
        CHECK(a.planned_start == expected - std::chrono::minutes(15));
    }

    TEST_CASE("re-assigning a vehicle replaces its assignment and journals the change") {
        test::MigratedDatabase db;
        prepare(db.conn());
        AssignmentRequest q;
        q.service_date = "2024-03-05";
        q.vehicle = "A123BC";
        q.feed = "city";
        q.block = "B1";
        save_assignment(db.conn(), q);
        q.block.clear();
        q.trips = {"T3"};
        save_assignment(db.conn(), q);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.shift_assignments WHERE status <> 'cancelled'") ==
              1);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'assignment changed'"
                    " AND details->'previous'->>'block' = 'B1'") == 1);
        const auto loaded = load_assignments(db.conn(), "2024-03-05");
        REQUIRE(loaded.size() == 1);
        REQUIRE(loaded[0]->trips.size() == 1);
        CHECK(loaded[0]->trips[0].code == "T3");
    }

    TEST_CASE(
        "unknown vehicles, drivers, blocks and days without service are refused, nothing saved") {
        test::MigratedDatabase db;
        prepare(db.conn());
        AssignmentRequest q;
        q.service_date = "2024-03-05";
        q.vehicle = "NOPE";
        q.feed = "city";
        q.block = "B1";
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
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.shift_assignments") == 0);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action LIKE 'assignment%'") == 0);
    }
}
