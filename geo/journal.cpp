#include "geo/journal.hpp"

#include "geo/detail/period_query.hpp"

#include "geo/calendar.hpp"
#include "geo/error.hpp"

namespace fleet::geo {

std::int64_t record(pqxx::transaction_base& tx, const JournalEntry& entry) {
    if (entry.actor.empty() || entry.action.empty()) {
        throw InputError("a journal entry needs an actor and an action");
    }
    const std::string kind =
        !entry.kind.empty() ? entry.kind : entry.action.substr(0, entry.action.find(' '));
    const auto details = entry.details.is_null() ? nlohmann::json::object() : entry.details;
    if (entry.corrects &&
        tx.exec_params("SELECT 1 FROM fleet.journal WHERE entry_id = $1", *entry.corrects)
            .empty()) {
        throw NotFoundError("no journal entry " + std::to_string(*entry.corrects) + " to correct");
    }
    return tx
        .exec_params1(
            "INSERT INTO fleet.journal (actor, action, subject, details, kind, vehicle_id,"
            " driver_id, waybill_id, assignment_id, notice_id, counterpart, corrects)"
            " VALUES ($1, $2, NULLIF($3, ''), $4::jsonb, $5, $6, $7, $8, $9, $10, NULLIF($11, ''),"
            " $12) RETURNING entry_id",
            entry.actor, entry.action, entry.subject,
            details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kind,
            entry.vehicle_id, entry.driver_id, entry.waybill_id, entry.assignment_id,
            entry.notice_id, entry.counterpart, entry.corrects)[0]
        .as<std::int64_t>();
}

namespace {

std::optional<std::int64_t> optional_id(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::int64_t>(f.as<std::int64_t>());
}

}  // namespace

std::vector<JournalRecord> read(pqxx::transaction_base& tx, const JournalQuery& q) {
    // The zone holds for the rest of the caller's transaction, so that to_char shows offsets in it.
    detail::use_period(tx, q.from, q.to, q.time_zone);
    pqxx::result rows;
    try {
        if (!tx.exec_params1("SELECT $1::timestamptz < $2::timestamptz", q.from, q.to)[0]
                 .as<bool>()) {
            throw InputError("from " + q.from + " is not before to " + q.to);
        }
        rows = tx.exec_params(
            "SELECT j.entry_id, to_char(j.recorded_at, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM'),"
            " j.kind, j.actor, j.action, coalesce(j.subject, ''), j.details::text, j.vehicle_id,"
            " j.driver_id, j.waybill_id, j.assignment_id, coalesce(v.registration, ''),"
            " coalesce(d.personnel_number, d.full_name, ''), j.notice_id, j.corrects,"
            " coalesce(j.counterpart, '')"
            " FROM fleet.journal j LEFT JOIN fleet.vehicles v ON v.vehicle_id = j.vehicle_id"
            " LEFT JOIN fleet.drivers d ON d.driver_id = j.driver_id"
            " WHERE j.recorded_at >= $1::timestamptz AND j.recorded_at < $2::timestamptz"
            " AND ($3::bigint IS NULL OR j.vehicle_id = $3"
            "  OR j.details -> 'vehicle_ids' @> to_jsonb($3::bigint))"
            " AND ($4::bigint IS NULL OR j.driver_id = $4) AND ($5 = '' OR j.kind = $5)"
            " AND ($7::bigint IS NULL OR j.notice_id = $7)"
            " ORDER BY j.recorded_at, j.entry_id LIMIT $6",
            q.from, q.to, q.vehicle_id, q.driver_id, q.kind,
            q.limit == 0 ? std::nullopt : std::optional<std::int64_t>(q.limit), q.notice_id);
    } catch (const pqxx::data_exception& e) {
        const std::string what = e.what();
        throw InputError("from/to: " + what.substr(0, what.find('\n')));
    }
    std::vector<JournalRecord> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back({.entry_id = r[0].as<std::int64_t>(),
                       .recorded_at = r[1].as<std::string>(),
                       .kind = r[2].as<std::string>(),
                       .actor = r[3].as<std::string>(),
                       .action = r[4].as<std::string>(),
                       .subject = r[5].as<std::string>(),
                       .details = nlohmann::json::parse(r[6].as<std::string>()),
                       .vehicle_id = optional_id(r[7]),
                       .driver_id = optional_id(r[8]),
                       .waybill_id = optional_id(r[9]),
                       .assignment_id = optional_id(r[10]),
                       .notice_id = optional_id(r[13]),
                       .corrects = optional_id(r[14]),
                       .counterpart = r[15].as<std::string>(),
                       .registration = r[11].as<std::string>(),
                       .personnel_number = r[12].as<std::string>()});
    }
    return out;
}

std::vector<std::string> kinds(pqxx::transaction_base& tx) {
    std::vector<std::string> out;
    // A loose index scan over (kind, recorded_at): the next kind after each, not every entry.
    for (const auto& r :
         tx.exec("WITH RECURSIVE k AS (SELECT min(kind) AS kind FROM fleet.journal"
                 " UNION ALL SELECT (SELECT min(j.kind) FROM fleet.journal j WHERE j.kind > k.kind)"
                 " FROM k WHERE k.kind IS NOT NULL) SELECT kind FROM k WHERE kind IS NOT NULL")) {
        out.push_back(r[0].as<std::string>());
    }
    return out;
}

}  // namespace fleet::geo
