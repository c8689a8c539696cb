#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "waybills/reconcile.hpp"

/// The latest reconciliation of a waybill as stored in fleet.waybill_reconciliations by
/// `reconcile` (and `accept`), read back for display. Times are UTC ISO 8601 text.
namespace fleet::waybills {

/// A data gap of the track.
struct StoredGap {
    std::string from, to;
    double straight_m = 0;
};

/// A fill or drain the level sensor saw.
struct StoredFuelEvent {
    std::string kind;  ///< fill or drain
    std::string from, to;
    double before_l = 0, after_l = 0;
};

/// A violation attributed to the waybill's driver.
struct StoredViolation {
    std::string kind;
    std::string started_at;
    std::optional<double> magnitude;
    std::string tier;
};

/// A norm correction applied (part of D).
struct StoredCorrection {
    std::string code;
    double percent = 0;
    std::string reference;
};

/// The figures and findings of one reconciliation; absent figures were not computable.
struct StoredReconciliation {
    std::int64_t waybill_id = 0;
    std::string computed_at;
    std::optional<double> mileage_km;  ///< by odometer
    std::optional<double> gps_km;
    int gps_fixes = 0;
    std::vector<StoredGap> gaps;
    std::optional<double> fuel_issued_l, norm_l, actual_l, saving_l;
    std::optional<double> correction_pct;  ///< D, when a norm was computed
    std::vector<StoredCorrection> corrections;
    std::vector<StoredFuelEvent> sensor_events;
    std::vector<StoredViolation> violations;
    std::optional<PlanFacts> plan;
    std::vector<Discrepancy> discrepancies;
};

/// The stored reconciliation of `waybill_id`; nothing when the waybill was never reconciled.
/// Throws DatabaseError when the stored JSON is not what `reconcile` writes.
std::optional<StoredReconciliation> load_reconciliation(pqxx::connection& conn,
                                                        std::int64_t waybill_id);

}  // namespace fleet::waybills
