#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

/// The operations journal (fleet.journal): every operational order and every state change of a
/// document, in order. It lives in geo because every module writes it (ingest registers devices,
/// dispatch assignments, waybills their steps) and geo is the one module they all depend on.
namespace fleet::geo {

/// One journal entry. `kind` groups entries for reading ("assignment", "waybill", "device",
/// "vehicle", "driver", "route", "gtfs", "zone", "note", ...); when empty it is the first word
/// of `action`.
struct JournalEntry {
    std::string actor{};    ///< who: a user name, "fleetctl", "ingest", "dispatch"
    std::string action{};   ///< what happened: "assignment created", "waybill released", ...
    std::string subject{};  ///< what it concerns, as people name it ("A123BC-77", "MAIN/17")
    nlohmann::json details = nlohmann::json::object();
    std::string kind{};
    std::optional<std::int64_t> vehicle_id{};
    std::optional<std::int64_t> driver_id{};
    std::optional<std::int64_t> waybill_id{};
    std::optional<std::int64_t> assignment_id{};
};

/// Appends `entry` inside the caller's transaction, so that it is committed or rolled back with
/// the change it records. Returns the entry's id. Throws InputError when actor or action is
/// empty.
std::int64_t record(pqxx::transaction_base& tx, const JournalEntry& entry);

}  // namespace fleet::geo
