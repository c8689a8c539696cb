// Transport-process records: a truck's stay at a loading point found from its positions (arrival,
// departure, dwell, its waybill), found once however often the detection runs, a stay still
// going on completed when the truck leaves, the cargo recorded and journalled, bad cargo refused.
#include <doctest/doctest.h>

#include "dispatch/fleet_register.hpp"
#include "dispatch/transport.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

Millis at(const std::string& hhmm) {
    return *geo::parse_iso_time("2026-12-02T" + hhmm + ":00Z");
}

struct Yard {
    test::MigratedDatabase db;
    std::int64_t truck = 0, van = 0;

    Yard() {
        auto& conn = db.conn();
        truck = add_vehicle(conn, {.registration = "T-1"}, "test");
        van = add_vehicle(conn, {.registration = "V-2"}, "test");
        pqxx::work tx(conn);
        // Warehouse 7: a loading point of about 100 m × 100 m; and a depot, which is no
        // loading point.
        tx.exec0(
            "INSERT INTO fleet.zones (code, name, kind, geom) VALUES"
            " ('WH7', 'Warehouse 7', 'loading_point', ST_Multi(ST_MakeEnvelope(37.600, 55.750,"
            "  37.6016, 55.7509, 4326))),"
            " ('DEPOT', 'Depot', 'depot', ST_Multi(ST_MakeEnvelope(37.62, 55.76, 37.63, 55.77,"
            "  4326)))");
        tx.exec0("INSERT INTO fleet.issuers (code, name) VALUES ('ACME', 'ACME Haulage')");
        const auto driver = tx.exec1(
                                  "INSERT INTO fleet.drivers (full_name, personnel_number)"
                                  " VALUES ('D', 'D-1') RETURNING driver_id")[0]
                                .as<std::int64_t>();
        tx.exec_params(
            "INSERT INTO fleet.waybills (issuer, number, vehicle_id, driver_id,"
            " valid_from, valid_to, status, departed_at) VALUES ('ACME', 17, $1, $2,"
            " '2026-12-02', '2026-12-02', 'released', '2026-12-02 06:00Z')",
            truck, driver);
        tx.commit();
    }
    void fix(std::int64_t vehicle, const std::string& hhmm, double lon, double lat,
             bool valid = true) {
        pqxx::work tx(db.conn());
        tx.exec_params(
            "INSERT INTO fleet.positions (vehicle_id, device_time, geom, valid)"
            " VALUES ($1, $2::timestamptz, ST_SetSRID(ST_MakePoint($3, $4), 4326), $5)",
            vehicle, geo::iso_utc(at(hhmm)), lon, lat, valid);
        tx.commit();
    }
    int detect(const std::string& from, const std::string& to) {
        pqxx::work tx(db.conn());
        const int n = detect_zone_visits(tx, at(from), at(to));
        tx.commit();
        return n;
    }
    std::vector<TransportRecord> records() {
        pqxx::read_transaction tx(db.conn());
        return transport_records(tx, {.from = at("00:00"), .to = at("23:59")});
    }
};

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a stay at a loading point is found once, with its dwell and waybill") {
        Yard y;
        y.fix(y.truck, "08:00", 37.590, 55.745);  // on the way
        for (const auto* t : {"08:10", "08:14", "08:18", "08:22", "08:26", "08:30"}) {
            y.fix(y.truck, t, 37.6008, 55.7504);  // at Warehouse 7
        }
        y.fix(y.truck, "08:31", 37.6008, 55.7504, false);  // an invalid fix places it nowhere
        y.fix(y.truck, "08:32", 37.610, 55.755);           // gone
        y.fix(y.truck, "09:00", 37.625, 55.765);           // at the depot: no loading point
        CHECK(y.detect("07:00", "10:00") == 1);
        auto r = y.records();
        REQUIRE(r.size() == 1);
        CHECK(r[0].registration == "T-1");
        CHECK(r[0].zone_code == "WH7");
        CHECK(r[0].zone_name == "Warehouse 7");
        CHECK(r[0].arrived_at == "2026-12-02T08:10:00Z");
        CHECK(r[0].departed_at == "2026-12-02T08:32:00Z");
        CHECK(*r[0].dwell_s == 22 * 60);
        CHECK(r[0].waybill_number == 17);
        // Again, and over an overlapping window: nothing more.
        CHECK(y.detect("07:00", "10:00") == 0);
        CHECK(y.detect("07:30", "12:00") == 0);
        CHECK(y.records().size() == 1);
        // A window that begins during the stay leaves it to the window that saw its start.
        CHECK(y.detect("08:12", "10:00") == 0);

        // The cargo, journalled; then corrected, the journal keeping what it was.
        pqxx::work tx(y.db.conn());
        record_cargo(tx, r[0].visit_id,
                     {.operation = "loading",
                      .cargo = "Cement M500",
                      .quantity = 12.5,
                      .unit = "t",
                      .documents = "TTN 000123",
                      .actor = "dispatcher-1"});
        record_cargo(tx, r[0].visit_id,
                     {.operation = "loading",
                      .cargo = "Cement M500",
                      .quantity = 12.0,
                      .unit = "t",
                      .documents = "TTN 000123",
                      .actor = "dispatcher-1"});
        const auto refused = [&](CargoDetails d, const char* message) {
            tx.exec0("SAVEPOINT bad");
            CHECK_THROWS_WITH_AS(record_cargo(tx, r[0].visit_id, d), doctest::Contains(message),
                                 InputError);
            tx.exec0("ROLLBACK TO SAVEPOINT bad");
        };
        refused({.operation = "stealing", .cargo = "x", .actor = "a"}, "loading or unloading");
        refused({.operation = "loading", .cargo = "", .actor = "a"}, "cargo is empty");
        refused({.operation = "loading", .cargo = "x", .quantity = -1, .actor = "a"},
                "quantity must be a number");
        refused({.operation = "loading", .cargo = "x", .unit = "t", .actor = "a"},
                "unit given without a quantity");
        refused({.operation = "loading", .cargo = std::string(201, 'x'), .actor = "a"},
                "cargo is 201 characters");
        CHECK_THROWS_AS(
            record_cargo(tx, 999999, {.operation = "loading", .cargo = "x", .actor = "a"}),
            NotFoundError);
        tx.commit();
        r = y.records();
        CHECK(r[0].cargo == "Cement M500");
        CHECK(*r[0].quantity == 12.0);
        CHECK(r[0].documents == "TTN 000123");
        pqxx::read_transaction read(y.db.conn());
        CHECK(read.exec1("SELECT count(*) FROM fleet.journal WHERE action = 'cargo recorded'"
                         " AND details -> 'before' ->> 'quantity' = '12.5'")[0]
                  .as<int>() == 1);
    }

    TEST_CASE("a stay still going on is completed when the vehicle leaves") {
        Yard y;
        y.fix(y.van, "09:00", 37.590, 55.745);
        y.fix(y.van, "09:20", 37.6008, 55.7504);
        y.fix(y.van, "09:25", 37.6009, 55.7505);
        CHECK(y.detect("08:00", "10:00") == 1);
        auto r = y.records();
        REQUIRE(r.size() == 1);
        CHECK(r[0].departed_at.empty());
        CHECK_FALSE(r[0].dwell_s.has_value());
        CHECK_FALSE(r[0].waybill_id.has_value());  // the van has no waybill
        y.fix(y.van, "09:33", 37.6009, 55.7505);
        y.fix(y.van, "09:36", 37.620, 55.745);
        CHECK(y.detect("08:00", "10:00") == 1);
        r = y.records();
        REQUIRE(r.size() == 1);
        CHECK(r[0].departed_at == "2026-12-02T09:36:00Z");
        CHECK(*r[0].dwell_s == 16 * 60);
        // A gap of more than ten minutes in the yard: the stay ended at its last fix inside.
        y.fix(y.van, "11:00", 37.6008, 55.7504);
        y.fix(y.van, "11:05", 37.6008, 55.7504);
        y.fix(y.van, "11:40", 37.590, 55.745);
        CHECK(y.detect("08:00", "12:00") == 1);
        r = y.records();
        REQUIRE(r.size() == 2);
        CHECK(r[1].departed_at == "2026-12-02T11:05:00Z");
        pqxx::work tx(y.db.conn());
        CHECK_THROWS_AS(detect_zone_visits(tx, at("10:00"), at("09:00")), InputError);
    }
}
