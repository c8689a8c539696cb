#include <doctest/doctest.h>

#include "geo/error.hpp"
#include "geo/migrations.hpp"
#include "tests/support/db.hpp"

using namespace fleet;

namespace {
long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}
}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a fresh database takes every migration and PostGIS works on fleet.positions") {
        test::ScratchDatabase db;
        pqxx::connection conn(db.url());
        const auto report = geo::migrate(conn, geo::bundled_migrations());
        CHECK(report.applied.size() == geo::bundled_migrations().size());
        CHECK(report.schema_version == geo::bundled_migrations().back().version);

        for (const char* table :
             {"vehicles", "devices", "drivers", "positions", "latest_positions", "routes", "stops",
              "trips", "stop_times", "shift_assignments", "events", "waybills", "fuel_transactions",
              "notices", "notice_deliveries", "journal"}) {
            CAPTURE(table);
            CHECK(count(conn, std::string("SELECT count(*) FROM pg_tables WHERE schemaname = "
                                          "'fleet' AND tablename = '") +
                                  table + "'") == 1);
        }
        CHECK(count(conn,
                    "SELECT count(*) FROM geometry_columns WHERE f_table_schema = 'fleet' "
                    "AND f_table_name = 'positions' AND type = 'POINT' AND srid = 4326") == 1);

        pqxx::work tx(conn);
        const long vehicle = tx.exec1(
                                   "INSERT INTO fleet.vehicles (registration) VALUES ('A001AA') "
                                   "RETURNING vehicle_id")[0]
                                 .as<long>();
        tx.exec_params(
            "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh) VALUES "
            "($1, now(), ST_SetSRID(ST_MakePoint(37.6173, 55.7558), 4326), 40),"
            "($1, now() - interval '1 minute', ST_SetSRID(ST_MakePoint(37.6273, 55.7558), 4326), "
            "35)",
            vehicle);
        // Two fixes 0.01° of longitude apart at 55.7558° N: 627 m on the ellipsoid.
        const double metres =
            tx.exec_params1(
                  "SELECT ST_Length(ST_MakeLine(geom ORDER BY device_time)::geography) "
                  "FROM fleet.positions WHERE vehicle_id = $1",
                  vehicle)[0]
                .as<double>();
        CHECK(metres == doctest::Approx(627.0).epsilon(0.01));
        // The current month's rows are in a monthly partition, not the default one.
        CHECK(tx.exec1("SELECT count(*) FROM fleet.positions_default")[0].as<long>() == 0);
        // The primary key absorbs a repeated fix.
        CHECK_THROWS_AS(
            tx.exec_params("INSERT INTO fleet.positions (vehicle_id, device_time, geom) "
                           "SELECT vehicle_id, device_time, geom FROM fleet.positions "
                           "WHERE vehicle_id = $1",
                           vehicle),
            pqxx::unique_violation);
    }

    TEST_CASE("migrating twice is a no-op") {
        test::ScratchDatabase db;
        pqxx::connection conn(db.url());
        geo::migrate(conn, geo::bundled_migrations());
        const long before = count(conn, "SELECT count(*) FROM fleet.schema_migrations");
        const auto again = geo::migrate(conn, geo::bundled_migrations());
        CHECK(again.applied.empty());
        CHECK(count(conn, "SELECT count(*) FROM fleet.schema_migrations") == before);
    }

    TEST_CASE("an edited, already applied migration is refused by name") {
        test::ScratchDatabase db;
        pqxx::connection conn(db.url());
        std::vector<geo::Migration> migrations = {
            {1, "first", "CREATE TABLE fleet.t1 (a int);"},
            {2, "second", "CREATE TABLE fleet.t2 (a int);"},
        };
        geo::migrate(conn, migrations);
        migrations[1].sql = "CREATE TABLE fleet.t2 (a int, b int);";
        migrations.push_back({3, "third", "CREATE TABLE fleet.t3 (a int);"});
        CHECK_THROWS_WITH_AS(
            geo::migrate(conn, migrations),
            doctest::Contains("migration 0002_second was changed after it was applied"),
            DatabaseError);
        // Nothing after the tampered one ran.
        CHECK(count(conn, "SELECT count(*) FROM pg_tables WHERE tablename = 't3'") == 0);
    }

    TEST_CASE("a failing migration is rolled back whole and named; earlier ones stay") {
        test::ScratchDatabase db;
        pqxx::connection conn(db.url());
        const std::vector<geo::Migration> migrations = {
            {1, "good", "CREATE TABLE fleet.ok (a int);"},
            {2, "bad", "CREATE TABLE fleet.half (a int); SELECT no_such_function();"},
        };
        CHECK_THROWS_WITH_AS(geo::migrate(conn, migrations),
                             doctest::Contains("migration 0002_bad failed and was rolled back"),
                             DatabaseError);
        CHECK(count(conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'ok'") == 1);
        CHECK(count(conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'half'") == 0);
        CHECK(count(conn, "SELECT max(version) FROM fleet.schema_migrations") == 1);
    }

    TEST_CASE("a database migrated by a newer program is refused") {
        test::ScratchDatabase db;
        pqxx::connection conn(db.url());
        geo::migrate(conn, {{1, "a", "SELECT 1;"}, {2, "b", "SELECT 2;"}});
        CHECK_THROWS_WITH_AS(geo::migrate(conn, {{1, "a", "SELECT 1;"}}),
                             doctest::Contains("newer than this program knows"), DatabaseError);
    }

    TEST_CASE(
        "a position outside every partition is stored, and moves when its month is prepared") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        {
            pqxx::work tx(conn);
            tx.exec0("INSERT INTO fleet.vehicles (vehicle_id, registration) VALUES (7, 'X')");
            tx.exec0(
                "INSERT INTO fleet.positions (vehicle_id, device_time, geom) VALUES "
                "(7, '2019-03-10 12:00:00+00', ST_SetSRID(ST_MakePoint(30, 60), 4326)),"
                "(7, '2019-03-31 23:59:59+00', ST_SetSRID(ST_MakePoint(30, 60), 4326)),"
                "(7, '2019-04-01 00:00:00+00', ST_SetSRID(ST_MakePoint(30, 60), 4326))");
            tx.commit();
        }
        CHECK(count(conn, "SELECT count(*) FROM fleet.positions_default") == 3);
        {
            pqxx::work tx(conn);
            CHECK(
                tx.exec1("SELECT fleet.ensure_position_partitions('2019-03-01', 1)")[0].as<int>() ==
                1);
            tx.commit();
        }
        CHECK(count(conn, "SELECT count(*) FROM fleet.positions_201903") == 2);
        CHECK(count(conn, "SELECT count(*) FROM fleet.positions_default") == 1);
        CHECK(count(conn, "SELECT count(*) FROM fleet.positions WHERE vehicle_id = 7") == 3);
        CHECK(geo::ensure_position_partitions(conn, 3) >= 0);
        CHECK(count(conn,
                    "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                    "'fleet.positions'::regclass") >= 6);
    }
}
