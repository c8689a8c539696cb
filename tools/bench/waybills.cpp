// Waybill reconciliation benchmark: a simulated month for a fleet (a fix every 30 s, round the
// clock, one waybill per vehicle per day), reconciled at once by waybills::reconcile (set-based
// statements and one streamed pass over the positions, split over the workers), and then the
// same waybills reconciled one at a time, each with its own statements on one connection. The
// two results are compared waybill by waybill. The database must be a throwaway one: the
// program migrates it and fills it.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <pqxx/pqxx>

#include "geo/migrations.hpp"
#include "waybills/reconcile.hpp"

namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// The fleet and its month (the last part of generate() plants a few discrepancies). Vehicles drive
// 15 loops of a 5 km-radius circle from their depot (07:00-12:00 and 12:20-19:20 UTC, 39.3 km/h),
// stand where they are at midday and at the depot the rest of the day with the receiver wandering
// a few metres, and fill 40 L at 12:10 during the midday stop (seen by the level sensor and paid
// with a fuel card). Waybills 06:45-19:45 with a consistent odometer and fuel chain; two
// overspeed events a day.
void generate(pqxx::connection& conn, int vehicles, int days, const std::string& month_start) {
    pqxx::work tx(conn);
    tx.exec0("SET LOCAL synchronous_commit = off");
    tx.exec0(
        "INSERT INTO fleet.issuers (code, name, legal_form, address, phone, ogrn) VALUES"
        " ('BENCH', 'Bench Transport', 'LLC', 'Moscow', '+7 495 000-00-00', '1027700000000')");
    tx.exec0(
        "INSERT INTO fleet.vehicle_models (make_model, vehicle_class, fuel_grade,"
        " base_l_per_100km, work_l_per_100tkm) VALUES ('GAZ-3309', 'truck', 'diesel', 10, 1.3)");
    tx.exec_params(
        "INSERT INTO fleet.vehicles (vehicle_id, registration, vehicle_class, make_model, region,"
        " built_on) SELECT v, 'B' || lpad(v::text, 3, '0') || 'EN', 'truck', 'GAZ-3309',"
        " 'Moscow', '2018-01-01' FROM generate_series(1, $1) v",
        vehicles);
    tx.exec_params(
        "INSERT INTO fleet.drivers (driver_id, full_name, personnel_number, licence_series,"
        " licence_number, licence_issued_on) SELECT v, 'Driver ' || v, 'D' || v, '77 00',"
        " lpad(v::text, 6, '0'), '2010-01-01' FROM generate_series(1, $1) v",
        vehicles);
    tx.exec0(
        "INSERT INTO fleet.fuel_corrections (code, percent, valid_from, region, reference)"
        " VALUES ('winter', 10, '2026-10-15', 'Moscow', 'order 5'),"
        " ('city', 15, '2026-01-01', NULL, 'order 1')");
    tx.exec_params(
        "INSERT INTO fleet.positions (vehicle_id, device_time, server_time, geom, speed_kmh,"
        " valid, fuel_l, ignition)"
        " SELECT v, t, t, CASE WHEN moving THEN ST_SetSRID(ST_MakePoint("
        "   cx + 0.0801 * cos(angle), 55.7 + 0.045 * sin(angle)), 4326)"
        "  ELSE ST_SetSRID(ST_MakePoint(cx + 0.0801 * cos(angle) + (random() - 0.5) * 0.0001,"
        "   55.7 + 0.045 * sin(angle) + (random() - 0.5) * 0.0001), 4326) END,"
        " CASE WHEN moving THEN 39.3 ELSE 0 END, true,"
        " (70 - 0.1 * 39.27 * least(greatest(h - 7, 0), 5) + CASE WHEN h >= 12.1667 THEN 40"
        "  ELSE 0 END - 0.1 * 39.27 * greatest(h - 12.3333, 0))::real, moving"
        " FROM generate_series(1, $1) v, LATERAL (SELECT 37.3 + v * 0.01 AS cx) c,"
        " generate_series($2::timestamptz, $2::timestamptz + ($3 || ' days')::interval"
        "  - interval '30 s', interval '30 s') t,"
        " LATERAL (SELECT extract(hour FROM t AT TIME ZONE 'UTC') + extract(minute FROM t AT"
        "  TIME ZONE 'UTC') / 60.0 + extract(second FROM t AT TIME ZONE 'UTC') / 3600.0 AS h) hh,"
        " LATERAL (SELECT (h >= 7 AND h < 12) OR (h >= 12.3333 AND h < 19.3333) AS moving,"
        "  2 * pi() * 15 / 12 * (least(greatest(h - 7, 0), 5)"
        "  + greatest(least(h, 19.3333) - 12.3333, 0)) AS angle) m",
        vehicles, month_start, days);
    tx.exec_params(
        "INSERT INTO fleet.waybills (issuer, number, vehicle_id, driver_id, valid_from, valid_to,"
        " status, odometer_out_km, odometer_in_km, fuel_out_l, fuel_in_l, departed_at,"
        " returned_at, service_kind, transport_kind, fuel_grade, released_by)"
        " SELECT 'BENCH', row_number() OVER (ORDER BY d, v), v, v, d::date, d::date, 'returned',"
        " 100000 + 471 * (d::date - $2::date), 100000 + 471 * (d::date - $2::date + 1), 70, 70,"
        " d + interval '6 hours 45 minutes', d + interval '19 hours 45 minutes', 'urban',"
        " 'cargo', 'diesel', 'bench'"
        " FROM generate_series(1, $1) v, generate_series($2::timestamptz, $2::timestamptz +"
        "  ($3 || ' days')::interval - interval '1 day', interval '1 day') d",
        vehicles, month_start, days);
    tx.exec0("UPDATE fleet.issuers SET last_number = (SELECT max(number) FROM fleet.waybills)");
    // A few things for the accountants to find: a tracker silent for half an hour on about one
    // waybill in 37, and a remainder written down 10 L short on about one in 53 (a fuel chain
    // break the next day).
    tx.exec0(
        "DELETE FROM fleet.positions p USING fleet.waybills w WHERE p.vehicle_id = w.vehicle_id"
        " AND (w.vehicle_id + (w.valid_from - date '2026-01-01')) % 37 = 0"
        " AND p.device_time >= w.departed_at + interval '3 hours 15 minutes'"
        " AND p.device_time < w.departed_at + interval '3 hours 45 minutes'");
    tx.exec0(
        "UPDATE fleet.waybills SET fuel_in_l = fuel_in_l - 10"
        " WHERE (vehicle_id * 7 + (valid_from - date '2026-01-01')) % 53 = 0");
    tx.exec0(
        "INSERT INTO fleet.fuel_transactions (vehicle_id, waybill_id, occurred_at, volume_l,"
        " fuel_grade, card_or_coupon, odometer_km, source, external_id)"
        " SELECT vehicle_id, waybill_id, departed_at + interval '5 hours 25 minutes', 40,"
        " 'diesel', 'card ' || vehicle_id, odometer_out_km + 196, 'card', 'tx-' || waybill_id"
        " FROM fleet.waybills");
    tx.exec0(
        "INSERT INTO fleet.events (vehicle_id, driver_id, kind, started_at, ended_at, magnitude,"
        " details) SELECT vehicle_id, driver_id, 'overspeed', departed_at + k * interval '3 hours',"
        " departed_at + k * interval '3 hours' + interval '40 s', 24,"
        " '{\"tier\": \"+20-40\"}' FROM fleet.waybills, generate_series(1, 2) k");
    tx.commit();
    pqxx::nontransaction n(conn);
    n.exec0("VACUUM ANALYZE");
}

// What must agree between two reconciliations of the same waybill.
bool same(const fleet::waybills::Reconciliation& a, const fleet::waybills::Reconciliation& b) {
    if (a.waybill_id != b.waybill_id || a.mileage_km != b.mileage_km ||
        std::abs(a.track.distance_m - b.track.distance_m) > 0.01 ||
        a.track.gaps.size() != b.track.gaps.size() ||
        a.track.fuel_events.size() != b.track.fuel_events.size() ||
        a.violations.size() != b.violations.size() ||
        a.discrepancies.size() != b.discrepancies.size() ||
        a.norm.has_value() != b.norm.has_value()) {
        return false;
    }
    if (a.norm && std::abs(a.norm->norm_l - b.norm->norm_l) > 1e-9) {
        return false;
    }
    for (std::size_t i = 0; i < a.discrepancies.size(); ++i) {
        if (a.discrepancies[i].code != b.discrepancies[i].code) {
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description d(
        "bench_waybills: a month of waybills reconciled at once and one at a time.\n"
        "The database must be a throwaway one: it is migrated and filled.\nOptions");
    // clang-format off
    d.add_options()
        ("help,h", "this help")
        ("database-url", po::value<std::string>(), "libpq connection string (required)")
        ("vehicles", po::value<int>()->default_value(100), "vehicles, one waybill each a day")
        ("days", po::value<int>()->default_value(30), "days from --month-start")
        ("month-start", po::value<std::string>()->default_value("2026-10-01"),
         "first day (UTC); its month's position partition must exist")
        ("workers", po::value<int>()->default_value(2), "connections reading positions at once")
        ("reuse", "the database already holds the generated month: measure again")
        ("baseline-sample", po::value<int>()->default_value(0),
         "reconcile only every N-th waybill one at a time and scale (0: all of them)");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, d), vm);
    } catch (const po::error& e) {
        std::cerr << "bench_waybills: " << e.what() << "\n";
        return 2;
    }
    if (vm.count("help") || !vm.count("database-url")) {
        std::cout << d << "\n";
        return vm.count("help") ? 0 : 2;
    }
    const auto url = vm["database-url"].as<std::string>();
    const int vehicles = vm["vehicles"].as<int>();
    const int days = vm["days"].as<int>();
    const auto month_start = vm["month-start"].as<std::string>();
    try {
        pqxx::connection conn(url);
        auto t = Clock::now();
        if (!vm.count("reuse")) {
            fleet::geo::migrate(conn, fleet::geo::bundled_migrations());
            {
                pqxx::work tx(conn);
                tx.exec_params("SELECT fleet.ensure_position_partitions($1::date, 2)", month_start);
                tx.commit();
            }
            std::cout << "generating " << vehicles << " vehicles x " << days << " days ..."
                      << std::flush;
            generate(conn, vehicles, days, month_start);
        }
        const auto positions = [&] {
            pqxx::read_transaction tx(conn);
            return tx.exec1("SELECT count(*) FROM fleet.positions")[0].as<long>();
        }();
        std::printf(" %ld positions in %.1f s\n", positions, seconds_since(t));

        fleet::waybills::ReconcileOptions options;
        options.workers = vm["workers"].as<int>();
        const auto last_day = [&] {
            pqxx::read_transaction tx(conn);
            return tx.exec_params1("SELECT ($1::date + $2::int - 1)::text", month_start, days)[0]
                .as<std::string>();
        }();
        t = Clock::now();
        const auto batch = fleet::waybills::reconcile(
            conn, url, {.from = month_start, .to = last_day, .waybill_ids = {}}, options);
        const double batch_s = seconds_since(t);
        std::printf(
            "at once:        %zu waybills in %.2f s (%.0f waybills/s, %.2f M positions/s)\n",
            batch.size(), batch_s, static_cast<double>(batch.size()) / batch_s,
            static_cast<double>(positions) / batch_s / 1e6);

        const int sample = std::max(1, vm["baseline-sample"].as<int>());
        fleet::waybills::ReconcileOptions one = options;
        one.workers = 1;
        std::size_t compared = 0, agreed = 0;
        t = Clock::now();
        for (std::size_t i = 0; i < batch.size(); i += static_cast<std::size_t>(sample)) {
            const auto r = fleet::waybills::reconcile(
                conn, url, {.from = "", .to = "", .waybill_ids = {batch[i].waybill_id}}, one);
            ++compared;
            agreed += r.size() == 1 && same(r[0], batch[i]) ? 1 : 0;
        }
        const double one_s =
            seconds_since(t) * static_cast<double>(batch.size()) / static_cast<double>(compared);
        std::printf(
            "one at a time:  %zu waybills in %.2f s%s\n", compared, seconds_since(t),
            sample > 1 ? (" (scaled to all: " + std::to_string(one_s) + " s)").c_str() : "");
        std::map<std::string, int> codes;
        double gps_km = 0, odo_km = 0;
        for (const auto& r : batch) {
            gps_km += r.gps_km();
            odo_km += static_cast<double>(r.mileage_km.value_or(0));
            for (const auto& x : r.discrepancies) {
                ++codes[x.code];
            }
        }
        std::printf("\n== summary\n");
        std::printf("positions in the month          %ld\n", positions);
        std::printf("waybills                        %zu\n", batch.size());
        std::printf("reconciled at once              %.2f s   (target <= 10 s)\n", batch_s);
        std::printf("one at a time                   %.2f s\n", one_s);
        std::printf("ratio                           %.1f x  (target >= 10 x)\n", one_s / batch_s);
        std::printf("agreement                       %zu of %zu waybills identical\n", agreed,
                    compared);
        std::printf("km by GPS / by odometer         %.0f / %.0f\n", gps_km, odo_km);
        for (const auto& [code, n] : codes) {
            std::printf("discrepancy %-20s %d\n", code.c_str(), n);
        }
        return agreed == compared ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "bench_waybills: " << e.what() << "\n";
        return 1;
    }
}
