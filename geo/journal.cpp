#include "geo/journal.hpp"

#include "geo/error.hpp"

namespace fleet::geo {

std::int64_t record(pqxx::transaction_base& tx, const JournalEntry& entry) {
    if (entry.actor.empty() || entry.action.empty()) {
        throw InputError("a journal entry needs an actor and an action");
    }
    const std::string kind =
        !entry.kind.empty() ? entry.kind : entry.action.substr(0, entry.action.find(' '));
    const auto details = entry.details.is_null() ? nlohmann::json::object() : entry.details;
    return tx
        .exec_params1(
            "INSERT INTO fleet.journal (actor, action, subject, details, kind, vehicle_id,"
            " driver_id, waybill_id, assignment_id)"
            " VALUES ($1, $2, NULLIF($3, ''), $4::jsonb, $5, $6, $7, $8, $9) RETURNING entry_id",
            entry.actor, entry.action, entry.subject,
            details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kind,
            entry.vehicle_id, entry.driver_id, entry.waybill_id, entry.assignment_id)[0]
        .as<std::int64_t>();
}

}  // namespace fleet::geo
