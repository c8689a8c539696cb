#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
    /// What else there is to know. An entry that concerns more than one vehicle (a device
    /// moved from one to another, a group's members changed) lists them all as an array of ids
    /// under "vehicle_ids", where `read` finds it for each.
    nlohmann::json details = nlohmann::json::object();
    std::string kind{};
    std::optional<std::int64_t> vehicle_id{};
    std::optional<std::int64_t> driver_id{};
    std::optional<std::int64_t> waybill_id{};
    std::optional<std::int64_t> assignment_id{};
    std::optional<std::int64_t> notice_id{};
    /// Who was on the other end of a communication: a customer, a loading point, a depot.
    std::string counterpart{};
    /// The entry this one corrects: the journal is append-only (a trigger refuses changes), so a
    /// correction is a new entry that names the old.
    std::optional<std::int64_t> corrects{};
};

/// Appends `entry` inside the caller's transaction, so that it is committed or rolled back with
/// the change it records. Returns the entry's id. Throws InputError when actor or action is
/// empty, and NotFoundError when `corrects` names no entry.
std::int64_t record(pqxx::transaction_base& tx, const JournalEntry& entry);

/// Which entries to read: those recorded in [from, to), optionally of one vehicle, one driver
/// and one kind.
struct JournalQuery {
    /// ISO 8601 times with their offset ("2026-11-27 07:30+03", "2026-11-27T04:30:00Z").
    std::string from{}, to{};
    /// Entries that concern this vehicle: linked to it, or listing it in details.vehicle_ids.
    std::optional<std::int64_t> vehicle_id{};
    std::optional<std::int64_t> driver_id{};
    std::optional<std::int64_t> notice_id{};
    /// Empty: every kind.
    std::string kind{};
    /// The IANA zone the times are shown in.
    std::string time_zone = "UTC";
    /// At most this many entries, the earliest; 0: all.
    std::size_t limit = 0;
};

/// An entry as read, with the registration and personnel number it concerns.
struct JournalRecord {
    std::int64_t entry_id = 0;
    /// In the query's zone, with its offset: "2026-11-27T07:30:00+03:00".
    std::string recorded_at{};
    std::string kind{}, actor{}, action{}, subject{};
    nlohmann::json details = nlohmann::json::object();
    std::optional<std::int64_t> vehicle_id{}, driver_id{}, waybill_id{}, assignment_id{};
    std::optional<std::int64_t> notice_id{}, corrects{};
    std::string counterpart{};
    std::string registration{};      ///< of vehicle_id, when it still exists
    std::string personnel_number{};  ///< of driver_id (or the full name without one)
};

/// The entries of `query` in the order recorded. Throws InputError naming the field for a time
/// without an offset or unreadable, `from` not before `to`, or an unknown time zone.
std::vector<JournalRecord> read(pqxx::transaction_base& tx, const JournalQuery& query);

/// The kinds the journal holds, in order (one index probe per kind).
std::vector<std::string> kinds(pqxx::transaction_base& tx);

}  // namespace fleet::geo
