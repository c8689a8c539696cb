#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/support/db.hpp"

using namespace fleet;

namespace {

// A day of two vehicles as the GIS analyst sees it: bus A123BC77 drove on 26 and 27 November
// (UTC) and is now out on a freight assignment, late, with a detour open; van B456CD77 sent a
// single fix and has nothing assigned.
struct Fleet {
    std::int64_t bus = 0, van = 0, assignment = 0, late = 0, speeding = 0, detour = 0;
};

Fleet fill(pqxx::connection& conn) {
    pqxx::work tx(conn);
    Fleet f;
    const auto id = [&](const std::string& sql) { return tx.exec1(sql)[0].as<std::int64_t>(); };
    f.bus =
        id("INSERT INTO fleet.vehicles (registration, vehicle_class) VALUES ('A123BC77', 'bus')"
           " RETURNING vehicle_id");
    f.van =
        id("INSERT INTO fleet.vehicles (registration) VALUES ('B456CD77') RETURNING vehicle_id");
    tx.exec_params(
        "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, valid) VALUES"
        " ($1, '2026-11-26 10:00Z', ST_Point(37.60, 55.75, 4326), 20, true),"
        " ($1, '2026-11-26 10:01Z', ST_Point(37.61, 55.75, 4326), 30, true),"
        " ($1, '2026-11-26 10:02Z', ST_Point(37.62, 55.75, 4326), 0, true),"
        " ($1, '2026-11-27 08:00Z', ST_Point(37.62, 55.75, 4326), 10, true),"
        " ($1, '2026-11-27 08:01Z', ST_Point(50.00, 10.00, 4326), 0, false),"
        " ($1, '2026-11-27 08:02Z', ST_Point(37.62, 55.76, 4326), 15, true),"
        " ($2, '2026-11-26 12:00Z', ST_Point(30.3, 59.9, 4326), 0, true)",
        f.bus, f.van);
    tx.exec_params(
        "INSERT INTO fleet.latest_positions (vehicle_id, device_time, server_time, geom,"
        " speed_kmh, course_deg, valid, ignition) VALUES"
        " ($1, now() - interval '10 s', now(), ST_Point(37.62, 55.76, 4326), 15, 90, true, true),"
        " ($2, '2026-11-26 12:00Z', now(), ST_Point(30.3, 59.9, 4326), 0, 0, true, false)",
        f.bus, f.van);
    tx.exec_params(
        "INSERT INTO fleet.vehicle_status (vehicle_id, reported_at, \"values\")"
        " VALUES ($1, now(), '{\"voltage_level\": 5}')",
        f.bus);
    const auto route = id("INSERT INTO fleet.routes (code) VALUES ('R7') RETURNING route_id");
    const auto driver =
        id("INSERT INTO fleet.drivers (full_name) VALUES ('Ivan Petrov') RETURNING driver_id");
    // Yesterday's assignment is not today's.
    tx.exec_params(
        "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, driver_id, kind, route_id,"
        " planned_start, planned_end) VALUES ((now() AT TIME ZONE 'UTC')::date - 1, $1, $2,"
        " 'freight', $3, now() - interval '1 day', now() - interval '23 hours')",
        f.bus, driver, route);
    f.assignment = tx.exec_params1(
                         "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, driver_id,"
                         " kind, route_id, planned_start, planned_end) VALUES"
                         " ((now() AT TIME ZONE 'UTC')::date, $1, $2, 'freight', $3,"
                         " now() - interval '1 minute', now() + interval '1 minute')"
                         " RETURNING assignment_id",
                         f.bus, driver, route)[0]
                       .as<std::int64_t>();
    const auto event = [&](const std::string& kind, const std::string& ended,
                           const std::string& geom, double magnitude, const std::string& details) {
        return tx
            .exec_params1(
                "INSERT INTO fleet.events (vehicle_id, assignment_id, kind, started_at,"
                " ended_at, geom, magnitude, details) VALUES ($1, $2, $3,"
                " now() - interval '5 minutes', $4::timestamptz,"
                " ST_GeomFromText($5, 4326), $6, $7::jsonb) RETURNING event_id",
                f.bus, f.assignment, kind, ended.empty() ? std::optional<std::string>() : ended,
                geom.empty() ? std::optional<std::string>() : geom, magnitude, details)[0]
            .as<std::int64_t>();
    };
    f.late = event("late", "", "POINT(37.62 55.76)", 300, "{\"deviation_s\": 240}");
    f.speeding = event("speeding", "2026-11-27 08:05Z", "POINT(37.61 55.75)", 12, "{}");
    f.detour =
        event("off_route", "", "LINESTRING(37.60 55.75, 37.61 55.76, 37.62 55.76)", 80, "{}");
    event("signal_lost", "", "", 400, "{}");  // no place: in neither view
    tx.commit();
    return f;
}

std::string text(pqxx::transaction_base& tx, const std::string& sql) {
    const auto r = tx.exec1(sql);
    return r[0].is_null() ? "NULL" : r[0].as<std::string>();
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("QGIS finds every GIS view with its geometry type, SRID and integer key") {
        test::MigratedDatabase db;
        pqxx::read_transaction tx(db.conn());
        const auto rows = tx.exec(
            "SELECT f_table_name, type, srid, coord_dimension FROM geometry_columns"
            " WHERE f_table_schema = 'fleet' AND f_table_name LIKE 'gis\\_%' ORDER BY 1");
        REQUIRE(rows.size() == 4);
        const std::vector<std::pair<std::string, std::string>> expected = {
            {"gis_daily_tracks", "LINESTRING"},
            {"gis_event_lines", "LINESTRING"},
            {"gis_event_points", "POINT"},
            {"gis_vehicle_state", "POINT"}};
        for (std::size_t i = 0; i < rows.size(); ++i) {
            CAPTURE(i);
            CHECK(rows[i][0].as<std::string>() == expected[i].first);
            CHECK(rows[i][1].as<std::string>() == expected[i].second);
            CHECK(rows[i][2].as<int>() == 4326);
            CHECK(rows[i][3].as<int>() == 2);
            CHECK(text(tx,
                       "SELECT data_type FROM information_schema.columns WHERE table_schema ="
                       " 'fleet' AND table_name = '" +
                           expected[i].first + "' AND column_name = 'id'") == "bigint");
        }
    }

    TEST_CASE("the daily tracks: a line per vehicle and UTC day of its valid fixes") {
        test::MigratedDatabase db;
        const auto f = fill(db.conn());
        pqxx::read_transaction tx(db.conn());
        const auto rows = tx.exec(
            "SELECT id, vehicle_id, registration, day::text, fixes, round(length_m::numeric),"
            " first_fix = '2026-11-26 10:00Z' OR first_fix = '2026-11-27 08:00Z',"
            " ST_AsText(geom), ST_NPoints(geom) FROM fleet.gis_daily_tracks ORDER BY id");
        // The van's single fix makes no line.
        REQUIRE(rows.size() == 2);
        CHECK(rows[0][0].as<std::int64_t>() == f.bus * 100000 + 9826);  // 2026-11-26
        CHECK(rows[1][0].as<std::int64_t>() == f.bus * 100000 + 9827);
        CHECK(rows[0][2].as<std::string>() == "A123BC77");
        CHECK(rows[0][3].as<std::string>() == "2026-11-26");
        CHECK(rows[0][4].as<int>() == 3);
        // 0.02° of longitude at 55.75° N, on the WGS 84 spheroid.
        CHECK(rows[0][5].as<double>() == doctest::Approx(1256).epsilon(0.005));
        CHECK(rows[0][6].as<bool>());
        CHECK(rows[0][7].as<std::string>() == "LINESTRING(37.6 55.75,37.61 55.75,37.62 55.75)");
        // The invalid fix (at 50,10) is left out of the line.
        CHECK(rows[1][4].as<int>() == 2);
        CHECK(rows[1][7].as<std::string>() == "LINESTRING(37.62 55.75,37.62 55.76)");
        CHECK(text(tx,
                   "SELECT last_fix = '2026-11-27 08:02Z' FROM fleet.gis_daily_tracks"
                   " WHERE day = '2026-11-27'") == "t");
    }

    TEST_CASE("the vehicle state: latest position, today's assignment and the open events") {
        test::MigratedDatabase db;
        const auto f = fill(db.conn());
        pqxx::read_transaction tx(db.conn());
        const auto rows = tx.exec(
            "SELECT id, registration, speed_kmh, coalesce(assignment_id, 0),"
            " coalesce(driver, '-'), coalesce(route, '-'), open_events, coalesce(open_kinds, '-'),"
            " deviation_s, ST_AsText(geom), coalesce(status, '-') FROM fleet.gis_vehicle_state"
            " ORDER BY id");
        REQUIRE(rows.size() == 2);
        CHECK(rows[0][0].as<std::int64_t>() == f.bus);
        CHECK(rows[0][1].as<std::string>() == "A123BC77");
        CHECK(rows[0][2].as<double>() == 15);
        CHECK(rows[0][3].as<std::int64_t>() == f.assignment);
        CHECK(rows[0][4].as<std::string>() == "Ivan Petrov");
        CHECK(rows[0][5].as<std::string>() == "R7");
        CHECK(rows[0][6].as<int>() == 3);  // late, off route, signal lost; speeding is closed
        CHECK(rows[0][7].as<std::string>() == "late,off_route,signal_lost");
        CHECK(rows[0][8].as<double>() == 240);  // the latest deviation, not the worst
        CHECK(rows[0][9].as<std::string>() == "POINT(37.62 55.76)");
        CHECK(rows[0][10].as<std::string>() == "{\"voltage_level\": 5}");
        CHECK(rows[1][1].as<std::string>() == "B456CD77");
        CHECK(rows[1][3].as<std::int64_t>() == 0);
        CHECK(rows[1][6].as<int>() == 0);
        CHECK(rows[1][7].as<std::string>() == "-");
        CHECK(rows[1][8].is_null());
    }

    TEST_CASE("events split by the type of their place, with their registration") {
        test::MigratedDatabase db;
        const auto f = fill(db.conn());
        pqxx::read_transaction tx(db.conn());
        const auto points = tx.exec(
            "SELECT id, registration, kind, open, ST_AsText(geom) FROM fleet.gis_event_points"
            " ORDER BY id");
        REQUIRE(points.size() == 2);
        CHECK(points[0][0].as<std::int64_t>() == f.late);
        CHECK(points[0][1].as<std::string>() == "A123BC77");
        CHECK(points[0][2].as<std::string>() == "late");
        CHECK(points[0][3].as<bool>());
        CHECK(points[1][0].as<std::int64_t>() == f.speeding);
        CHECK_FALSE(points[1][3].as<bool>());
        CHECK(points[1][4].as<std::string>() == "POINT(37.61 55.75)");
        const auto lines = tx.exec(
            "SELECT id, registration, kind, round(length_m::numeric), ST_NPoints(geom)"
            " FROM fleet.gis_event_lines");
        REQUIRE(lines.size() == 1);
        CHECK(lines[0][0].as<std::int64_t>() == f.detour);
        CHECK(lines[0][1].as<std::string>() == "A123BC77");
        CHECK(lines[0][2].as<std::string>() == "off_route");
        CHECK(lines[0][3].as<double>() > 1000);
        CHECK(lines[0][4].as<int>() == 3);
        // A map's window query on the view never trips over the other type's rows.
        CHECK(text(tx,
                   "SELECT count(*) FROM fleet.gis_event_points"
                   " WHERE geom && ST_MakeEnvelope(37, 55, 38, 56, 4326)") == "2");
        CHECK(text(tx,
                   "SELECT count(*) FROM fleet.gis_event_lines"
                   " WHERE geom && ST_MakeEnvelope(37, 55, 38, 56, 4326)") == "1");
    }
}
