// Reconciliation on a stored track: a known true distance, a parked-jitter cloud, a data gap, a
// fuel fill seen by the level sensor and its card receipt, an (0,0) fix and a jump; the norm of
// a car in a city with a winter surcharge; an overspeed event attributed to the waybill.
#include <doctest/doctest.h>

#include <ctime>
#include <random>

#include "dispatch/fleet_register.hpp"
#include "geo/geodesy.hpp"
#include "tests/support/db.hpp"
#include "tests/waybills/fleet_fixture.hpp"
#include "waybills/models.hpp"
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

// A vehicle of `registration` driving `km` due north from `start` at 36 km/h (a fix every
// 10 s, 100 m apart) from the departure on, then standing 10 minutes. Returns the time of the
// last fix.
std::int64_t drive_north(pqxx::connection& conn, const std::string& registration, geo::LonLat start,
                         int km) {
    const int driving = km * 10;
    const int fixes = driving + 60;
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, valid)"
        " SELECT v.vehicle_id, to_timestamp(($1::bigint + i * 10000) / 1000.0),"
        " ST_Project(ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, least(i, $4) * 100.0,"
        " 0)::geometry, CASE WHEN i < $4 THEN 36 ELSE 0 END, true"
        " FROM fleet.vehicles v, generate_series(0, $5 - 1) i WHERE v.registration = $6",
        departure_ms, start.lon_deg, start.lat_deg, driving, fixes, registration);
    tx.commit();
    return departure_ms + static_cast<std::int64_t>(fixes - 1) * 10'000;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("findings are judged on the figures they print and state their thresholds") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        test::prepare_fleet(conn);
        test::closed_waybill(conn, 120'000, 40, 120'010, 11.8);
        // Departure 12.30 L after a return of 11.80 L: 0.50 L apart, 0.5000000000000018 in
        // binary, within the ±0.50 L allowed.
        auto q = test::issue_request();
        q.valid_from = q.valid_to = "2026-11-21";
        q.odometer_out_km = 120'010;
        q.fuel_out_l = 12.3;
        const auto second = issue(conn, q).waybill_id;
        test::returned_waybill_from(conn, second, 120'010, "2026-11-21", 120'020, 10);
        q.valid_from = q.valid_to = "2026-11-22";
        q.odometer_out_km = 120'020;
        q.fuel_out_l = 10.51;
        const auto third = issue(conn, q).waybill_id;
        test::returned_waybill_from(conn, third, 120'020, "2026-11-22", 120'030, 10);
        const auto r =
            reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {second, third}}, {});
        REQUIRE(r.size() == 2);
        const auto message = [](const Reconciliation& x, const std::string& code) {
            for (const auto& d : x.discrepancies) {
                if (d.code == code) {
                    return d.message;
                }
            }
            return std::string("(no " + code + ")");
        };
        CHECK_FALSE(has(r[0], "fuel_chain"));
        CHECK(message(r[1], "fuel_chain") ==
              "departure fuel 10.51 L differs from the return fuel 10.00 L of waybill FLEET/2 by "
              "0.51 L (allowed ±0.50 L)");
        // Norm 0.01 · 10 · 10 km · 1.25 = 1.25 L; actual 12.30 − 10.00 = 2.30 L.
        CHECK(message(r[0], "overspend") ==
              "overspend 1.05 L against the norm 1.25 L (actual 2.30 L; any overspend of 0.01 L "
              "or more needs a reason)");
        CHECK(message(r[0], "gps_mileage") ==
              "GPS mileage 0.0 km against 10 km by odometer (-10.0 km, allowed ±2.0 km)");
        CHECK(message(r[0], "gps_gap").find("a gap is more than 300 s without a fix") !=
              std::string::npos);
    }

    // The norms computed in binary floating point come out a few 1e-15 L below the decimal
    // figure for each of these (11.129999999999999 for 11.13, ...); a driver who used exactly
    // the normative fuel once got "overspend 0.00 L against the norm ...".
    TEST_CASE("a waybill of each class whose actual consumption equals its norm has no finding") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        test::prepare_fleet(conn);  // winter 10 % in Moscow and city 15 %: D = 25 %
        struct Work {
            double heater_h = 0, equipment_h = 0, transport_work_tkm = 0;
            int loaded_trips = 0;
        };
        struct Case {
            const char* registration;
            waybills::NewModel model;
            int km;
            Work work;
            std::optional<double> trailer_mass_t;
            double norm_l;  // by hand, in decimal
        };
        const Case cases[] = {
            // 0.01 · 8.4 · 106 · 1.25 = 11.13
            {"CAR-1",
             {.make_model = "Hyundai Solaris",
              .fields = {.vehicle_class = "car", .fuel_grade = "petrol", .base_l_per_100km = 8.4}},
             106,
             {},
             {},
             11.13},
            // 0.01 · 24.5 · 112 · 1.25 + 3.1 L/h · 4 h = 34.30 + 12.40 = 46.70
            {"BUS-1",
             {.make_model = "LiAZ 5292",
              .fields = {.vehicle_class = "bus", .base_l_per_100km = 24.5, .heater_l_per_h = 3.1}},
             112,
             {.heater_h = 4},
             {},
             46.70},
            // 0.01 · ((24.5 + 1.3 · 4 t) · 102 km + 1.3 · 1250 t·km) · 1.25 = 58.18
            {"TRUCK-1",
             {.make_model = "KAMAZ 65117",
              .fields = {.vehicle_class = "truck",
                         .base_l_per_100km = 24.5,
                         .work_l_per_100tkm = 1.3,
                         .trailer_l_per_100tkm = 1.3}},
             102,
             {.transport_work_tkm = 1250},
             4.0,
             58.18},
            // 0.01 · 38.5 · 72 · 1.25 + 0.2 L · 9 loaded trips = 34.65 + 1.80 = 36.45
            {"DUMP-1",
             {.make_model = "KAMAZ 6520",
              .fields = {.vehicle_class = "dump_truck",
                         .base_l_per_100km = 38.5,
                         .loaded_trip_l = 0.2}},
             72,
             {.loaded_trips = 9},
             {},
             36.45},
            // (0.01 · 30.5 · 32 + 8.2 L/h · 5 h) · 1.25 = (9.76 + 41) · 1.25 = 63.45
            {"SPECIAL-1",
             {.make_model = "KO-440",
              .fields = {.vehicle_class = "special",
                         .base_l_per_100km = 30.5,
                         .equipment_l_per_h = 8.2}},
             32,
             {.equipment_h = 5},
             {},
             63.45},
        };
        std::vector<std::int64_t> ids;
        double lon = 37.0;
        for (const auto& c : cases) {
            add_model(conn, c.model, "test");
            dispatch::add_vehicle(
                conn,
                {.registration = c.registration,
                 .fields = {.make_model = c.model.make_model, .region = "Moscow"}},
                "test");
            dispatch::add_driver(
                conn,
                {.personnel_number = std::string("D-") + c.registration,
                 .fields = {.full_name = std::string("Driver of ") + c.registration,
                            .licence_series = "77 12",
                            .licence_number = "1",
                            .licence_issued_on = "2015-04-02"}},
                "test");
            auto q = test::issue_request();
            q.vehicle = c.registration;
            q.driver = std::string("D-") + c.registration;
            q.odometer_out_km = 50'000;
            q.fuel_out_l = c.norm_l + 30;  // 30 L come back: the norm is used exactly
            q.trailer_mass_t = c.trailer_mass_t;
            const auto w = issue(conn, q).waybill_id;
            test::pass_pre_trip_checks(conn, w, 50'000);
            release(conn, {.waybill_id = w,
                           .departed_at = "2026-11-20 07:30+03",
                           .dispatcher = "D. Dispatcher",
                           .actor = "test"});
            const auto last_ms = drive_north(conn, c.registration, {lon, 55.5}, c.km);
            lon += 0.2;
            auto back = test::return_request(w, 50'000 + c.km, 30);
            back.heater_h = c.work.heater_h;
            back.equipment_h = c.work.equipment_h;
            back.transport_work_tkm = c.work.transport_work_tkm;
            back.loaded_trips = c.work.loaded_trips;
            back.returned_at = utc_text(last_ms);
            return_vehicle(conn, back);
            ids.push_back(w);
        }
        const auto results = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = ids}, {});
        REQUIRE(results.size() == std::size(cases));
        for (const auto& r : results) {
            const auto& c = *std::find_if(std::begin(cases), std::end(cases), [&](const Case& k) {
                return r.registration == k.registration;
            });
            CAPTURE(r.registration);
            REQUIRE(r.norm.has_value());
            CHECK(r.corrections.total_pct == 25);
            // Stated to 0.01 L, as the waybill states them: equal, not merely close.
            CHECK(r.norm->norm_l == c.norm_l);
            CHECK(r.actual_l == c.norm_l);
            CHECK(r.saving_l == 0.0);
            for (const auto& d : r.discrepancies) {
                FAIL_CHECK(d.code << ": " << d.message);
            }
        }
        // What is stored is what was stated.
        CHECK(test::count(conn,
                          "SELECT count(*) FROM fleet.waybill_reconciliations WHERE saving_l = 0"
                          " AND norm_l = actual_l AND discrepancies = '[]'") == 5);
    }

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
        // Norm: 0.01 · 10 L/100 km · 21 km · (1 + 0.01 · (10 winter + 15 city)) = 2.625 L,
        // stated 2.63 L. Actual: 20 + 40 − 0 − 56 = 4 L: an overspend of 1.37 L.
        REQUIRE(x.norm.has_value());
        CHECK(x.corrections.total_pct == doctest::Approx(25));
        CHECK(x.norm->norm_l == 2.63);
        CHECK(x.actual_l == doctest::Approx(4));
        CHECK(x.saving_l == -1.37);
        CHECK(has(x, "overspend"));
        // The overspeed counts against the driver; signal loss is the device's.
        REQUIRE(x.violations.size() == 1);
        CHECK(x.violations[0].kind == "overspeed");
        CHECK(x.violations[0].tier == "+20-40");
        // The result is stored for reports.
        CHECK(test::count(db.conn(),
                          "SELECT count(*) FROM fleet.waybill_reconciliations"
                          " WHERE round(gps_km) = 15 AND norm_l = 2.63"
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
