#include "waybills/detail/plausibility.hpp"

#include <chrono>

#include "geo/error.hpp"
#include "waybills/detail/sql.hpp"

namespace fleet::waybills::detail {

std::string check_name(const std::string& kind) {
    return kind == "technical"     ? "pre-trip technical inspection"
           : kind == "medical_pre" ? "pre-trip medical examination"
                                   : "post-trip medical examination";
}

std::vector<std::string> implausible(pqxx::transaction_base& tx, std::int64_t waybill_id,
                                     const Clock& clock, const Proposed& proposed) {
    const auto& departed_at = proposed.departed_at;
    using namespace std::chrono;
    const double now_s = duration<double>(clock.now().time_since_epoch()).count();
    const double tolerance_s = duration<double>(clock.future_tolerance).count();
    std::vector<std::string> out;
    const auto w = tx.exec_params1(
        "WITH w AS (SELECT waybill_id, vehicle_id, driver_id, odometer_out_km, odometer_in_km,"
        "  coalesce(NULLIF($2, '')::timestamptz, departed_at) AS departed_at, returned_at"
        "  FROM fleet.waybills WHERE waybill_id = $1)"
        " SELECT " FLEET_UTC("w.departed_at") ", " FLEET_UTC("w.returned_at") ","
        " w.departed_at > to_timestamp($3::float8) + $4 * interval '1 second',"
        " w.returned_at > to_timestamp($3::float8) + $4 * interval '1 second',"
        " w.returned_at <= w.departed_at,"
        " w.odometer_in_km < w.odometer_out_km AND NOT EXISTS (SELECT 1 FROM"
        "  fleet.odometer_events e WHERE e.vehicle_id = w.vehicle_id"
        "  AND e.occurred_at > w.departed_at AND e.occurred_at <= w.returned_at),"
        " w.odometer_in_km, w.odometer_out_km,"
        " " FLEET_UTC("to_timestamp($3::float8)") " FROM w",
        waybill_id, departed_at, now_s, tolerance_s);
    const auto now_text = w[8].as<std::string>();
    const auto future = [&](const std::string& what, const std::string& at) {
        out.push_back(what + " " + at + " is in the future (now " + now_text + ", " +
                      std::to_string(duration_cast<minutes>(clock.future_tolerance).count()) +
                      " min tolerance)");
    };
    if (!w[2].is_null() && w[2].as<bool>()) {
        future("the departure", w[0].as<std::string>());
    }
    if (!w[3].is_null() && w[3].as<bool>()) {
        future("the return", w[1].as<std::string>());
    }
    if (!w[4].is_null() && w[4].as<bool>()) {
        out.push_back("the return " + w[1].as<std::string>() + " is not after the departure " +
                      w[0].as<std::string>());
    }
    if (!w[5].is_null() && w[5].as<bool>()) {
        out.push_back("the return odometer " + w[6].as<std::string>() +
                      " km is below the departure odometer " + w[7].as<std::string>() +
                      " km, and no rollover or replacement act is recorded for the trip");
    }
    for (const auto& c : tx.exec_params(
             "SELECT c.check_id, c.kind, " FLEET_UTC(
                 "c.checked_at") ","
                                 " c.checked_at > to_timestamp($3::float8) + $4 * interval '1 "
                                 "second',"
                                 " c.kind <> 'medical_post' AND c.checked_at > d.departed_at,"
                                 " c.kind = 'medical_post' AND c.checked_at < d.departed_at"
                                 " FROM fleet.waybill_checks c,"
                                 " (SELECT coalesce(NULLIF($2, '')::timestamptz, departed_at) AS "
                                 "departed_at"
                                 "  FROM fleet.waybills WHERE waybill_id = $1) d"
                                 " WHERE c.waybill_id = $1 AND c.withdrawn_at IS NULL"
                                 " ORDER BY c.checked_at, c.check_id",
             waybill_id, departed_at, now_s, tolerance_s)) {
        const auto id = c[0].as<std::int64_t>();
        const auto what =
            "the " + check_name(c[1].as<std::string>()) +
            (id == proposed.new_check_id ? "" : " (check " + std::to_string(id) + ")") + " at " +
            c[2].as<std::string>();
        if (c[3].as<bool>()) {
            out.push_back(what + " is in the future (now " + now_text + ")");
        }
        if (!c[4].is_null() && c[4].as<bool>()) {
            out.push_back(what + " is after the departure " + w[0].as<std::string>());
        }
        if (!c[5].is_null() && c[5].as<bool>()) {
            out.push_back(what + " is before the departure " + w[0].as<std::string>());
        }
    }
    for (const auto& o : tx.exec_params(
             "WITH w AS (SELECT waybill_id, vehicle_id, driver_id, returned_at,"
             "  coalesce(NULLIF($2, '')::timestamptz, departed_at) AS departed_at"
             "  FROM fleet.waybills WHERE waybill_id = $1)"
             " SELECT o.issuer || '/' || o.number, o.vehicle_id = w.vehicle_id,"
             " o.driver_id = w.driver_id, " FLEET_UTC(
                 "o.departed_at") ","
                                  " " FLEET_UTC(
                                      "o.returned_at") " FROM w JOIN fleet.waybills o"
                                                       " ON o.waybill_id <> w.waybill_id"
                                                       " AND (o.vehicle_id = w.vehicle_id OR "
                                                       "o.driver_id = w.driver_id)"
                                                       " AND o.status NOT IN ('cancelled', "
                                                       "'superseded') AND o.departed_at IS NOT NULL"
                                                       " AND tstzrange(o.departed_at, "
                                                       "coalesce(o.returned_at, 'infinity'), '[)')"
                                                       "  && tstzrange(w.departed_at, "
                                                       "coalesce(w.returned_at, 'infinity'), '[)')"
                                                       " WHERE w.departed_at IS NOT NULL ORDER BY "
                                                       "o.departed_at, o.waybill_id",
             waybill_id, departed_at)) {
        const auto other = o[0].as<std::string>();
        const std::string who = o[1].as<bool>() && o[2].as<bool>() ? "the vehicle and the driver"
                                : o[1].as<bool>()                  ? "the vehicle"
                                                                   : "the driver";
        if (o[4].is_null()) {
            out.push_back(who + (o[1].as<bool>() && o[2].as<bool>() ? " are" : " is") +
                          " still out on waybill " + other + " (departed " +
                          o[3].as<std::string>() + ")");
        } else {
            out.push_back("the trip overlaps that of " + who + " on waybill " + other + " (" +
                          o[3].as<std::string>() + " to " + o[4].as<std::string>() +
                          "); cancel or amend one of them");
        }
    }
    return out;
}

void refuse_implausible(pqxx::transaction_base& tx, std::int64_t waybill_id, const Clock& clock,
                        const std::string& heading, std::vector<std::string> reasons,
                        const Proposed& proposed) {
    for (auto& r : implausible(tx, waybill_id, clock, proposed)) {
        reasons.push_back(std::move(r));
    }
    if (reasons.empty()) {
        return;
    }
    std::string message = heading + ":";
    for (const auto& r : reasons) {
        message += "\n  - " + r;
    }
    throw InputError(message);
}

}  // namespace fleet::waybills::detail
