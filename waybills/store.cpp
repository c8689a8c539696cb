#include "waybills/store.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "waybills/detail/plausibility.hpp"
#include "waybills/detail/sql.hpp"
#include "waybills/norms.hpp"
#include "waybills/table.hpp"

namespace fleet::waybills {

namespace {

using detail::in_transaction;
using Json = nlohmann::json;
using detail::opt;
using detail::text;

constexpr std::array service_kinds{"urban", "suburban", "intercity", "international"};
constexpr std::array transport_kinds{"regular_passenger", "charter", "cargo",
                                     "own_needs",         "special", "other"};
constexpr std::array check_kinds{"technical", "medical_pre", "medical_post"};

template <std::size_t N>
void require_one_of(const std::string& field, const std::string& value,
                    const std::array<const char*, N>& allowed) {
    if (value.empty()) {
        return;
    }
    for (const char* a : allowed) {
        if (value == a) {
            return;
        }
    }
    std::string list;
    for (const char* a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
    }
    throw InputError(field + " '" + value + "' is not one of: " + list);
}

// A moment as the rules need it: date, time and the offset from UTC (or Z), so that it never
// depends on the database session's zone. "2026-11-27 07:30+03", "2026-11-27T04:30:00Z".
void require_time(const std::string& field, const std::string& value) {
    static const std::regex moment(
        R"(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?))");
    if (!std::regex_match(value, moment)) {
        throw InputError(field + " '" + value +
                         "' is not a date and time with its offset (2026-11-27 07:30+03, or Z "
                         "for UTC)");
    }
}

void require_not_negative(const std::string& field, double value) {
    if (value < 0) {
        throw InputError(field + " cannot be negative (got " + format_number(value) + ")");
    }
}

std::int64_t vehicle_id_of(pqxx::transaction_base& tx, const std::string& registration) {
    const auto r = tx.exec_params("SELECT vehicle_id FROM fleet.vehicles WHERE registration = $1",
                                  registration);
    if (r.empty()) {
        throw InputError("unknown vehicle '" + registration + "'");
    }
    return r[0][0].as<std::int64_t>();
}

// Refuses a step on a cancelled waybill with what happened to it.
std::string cancelled_note(pqxx::transaction_base& tx, std::int64_t waybill_id) {
    const auto r = tx.exec_params(
        "SELECT cancel_reason FROM fleet.waybills WHERE waybill_id = $1 AND status = 'cancelled'",
        waybill_id);
    return r.empty() || r[0][0].is_null() ? "" : " (cancelled: " + r[0][0].as<std::string>() + ")";
}

std::int64_t driver_id_of(pqxx::transaction_base& tx, const std::string& driver) {
    const auto r = tx.exec_params(
        "SELECT driver_id FROM fleet.drivers WHERE personnel_number = $1"
        " UNION SELECT driver_id FROM fleet.drivers WHERE full_name = $1 AND active",
        driver);
    if (r.empty()) {
        throw InputError("unknown driver '" + driver + "'");
    }
    if (r.size() > 1) {
        throw InputError("driver '" + driver + "' is ambiguous: give the personnel number");
    }
    return r[0][0].as<std::int64_t>();
}

// The waybill row, locked for the step that changes it; refuses when its status is not one of
// `allowed`.
std::string lock_with_status(pqxx::transaction_base& tx, std::int64_t waybill_id,
                             std::initializer_list<const char*> allowed, const std::string& step) {
    const auto r = tx.exec_params(
        "SELECT status, issuer || '/' || number FROM fleet.waybills WHERE waybill_id = $1"
        " FOR UPDATE",
        waybill_id);
    if (r.empty()) {
        throw InputError("no waybill " + std::to_string(waybill_id));
    }
    const auto status = r[0][0].as<std::string>();
    for (const char* a : allowed) {
        if (status == a) {
            return r[0][1].as<std::string>();
        }
    }
    throw InputError("waybill " + r[0][1].as<std::string>() + " is " + status +
                     (status == "cancelled" ? cancelled_note(tx, waybill_id) : "") + ": cannot " +
                     step);
}

// Links the vehicle's (or every vehicle's) unlinked fuel receipts to the returned waybill they
// fall in, or nearest to within the slack: card files often come the next day, and a fill just
// before departure belongs to the trip. Closed waybills take no more receipts.
std::size_t link_receipts(pqxx::transaction_base& tx, std::optional<std::int64_t> vehicle_id) {
    return tx
        .exec_params(
            "UPDATE fleet.fuel_transactions t SET waybill_id = m.waybill_id FROM ("
            " SELECT DISTINCT ON (u.transaction_id) u.transaction_id, w.waybill_id"
            " FROM fleet.fuel_transactions u JOIN fleet.waybills w ON w.vehicle_id = u.vehicle_id"
            "  AND w.status = 'returned' AND u.occurred_at BETWEEN"
            "  w.departed_at - $2 * interval '1 minute' AND w.returned_at + $2 * interval"
            "  '1 minute'"
            " WHERE u.waybill_id IS NULL AND ($1::bigint IS NULL OR u.vehicle_id = $1)"
            " ORDER BY u.transaction_id, greatest(w.departed_at - u.occurred_at,"
            "  u.occurred_at - w.returned_at, interval '0'), w.departed_at) m"
            " WHERE t.transaction_id = m.transaction_id",
            vehicle_id, default_receipt_slack_min)
        .affected_rows();
}

}  // namespace

void save_issuer(pqxx::connection& conn, const Issuer& i, const std::string& actor) {
    if (i.code.empty() || i.name.empty()) {
        throw InputError("an issuer needs a code and a name");
    }
    in_transaction(conn, [&](pqxx::work& tx) {
        if (tx.exec_params("SELECT 1 FROM pg_timezone_names WHERE name = $1", i.time_zone)
                .empty()) {
            throw InputError("time zone '" + i.time_zone +
                             "' is unknown (an IANA name such as"
                             " Europe/Moscow)");
        }
        tx.exec_params(
            "INSERT INTO fleet.issuers (code, name, legal_form, address, phone, ogrn, ogrnip,"
            " time_zone) VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''),"
            " NULLIF($6, ''), NULLIF($7, ''), $8) ON CONFLICT (code) DO UPDATE SET"
            " name = EXCLUDED.name, legal_form = EXCLUDED.legal_form,"
            " address = EXCLUDED.address, phone = EXCLUDED.phone, ogrn = EXCLUDED.ogrn,"
            " ogrnip = EXCLUDED.ogrnip, time_zone = EXCLUDED.time_zone",
            i.code, i.name, i.legal_form, i.address, i.phone, i.ogrn, i.ogrnip, i.time_zone);
        geo::record(tx, {.actor = actor,
                         .action = "issuer saved",
                         .subject = i.code,
                         .details = Json{{"name", i.name}},
                         .kind = "issuer"});
    });
}

Issuer load_issuer(pqxx::connection& conn, const std::string& code) {
    pqxx::read_transaction tx(conn);
    const auto r = tx.exec_params(
        "SELECT code, name, legal_form, address, phone, ogrn, ogrnip, time_zone"
        " FROM fleet.issuers WHERE code = $1",
        code);
    if (r.empty()) {
        throw InputError("unknown issuer '" + code + "'");
    }
    return {.code = text(r[0][0]),
            .name = text(r[0][1]),
            .legal_form = text(r[0][2]),
            .address = text(r[0][3]),
            .phone = text(r[0][4]),
            .ogrn = text(r[0][5]),
            .ogrnip = text(r[0][6]),
            .time_zone = text(r[0][7])};
}

Issued issue(pqxx::connection& conn, const IssueRequest& q) {
    require_one_of("service kind", q.service_kind, service_kinds);
    require_one_of("transport kind", q.transport_kind, transport_kinds);
    if (q.odometer_out_km) {
        require_not_negative("departure odometer", static_cast<double>(*q.odometer_out_km));
    }
    if (q.fuel_out_l) {
        require_not_negative("departure fuel", *q.fuel_out_l);
    }
    if (q.trailer_mass_t) {
        require_not_negative("trailer mass", *q.trailer_mass_t);
    }
    return in_transaction(conn, [&](pqxx::work& tx) {
        const auto issuer = tx.exec_params(
            "SELECT last_number FROM fleet.issuers WHERE code = $1 FOR UPDATE", q.issuer);
        if (issuer.empty()) {
            throw InputError("unknown issuer '" + q.issuer + "'");
        }
        std::optional<std::int64_t> vehicle_id;
        std::optional<std::int64_t> driver_id;
        std::string valid_from = q.valid_from;
        if (q.assignment_id) {
            const auto a = tx.exec_params(
                "SELECT vehicle_id, driver_id, service_date::text FROM fleet.shift_assignments"
                " WHERE assignment_id = $1 AND status <> 'cancelled'",
                *q.assignment_id);
            if (a.empty()) {
                throw InputError("no shift assignment " + std::to_string(*q.assignment_id));
            }
            vehicle_id = a[0][0].as<std::int64_t>();
            driver_id = opt<std::int64_t>(a[0][1]);
            if (valid_from.empty()) {
                valid_from = a[0][2].as<std::string>();
            }
        }
        if (!q.vehicle.empty()) {
            vehicle_id = vehicle_id_of(tx, q.vehicle);
        }
        if (!q.driver.empty()) {
            driver_id = driver_id_of(tx, q.driver);
        }
        if (!vehicle_id) {
            throw InputError("a waybill needs a vehicle (or an assignment)");
        }
        if (!driver_id) {
            throw InputError("a waybill needs a driver (the assignment has none)");
        }
        if (valid_from.empty()) {
            throw InputError("a waybill needs its validity date (--from)");
        }
        const std::string valid_to = q.valid_to.empty() ? valid_from : q.valid_to;
        if (valid_to < valid_from) {  // both YYYY-MM-DD: text order is date order
            throw InputError("validity ends (" + valid_to + ") before it starts (" + valid_from +
                             ")");
        }
        // Departure values carry over from the vehicle's last returned or closed waybill.
        const auto previous = tx.exec_params(
            "SELECT odometer_in_km, fuel_in_l FROM fleet.waybills WHERE vehicle_id = $1"
            " AND status IN ('returned', 'closed') ORDER BY returned_at DESC LIMIT 1",
            *vehicle_id);
        Issued out;
        out.assignment_id = q.assignment_id;
        if (!q.assignment_id) {
            // The vehicle and driver's assignment in the period, unless another open waybill
            // already serves it: the reconciliation then has the plan to compare with.
            for (const auto& a : tx.exec_params(
                     "SELECT a.assignment_id FROM fleet.shift_assignments a"
                     " WHERE a.vehicle_id = $1 AND a.driver_id = $2 AND a.status <> 'cancelled'"
                     " AND a.service_date BETWEEN $3::date AND $4::date AND NOT EXISTS ("
                     "  SELECT 1 FROM fleet.waybills w WHERE w.assignment_id = a.assignment_id"
                     "  AND w.status NOT IN ('cancelled', 'superseded'))"
                     " ORDER BY a.service_date, a.assignment_id",
                     *vehicle_id, *driver_id, valid_from, valid_to)) {
                out.assignment_candidates.push_back(a[0].as<std::int64_t>());
            }
            if (out.assignment_candidates.size() == 1) {
                out.assignment_id = out.assignment_candidates.front();
                out.assignment_found = true;
                out.assignment_candidates.clear();
            }
        }
        out.odometer_out_km = q.odometer_out_km;
        out.fuel_out_l = q.fuel_out_l;
        if (!previous.empty()) {
            out.carried_over = !q.odometer_out_km && !q.fuel_out_l;
            if (!q.odometer_out_km) {
                out.odometer_out_km = opt<std::int64_t>(previous[0][0]);
            }
            if (!q.fuel_out_l) {
                out.fuel_out_l = opt<double>(previous[0][1]);
            }
        } else if (!q.odometer_out_km || !q.fuel_out_l) {
            throw InputError(
                "the vehicle has no earlier waybill to carry the departure odometer and fuel "
                "from: give both (--odometer, --fuel)");
        }
        out.number = issuer[0][0].as<std::int64_t>() + 1;
        tx.exec_params("UPDATE fleet.issuers SET last_number = $2 WHERE code = $1", q.issuer,
                       out.number);
        out.waybill_id =
            tx.exec_params1(
                  "INSERT INTO fleet.waybills (issuer, number, vehicle_id, driver_id,"
                  " assignment_id, valid_from, valid_to, odometer_out_km, fuel_out_l,"
                  " trailer_make_model, trailer_registration, trailer_mass_t, service_kind,"
                  " transport_kind, fuel_grade, issued_by, details) VALUES ($1, $2, $3, $4, $5,"
                  " $6::date, $7::date, $8, $9, NULLIF($10, ''), NULLIF($11, ''), $12,"
                  " NULLIF($13, ''), NULLIF($14, ''), (SELECT coalesce(v.fuel_grade, m.fuel_grade)"
                  " FROM fleet.vehicles v LEFT JOIN fleet.vehicle_models m USING (make_model)"
                  " WHERE v.vehicle_id = $3), $15, jsonb_build_object('odometer_carried', "
                  "$16::boolean,"
                  " 'fuel_carried', $17::boolean)) RETURNING waybill_id",
                  q.issuer, out.number, *vehicle_id, *driver_id, out.assignment_id, valid_from,
                  valid_to, out.odometer_out_km, out.fuel_out_l, q.trailer_make_model,
                  q.trailer_registration, q.trailer_mass_t, q.service_kind, q.transport_kind,
                  q.actor, !previous.empty() && !q.odometer_out_km,
                  !previous.empty() && !q.fuel_out_l)[0]
                .as<std::int64_t>();
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill issued",
                         .subject = q.issuer + "/" + std::to_string(out.number),
                         .details = Json{{"waybill_id", out.waybill_id},
                                         {"vehicle_id", *vehicle_id},
                                         {"driver_id", *driver_id},
                                         {"valid_from", valid_from},
                                         {"valid_to", valid_to},
                                         {"carried_over", out.carried_over},
                                         {"assignment_found", out.assignment_found}},
                         .vehicle_id = *vehicle_id,
                         .driver_id = *driver_id,
                         .waybill_id = out.waybill_id,
                         .assignment_id = out.assignment_id});
        return out;
    });
}

std::int64_t record_check(pqxx::connection& conn, const CheckRequest& q, const Clock& clock) {
    require_one_of("check kind", q.kind, check_kinds);
    if (q.kind.empty() || q.person.empty() || q.checked_at.empty()) {
        throw InputError("a check needs its kind, time and the person who made it");
    }
    require_time("check time", q.checked_at);
    if (q.kind == "technical" && !q.odometer_km) {
        throw InputError("the technical inspection needs the odometer reading at inspection");
    }
    if (q.odometer_km) {
        require_not_negative("odometer at inspection", static_cast<double>(*q.odometer_km));
    }
    return in_transaction(conn, [&](pqxx::work& tx) {
        const auto subject =
            q.kind == "medical_post"
                ? lock_with_status(tx, q.waybill_id, {"released", "returned"},
                                   "record a post-trip examination")
                : lock_with_status(tx, q.waybill_id, {"issued"}, "record a pre-trip check");
        const auto check_id =
            tx.exec_params1(
                  "INSERT INTO fleet.waybill_checks (waybill_id, kind, checked_at, person, passed,"
                  " odometer_km, notes) VALUES ($1, $2, $3::timestamptz, $4, $5, $6,"
                  " NULLIF($7, '')) RETURNING check_id",
                  q.waybill_id, q.kind, q.checked_at, q.person, q.passed, q.odometer_km, q.notes)[0]
                .as<std::int64_t>();
        detail::refuse_implausible(
            tx, q.waybill_id, clock,
            "waybill " + subject + ": the " + detail::check_name(q.kind) + " cannot be recorded",
            {}, detail::Proposed{.departed_at = "", .new_check_id = check_id});
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill check recorded",
                         .subject = subject,
                         .details = Json{{"check_id", check_id},
                                         {"kind", q.kind},
                                         {"checked_at", q.checked_at},
                                         {"person", q.person},
                                         {"passed", q.passed}},
                         .waybill_id = q.waybill_id});
        return check_id;
    });
}

void release(pqxx::connection& conn, const ReleaseRequest& q, const Clock& clock) {
    if (q.dispatcher.empty() || q.departed_at.empty()) {
        throw InputError("a release needs the departure time and the releasing dispatcher");
    }
    require_time("departure time", q.departed_at);
    in_transaction(conn, [&](pqxx::work& tx) {
        // The vehicle first: two releases of one vehicle at once queue here.
        tx.exec_params(
            "SELECT 1 FROM fleet.vehicles v JOIN fleet.waybills w USING (vehicle_id)"
            " WHERE w.waybill_id = $1 FOR UPDATE OF v",
            q.waybill_id);
        const auto subject = lock_with_status(tx, q.waybill_id, {"issued"}, "release it");
        std::vector<std::string> reasons;
        const auto checks = tx.exec_params(
            "SELECT k.kind, c.passed FROM unnest(ARRAY['technical', 'medical_pre']) k(kind)"
            " LEFT JOIN LATERAL (SELECT passed, checked_at FROM fleet.waybill_checks c WHERE"
            " c.waybill_id = $1 AND c.kind = k.kind AND c.withdrawn_at IS NULL"
            " ORDER BY checked_at DESC, check_id DESC LIMIT 1) c ON true",
            q.waybill_id);
        // A check dated after the departure is the plausibility rules' to name.
        for (const auto& r : checks) {
            const std::string what = detail::check_name(r[0].as<std::string>());
            if (r[1].is_null()) {
                reasons.push_back(what + " missing");
            } else if (!r[1].as<bool>()) {
                reasons.push_back(what + " failed");
            }
        }
        const auto w = tx.exec_params1(
            "SELECT w.vehicle_id, ($2::timestamptz AT TIME ZONE i.time_zone)::date"
            " BETWEEN w.valid_from AND w.valid_to,"
            " (SELECT o.issuer || '/' || o.number || ' returned ' ||"
            "  to_char(o.returned_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC'"
            "  FROM fleet.waybills o WHERE o.vehicle_id = w.vehicle_id"
            "  AND o.status IN ('returned', 'closed') AND o.departed_at > $2::timestamptz"
            "  ORDER BY o.returned_at DESC LIMIT 1)"
            " FROM fleet.waybills w JOIN fleet.issuers i ON i.code = w.issuer"
            " WHERE w.waybill_id = $1",
            q.waybill_id, q.departed_at);
        if (!w[1].as<bool>()) {
            reasons.push_back("departure " + q.departed_at + " is outside the validity period");
        }
        if (!w[2].is_null()) {
            // Trips that overlap this one are the plausibility rules' to name; this is a trip
            // entirely after it, whose departure values would no longer follow.
            reasons.push_back("the departure is before the vehicle's later trip on waybill " +
                              w[2].as<std::string>());
        }
        detail::refuse_implausible(
            tx, q.waybill_id, clock, "waybill " + subject + " cannot be released",
            std::move(reasons), detail::Proposed{.departed_at = q.departed_at, .new_check_id = 0});
        // Issued ahead of time: departure values carried over are taken again from the
        // waybill that came back last, so the chain holds.
        tx.exec_params(
            "UPDATE fleet.waybills w SET"
            " odometer_out_km = CASE WHEN (w.details ->> 'odometer_carried')::boolean"
            "  THEN coalesce(p.odometer_in_km, w.odometer_out_km) ELSE w.odometer_out_km END,"
            " fuel_out_l = CASE WHEN (w.details ->> 'fuel_carried')::boolean"
            "  THEN coalesce(p.fuel_in_l, w.fuel_out_l) ELSE w.fuel_out_l END"
            " FROM (SELECT o.odometer_in_km, o.fuel_in_l FROM fleet.waybills o, fleet.waybills x"
            "  WHERE x.waybill_id = $1 AND o.vehicle_id = x.vehicle_id"
            "  AND o.status IN ('returned', 'closed') ORDER BY o.returned_at DESC LIMIT 1) p"
            " WHERE w.waybill_id = $1",
            q.waybill_id);
        tx.exec_params(
            "UPDATE fleet.waybills SET status = 'released', departed_at = $2::timestamptz,"
            " released_by = $3 WHERE waybill_id = $1",
            q.waybill_id, q.departed_at, q.dispatcher);
        geo::record(tx,
                    {.actor = q.actor,
                     .action = "waybill released",
                     .subject = subject,
                     .details = Json{{"departed_at", q.departed_at}, {"dispatcher", q.dispatcher}},
                     .waybill_id = q.waybill_id});
    });
}

void return_vehicle(pqxx::connection& conn, const ReturnRequest& q, const Clock& clock) {
    require_not_negative("return odometer", static_cast<double>(q.odometer_in_km));
    require_not_negative("return fuel", q.fuel_in_l);
    require_not_negative("fuel handed over", q.fuel_handed_over_l);
    require_not_negative("heater hours", q.heater_h);
    require_not_negative("equipment hours", q.equipment_h);
    require_not_negative("idle hours", q.idle_h);
    require_not_negative("transport work", q.transport_work_tkm);
    require_not_negative("loaded trips", q.loaded_trips);
    require_time("return time", q.returned_at);
    std::string declared = "{";
    for (const auto& code : q.declared_corrections) {
        parse_correction_code(code);  // refuses what the norms do not know
        declared += (declared.size() > 1 ? "," : "") + code;
    }
    declared += "}";
    in_transaction(conn, [&](pqxx::work& tx) {
        const auto subject = lock_with_status(tx, q.waybill_id, {"released"}, "return it");
        tx.exec_params(
            "UPDATE fleet.waybills SET status = 'returned', returned_at = $2::timestamptz,"
            " odometer_in_km = $3, fuel_in_l = $4, fuel_handed_over_l = $5, heater_h = $6,"
            " equipment_h = $7, idle_h = $8, transport_work_tkm = $9, loaded_trips = $10,"
            " air_conditioning = $11, declared_corrections = $12::text[] WHERE waybill_id = $1",
            q.waybill_id, q.returned_at, q.odometer_in_km, q.fuel_in_l, q.fuel_handed_over_l,
            q.heater_h, q.equipment_h, q.idle_h, q.transport_work_tkm, q.loaded_trips,
            q.air_conditioning, declared);
        detail::refuse_implausible(tx, q.waybill_id, clock,
                                   "waybill " + subject + " cannot be returned");
        const auto linked = link_receipts(
            tx, tx.exec_params1("SELECT vehicle_id FROM fleet.waybills WHERE waybill_id = $1",
                                q.waybill_id)[0]
                    .as<std::int64_t>());
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill returned",
                         .subject = subject,
                         .details = Json{{"returned_at", q.returned_at},
                                         {"odometer_in_km", q.odometer_in_km},
                                         {"fuel_in_l", q.fuel_in_l},
                                         {"fuel_transactions_linked", linked}},
                         .waybill_id = q.waybill_id});
    });
}

std::int64_t record_odometer_event(pqxx::connection& conn, const OdometerEventRequest& q) {
    if (q.kind != "replacement" && q.kind != "rollover") {
        throw InputError("odometer event kind '" + q.kind +
                         "' is not one of: replacement, rollover");
    }
    if (q.document.empty()) {
        throw InputError("an odometer " + q.kind + " needs the act's reference (--document)");
    }
    require_time("act time", q.occurred_at);
    require_not_negative("old reading", static_cast<double>(q.old_reading_km));
    require_not_negative("new reading", static_cast<double>(q.new_reading_km));
    return in_transaction(conn, [&](pqxx::work& tx) {
        const auto vehicle_id = vehicle_id_of(tx, q.vehicle);
        const auto id = tx.exec_params1(
                              "INSERT INTO fleet.odometer_events (vehicle_id, kind, occurred_at,"
                              " old_reading_km, new_reading_km, document, recorded_by)"
                              " VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7)"
                              " RETURNING odometer_event_id",
                              vehicle_id, q.kind, q.occurred_at, q.old_reading_km, q.new_reading_km,
                              q.document, q.actor)[0]
                            .as<std::int64_t>();
        geo::record(tx, {.actor = q.actor,
                         .action = "odometer " + q.kind,
                         .subject = q.vehicle,
                         .details = Json{{"occurred_at", q.occurred_at},
                                         {"old_reading_km", q.old_reading_km},
                                         {"new_reading_km", q.new_reading_km},
                                         {"document", q.document}},
                         .vehicle_id = vehicle_id});
        return id;
    });
}

std::vector<FuelProblem> fuel_transaction_problems(
    pqxx::connection& conn, const std::vector<FuelTransaction>& transactions) {
    std::vector<FuelProblem> out;
    pqxx::read_transaction tx(conn);
    std::map<std::string, bool> known;
    for (std::size_t i = 0; i < transactions.size(); ++i) {
        const auto& t = transactions[i];
        const auto problem = [&](const std::string& message) { out.push_back({i, message}); };
        if (t.vehicle.empty()) {
            problem("vehicle: empty (a registration wanted)");
        } else {
            auto [at, fresh] = known.try_emplace(t.vehicle, false);
            if (fresh) {
                at->second = !tx.exec_params("SELECT 1 FROM fleet.vehicles WHERE registration = $1",
                                             t.vehicle)
                                  .empty();
            }
            if (!at->second) {
                problem("vehicle: unknown vehicle '" + t.vehicle + "'");
            }
        }
        try {
            require_time("occurred_at", t.occurred_at);
        } catch (const InputError& e) {
            problem(e.what());
        }
        if (!(t.volume_l > 0)) {
            problem("volume_l: " + format_number(t.volume_l) +
                    " is not a positive number of litres");
        }
        if (t.odometer_km && *t.odometer_km < 0) {
            problem("odometer_km: " + std::to_string(*t.odometer_km) +
                    " is not a whole number of km (0 or more)");
        }
    }
    return out;
}

std::size_t import_fuel_transactions(pqxx::connection& conn,
                                     const std::vector<FuelTransaction>& transactions,
                                     const std::string& actor) {
    if (const auto problems = fuel_transaction_problems(conn, transactions); !problems.empty()) {
        std::string message = "nothing imported:";
        for (const auto& p : problems) {
            message += "\n  - transaction " + std::to_string(p.index + 1) + ": " + p.message;
        }
        throw InputError(message);
    }
    return in_transaction(conn, [&](pqxx::work& tx) {
        std::size_t added = 0;
        for (const auto& t : transactions) {
            const auto vehicle_id = vehicle_id_of(tx, t.vehicle);
            added += tx.exec_params(
                           "INSERT INTO fleet.fuel_transactions (vehicle_id, occurred_at,"
                           " volume_l, fuel_grade, card_or_coupon, odometer_km, source,"
                           " external_id) VALUES ($1, $2::timestamptz, $3, NULLIF($4, ''),"
                           " NULLIF($5, ''), $6, $7, NULLIF($8, '')) ON CONFLICT DO NOTHING",
                           vehicle_id, t.occurred_at, t.volume_l, t.fuel_grade, t.card_or_coupon,
                           t.odometer_km, t.source, t.external_id)
                         .affected_rows();
        }
        const auto linked = link_receipts(tx, std::nullopt);
        geo::record(
            tx, {.actor = actor,
                 .action = "fuel transactions imported",
                 .subject = "",
                 .details = Json{{"read", transactions.size()}, {"new", added}, {"linked", linked}},
                 .kind = "fuel"});
        return added;
    });
}

namespace {

constexpr const char* waybill_select =
    "SELECT w.waybill_id, w.issuer, w.number, w.status, w.valid_from::text, w.valid_to::text,"
    " w.vehicle_id, v.registration, v.vehicle_class, coalesce(v.make_model, ''), w.driver_id,"
    " d.full_name, d.licence_series, d.licence_number, d.licence_issued_on::text,"
    " w.assignment_id, w.trailer_make_model, w.trailer_registration, w.trailer_mass_t,"
    " w.service_kind, w.transport_kind, w.fuel_grade, w.odometer_out_km, w.odometer_in_km,"
    " w.fuel_out_l::float8, w.fuel_in_l::float8,"
    " (SELECT coalesce(sum(volume_l), 0)::float8 FROM fleet.fuel_transactions t"
    "  WHERE t.waybill_id = w.waybill_id),"
    " w.fuel_handed_over_l::float8, w.heater_h, w.equipment_h, w.idle_h, w.transport_work_tkm,"
    " w.loaded_trips, w.air_conditioning, " FLEET_UTC("w.departed_at") ", " FLEET_UTC(
        "w.returned_at") ", " FLEET_UTC("w.issued_at") ", w.issued_by, w.released_by, " FLEET_UTC("w.accepted_at") ","
    " w.accepted_by, w.acceptance_reason, w.corrects_waybill_id, " FLEET_UTC("w.cancelled_at") ","
    " w.cancelled_by, w.cancel_reason, i.time_zone"
    " FROM fleet.waybills w JOIN fleet.vehicles v USING (vehicle_id)"
    " JOIN fleet.drivers d USING (driver_id) JOIN fleet.issuers i ON i.code = w.issuer ";

Waybill waybill_of(const pqxx::row& r) {
    Waybill w;
    w.waybill_id = r[0].as<std::int64_t>();
    w.issuer = r[1].as<std::string>();
    w.number = r[2].as<std::int64_t>();
    w.status = r[3].as<std::string>();
    w.valid_from = r[4].as<std::string>();
    w.valid_to = r[5].as<std::string>();
    w.vehicle_id = r[6].as<std::int64_t>();
    w.registration = r[7].as<std::string>();
    w.vehicle_class = r[8].as<std::string>();
    w.make_model = r[9].as<std::string>();
    w.driver_id = r[10].as<std::int64_t>();
    w.driver_name = r[11].as<std::string>();
    w.licence_series = text(r[12]);
    w.licence_number = text(r[13]);
    w.licence_issued_on = text(r[14]);
    w.assignment_id = opt<std::int64_t>(r[15]);
    w.trailer_make_model = text(r[16]);
    w.trailer_registration = text(r[17]);
    w.trailer_mass_t = opt<double>(r[18]);
    w.service_kind = text(r[19]);
    w.transport_kind = text(r[20]);
    w.fuel_grade = text(r[21]);
    w.odometer_out_km = opt<std::int64_t>(r[22]);
    w.odometer_in_km = opt<std::int64_t>(r[23]);
    w.fuel_out_l = opt<double>(r[24]);
    w.fuel_in_l = opt<double>(r[25]);
    w.fuel_issued_l = r[26].as<double>();
    w.fuel_handed_over_l = r[27].as<double>();
    w.heater_h = r[28].as<double>();
    w.equipment_h = r[29].as<double>();
    w.idle_h = r[30].as<double>();
    w.transport_work_tkm = r[31].as<double>();
    w.loaded_trips = r[32].as<int>();
    w.air_conditioning = r[33].as<bool>();
    w.departed_at = text(r[34]);
    w.returned_at = text(r[35]);
    w.issued_at = text(r[36]);
    w.issued_by = text(r[37]);
    w.released_by = text(r[38]);
    w.accepted_at = text(r[39]);
    w.accepted_by = text(r[40]);
    w.acceptance_reason = text(r[41]);
    w.corrects_waybill_id = opt<std::int64_t>(r[42]);
    w.cancelled_at = text(r[43]);
    w.cancelled_by = text(r[44]);
    w.cancel_reason = text(r[45]);
    w.time_zone = r[46].as<std::string>();
    return w;
}

void load_checks(pqxx::transaction_base& tx, Waybill& w) {
    for (const auto& r : tx.exec_params(
             "SELECT check_id, kind, " FLEET_UTC(
                 "checked_at") ", person, passed, odometer_km,"
                               " notes, " FLEET_UTC(
                                   "withdrawn_at") ", withdrawn_by, withdrawn_reason"
                                                   " FROM fleet.waybill_checks WHERE waybill_id = "
                                                   "$1 ORDER BY checked_at, check_id",
             w.waybill_id)) {
        w.checks.push_back({.check_id = r[0].as<std::int64_t>(),
                            .kind = r[1].as<std::string>(),
                            .checked_at = r[2].as<std::string>(),
                            .person = r[3].as<std::string>(),
                            .passed = r[4].as<bool>(),
                            .odometer_km = opt<std::int64_t>(r[5]),
                            .notes = text(r[6]),
                            .withdrawn_at = text(r[7]),
                            .withdrawn_by = text(r[8]),
                            .withdrawn_reason = text(r[9])});
    }
}

}  // namespace

Waybill load_waybill(pqxx::connection& conn, std::int64_t waybill_id) {
    pqxx::read_transaction tx(conn);
    const auto r =
        tx.exec_params(std::string(waybill_select) + "WHERE w.waybill_id = $1", waybill_id);
    if (r.empty()) {
        throw InputError("no waybill " + std::to_string(waybill_id));
    }
    auto w = waybill_of(r[0]);
    load_checks(tx, w);
    return w;
}

std::vector<Waybill> list_waybills(pqxx::connection& conn, const ListFilter& f) {
    pqxx::read_transaction tx(conn);
    std::vector<Waybill> out;
    std::optional<std::int64_t> driver_id;
    if (!f.vehicle.empty() &&
        tx.exec_params("SELECT 1 FROM fleet.vehicles WHERE registration = $1", f.vehicle).empty()) {
        throw InputError("no such vehicle '" + f.vehicle + "' (fleetctl vehicle list shows them)");
    }
    if (!f.driver.empty()) {
        try {
            driver_id = driver_id_of(tx, f.driver);
        } catch (const InputError& e) {
            if (std::string(e.what()).find("ambiguous") != std::string::npos) {
                throw;
            }
            throw InputError("no such driver '" + f.driver +
                             "' (a full name or personnel number; fleetctl driver list shows "
                             "them)");
        }
    }
    try {
        for (const auto& r : tx.exec_params(
                 std::string(waybill_select) +
                     "WHERE ($1 = '' OR w.valid_to >= $1::date) AND ($2 = '' OR w.valid_from <="
                     " $2::date) AND ($3 = '' OR v.registration = $3) AND ($4 = '' OR w.status ="
                     " $4) AND ($5::bigint IS NULL OR w.driver_id = $5)"
                     " ORDER BY w.valid_from, w.issuer, w.number",
                 f.from, f.to, f.vehicle, f.status, driver_id)) {
            out.push_back(waybill_of(r));
        }
    } catch (const pqxx::data_exception& e) {
        detail::throw_input(e);
    }
    for (auto& w : out) {
        load_checks(tx, w);
    }
    return out;
}

std::vector<std::string> missing_details(const Waybill& w, const Issuer& i) {
    std::vector<std::string> missing;
    auto need = [&](bool present, const char* what) {
        if (!present) {
            missing.emplace_back(what);
        }
    };
    need(w.number > 0, "number");
    need(!w.valid_from.empty() && !w.valid_to.empty(), "validity period");
    need(!i.name.empty(), "issuer name");
    need(!i.legal_form.empty() || !i.ogrnip.empty(), "issuer legal form");
    need(!i.address.empty(), "issuer address");
    need(!i.phone.empty(), "issuer phone");
    need(!i.ogrn.empty() || !i.ogrnip.empty(), "issuer registration number (OGRN or OGRNIP)");
    need(!w.vehicle_class.empty(), "vehicle type");
    need(!w.make_model.empty(), "vehicle make and model");
    need(!w.registration.empty(), "vehicle registration plate");
    if (!w.trailer_make_model.empty() || !w.trailer_registration.empty()) {
        need(!w.trailer_make_model.empty(), "trailer make and model");
        need(!w.trailer_registration.empty(), "trailer registration plate");
    }
    need(w.odometer_out_km.has_value(), "odometer at departure");
    need(w.odometer_in_km.has_value(), "odometer at return");
    need(!w.departed_at.empty(), "date and time of departure");
    need(!w.returned_at.empty(), "date and time of return");
    need(!w.released_by.empty(), "releasing dispatcher's mark");
    auto latest = [&](const char* kind) -> const Check* {
        const Check* found = nullptr;
        for (const auto& c : w.checks) {
            if (c.kind == kind && c.withdrawn_at.empty()) {
                found = &c;
            }
        }
        return found;
    };
    const Check* technical = latest("technical");
    need(technical != nullptr, "pre-trip technical inspection");
    if (technical != nullptr) {
        need(technical->passed, "pre-trip technical inspection passed");
        need(technical->odometer_km.has_value(), "odometer at technical inspection");
    }
    need(!w.driver_name.empty(), "driver's full name");
    need(!w.licence_series.empty() && !w.licence_number.empty() && !w.licence_issued_on.empty(),
         "driving licence series, number and issue date");
    const Check* pre = latest("medical_pre");
    need(pre != nullptr && pre->passed, "pre-trip medical examination");
    need(latest("medical_post") != nullptr, "post-trip medical examination");
    need(!w.service_kind.empty(), "kind of service");
    need(!w.transport_kind.empty(), "kind of transport");
    return missing;
}

std::int64_t correct(pqxx::connection& conn, const WaybillCorrection& c, const Clock& clock) {
    if (c.reason.empty()) {
        throw InputError("a correction needs its reason");
    }
    for (const auto& [field, value] : {std::pair{"departure odometer", c.odometer_out_km},
                                       std::pair{"return odometer", c.odometer_in_km}}) {
        if (value) {
            require_not_negative(field, static_cast<double>(*value));
        }
    }
    for (const auto& [field, value] :
         {std::pair{"departure fuel", c.fuel_out_l}, std::pair{"return fuel", c.fuel_in_l},
          std::pair{"fuel handed over", c.fuel_handed_over_l},
          std::pair{"heater hours", c.heater_h}, std::pair{"equipment hours", c.equipment_h},
          std::pair{"idle hours", c.idle_h}, std::pair{"transport work", c.transport_work_tkm}}) {
        if (value) {
            require_not_negative(field, *value);
        }
    }
    if (!c.departed_at.empty()) {
        require_time("departure time", c.departed_at);
    }
    if (!c.returned_at.empty()) {
        require_time("return time", c.returned_at);
    }
    return in_transaction(conn, [&](pqxx::work& tx) {
        const auto subject = lock_with_status(tx, c.waybill_id, {"closed"}, "correct it");
        // The corrected figures must hold as a return would: time order, and an odometer that
        // comes back lower only over an act inside the trip.
        const auto check = tx.exec_params1(
            "SELECT coalesce(NULLIF($2, '')::timestamptz, returned_at) >"
            "  coalesce(NULLIF($3, '')::timestamptz, departed_at),"
            " coalesce($4, odometer_in_km) >= coalesce($5, odometer_out_km) OR EXISTS ("
            "  SELECT 1 FROM fleet.odometer_events e WHERE e.vehicle_id = w.vehicle_id"
            "  AND e.occurred_at > coalesce(NULLIF($3, '')::timestamptz, departed_at)"
            "  AND e.occurred_at <= coalesce(NULLIF($2, '')::timestamptz, returned_at))"
            " FROM fleet.waybills w WHERE waybill_id = $1",
            c.waybill_id, c.returned_at, c.departed_at, c.odometer_in_km, c.odometer_out_km);
        if (!check[0].as<bool>()) {
            throw InputError("the corrected return time is not after the departure");
        }
        if (!check[1].as<bool>()) {
            throw InputError(
                "the corrected return odometer is below the departure odometer, and no "
                "rollover or replacement act is recorded for the trip");
        }
        const auto issuer = tx.exec_params1(
            "UPDATE fleet.issuers i SET last_number = last_number + 1 FROM fleet.waybills w"
            " WHERE w.waybill_id = $1 AND i.code = w.issuer RETURNING i.last_number",
            c.waybill_id);
        const auto id =
            tx.exec_params1(
                  "INSERT INTO fleet.waybills (issuer, number, vehicle_id, driver_id,"
                  " assignment_id, valid_from, valid_to, status, odometer_out_km,"
                  " odometer_in_km, fuel_out_l, fuel_in_l, departed_at, returned_at, details,"
                  " corrects_waybill_id, trailer_make_model, trailer_registration,"
                  " trailer_mass_t, service_kind, transport_kind, fuel_grade,"
                  " fuel_handed_over_l, heater_h, equipment_h, idle_h, transport_work_tkm,"
                  " loaded_trips, air_conditioning, issued_by, released_by, declared_corrections)"
                  " SELECT issuer, $2, vehicle_id, driver_id, assignment_id, valid_from,"
                  " valid_to, 'returned', coalesce($3, odometer_out_km),"
                  " coalesce($4, odometer_in_km), coalesce($5, fuel_out_l),"
                  " coalesce($6, fuel_in_l), coalesce(NULLIF($7, '')::timestamptz, departed_at),"
                  " coalesce(NULLIF($8, '')::timestamptz, returned_at),"
                  " details || jsonb_build_object('correction_reason', $9::text), waybill_id,"
                  " trailer_make_model, trailer_registration, trailer_mass_t, service_kind,"
                  " transport_kind, fuel_grade, coalesce($10, fuel_handed_over_l),"
                  " coalesce($11, heater_h), coalesce($12, equipment_h), coalesce($13, idle_h),"
                  " coalesce($14, transport_work_tkm), coalesce($15, loaded_trips),"
                  " air_conditioning, $16, released_by, declared_corrections"
                  " FROM fleet.waybills WHERE waybill_id = $1"
                  " RETURNING waybill_id",
                  c.waybill_id, issuer[0].as<std::int64_t>(), c.odometer_out_km, c.odometer_in_km,
                  c.fuel_out_l, c.fuel_in_l, c.departed_at, c.returned_at, c.reason,
                  c.fuel_handed_over_l, c.heater_h, c.equipment_h, c.idle_h, c.transport_work_tkm,
                  c.loaded_trips, c.actor)[0]
                .as<std::int64_t>();
        tx.exec_params(
            "INSERT INTO fleet.waybill_checks (waybill_id, kind, checked_at, person, passed,"
            " odometer_km, notes, withdrawn_at, withdrawn_by, withdrawn_reason) SELECT $2, kind,"
            " checked_at, person, passed, odometer_km, notes, withdrawn_at, withdrawn_by,"
            " withdrawn_reason FROM fleet.waybill_checks WHERE waybill_id = $1 ORDER BY check_id",
            c.waybill_id, id);
        tx.exec_params("UPDATE fleet.fuel_transactions SET waybill_id = $2 WHERE waybill_id = $1",
                       c.waybill_id, id);
        tx.exec_params("UPDATE fleet.waybills SET status = 'superseded' WHERE waybill_id = $1",
                       c.waybill_id);
        detail::refuse_implausible(tx, id, clock, "waybill " + subject + " cannot be corrected");
        geo::record(tx, {.actor = c.actor,
                         .action = "waybill corrected",
                         .subject = subject,
                         .details = Json{{"correction_waybill_id", id},
                                         {"correction_number", issuer[0].as<std::int64_t>()},
                                         {"reason", c.reason}},
                         .waybill_id = c.waybill_id});
        return id;
    });
}

void cancel(pqxx::connection& conn, const CancelRequest& q) {
    if (q.reason.empty()) {
        throw InputError("a cancellation needs its reason (--reason TEXT)");
    }
    in_transaction(conn, [&](pqxx::work& tx) {
        const auto subject = lock_with_status(
            tx, q.waybill_id, {"issued"},
            "cancel it (only an issued waybill is cancelled; a released one is returned, and "
            "amended before acceptance if need be)");
        tx.exec_params(
            "UPDATE fleet.waybills SET status = 'cancelled', cancelled_at = now(),"
            " cancelled_by = $2, cancel_reason = $3 WHERE waybill_id = $1",
            q.waybill_id, q.actor, q.reason);
        const auto w = tx.exec_params1(
            "SELECT vehicle_id, driver_id, assignment_id FROM fleet.waybills WHERE waybill_id = $1",
            q.waybill_id);
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill cancelled",
                         .subject = subject,
                         .details = Json{{"reason", q.reason}, {"previous_status", "issued"}},
                         .vehicle_id = w[0].as<std::int64_t>(),
                         .driver_id = w[1].as<std::int64_t>(),
                         .waybill_id = q.waybill_id,
                         .assignment_id = opt<std::int64_t>(w[2])});
    });
}

void withdraw_check(pqxx::connection& conn, const WithdrawCheckRequest& q) {
    if (q.reason.empty()) {
        throw InputError("withdrawing a check needs its reason (--reason TEXT)");
    }
    in_transaction(conn, [&](pqxx::work& tx) {
        const auto c = tx.exec_params(
            "SELECT kind, withdrawn_at IS NOT NULL, " FLEET_UTC("checked_at") ", person"
            " FROM fleet.waybill_checks WHERE check_id = $1 AND waybill_id = $2",
            q.check_id, q.waybill_id);
        if (c.empty()) {
            throw InputError("waybill " + detail::subject(tx, q.waybill_id) + " has no check " +
                             std::to_string(q.check_id) + " (fleetctl waybill show lists them)");
        }
        const auto kind = c[0][0].as<std::string>();
        const auto what = detail::check_name(kind);
        const auto subject =
            kind == "medical_post"
                ? lock_with_status(tx, q.waybill_id, {"released", "returned"},
                                   "withdraw its " + what + " (only before acceptance)")
                : lock_with_status(tx, q.waybill_id, {"issued"},
                                   "withdraw its " + what + " (only before release)");
        if (c[0][1].as<bool>()) {
            throw InputError("check " + std::to_string(q.check_id) + " of waybill " + subject +
                             " is already withdrawn");
        }
        tx.exec_params(
            "UPDATE fleet.waybill_checks SET withdrawn_at = now(), withdrawn_by = $2,"
            " withdrawn_reason = $3 WHERE check_id = $1",
            q.check_id, q.actor, q.reason);
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill check withdrawn",
                         .subject = subject,
                         .details = Json{{"check_id", q.check_id},
                                         {"kind", kind},
                                         {"checked_at", c[0][2].as<std::string>()},
                                         {"person", c[0][3].as<std::string>()},
                                         {"reason", q.reason}},
                         .waybill_id = q.waybill_id});
    });
}

std::vector<Amendment> amend(pqxx::connection& conn, const AmendRequest& q, const Clock& clock) {
    if (q.reason.empty()) {
        throw InputError("an amendment needs its reason (--reason TEXT)");
    }
    if (!q.odometer_in_km && !q.fuel_in_l && !q.fuel_handed_over_l && q.departed_at.empty() &&
        q.returned_at.empty()) {
        throw InputError(
            "nothing to amend: give the return odometer, the return fuel, the fuel handed over, "
            "the departure time or the return time");
    }
    if (q.odometer_in_km) {
        require_not_negative("return odometer", static_cast<double>(*q.odometer_in_km));
    }
    if (q.fuel_in_l) {
        require_not_negative("return fuel", *q.fuel_in_l);
    }
    if (q.fuel_handed_over_l) {
        require_not_negative("fuel handed over", *q.fuel_handed_over_l);
    }
    if (!q.departed_at.empty()) {
        require_time("departure time", q.departed_at);
    }
    if (!q.returned_at.empty()) {
        require_time("return time", q.returned_at);
    }
    return in_transaction(conn, [&](pqxx::work& tx) {
        const auto status = tx.exec_params(
            "SELECT status, issuer || '/' || number FROM fleet.waybills WHERE waybill_id = $1",
            q.waybill_id);
        if (!status.empty() && status[0][0].as<std::string>() == "closed") {
            throw InputError("waybill " + status[0][1].as<std::string>() +
                             " is closed (accepted): it is amended no more; correct it instead "
                             "(fleetctl waybill correct ID --reason TEXT): a new record under the "
                             "issuer's next number, the accepted one kept as superseded");
        }
        const auto subject = lock_with_status(
            tx, q.waybill_id, {"returned"},
            "amend it (only a returned waybill is amended, before its acceptance)");
        const auto values = [&] {
            const auto r = tx.exec_params1(
                "SELECT odometer_in_km::text, fuel_in_l::float8, fuel_handed_over_l::float8,"
                " " FLEET_UTC("departed_at") ", " FLEET_UTC(
                    "returned_at") " FROM fleet.waybills WHERE waybill_id = $1",
                q.waybill_id);
            return std::vector<std::string>{text(r[0]), format_number(r[1].as<double>()),
                                            format_number(r[2].as<double>()), text(r[3]),
                                            text(r[4])};
        };
        const auto before = values();
        tx.exec_params(
            "UPDATE fleet.waybills SET odometer_in_km = coalesce($2, odometer_in_km),"
            " fuel_in_l = coalesce($3, fuel_in_l),"
            " fuel_handed_over_l = coalesce($4, fuel_handed_over_l),"
            " departed_at = coalesce(NULLIF($5, '')::timestamptz, departed_at),"
            " returned_at = coalesce(NULLIF($6, '')::timestamptz, returned_at)"
            " WHERE waybill_id = $1",
            q.waybill_id, q.odometer_in_km, q.fuel_in_l, q.fuel_handed_over_l, q.departed_at,
            q.returned_at);
        const auto after = values();
        static const char* const fields[] = {"odometer_in_km", "fuel_in_l", "fuel_handed_over_l",
                                             "departed_at", "returned_at"};
        std::vector<Amendment> changes;
        for (std::size_t i = 0; i < before.size(); ++i) {
            if (before[i] != after[i]) {
                changes.push_back(
                    {.field = fields[i], .old_value = before[i], .new_value = after[i]});
            }
        }
        if (changes.empty()) {
            return changes;
        }
        detail::refuse_implausible(tx, q.waybill_id, clock,
                                   "waybill " + subject + " cannot be amended");
        if (before[3] != after[3] || before[4] != after[4]) {
            // The trip's window moved: its receipts are found again.
            tx.exec_params(
                "UPDATE fleet.fuel_transactions SET waybill_id = NULL"
                " WHERE waybill_id = $1",
                q.waybill_id);
            link_receipts(tx, tx.exec_params1("SELECT vehicle_id FROM fleet.waybills"
                                              " WHERE waybill_id = $1",
                                              q.waybill_id)[0]
                                  .as<std::int64_t>());
        }
        // The stored reconciliation was of the values as they were.
        tx.exec_params("DELETE FROM fleet.waybill_reconciliations WHERE waybill_id = $1",
                       q.waybill_id);
        Json amended = Json::array();
        for (const auto& c : changes) {
            amended.push_back({{"field", c.field}, {"old", c.old_value}, {"new", c.new_value}});
        }
        geo::record(tx, {.actor = q.actor,
                         .action = "waybill amended",
                         .subject = subject,
                         .details = Json{{"reason", q.reason}, {"changes", amended}},
                         .waybill_id = q.waybill_id});
        return changes;
    });
}

}  // namespace fleet::waybills
