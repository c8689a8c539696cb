// Reconciliation on a stored track: a known true distance, a parked-jitter cloud, a data gap, a
// fuel fill seen by the level sensor and its card receipt, an (0,0) fix and a jump; the norm of
// a car in a city with a winter surcharge; an overspeed event attributed to the waybill.
#include <doctest/doctest.h>

#include <ctime>
#include <random>

#include "geo/geodesy.hpp"
#include "tests/support/db.hpp"
#include "tests/waybills/fleet_fixture.hpp"
#include "waybills/reconcile.hpp"
#include "waybills/store.hpp"

using namespace fleet;
using namespace fleet::waybills;

namespace {

struct Row {
    std::int64_t ms;
    geo::LonLat at;
    double speed_kmh;
    std::optional<double> fuel_l;
    bool valid = true;
};

// 2026-11-20 07:30 Moscow (04:30 UTC), the waybill's departure.
constexpr std::int64_t departure_ms = 1'795'149'000'000;

void store_track(pqxx::connection& conn, const std::vector<Row>& rows) {
    pqxx::work tx(conn);
    for (const auto& r : rows) {
        tx.exec_params(
            "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, valid,"
            " fuel_l) SELECT vehicle_id, to_timestamp($1 / 1000.0), ST_SetSRID(ST_MakePoint($2,"
            " $3), 4326), $4, $5, $6 FROM fleet.vehicles WHERE registration = 'A123BC'",
            r.ms, r.at.lon_deg, r.at.lat_deg, r.speed_kmh, r.valid, r.fuel_l);
    }
    tx.commit();
}

// "2026-11-20 05:40:10+00" for a time in Unix ms.
std::string utc_text(std::int64_t ms) {
    const std::time_t s = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char out[32];
    std::strftime(out, sizeof out, "%Y-%m-%d %H:%M:%S+00", &tm);
    return out;
}

bool has(const Reconciliation& r, const std::string& code) {
    for (const auto& d : r.discrepancies) {
        if (d.code == code) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a day's track: 15 km driven in GPS, a 6 km gap reported, a 40 L fill matched") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = test::released_waybill(db.conn(), 120000, 20);
        std::vector<Row> rows;
        std::mt19937 rng(3);
        std::uniform_real_distribution<double> bearing(0, 360), wander(0, 12);
        geo::LonLat at{37.60, 55.70};
        std::int64_t t = departure_ms;
        // 20 min at the depot: the receiver wanders up to 12 m; the tank is filled 20 → 60 L
        // from the 6th to the 12th minute.
        for (int i = 0; i < 120; ++i, t += 10'000) {
            const double level = i < 36 ? 20.0 : i < 72 ? 20.0 + 40.0 * (i - 36) / 36 : 60.0;
            rows.push_back({t, geo::destination(at, bearing(rng), wander(rng)), 0, level});
        }
        const geo::LonLat start = at;
        // 10 km north at 36 km/h, with a fix at (0,0) and one 4 km off on the way.
        for (int i = 0; i < 100; ++i, t += 10'000) {
            at = geo::destination(at, 0, 100);
            rows.push_back({t, at, 36, 59.0 - 0.01 * i});
            if (i == 30) {
                rows.push_back({t + 3'000, {0, 0}, 0, {}, false});
            }
            if (i == 60) {
                rows.push_back({t + 5'000, geo::destination(at, 90, 4'000), 40, {}});
            }
        }
        const double first_leg_m = geo::haversine_m(start, at);
        // 10 minutes without data, 6 km further, then 5 km more.
        t += 600'000;
        at = geo::destination(at, 0, 6'000);
        const geo::LonLat after_gap = at;
        rows.push_back({t, at, 36, 57.5});
        t += 10'000;
        for (int i = 0; i < 50; ++i, t += 10'000) {
            at = geo::destination(at, 0, 100);
            rows.push_back({t, at, 36, 57.0});
        }
        const double second_leg_m = geo::haversine_m(after_gap, at);
        // Parked at the end until the return.
        for (int i = 0; i < 60; ++i, t += 10'000) {
            rows.push_back({t, geo::destination(at, bearing(rng), wander(rng)), 0, 56.0});
        }
        store_track(db.conn(), rows);
        import_fuel_transactions(db.conn(),
                                 {{.vehicle = "A123BC",
                                   .occurred_at = "2026-11-20 07:38+03",
                                   .volume_l = 40,
                                   .fuel_grade = "petrol",
                                   .card_or_coupon = "card 7001",
                                   .odometer_km = 120000,
                                   .source = "card",
                                   .external_id = "tx-1"}},
                                 "test");
        {
            pqxx::work tx(db.conn());
            tx.exec0(
                "INSERT INTO fleet.events (vehicle_id, kind, started_at, ended_at, magnitude,"
                " details) SELECT vehicle_id, 'overspeed', '2026-11-20 08:10+03',"
                " '2026-11-20 08:11+03', 27, '{\"tier\": \"+20-40\"}' FROM fleet.vehicles");
            tx.exec0(
                "INSERT INTO fleet.events (vehicle_id, kind, started_at) SELECT vehicle_id,"
                " 'signal_lost', '2026-11-20 08:50+03' FROM fleet.vehicles");
            tx.commit();
        }
        // 21 km by odometer (the 6 km of the gap included), 56 L back, right after the last fix.
        auto back = test::return_request(w, 120021, 56);
        back.returned_at = utc_text(t);
        return_vehicle(db.conn(), back);
        const auto r =
            reconcile(db.url(), {.from = "2026-11-20", .to = "2026-11-20", .waybill_ids = {}}, {});
        REQUIRE(r.size() == 1);
        const auto& x = r[0];
        CHECK(x.waybill_id == w);
        CHECK(x.mileage_km == 21);
        // GPS: the two legs, within metres; the jitter cloud, (0,0) and the jump add nothing.
        CHECK(x.track.distance_m == doctest::Approx(first_leg_m + second_leg_m).epsilon(0.005));
        CHECK(x.gps_km() == doctest::Approx(15.0).epsilon(0.01));
        CHECK(x.track.invalid == 1);
        CHECK(x.track.jumps == 1);
        REQUIRE(x.track.gaps.size() == 1);
        CHECK(x.track.gaps[0].straight_m == doctest::Approx(6'000).epsilon(0.01));
        CHECK(has(x, "gps_gap"));
        CHECK(has(x, "gps_mileage"));  // 15 km against 21 km: beyond 5 %
        // The fill is seen on the sensor and matches the card receipt.
        REQUIRE(x.track.fuel_events.size() == 1);
        CHECK(x.track.fuel_events[0].volume_l() == doctest::Approx(40).epsilon(0.02));
        REQUIRE(x.receipts.size() == 1);
        CHECK(x.receipts[0].on_waybill);
        CHECK(x.receipts[0].sensor_matched);
        CHECK_FALSE(has(x, "undocumented_fill"));
        CHECK_FALSE(has(x, "receipt_without_fill"));
        CHECK_FALSE(has(x, "unlinked_receipt"));
        // Norm: 0.01 · 10 L/100 km · 21 km · (1 + 0.01 · (10 winter + 15 city)) = 2.625 L.
        // Actual: 20 + 40 − 0 − 56 = 4 L: an overspend of 1.375 L.
        REQUIRE(x.norm.has_value());
        CHECK(x.corrections.total_pct == doctest::Approx(25));
        CHECK(x.norm->norm_l == doctest::Approx(2.625));
        CHECK(x.actual_l == doctest::Approx(4));
        CHECK(x.saving_l == doctest::Approx(-1.375));
        CHECK(has(x, "overspend"));
        // The overspeed counts against the driver; signal loss is the device's.
        REQUIRE(x.violations.size() == 1);
        CHECK(x.violations[0].kind == "overspeed");
        CHECK(x.violations[0].tier == "+20-40");
        // The result is stored for reports.
        CHECK(test::count(db.conn(),
                          "SELECT count(*) FROM fleet.waybill_reconciliations"
                          " WHERE round(gps_km) = 15 AND norm_l = 2.625"
                          " AND jsonb_array_length(discrepancies) >= 3") == 1);
    }

    TEST_CASE("an undocumented fill, a receipt without fill and a receipt outside the waybill") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = test::released_waybill(db.conn(), 120000, 30);
        std::vector<Row> rows;
        geo::LonLat at{37.60, 55.70};
        std::int64_t t = departure_ms;
        for (int i = 0; i < 90; ++i, t += 10'000) {  // standing 15 min; 25 L appear mid-way
            rows.push_back({t, at, 0, i < 40 ? 30.0 : 55.0});
        }
        for (int i = 0; i < 60; ++i, t += 10'000) {
            at = geo::destination(at, 0, 100);
            rows.push_back({t, at, 36, 54.0});
        }
        store_track(db.conn(), rows);
        import_fuel_transactions(db.conn(),
                                 {{.vehicle = "A123BC",
                                   .occurred_at = "2026-11-20 07:50+03",
                                   .volume_l = 30,
                                   .fuel_grade = "petrol",
                                   .card_or_coupon = "card 7001",
                                   .odometer_km = 125000,
                                   .source = "card",
                                   .external_id = "tx-2"}},
                                 "test");
        auto back = test::return_request(w, 120006, 50);
        back.returned_at = utc_text(t);
        return_vehicle(db.conn(), back);
        // A card file that comes after the return: its receipt, 10 min after it, is linked.
        const auto coupon = [&](std::int64_t at_ms, const std::string& id) {
            return FuelTransaction{.vehicle = "A123BC",
                                   .occurred_at = utc_text(at_ms),
                                   .volume_l = 15,
                                   .fuel_grade = "petrol",
                                   .card_or_coupon = "coupon " + id,
                                   .odometer_km = {},
                                   .source = "coupon",
                                   .external_id = id};
        };
        import_fuel_transactions(db.conn(), {coupon(t + 600'000, "c-12")}, "test");
        auto r = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {w}}, {});
        REQUIRE(r.size() == 1);
        CHECK(has(r[0], "undocumented_fill"));
        CHECK(has(r[0], "receipt_without_fill"));
        CHECK(has(r[0], "pump_odometer"));  // 125 000 km typed on a 120 000–120 006 km trip
        CHECK_FALSE(has(r[0], "unlinked_receipt"));
        REQUIRE(r[0].receipts.size() == 2);
        CHECK(r[0].fuel_issued_l == doctest::Approx(45));

        // Once the waybill is closed nothing is added to it: a later receipt close to the trip
        // stays unlinked and is flagged; one far from every trip is a receipt without waybill.
        test::close_returned(db.conn(), db.url(), w, "2026-11-20");
        import_fuel_transactions(
            db.conn(), {coupon(t + 900'000, "c-13"), coupon(t + 86'400'000, "c-14")}, "test");
        r = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {w}}, {});
        CHECK(has(r[0], "unlinked_receipt"));
        const auto loose = receipts_without_waybill(db.conn(), "2026-11-20", "2026-11-21", {});
        REQUIRE(loose.size() == 1);
        CHECK(loose[0].card_or_coupon == "coupon c-14");
        CHECK(loose[0].volume_l == 15);
        // The receipts of a closed waybill cannot be moved or removed behind its back.
        CHECK_THROWS_AS(
            [&] {
                pqxx::work tx(db.conn());
                tx.exec0("DELETE FROM fleet.fuel_transactions WHERE external_id = 'c-12'");
                tx.commit();
            }(),
            pqxx::sql_error);
        // Importing the same processor ids again adds nothing.
        CHECK(import_fuel_transactions(db.conn(),
                                       {{.vehicle = "A123BC",
                                         .occurred_at = "2026-11-20 07:50+03",
                                         .volume_l = 30,
                                         .fuel_grade = "petrol",
                                         .card_or_coupon = "card 7001",
                                         .odometer_km = 125000,
                                         .source = "card",
                                         .external_id = "tx-2"}},
                                       "test") == 0);
    }
}
