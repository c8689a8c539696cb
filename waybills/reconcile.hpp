#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "waybills/norms.hpp"
#include "waybills/store.hpp"
#include "waybills/track.hpp"

/// Reconciliation of returned waybills (domain.md §4): the odometer and fuel chains, GPS mileage
/// against the odometer, the normative consumption against the actual one, fuel-card receipts
/// against the waybills and against the level sensor, violations in the period, and the
/// dispatch engine's planned-vs-actual. Set-based: one statement per check for all the waybills
/// asked for, and one streamed pass over their positions, split by vehicle over a few
/// connections. The formulas are the pure functions of norms.hpp and track.hpp.
namespace fleet::waybills {

/// Tolerances and rules; every one is configuration.
struct ReconcileOptions {
    TrackRules track;
    double gps_tolerance_pct = 5;  ///< GPS against odometer mileage ...
    double gps_tolerance_km = 2;   ///< ... but never less than this (short trips)
    double chain_fuel_tolerance_l = 0.5;
    double card_slack_min =
        default_receipt_slack_min;  ///< receipts this long before departure / after return count
    double pump_odometer_tolerance_km = 10;
    double sensor_match_min = 45;  ///< a sensor fill and a receipt this close in time match ...
    double sensor_volume_tolerance_pct = 15;  ///< ... when their volumes agree this well
    int workers = 2;                          ///< connections reading positions in parallel
};

/// Something an accountant must look at, with a stable code.
struct Discrepancy {
    std::string code;  ///< odometer_chain, fuel_chain, gps_mileage, gps_gap, overspend, ...
    std::string message;
};

/// A fuel receipt (card, coupon) as matched.
struct Receipt {
    std::int64_t transaction_id = 0;
    std::int64_t time_ms = 0;
    double volume_l = 0;
    std::string card_or_coupon;
    std::optional<std::int64_t> odometer_km;
    bool on_waybill = false;      ///< linked to this waybill
    bool sensor_matched = false;  ///< a sensor fill agrees with it
};

/// A dispatch deviation in the waybill's period, attributed to its driver.
struct Violation {
    std::string kind;  ///< overspeed, off_route, ...
    std::int64_t started_ms = 0;
    std::optional<double> magnitude;
    std::string tier;  ///< overspeed: +20–40, ...
};

/// The dispatch engine's end-of-shift figures for the waybill's assignment.
struct PlanFacts {
    int trips_planned = 0, trips_served = 0;
    double km_planned = 0, km_driven = 0;
    double hours_planned = 0, hours_worked = 0;
    std::optional<double> punctuality;
};

struct Reconciliation {
    std::int64_t waybill_id = 0;
    std::string issuer;
    std::int64_t number = 0;
    std::string status;
    std::string valid_from, valid_to;
    std::int64_t vehicle_id = 0;
    std::string registration, make_model, driver_name;
    std::int64_t driver_id = 0;
    std::int64_t departed_ms = 0, returned_ms = 0;
    std::string time_zone = "UTC";  ///< the issuer's (IANA)
    /// The zone's offset from UTC at the departure and at the return, seconds (east positive).
    std::int32_t departed_offset_s = 0, returned_offset_s = 0;
    std::optional<std::int64_t> odometer_out_km, odometer_in_km;
    std::optional<std::int64_t> mileage_km;  ///< by odometer (rollover/replacement accounted)
    TrackSummary track;
    double gps_km() const { return track.distance_m / 1000.0; }
    std::optional<double> fuel_out_l, fuel_in_l;
    double fuel_issued_l = 0, fuel_handed_over_l = 0;
    std::optional<FuelNorm> norm;
    AppliedCorrections corrections;
    std::optional<double> actual_l, saving_l;
    std::vector<Receipt> receipts;
    std::vector<Violation> violations;
    std::optional<PlanFacts> plan;
    std::vector<Discrepancy> discrepancies;
    /// What the accountant should know but need not resolve: chain breaks explained by an
    /// odometer act, a rollover counted over.
    std::vector<std::string> notes;
};

/// Which waybills: those returned (or closed) whose validity overlaps [from, to], or the ids.
struct Selection {
    std::string from, to;  ///< YYYY-MM-DD
    std::vector<std::int64_t> waybill_ids;
};

/// Called with (waybills done, waybills in all) while the positions are read.
using ReconcileProgress = std::function<void(std::size_t done, std::size_t total)>;

/// Reconciles the selected waybills and stores each result in fleet.waybill_reconciliations
/// (replacing the previous one). Ordered by validity date, issuer and number. Throws
/// DatabaseError, InputError (bad dates), ConfigError (a norm-correction configuration that
/// does not validate).
std::vector<Reconciliation> reconcile(const std::string& database_url, const Selection& selection,
                                      const ReconcileOptions& options,
                                      const ReconcileProgress& progress = {});

/// The same on an open connection, which also reads the first worker's share of positions;
/// further workers connect to `database_url`.
std::vector<Reconciliation> reconcile(pqxx::connection& conn, const std::string& database_url,
                                      const Selection& selection, const ReconcileOptions& options,
                                      const ReconcileProgress& progress = {});

/// A fuel receipt that belongs to no waybill: fuel paid for with no trip to explain it.
struct LooseReceipt {
    std::int64_t transaction_id = 0;
    std::string registration;
    std::int64_t time_ms = 0;
    double volume_l = 0;
    std::string card_or_coupon, source;
    std::optional<std::int64_t> odometer_km;
};

/// Receipts of the days [from, to] (UTC) linked to no waybill and not within card_slack_min of
/// any trip of their vehicle, in time order. Throws InputError for bad dates.
std::vector<LooseReceipt> receipts_without_waybill(pqxx::connection& conn, const std::string& from,
                                                   const std::string& to,
                                                   const ReconcileOptions& options);

struct AcceptRequest {
    std::int64_t waybill_id = 0;
    std::string person;  ///< who accepts (dispatcher or accountant)
    std::string reason;  ///< required when discrepancies remain
    std::string actor = "fleetctl";
};

/// Accepts and closes a returned waybill: every mandatory detail present (each missing one named
/// in the InputError), plausible (store.hpp's rules, against `clock`) and reconciled; with
/// discrepancies only when a reason is given. Returns the reconciliation it was accepted on.
Reconciliation accept(const std::string& database_url, const AcceptRequest& request,
                      const ReconcileOptions& options, const Clock& clock = {});

}  // namespace fleet::waybills
