#include "waybills/reconcile.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "geo/log.hpp"
#include "waybills/detail/copy_reader.hpp"
#include "waybills/detail/plausibility.hpp"
#include "waybills/detail/sql.hpp"
#include "waybills/report.hpp"
#include "waybills/store.hpp"
#include "waybills/table.hpp"

namespace fleet::waybills {

namespace {

using Json = nlohmann::json;
using detail::opt;
using detail::text;

std::string fixed(double v, int decimals = 1) {
    return format_decimal(v, decimals);
}

// Litres as the waybill states them, with their unit: "12.30 L".
std::string litres(double v) {
    return format_decimal(v, 2) + " L";
}

// The inspection's odometer may differ from the departure's by this much (a kilometre driven
// from the inspection pit to the gate).
constexpr std::int64_t inspection_odometer_tolerance_km = 1;

std::chrono::year_month_day parse_date(const std::string& text) {
    int y = 0;
    unsigned m = 0, d = 0;
    if (std::sscanf(text.c_str(), "%d-%u-%u", &y, &m, &d) != 3) {
        throw DatabaseError("unreadable date '" + text + "'");
    }
    return std::chrono::year_month_day{std::chrono::year(y), std::chrono::month(m),
                                       std::chrono::day(d)};
}

std::vector<std::string> text_array(const std::string& literal) {
    std::vector<std::string> out;
    if (literal.size() < 2) {
        return out;
    }
    std::stringstream in(literal.substr(1, literal.size() - 2));
    for (std::string item; std::getline(in, item, ',');) {
        out.push_back(item);
    }
    return out;
}

// The selected waybills, in a temporary table every later statement of the session joins.
constexpr const char* select_sql =
    "CREATE TEMP TABLE IF NOT EXISTS reconcile_set (waybill_id bigint PRIMARY KEY,"
    " vehicle_id bigint NOT NULL, departed_at timestamptz NOT NULL,"
    " returned_at timestamptz NOT NULL);"
    "DELETE FROM reconcile_set";
constexpr const char* fill_by_id_sql =
    "INSERT INTO reconcile_set SELECT waybill_id, vehicle_id, departed_at, returned_at"
    " FROM fleet.waybills WHERE waybill_id = ANY($1::bigint[])"
    " AND status IN ('returned', 'closed') AND departed_at IS NOT NULL"
    " AND returned_at IS NOT NULL";
constexpr const char* fill_by_period_sql =
    "INSERT INTO reconcile_set SELECT waybill_id, vehicle_id, departed_at, returned_at"
    " FROM fleet.waybills WHERE valid_to >= $1::date AND valid_from <= $2::date"
    " AND status IN ('returned', 'closed') AND departed_at IS NOT NULL"
    " AND returned_at IS NOT NULL";

#define FLEET_MS(column) "(date_part('epoch', " column ") * 1000)::bigint"

// Everything about each waybill except its track, receipts and events, in one statement: the
// chain (previous waybill of the vehicle), odometer acts, the model's norms, the inspection
// and the dispatch figures.
constexpr const char* facts_sql =
    "WITH chain AS ("
    " SELECT w.waybill_id, lag(w.issuer || '/' || w.number) OVER c AS prev_subject,"
    "  lag(w.odometer_in_km) OVER c AS prev_odometer_in, lag(w.fuel_in_l) OVER c AS prev_fuel_in,"
    "  lag(w.returned_at) OVER c AS prev_returned_at"
    " FROM fleet.waybills w WHERE w.status IN ('returned', 'closed') AND w.departed_at IS NOT"
    " NULL AND w.vehicle_id IN (SELECT vehicle_id FROM reconcile_set)"
    " WINDOW c AS (PARTITION BY w.vehicle_id ORDER BY w.departed_at, w.waybill_id))"
    " SELECT w.waybill_id, w.issuer, w.number, w.status, w.valid_from::text, w.valid_to::text,"
    " w.vehicle_id, v.registration, coalesce(v.make_model, ''), d.full_name, w.driver_id,"
    " " FLEET_MS("w.departed_at") ", " FLEET_MS("w.returned_at") ","
    " w.odometer_out_km, w.odometer_in_km, w.fuel_out_l::float8, w.fuel_in_l::float8,"
    " w.fuel_handed_over_l::float8,"
    " (SELECT coalesce(sum(t.volume_l), 0)::float8 FROM fleet.fuel_transactions t"
    "  WHERE t.waybill_id = w.waybill_id),"
    " w.heater_h, w.equipment_h, w.idle_h, w.transport_work_tkm, w.loaded_trips,"
    " w.air_conditioning, w.declared_corrections::text, coalesce(w.trailer_mass_t, 0),"
    " v.vehicle_class, coalesce(v.region, ''),"
    " coalesce(date_part('day', w.departed_at - v.built_on::timestamptz) / 365.25, 0),"
    " m.base_l_per_100km, m.heater_l_per_h, m.work_l_per_100tkm, m.trailer_l_per_100tkm,"
    " m.loaded_trip_l, m.equipment_l_per_h, m.idle_l_per_h, coalesce(w.fuel_grade, m.fuel_grade),"
    " c.prev_subject, c.prev_odometer_in, c.prev_fuel_in::float8,"
    " (SELECT e.document FROM fleet.odometer_events e WHERE e.vehicle_id = w.vehicle_id"
    "  AND e.occurred_at > coalesce(c.prev_returned_at, '-infinity')"
    "  AND e.occurred_at <= w.departed_at"
    "  AND e.old_reading_km = c.prev_odometer_in AND e.new_reading_km = w.odometer_out_km"
    "  ORDER BY e.occurred_at DESC LIMIT 1),"
    " (SELECT json_build_array(e.kind, e.old_reading_km, e.new_reading_km, e.document)::text"
    "  FROM fleet.odometer_events e WHERE e.vehicle_id = w.vehicle_id AND e.occurred_at"
    "  > w.departed_at AND e.occurred_at <= w.returned_at ORDER BY e.occurred_at LIMIT 1),"
    " v.odometer_capacity_km,"
    " (SELECT k.odometer_km FROM fleet.waybill_checks k WHERE k.waybill_id = w.waybill_id"
    "  AND k.kind = 'technical' AND k.withdrawn_at IS NULL"
    "  ORDER BY k.checked_at DESC, k.check_id DESC LIMIT 1),"
    " r.trips_planned, r.trips_served, r.km_planned, r.km_driven, r.hours_planned,"
    " r.hours_worked, r.punctuality, i.time_zone,"
    " date_part('epoch', (w.departed_at AT TIME ZONE i.time_zone) - (w.departed_at AT TIME"
    "  ZONE 'UTC'))::integer,"
    " date_part('epoch', (w.returned_at AT TIME ZONE i.time_zone) - (w.returned_at AT TIME"
    "  ZONE 'UTC'))::integer"
    " FROM reconcile_set s JOIN fleet.waybills w USING (waybill_id)"
    " JOIN fleet.issuers i ON i.code = w.issuer"
    " JOIN fleet.vehicles v ON v.vehicle_id = w.vehicle_id"
    " JOIN fleet.drivers d ON d.driver_id = w.driver_id"
    " LEFT JOIN fleet.vehicle_models m ON m.make_model = v.make_model"
    " LEFT JOIN chain c ON c.waybill_id = w.waybill_id"
    " LEFT JOIN fleet.shift_results r ON r.assignment_id = w.assignment_id"
    " ORDER BY w.valid_from, w.issuer, w.number";

// Receipts linked to the waybill, and any of the vehicle's close to its period (two joins, each
// on its own index, rather than one join on an OR).
#define FLEET_RECEIPT_COLUMNS                                         \
    "SELECT s.waybill_id, t.transaction_id, t.waybill_id, " FLEET_MS( \
        "t.occurred_at") ", t.volume_l::float8, coalesce(t.card_or_coupon, ''), t.odometer_km"
constexpr const char* receipts_sql = FLEET_RECEIPT_COLUMNS
    " FROM reconcile_set s JOIN fleet.fuel_transactions t ON t.vehicle_id = s.vehicle_id"
    " AND t.occurred_at BETWEEN s.departed_at - $1 * interval '1 minute'"
    "  AND s.returned_at + $1 * interval '1 minute'"
    " UNION " FLEET_RECEIPT_COLUMNS
    " FROM reconcile_set s JOIN fleet.fuel_transactions t ON t.waybill_id = s.waybill_id"
    " ORDER BY 1, 4";

// Deviations a driver answers for (device faults such as signal loss are not theirs).
constexpr const char* violations_sql =
    "SELECT s.waybill_id, e.kind, " FLEET_MS("e.started_at") ", e.magnitude,"
    " coalesce(e.details ->> 'tier', '')"
    " FROM reconcile_set s JOIN fleet.events e ON e.vehicle_id = s.vehicle_id"
    " AND e.started_at BETWEEN s.departed_at AND s.returned_at"
    " WHERE e.kind IN ('overspeed', 'off_route', 'early_departure', 'missed_stop',"
    " 'not_departed', 'late', 'early', 'long_dwell', 'unplanned_stop')"
    " ORDER BY s.waybill_id, e.started_at";

constexpr const char* corrections_sql =
    "SELECT code, percent, valid_from::text, valid_to::text, region, vehicle_class, make_model,"
    " condition, older_than_years, more_than_km, reference FROM fleet.fuel_corrections"
    " ORDER BY correction_id";

std::vector<Correction> load_corrections(pqxx::transaction_base& tx) {
    std::vector<Correction> out;
    for (const auto& r : tx.exec(corrections_sql)) {
        Correction c;
        c.code = parse_correction_code(r[0].as<std::string>());
        c.percent = r[1].as<double>();
        c.valid_from = parse_date(r[2].as<std::string>());
        if (!r[3].is_null()) {
            c.valid_to = parse_date(r[3].as<std::string>());
        }
        if (!r[4].is_null()) {
            c.region = r[4].as<std::string>();
        }
        if (!r[5].is_null()) {
            c.vehicle_class = parse_vehicle_class(r[5].as<std::string>());
        }
        if (!r[6].is_null()) {
            c.make_model = r[6].as<std::string>();
        }
        c.condition = parse_correction_condition(r[7].as<std::string>());
        c.older_than_years = opt<double>(r[8]);
        c.more_than_km = opt<double>(r[9]);
        c.reference = r[10].as<std::string>();
        out.push_back(std::move(c));
    }
    validate_corrections(out);
    return out;
}

// One waybill's period as the track readers need it.
using Period = detail::PeriodQuery;

// Reads the fixes of `periods` and summarises each period's track: one parameterised query on
// `conn` when there is one period (a waybill reconciled on its own), else one binary COPY of
// all of them on a connection of its own.
void read_tracks(pqxx::connection* conn, const std::string& url, const std::vector<Period>& periods,
                 const TrackRules& rules, std::unordered_map<std::int64_t, TrackSummary>& out,
                 std::mutex& out_mutex, std::atomic<std::size_t>& done,
                 const std::function<void()>& tick) {
    if (periods.empty()) {
        return;
    }
    std::unordered_map<std::int64_t, const Period*> by_id;
    for (const auto& p : periods) {
        by_id[p.waybill_id] = &p;
    }
    std::optional<TrackSummariser> current;
    std::int64_t current_id = -1;
    std::int64_t last_ms = 0;
    auto flush = [&] {
        if (current) {
            auto summary = current->finish();
            std::lock_guard lock(out_mutex);
            out[current_id] = std::move(summary);
            ++done;
            tick();
        }
    };
    auto on_fix = [&](const detail::FixRow& row) {
        if (row.waybill_id != current_id) {
            flush();
            const Period* p = by_id.at(row.waybill_id);
            current.emplace(rules, p->from_ms, p->to_ms);
            current_id = row.waybill_id;
            last_ms = 0;
        }
        if (row.time_ms < last_ms) {
            throw DatabaseError("positions of waybill " + std::to_string(row.waybill_id) +
                                " out of order");
        }
        last_ms = row.time_ms;
        current->add({.time_ms = row.time_ms,
                      .position = {row.lon_deg, row.lat_deg},
                      .speed_kmh = row.speed_kmh,
                      .fuel_l = row.fuel_l,
                      .valid = row.valid});
    };
    if (periods.size() == 1 && conn != nullptr) {
        const auto& p = periods.front();
        pqxx::read_transaction tx(*conn);
        const auto rows = tx.exec_params(
            "SELECT " FLEET_MS("q.device_time") ", ST_X(q.geom), ST_Y(q.geom),"
            " q.speed_kmh, q.fuel_l, q.valid FROM fleet.positions q"
            " WHERE q.vehicle_id = $1 AND q.device_time BETWEEN to_timestamp($2 / 1000.0)"
            " AND to_timestamp($3 / 1000.0) ORDER BY q.device_time",
            p.vehicle_id, p.from_ms, p.to_ms);
        for (const auto& r : rows) {
            on_fix({.waybill_id = p.waybill_id,
                    .time_ms = r[0].as<std::int64_t>(),
                    .lon_deg = r[1].as<double>(),
                    .lat_deg = r[2].as<double>(),
                    .speed_kmh = opt<double>(r[3]),
                    .fuel_l = opt<double>(r[4]),
                    .valid = r[5].as<bool>()});
        }
    } else {
        detail::copy_fixes(url, periods, on_fix);
    }
    flush();
    // Periods without a single fix: the whole period is a gap.
    for (const auto& p : periods) {
        bool added = false;
        {
            std::lock_guard lock(out_mutex);
            if (!out.count(p.waybill_id)) {
                out[p.waybill_id] = TrackSummariser(rules, p.from_ms, p.to_ms).finish();
                ++done;
                added = true;
            }
        }
        if (added) {
            tick();
        }
    }
}

std::string hhmm(double seconds) {
    const auto m = static_cast<long>(std::lround(seconds / 60));
    return std::to_string(m / 60) + " h " + std::to_string(m % 60) + " min";
}

// The checks that compare figures, once everything about a waybill is known.
void judge(Reconciliation& r, const pqxx::row& row, const std::vector<Correction>& corrections,
           const ReconcileOptions& o) {
    auto flag = [&](const char* code, std::string message) {
        r.discrepancies.push_back({code, std::move(message)});
    };
    // Chains.
    const auto prev_subject = text(row[38]);
    if (!prev_subject.empty()) {
        const auto prev_odometer = opt<std::int64_t>(row[39]);
        const auto prev_fuel = opt<double>(row[40]);
        const auto act = text(row[41]);
        if (prev_odometer && r.odometer_out_km && *prev_odometer != *r.odometer_out_km &&
            !act.empty()) {
            r.notes.push_back("odometer re-baselined from " + std::to_string(*prev_odometer) +
                              " to " + std::to_string(*r.odometer_out_km) + " km after waybill " +
                              prev_subject + " by the replacement act '" + act + "'");
        }
        if (prev_odometer && r.odometer_out_km && *prev_odometer != *r.odometer_out_km &&
            act.empty()) {
            flag("odometer_chain", "departure odometer " + std::to_string(*r.odometer_out_km) +
                                       " km differs from the return odometer " +
                                       std::to_string(*prev_odometer) + " km of waybill " +
                                       prev_subject + ", and no replacement act explains it");
        }
        // Compared as stated: 12.3 − 11.8 is 0.5000000000000018 in binary, and 0.50 L is
        // within a tolerance of 0.50 L.
        const double chain_gap_l =
            prev_fuel && r.fuel_out_l ? stated_l(std::abs(*prev_fuel - *r.fuel_out_l)) : 0;
        if (chain_gap_l > o.chain_fuel_tolerance_l) {
            flag("fuel_chain", "departure fuel " + litres(*r.fuel_out_l) +
                                   " differs from the return fuel " + litres(*prev_fuel) +
                                   " of waybill " + prev_subject + " by " + litres(chain_gap_l) +
                                   " (allowed ±" + litres(o.chain_fuel_tolerance_l) + ")");
        }
    }
    const auto inspection_km = opt<std::int64_t>(row[44]);
    if (inspection_km && r.odometer_out_km &&
        std::llabs(*inspection_km - *r.odometer_out_km) > inspection_odometer_tolerance_km) {
        flag("inspection_odometer",
             "odometer at the technical inspection " + std::to_string(*inspection_km) +
                 " km differs from the departure odometer " + std::to_string(*r.odometer_out_km) +
                 " km (allowed ±" + std::to_string(inspection_odometer_tolerance_km) + " km)");
    }
    // Mileage by odometer, across a documented rollover or replacement.
    if (r.odometer_out_km && r.odometer_in_km) {
        const auto out_km = *r.odometer_out_km;
        const auto in_km = *r.odometer_in_km;
        if (!row[42].is_null()) {
            const auto act = Json::parse(row[42].as<std::string>());
            const auto kind = act[0].get<std::string>();
            const auto old_km = act[1].get<std::int64_t>();
            const auto new_km = act[2].get<std::int64_t>();
            const auto document = act[3].get<std::string>();
            // The act's own readings re-baseline the count: the old counter (or the old
            // reading before the wrap) up to the act, the new one after it. A rollover passes
            // one more kilometre from the old reading to the wrap.
            const std::int64_t wrap_km = kind == "rollover" ? 1 : 0;
            if (old_km >= out_km && in_km >= new_km) {
                r.mileage_km = (old_km - out_km) + wrap_km + (in_km - new_km);
                if (kind == "rollover") {
                    r.notes.push_back("odometer rolled over during the trip (act '" + document +
                                      "')");
                    const auto capacity = row[43].as<std::int64_t>();
                    if (old_km + 1 != capacity) {
                        r.notes.push_back("the act's reading before the wrap, " +
                                          std::to_string(old_km) +
                                          " km, is not the vehicle's counter capacity " +
                                          std::to_string(capacity) + " km less one");
                    }
                } else {
                    r.notes.push_back("odometer replaced during the trip at " +
                                      std::to_string(old_km) + " km, new one from " +
                                      std::to_string(new_km) + " km (act '" + document + "')");
                }
            } else {
                flag("odometer_act", "the odometer " + kind + " act " + act[3].get<std::string>() +
                                         " does not fit the waybill's readings");
            }
        } else if (in_km >= out_km) {
            r.mileage_km = mileage_km(out_km, in_km);
        } else {
            flag("odometer_below", "return odometer is below departure without an act");
        }
    }
    // GPS against odometer; gaps are reported, never bridged.
    // Compared as printed, to 0.1 km: a difference shown as +2.0 km is within ±2.0 km.
    if (r.mileage_km) {
        const double gps_km = round_decimal(r.gps_km(), 1);
        const double diff = round_decimal(gps_km - static_cast<double>(*r.mileage_km), 1);
        const double allowed =
            round_decimal(std::max(o.gps_tolerance_km,
                                   o.gps_tolerance_pct / 100 * static_cast<double>(*r.mileage_km)),
                          1);
        if (std::abs(diff) > allowed) {
            flag("gps_mileage", "GPS mileage " + fixed(gps_km) + " km against " +
                                    std::to_string(*r.mileage_km) + " km by odometer (" +
                                    (diff > 0 ? "+" : "") + fixed(diff) + " km, allowed ±" +
                                    fixed(allowed) + " km)");
        }
    }
    if (!r.track.gaps.empty()) {
        double missing_s = 0;
        for (const auto& g : r.track.gaps) {
            missing_s += static_cast<double>(g.to_ms - g.from_ms) / 1000.0;
        }
        flag("gps_gap", std::to_string(r.track.gaps.size()) + " gap(s) in the track, " +
                            hhmm(missing_s) + " without data (first from " +
                            utc_iso(r.track.gaps.front().from_ms) + "; a gap is more than " +
                            fixed(o.track.gap_s, 0) + " s without a fix)");
    }
    // Norm, actual, saving.
    if (row[30].is_null()) {
        flag("no_norm", "no fuel norm for make and model '" + r.make_model + "'");
    } else if (r.mileage_km) {
        const auto vehicle_class = parse_vehicle_class(row[27].as<std::string>());
        CorrectionContext context;
        context.date = parse_date(r.valid_from);
        context.region = row[28].as<std::string>();
        context.vehicle_class = vehicle_class;
        context.make_model = r.make_model;
        context.vehicle_age_years = row[29].as<double>();
        context.vehicle_total_km = static_cast<double>(r.odometer_out_km.value_or(0));
        context.aircon_used = row[24].as<bool>();
        for (const auto& code : text_array(row[25].as<std::string>())) {
            context.declared.push_back(parse_correction_code(code));
        }
        r.corrections = select_corrections(corrections, context);
        FuelNormInput in;
        in.vehicle_class = vehicle_class;
        const auto grade = text(row[37]);
        in.fuel = grade == "petrol" ? FuelKind::petrol
                  : grade == "lpg"  ? FuelKind::lpg
                                    : FuelKind::diesel;
        in.base_norm_l_per_100km = row[30].as<double>();
        in.mileage_km = static_cast<double>(*r.mileage_km);
        in.correction_pct = r.corrections.total_pct;
        const bool bus = vehicle_class == VehicleClass::bus;
        const bool truck = vehicle_class == VehicleClass::truck;
        const bool dump = vehicle_class == VehicleClass::dump_truck;
        const bool special = vehicle_class == VehicleClass::special;
        if (bus) {
            in.heater_l_per_h = row[31].as<double>();
            in.heater_h = row[19].as<double>();
        }
        if (truck) {
            in.work_l_per_100tkm = row[32].as<double>();
            in.transport_work_tkm = row[22].as<double>();
            in.trailer_l_per_100tkm = row[33].as<double>();
            in.trailer_mass_t = row[26].as<double>();
        }
        if (dump) {
            in.loaded_trip_l = row[34].as<double>();
            in.loaded_trips = row[23].as<std::int64_t>();
        }
        if (special) {
            in.equipment_l_per_h = row[35].as<double>();
            in.equipment_h = row[20].as<double>();
        }
        in.idle_l_per_h = row[36].as<double>();
        in.idle_h = row[21].as<double>();
        try {
            r.norm = stated_norm(normative_fuel(in));
        } catch (const InputError& e) {
            flag("norm_input", e.what());
        }
    }
    if (r.fuel_out_l && r.fuel_in_l) {
        r.actual_l = fuel_actual_l({.remainder_departure_l = *r.fuel_out_l,
                                    .issued_l = r.fuel_issued_l,
                                    .handed_over_l = r.fuel_handed_over_l,
                                    .remainder_return_l = *r.fuel_in_l});
        if (*r.actual_l < 0) {
            flag("fuel_negative", "more fuel came back (" + litres(*r.fuel_in_l) +
                                      ") than left and was issued: " + litres(*r.actual_l) +
                                      " consumed");
        }
        // Both stated to 0.01 L (saving_l): the actual consumption equal to the norm is no
        // overspend, and the smallest overspend is 0.01 L.
        if (r.norm) {
            r.saving_l = saving_l(r.norm->norm_l, *r.actual_l);
            if (*r.saving_l < 0) {
                flag("overspend", "overspend " + litres(-*r.saving_l) + " against the norm " +
                                      litres(r.norm->norm_l) + " (actual " + litres(*r.actual_l) +
                                      "; any overspend of 0.01 L or more "
                                      "needs a reason)");
            }
        }
    }
    // Receipts against the waybill, the pump odometer and the level sensor.
    const bool sensor = r.track.fuel_readings > 0;
    std::vector<bool> fill_matched(r.track.fuel_events.size(), false);
    const auto window_ms = static_cast<std::int64_t>(o.sensor_match_min * 60000);
    for (auto& receipt : r.receipts) {
        if (!receipt.on_waybill) {
            flag("unlinked_receipt", "fuel receipt of " + litres(receipt.volume_l) + " at " +
                                         utc_iso(receipt.time_ms) + " (" + receipt.card_or_coupon +
                                         ") is not on the waybill");
            continue;
        }
        if (receipt.odometer_km && r.odometer_out_km && r.odometer_in_km &&
            (static_cast<double>(*receipt.odometer_km) <
                 static_cast<double>(*r.odometer_out_km) - o.pump_odometer_tolerance_km ||
             static_cast<double>(*receipt.odometer_km) >
                 static_cast<double>(*r.odometer_in_km) + o.pump_odometer_tolerance_km)) {
            flag("pump_odometer",
                 "odometer typed at the pump " + std::to_string(*receipt.odometer_km) + " km at " +
                     utc_iso(receipt.time_ms) + " is outside the trip's " +
                     std::to_string(*r.odometer_out_km) + "–" + std::to_string(*r.odometer_in_km) +
                     " km (allowed ±" + fixed(o.pump_odometer_tolerance_km) + " km)");
        }
        for (std::size_t i = 0; i < r.track.fuel_events.size(); ++i) {
            const auto& e = r.track.fuel_events[i];
            if (fill_matched[i] || e.kind != FuelEvent::Kind::fill ||
                receipt.time_ms < e.from_ms - window_ms || receipt.time_ms > e.to_ms + window_ms) {
                continue;
            }
            if (std::abs(e.volume_l() - receipt.volume_l) <=
                o.sensor_volume_tolerance_pct / 100 * receipt.volume_l) {
                fill_matched[i] = true;
                receipt.sensor_matched = true;
                break;
            }
        }
        if (sensor && !receipt.sensor_matched) {
            flag("receipt_without_fill",
                 "receipt of " + litres(receipt.volume_l) + " at " + utc_iso(receipt.time_ms) +
                     " has no matching fill on the level sensor (a fill within " +
                     fixed(o.sensor_match_min, 0) + " min whose volume agrees within ±" +
                     fixed(o.sensor_volume_tolerance_pct, 0) + " %)");
        }
    }
    for (std::size_t i = 0; i < r.track.fuel_events.size(); ++i) {
        const auto& e = r.track.fuel_events[i];
        if (e.kind == FuelEvent::Kind::drain) {
            flag("fuel_drain", "level dropped by " + fixed(e.volume_l()) + " L while standing at " +
                                   utc_iso(e.from_ms) + " (changes under " +
                                   fixed(o.track.fuel_min_l) + " L are not counted)");
        } else if (!fill_matched[i]) {
            flag("undocumented_fill", "fill of " + fixed(e.volume_l()) + " L at " +
                                          utc_iso(e.from_ms) + " has no receipt (within " +
                                          fixed(o.sensor_match_min, 0) + " min, ±" +
                                          fixed(o.sensor_volume_tolerance_pct, 0) + " %)");
        }
    }
}

Json tolerances_json(const ReconcileOptions& o) {
    return {{"gps_tolerance_pct", o.gps_tolerance_pct},
            {"gps_tolerance_km", o.gps_tolerance_km},
            {"chain_fuel_tolerance_l", o.chain_fuel_tolerance_l},
            {"card_slack_min", o.card_slack_min},
            {"pump_odometer_tolerance_km", o.pump_odometer_tolerance_km},
            {"sensor_match_min", o.sensor_match_min},
            {"sensor_volume_tolerance_pct", o.sensor_volume_tolerance_pct},
            {"track_gap_s", o.track.gap_s},
            {"track_jitter_m", o.track.jitter_m},
            {"track_moving_kmh", o.track.moving_kmh},
            {"track_max_speed_kmh", o.track.max_speed_kmh},
            {"fuel_min_l", o.track.fuel_min_l},
            {"fuel_stop_min_s", o.track.fuel_stop_min_s},
            {"track_relocate_fixes", o.track.relocate_fixes}};
}

Json to_json(const TrackSummary& t) {
    Json gaps = Json::array();
    for (const auto& g : t.gaps) {
        gaps.push_back(
            {{"from", utc_iso(g.from_ms)}, {"to", utc_iso(g.to_ms)}, {"straight_m", g.straight_m}});
    }
    return gaps;
}

void store(pqxx::connection& conn, const std::vector<Reconciliation>& results) {
    Json rows = Json::array();
    for (const auto& r : results) {
        Json discrepancies = Json::array();
        for (const auto& d : r.discrepancies) {
            discrepancies.push_back({{"code", d.code}, {"message", d.message}});
        }
        Json sensor = Json::array();
        for (const auto& e : r.track.fuel_events) {
            sensor.push_back({{"kind", e.kind == FuelEvent::Kind::fill ? "fill" : "drain"},
                              {"from", utc_iso(e.from_ms)},
                              {"to", utc_iso(e.to_ms)},
                              {"before_l", e.before_l},
                              {"after_l", e.after_l},
                              {"lon", e.position.lon_deg},
                              {"lat", e.position.lat_deg}});
        }
        Json violations = Json::array();
        for (const auto& v : r.violations) {
            violations.push_back({{"kind", v.kind},
                                  {"started_at", utc_iso(v.started_ms)},
                                  {"magnitude", v.magnitude ? Json(*v.magnitude) : Json()},
                                  {"tier", v.tier}});
        }
        Json norm = Json::object();
        if (r.norm) {
            Json applied = Json::array();
            for (const auto& c : r.corrections.applied) {
                applied.push_back({{"code", std::string(to_string(c.code))},
                                   {"percent", c.percent},
                                   {"reference", c.reference}});
            }
            norm = {{"base_l", r.norm->base_l},
                    {"trailer_l", r.norm->trailer_l},
                    {"work_l", r.norm->work_l},
                    {"equipment_l", r.norm->equipment_l},
                    {"correction_l", r.norm->correction_l},
                    {"heater_l", r.norm->heater_l},
                    {"loaded_trips_l", r.norm->loaded_trips_l},
                    {"idle_l", r.norm->idle_l},
                    {"correction_pct", r.norm->correction_pct},
                    {"corrections", applied}};
        }
        Json plan;
        if (r.plan) {
            plan = {{"trips_planned", r.plan->trips_planned},
                    {"trips_served", r.plan->trips_served},
                    {"km_planned", r.plan->km_planned},
                    {"km_driven", r.plan->km_driven},
                    {"hours_planned", r.plan->hours_planned},
                    {"hours_worked", r.plan->hours_worked},
                    {"punctuality", r.plan->punctuality ? Json(*r.plan->punctuality) : Json()}};
        }
        rows.push_back({{"waybill_id", r.waybill_id},
                        {"mileage_km", r.mileage_km ? Json(*r.mileage_km) : Json()},
                        {"gps_km", r.gps_km()},
                        {"gps_fixes", r.track.fixes},
                        {"gps_gaps", to_json(r.track)},
                        {"fuel_issued_l", r.fuel_issued_l},
                        {"norm_l", r.norm ? Json(r.norm->norm_l) : Json()},
                        {"norm_details", norm},
                        {"actual_l", r.actual_l ? Json(*r.actual_l) : Json()},
                        {"saving_l", r.saving_l ? Json(*r.saving_l) : Json()},
                        {"sensor_events", sensor},
                        {"violations", r.violations.size()},
                        {"violation_list", violations},
                        {"plan", plan},
                        {"discrepancies", discrepancies},
                        {"notes", r.notes}});
    }
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO fleet.waybill_reconciliations (waybill_id, mileage_km, gps_km, gps_fixes,"
        " gps_gaps, fuel_issued_l, norm_l, norm_details, actual_l, saving_l, sensor_events,"
        " violations, violation_list, plan, discrepancies, notes)"
        " SELECT waybill_id, mileage_km, gps_km, gps_fixes, gps_gaps, fuel_issued_l, norm_l,"
        " norm_details, actual_l, saving_l, sensor_events, violations, violation_list, plan,"
        " discrepancies, notes FROM jsonb_to_recordset($1::jsonb) AS x(waybill_id bigint,"
        " mileage_km float8, gps_km float8, gps_fixes int, gps_gaps jsonb, fuel_issued_l float8,"
        " norm_l float8, norm_details jsonb, actual_l float8, saving_l float8,"
        " sensor_events jsonb, violations int, violation_list jsonb, plan jsonb,"
        " discrepancies jsonb, notes jsonb)"
        " ON CONFLICT (waybill_id) DO UPDATE SET computed_at = now(),"
        " mileage_km = EXCLUDED.mileage_km, gps_km = EXCLUDED.gps_km,"
        " gps_fixes = EXCLUDED.gps_fixes, gps_gaps = EXCLUDED.gps_gaps,"
        " fuel_issued_l = EXCLUDED.fuel_issued_l, norm_l = EXCLUDED.norm_l,"
        " norm_details = EXCLUDED.norm_details, actual_l = EXCLUDED.actual_l,"
        " saving_l = EXCLUDED.saving_l, sensor_events = EXCLUDED.sensor_events,"
        " violations = EXCLUDED.violations, violation_list = EXCLUDED.violation_list,"
        " plan = EXCLUDED.plan, discrepancies = EXCLUDED.discrepancies, notes = EXCLUDED.notes"
        // What a closed waybill was accepted on is kept; a later report recomputes, not stores.
        " WHERE NOT fleet.waybill_is_final(EXCLUDED.waybill_id)",
        rows.dump());
    tx.commit();
}

}  // namespace

std::vector<Reconciliation> reconcile(const std::string& url, const Selection& selection,
                                      const ReconcileOptions& options,
                                      const ReconcileProgress& progress) {
    pqxx::connection conn(url);
    return reconcile(conn, url, selection, options, progress);
}

std::vector<Reconciliation> reconcile(pqxx::connection& conn, const std::string& url,
                                      const Selection& selection, const ReconcileOptions& options,
                                      const ReconcileProgress& progress) {
    if (selection.waybill_ids.empty() && (selection.from.empty() || selection.to.empty())) {
        throw InputError("reconcile what: give a period (from, to) or waybill ids");
    }
    using Clock = std::chrono::steady_clock;
    const auto since = [](Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    };
    const auto started = Clock::now();
    std::vector<Reconciliation> results;
    std::vector<Correction> corrections;
    std::vector<pqxx::row> facts;
    pqxx::result facts_result;
    std::vector<Period> periods;
    {
        pqxx::work tx(conn);
        tx.exec(select_sql);
        try {
            if (selection.waybill_ids.empty()) {
                tx.exec_params(fill_by_period_sql, selection.from, selection.to);
            } else {
                tx.exec_params(fill_by_id_sql, detail::bigint_array(selection.waybill_ids));
            }
        } catch (const pqxx::data_exception& e) {
            detail::throw_input(e);
        }
        corrections = load_corrections(tx);
        facts_result = tx.exec(facts_sql);
        std::unordered_map<std::int64_t, std::size_t> index;
        for (const auto& row : facts_result) {
            Reconciliation r;
            r.waybill_id = row[0].as<std::int64_t>();
            r.issuer = row[1].as<std::string>();
            r.number = row[2].as<std::int64_t>();
            r.status = row[3].as<std::string>();
            r.valid_from = row[4].as<std::string>();
            r.valid_to = row[5].as<std::string>();
            r.vehicle_id = row[6].as<std::int64_t>();
            r.registration = row[7].as<std::string>();
            r.make_model = row[8].as<std::string>();
            r.driver_name = row[9].as<std::string>();
            r.driver_id = row[10].as<std::int64_t>();
            r.departed_ms = row[11].as<std::int64_t>();
            r.returned_ms = row[12].as<std::int64_t>();
            r.time_zone = row[52].as<std::string>();
            r.departed_offset_s = row[53].as<std::int32_t>();
            r.returned_offset_s = row[54].as<std::int32_t>();
            r.odometer_out_km = opt<std::int64_t>(row[13]);
            r.odometer_in_km = opt<std::int64_t>(row[14]);
            r.fuel_out_l = opt<double>(row[15]);
            r.fuel_in_l = opt<double>(row[16]);
            r.fuel_handed_over_l = row[17].as<double>();
            r.fuel_issued_l = row[18].as<double>();
            if (!row[45].is_null()) {
                r.plan = PlanFacts{.trips_planned = row[45].as<int>(),
                                   .trips_served = row[46].as<int>(),
                                   .km_planned = row[47].as<double>(),
                                   .km_driven = row[48].as<double>(),
                                   .hours_planned = row[49].as<double>(),
                                   .hours_worked = row[50].as<double>(),
                                   .punctuality = opt<double>(row[51])};
            }
            index[r.waybill_id] = results.size();
            periods.push_back({.waybill_id = r.waybill_id,
                               .vehicle_id = r.vehicle_id,
                               .from_ms = r.departed_ms,
                               .to_ms = r.returned_ms});
            results.push_back(std::move(r));
        }
        for (const auto& row : tx.exec_params(receipts_sql, options.card_slack_min)) {
            auto& r = results[index.at(row[0].as<std::int64_t>())];
            const auto linked = opt<std::int64_t>(row[2]);
            if (linked && *linked != r.waybill_id) {
                continue;  // another waybill's receipt, close in time
            }
            r.receipts.push_back({.transaction_id = row[1].as<std::int64_t>(),
                                  .time_ms = row[3].as<std::int64_t>(),
                                  .volume_l = row[4].as<double>(),
                                  .card_or_coupon = row[5].as<std::string>(),
                                  .odometer_km = opt<std::int64_t>(row[6]),
                                  .on_waybill = linked.has_value(),
                                  .sensor_matched = false});
        }
        for (const auto& row : tx.exec(violations_sql)) {
            auto& r = results[index.at(row[0].as<std::int64_t>())];
            r.violations.push_back({.kind = row[1].as<std::string>(),
                                    .started_ms = row[2].as<std::int64_t>(),
                                    .magnitude = opt<double>(row[3]),
                                    .tier = row[4].as<std::string>()});
        }
        tx.commit();
    }

    const double statements_s = since(started);
    const auto track_started = Clock::now();
    // The track pass: vehicles spread over the workers, each reading its share in one COPY
    // (a single waybill with one query on this connection).
    const auto workers = static_cast<std::size_t>(std::max(1, options.workers));
    std::vector<std::vector<Period>> shares(workers);
    for (const auto& p : periods) {
        shares[static_cast<std::size_t>(p.vehicle_id) % workers].push_back(p);
    }
    std::unordered_map<std::int64_t, TrackSummary> tracks;
    std::mutex tracks_mutex;
    std::atomic<std::size_t> done{0};
    std::mutex progress_mutex;
    const auto tick = [&] {
        if (progress) {
            std::lock_guard lock(progress_mutex);
            progress(done.load(), periods.size());
        }
    };
    std::vector<std::exception_ptr> errors(workers);
    {
        std::vector<std::jthread> threads;
        for (std::size_t i = 1; i < workers; ++i) {
            threads.emplace_back([&, i] {
                try {
                    read_tracks(nullptr, url, shares[i], options.track, tracks, tracks_mutex, done,
                                tick);
                } catch (...) {
                    errors[i] = std::current_exception();
                }
            });
        }
        try {
            read_tracks(&conn, url, shares[0], options.track, tracks, tracks_mutex, done, tick);
        } catch (...) {
            errors[0] = std::current_exception();
        }
    }
    for (const auto& e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
    const double track_s = since(track_started);
    const auto judge_started = Clock::now();
    std::size_t fixes = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        auto& r = results[i];
        r.track = std::move(tracks.at(r.waybill_id));
        fixes += static_cast<std::size_t>(r.track.fixes);
        // One waybill's unusable data is that waybill's finding, not the period's failure.
        try {
            judge(r, facts_result[static_cast<pqxx::result::size_type>(i)], corrections, options);
        } catch (const InputError& e) {
            r.discrepancies.push_back({"bad_data", e.what()});
        }
    }
    const double judge_s = since(judge_started);
    const auto store_started = Clock::now();
    store(conn, results);
    if (results.size() > 1) {
        std::ostringstream m;
        m.setf(std::ios::fixed);
        m.precision(2);
        m << results.size() << " waybills in " << since(started) << " s: statements "
          << statements_s << " s, " << fixes << " positions in " << track_s << " s (" << workers
          << " connections), checks " << judge_s << " s, stored in " << since(store_started)
          << " s";
        log::info("reconcile", m.str());
    }
    return results;
}

std::vector<LooseReceipt> receipts_without_waybill(pqxx::connection& conn, const std::string& from,
                                                   const std::string& to,
                                                   const ReconcileOptions& options) {
    std::vector<LooseReceipt> out;
    pqxx::read_transaction tx(conn);
    try {
        for (const auto& r :
             tx.exec_params("SELECT t.transaction_id, v.registration, " FLEET_MS(
                                "t.occurred_at") ","
                                                 " t.volume_l::float8, coalesce(t.card_or_coupon, "
                                                 "''), t.source, t.odometer_km"
                                                 " FROM fleet.fuel_transactions t JOIN "
                                                 "fleet.vehicles v USING (vehicle_id)"
                                                 " WHERE t.occurred_at >= $1::date::timestamp AT "
                                                 "TIME ZONE 'UTC'"
                                                 " AND t.occurred_at < ($2::date + 1)::timestamp "
                                                 "AT TIME ZONE 'UTC'"
                                                 " AND t.waybill_id IS NULL AND NOT EXISTS (SELECT "
                                                 "1 FROM fleet.waybills w"
                                                 "  WHERE w.vehicle_id = t.vehicle_id AND w.status "
                                                 "NOT IN ('superseded',"
                                                 "  'cancelled') AND t.occurred_at BETWEEN "
                                                 "coalesce(w.departed_at,"
                                                 "  w.valid_from::timestamptz) - $3 * interval '1 "
                                                 "minute' AND coalesce("
                                                 "  w.returned_at, (w.valid_to + 1)::timestamptz) "
                                                 "+ $3 * interval '1 minute')"
                                                 " ORDER BY t.occurred_at, t.transaction_id",
                            from, to, options.card_slack_min)) {
            out.push_back({.transaction_id = r[0].as<std::int64_t>(),
                           .registration = r[1].as<std::string>(),
                           .time_ms = r[2].as<std::int64_t>(),
                           .volume_l = r[3].as<double>(),
                           .card_or_coupon = r[4].as<std::string>(),
                           .source = r[5].as<std::string>(),
                           .odometer_km = opt<std::int64_t>(r[6])});
        }
    } catch (const pqxx::data_exception& e) {
        detail::throw_input(e);
    }
    return out;
}

Reconciliation accept(const std::string& url, const AcceptRequest& q,
                      const ReconcileOptions& options, const Clock& clock) {
    if (q.person.empty()) {
        throw InputError("acceptance needs the name of the person who accepts");
    }
    pqxx::connection conn(url);
    const auto waybill = load_waybill(conn, q.waybill_id);
    const auto subject = waybill.issuer + "/" + std::to_string(waybill.number);
    if (waybill.status != "returned") {
        throw InputError("waybill " + subject + " is " + waybill.status +
                         ": only a returned waybill can be accepted");
    }
    const auto missing = missing_details(waybill, load_issuer(conn, waybill.issuer));
    if (!missing.empty()) {
        std::string message = "waybill " + subject + " lacks mandatory details:";
        for (const auto& m : missing) {
            message += "\n  - " + m;
        }
        throw InputError(message);
    }
    // Acceptance on tolerances of one's own choosing is acceptance with a reason.
    const ReconcileOptions defaults;
    const bool own_tolerances =
        options.gps_tolerance_pct != defaults.gps_tolerance_pct ||
        options.gps_tolerance_km != defaults.gps_tolerance_km ||
        options.chain_fuel_tolerance_l != defaults.chain_fuel_tolerance_l ||
        options.card_slack_min != defaults.card_slack_min ||
        options.pump_odometer_tolerance_km != defaults.pump_odometer_tolerance_km ||
        options.sensor_match_min != defaults.sensor_match_min ||
        options.sensor_volume_tolerance_pct != defaults.sensor_volume_tolerance_pct ||
        options.track.gap_s != defaults.track.gap_s ||
        options.track.jitter_m != defaults.track.jitter_m ||
        options.track.moving_kmh != defaults.track.moving_kmh ||
        options.track.max_speed_kmh != defaults.track.max_speed_kmh ||
        options.track.fuel_min_l != defaults.track.fuel_min_l ||
        options.track.fuel_stop_min_s != defaults.track.fuel_stop_min_s ||
        options.track.relocate_fixes != defaults.track.relocate_fixes;
    if (own_tolerances && q.reason.empty()) {
        throw InputError("waybill " + subject +
                         ": accepting with tolerances other than the defaults needs a written "
                         "reason (--reason)");
    }
    auto results = reconcile(url, {.from = "", .to = "", .waybill_ids = {q.waybill_id}}, options);
    if (results.size() != 1) {
        throw DatabaseError("waybill " + subject + " could not be reconciled");
    }
    auto& r = results.front();
    if (!r.discrepancies.empty() && q.reason.empty()) {
        std::string message = "waybill " + subject +
                              " has unresolved discrepancies; accept"
                              " with a written reason (--reason) or correct it:";
        for (const auto& d : r.discrepancies) {
            message += "\n  - " + d.code + ": " + d.message;
        }
        throw InputError(message);
    }
    detail::in_transaction(conn, [&](pqxx::work& tx) {
        const auto status = tx.exec_params1(
            "SELECT status FROM fleet.waybills WHERE waybill_id = $1 FOR UPDATE", q.waybill_id);
        if (status[0].as<std::string>() != "returned") {
            throw InputError("waybill " + subject + " changed while it was being reconciled");
        }
        detail::refuse_implausible(tx, q.waybill_id, clock,
                                   "waybill " + subject + " cannot be accepted");
        // The details as they were when accepted: issuer, driver's licence, vehicle, fuel.
        tx.exec_params(
            "UPDATE fleet.waybills w SET status = 'closed', accepted_at = now(), accepted_by = $2,"
            " acceptance_reason = NULLIF($3, ''), details = w.details || jsonb_build_object("
            " 'accepted_on', jsonb_build_object("
            "  'issuer', (SELECT to_jsonb(i) - 'last_number' FROM fleet.issuers i"
            "             WHERE i.code = w.issuer),"
            "  'driver', (SELECT jsonb_build_object('full_name', d.full_name,"
            "             'licence_series', d.licence_series, 'licence_number', d.licence_number,"
            "             'licence_issued_on', d.licence_issued_on) FROM fleet.drivers d"
            "             WHERE d.driver_id = w.driver_id),"
            "  'vehicle', (SELECT jsonb_build_object('registration', v.registration,"
            "              'vehicle_class', v.vehicle_class, 'make_model', v.make_model)"
            "              FROM fleet.vehicles v WHERE v.vehicle_id = w.vehicle_id),"
            "  'fuel_issued_l', (SELECT coalesce(sum(t.volume_l), 0) FROM"
            "   fleet.fuel_transactions t WHERE t.waybill_id = w.waybill_id),"
            "  'tolerances', $4::jsonb))"
            " WHERE waybill_id = $1",
            q.waybill_id, q.person, q.reason, tolerances_json(options).dump());
        Json codes = Json::array();
        for (const auto& d : r.discrepancies) {
            codes.push_back(d.code);
        }
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill accepted",
                         .subject = subject,
                         .details = Json{{"person", q.person},
                                         {"reason", q.reason},
                                         {"discrepancies", codes},
                                         {"tolerances", tolerances_json(options)},
                                         {"saving_l", r.saving_l ? Json(*r.saving_l) : Json()}},
                         .waybill_id = q.waybill_id});
    });
    r.status = "closed";
    return r;
}

}  // namespace fleet::waybills
