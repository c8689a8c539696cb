#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/plan.hpp"

/// Transport-process records (fleet.zone_visits, migration 0017): each stay of a vehicle in a
/// loading zone (fleet.zones of kind loading_point, imported with `fleetctl import zones`),
/// found from its positions with its arrival, departure and dwell, and the cargo an operator
/// records on it (loading or unloading, what, how much, the documents). fleetd finds them every
/// minute over the last hours; fleetctl can find them for any period.
namespace fleet::dispatch {

/// Finds the stays among the positions of [from, to) (fleet.detect_zone_visits): idempotent, a
/// stay still going on is updated when it ends. Returns the stays added or changed. Throws
/// InputError when `from` is not before `to` or the window is longer than 31 days.
int detect_zone_visits(pqxx::transaction_base& tx, Millis from, Millis to);

/// One record.
struct TransportRecord {
    std::int64_t visit_id = 0;
    std::int64_t vehicle_id = 0;
    std::string registration, zone_code, zone_name;
    std::string arrived_at, departed_at;  ///< ISO 8601 UTC; departed_at empty: still there
    std::optional<double> dwell_s;
    std::optional<std::int64_t> waybill_id, waybill_number;
    std::string operation, cargo, unit, documents, noted_by, noted_at;
    std::optional<double> quantity;
};

/// Which records: arrived in [from, to), optionally of one vehicle or one waybill.
struct TransportQuery {
    Millis from{}, to{};
    std::optional<std::int64_t> vehicle_id{}, waybill_id{};
    std::size_t limit = 10000;
};
/// In order of arrival. Throws InputError when `from` is not before `to`.
std::vector<TransportRecord> transport_records(pqxx::transaction_base& tx,
                                               const TransportQuery& query);

/// What an operator records on a stay.
struct CargoDetails {
    std::string operation{};  ///< "loading" or "unloading"
    std::string cargo{};      ///< what: 1–200 characters
    std::optional<double> quantity{};
    std::string unit{};       ///< of the quantity: "t", "m3", "pallets"; up to 20 characters
    std::string documents{};  ///< consignment note numbers and the like; up to 500 characters
    std::string actor{};
};
/// Records the cargo of stay `visit_id` (replacing what was recorded) and journals it ("cargo
/// recorded", kind "transport", with what was there before). Throws NotFoundError for an unknown
/// stay, InputError naming the field for an unknown operation, an empty or too long text, text
/// that is not UTF-8 or holds control characters, a negative or non-finite quantity, a unit
/// without a quantity.
void record_cargo(pqxx::transaction_base& tx, std::int64_t visit_id, const CargoDetails& details);

}  // namespace fleet::dispatch
