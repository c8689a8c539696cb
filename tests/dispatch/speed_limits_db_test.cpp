#include <doctest/doctest.h>

#include "dispatch/fleet_register.hpp"
#include "dispatch/speed_limits_store.hpp"
#include "tests/support/db.hpp"

using namespace fleet;

TEST_SUITE("db") {
    TEST_CASE("speed zones and vehicle classes load from PostGIS") {
        test::MigratedDatabase db;
        std::int64_t bus = 0;
        {
            pqxx::work tx(db.conn());
            tx.exec0(
                "INSERT INTO fleet.zones (code, name, kind, speed_limit_kmh, geom) VALUES "
                "('school', 'School', 'speed_zone', 20, ST_Multi(ST_GeomFromText("
                "'POLYGON((30 60, 30.01 60, 30.01 60.01, 30 60.01, 30 60))', 4326))),"
                "('depot', 'Depot', 'depot', NULL, ST_Multi(ST_GeomFromText("
                "'POLYGON((30 60, 30.01 60, 30.01 60.01, 30 60.01, 30 60))', 4326)))");
            tx.commit();
        }
        bus = dispatch::add_vehicle(
            db.conn(), {.registration = "BUS-9", .fields = {.vehicle_class = "bus"}}, "test");
        const auto limits = dispatch::load_speed_limits(db.conn(), {{"bus", 70}});
        CHECK(limits->zones() == 1);  // the depot has no limit
        CHECK(limits->zone_limit({30.005, 60.005}) == 20);
        CHECK_FALSE(limits->zone_limit({30.02, 60.005}).has_value());
        CHECK(limits->class_cap(bus) == 70);
    }
}
