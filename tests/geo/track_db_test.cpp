#include <doctest/doctest.h>

#include "geo/error.hpp"
#include "geo/track_store.hpp"
#include "tests/support/db.hpp"

using namespace fleet;

namespace {

// Bus A123BC77 with four fixes on the morning of 2026-11-27 (one flagged invalid, one without
// speed), one the evening before, and another vehicle's fix at the same time.
std::int64_t bus_with_a_morning(pqxx::connection& conn) {
    pqxx::work tx(conn);
    const auto bus = tx.exec1(
                           "INSERT INTO fleet.vehicles (registration) VALUES ('A123BC77')"
                           " RETURNING vehicle_id")[0]
                         .as<std::int64_t>();
    const auto other = tx.exec1(
                             "INSERT INTO fleet.vehicles (registration) VALUES ('B456CD77')"
                             " RETURNING vehicle_id")[0]
                           .as<std::int64_t>();
    tx.exec_params(
        "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, course_deg,"
        " altitude_m, satellites, valid, odometer_m, fuel_l, ignition) VALUES"
        " ($1, '2026-11-26 20:00Z', ST_Point(37.60, 55.75, 4326), 0, 0, 150, 7, true, 900, 60, "
        "false),"
        " ($1, '2026-11-27 04:30Z', ST_Point(37.6173, 55.7558, 4326), 42.5, 90, 151, 9, true, "
        "1000, 55.5, true),"
        " ($1, '2026-11-27 04:30:30.25Z', ST_Point(37.62, 55.756, 4326), 0, 180, 152.5, 8, true, "
        "NULL, NULL, NULL),"
        " ($1, '2026-11-27 04:31Z', ST_Point(37.625, 55.757, 4326), NULL, NULL, NULL, NULL, false, "
        "NULL, NULL, NULL),"
        " ($1, '2026-11-27 05:00Z', ST_Point(37.63, 55.76, 4326), 30, 45, 150, 9, true, 2000, 54, "
        "true),"
        " ($2, '2026-11-27 04:30Z', ST_Point(30.3, 59.9, 4326), 10, 0, 5, 6, true, NULL, NULL, "
        "NULL)",
        bus, other);
    tx.commit();
    return bus;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE(
        "a vehicle's track for a period: its fixes only, in order, every column, with offsets") {
        test::MigratedDatabase db;
        const auto bus = bus_with_a_morning(db.conn());
        pqxx::read_transaction tx(db.conn());
        CHECK(geo::track_vehicle_id(tx, "A123BC77") == bus);
        const auto track = geo::read_track(tx, {.vehicle_id = bus,
                                                .from = "2026-11-27 07:00+03",
                                                .to = "2026-11-27T05:00:00Z",
                                                .time_zone = "Europe/Moscow"});
        CHECK(track.registration == "A123BC77");
        CHECK(geo::iso_time(track.from_ms, track.from_offset_s) == "2026-11-27T07:00:00+03:00");
        CHECK(geo::iso_time(track.to_ms, track.to_offset_s) == "2026-11-27T08:00:00+03:00");
        REQUIRE(track.fixes.size() == 3);  // 05:00Z is the period's end, not in it
        const auto& f = track.fixes;
        CHECK(geo::iso_time(f[0].time_ms, f[0].utc_offset_s) == "2026-11-27T07:30:00+03:00");
        CHECK(f[0].position.lon_deg == 37.6173);
        CHECK(f[0].position.lat_deg == 55.7558);
        CHECK(f[0].speed_kmh == 42.5);
        CHECK(f[0].course_deg == 90);
        CHECK(f[0].altitude_m == 151);
        CHECK(f[0].satellites == 9);
        CHECK(f[0].odometer_m == 1000);
        CHECK(f[0].fuel_l == 55.5);
        CHECK(f[0].ignition == true);
        CHECK(geo::iso_time(f[1].time_ms, f[1].utc_offset_s) == "2026-11-27T07:30:30.250+03:00");
        CHECK_FALSE(f[1].odometer_m);
        CHECK_FALSE(f[2].valid);
        CHECK_FALSE(f[2].speed_kmh);
        CHECK_FALSE(f[2].ignition);
    }

    TEST_CASE("a track read is bounded and refuses bad input, naming what is wrong") {
        test::MigratedDatabase db;
        const auto bus = bus_with_a_morning(db.conn());
        const auto refused = [&](const geo::TrackQuery& q) {
            pqxx::read_transaction tx(db.conn());
            try {
                geo::read_track(tx, q);
            } catch (const InputError& e) {
                return std::string(e.what());
            }
            return std::string("accepted");
        };
        CHECK(
            refused({.vehicle_id = bus, .from = "2026-11-01 00:00Z", .to = "2026-12-15 00:00Z"}) ==
            "period: 44 days long; at most 31 days (max_period_days) are read at once, ask for "
            "a shorter period");
        CHECK(refused({.vehicle_id = bus,
                       .from = "2026-11-27 00:00Z",
                       .to = "2026-11-28 00:00Z",
                       .limits = {.max_period_days = 31, .max_fixes = 3}}) ==
              "period: vehicle 'A123BC77' has more than 3 fixes in it; at most that many "
              "(max_fixes) are read at once, ask for a shorter period");
        CHECK(refused({.vehicle_id = bus,
                       .from = "2026-11-27 00:00Z",
                       .to = "2026-11-28 00:00Z",
                       .limits = {.max_period_days = 31, .max_fixes = 4}}) == "accepted");
        CHECK(refused({.vehicle_id = bus, .from = "2026-11-27 07:00", .to = "2026-11-28 00:00Z"}) ==
              "from: expected a time with its offset (2026-11-27 07:30+03 or "
              "2026-11-27T04:30:00Z), got '2026-11-27 07:00'");
        CHECK(
            refused({.vehicle_id = bus, .from = "2026-11-28 00:00Z", .to = "2026-11-27 00:00Z"}) ==
            "period: from 2026-11-28T00:00:00+00:00 is not before to 2026-11-27T00:00:00+00:00");
        CHECK(refused({.vehicle_id = bus, .from = "2026-13-27 00:00Z", .to = "2026-11-28 00:00Z"})
                  .rfind("from/to: ", 0) == 0);
        CHECK(refused({.vehicle_id = bus,
                       .from = "2026-11-27 00:00Z",
                       .to = "2026-11-28 00:00Z",
                       .time_zone = "Mars/Olympus"}) ==
              "time zone: unknown zone 'Mars/Olympus' (an IANA name such as Europe/Moscow, or "
              "UTC)");
        pqxx::read_transaction tx(db.conn());
        CHECK_THROWS_WITH_AS(geo::track_vehicle_id(tx, "X999XX"),
                             "no such vehicle 'X999XX' (fleetctl vehicle list shows them)",
                             geo::NoSuchVehicle);
        CHECK_THROWS_WITH_AS(
            geo::read_track(
                tx,
                {.vehicle_id = bus + 100, .from = "2026-11-27 00:00Z", .to = "2026-11-28 00:00Z"}),
            ("no such vehicle: id " + std::to_string(bus + 100)).c_str(), geo::NoSuchVehicle);
    }
}
