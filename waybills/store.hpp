#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

/// The waybill lifecycle in PostGIS (domain.md §2): issue, the pre-trip checks, release, return,
/// acceptance, corrections. Every step is one transaction, journalled (who, when, what); a step
/// that is refused changes nothing. Times are ISO 8601 text as PostgreSQL reads it
/// ("2026-11-27 07:30+03"); output times are UTC ("2026-11-27T04:30:00Z").
namespace fleet::waybills {

/// Fuel receipts this long before the departure or after the return belong to the trip (a fill
/// on the way out of the depot, a card file that comes the next day). Reconciliation's default.
inline constexpr double default_receipt_slack_min = 30;

/// What the plausibility rules take for "now", and how far ahead of it a time typed in may lie
/// (terminals' and watches' clocks are rarely set to the second). The library never reads the
/// wall clock itself unless left with this default; tests give a fixed `now`.
struct Clock {
    std::function<std::chrono::system_clock::time_point()> now = [] {
        return std::chrono::system_clock::now();
    };
    std::chrono::seconds future_tolerance{default_future_tolerance_s};
    /// The default tolerance: 5 minutes.
    static constexpr int default_future_tolerance_s = 300;
};

/// A pre-trip or post-trip check as recorded. A withdrawn check is kept (with who withdrew it,
/// when and why) but no longer counts for release or acceptance.
struct Check {
    std::int64_t check_id = 0;
    std::string kind;  ///< technical, medical_pre, medical_post
    std::string checked_at;
    std::string person;
    bool passed = false;
    std::optional<std::int64_t> odometer_km;  ///< technical inspection only
    std::string notes;
    std::string withdrawn_at, withdrawn_by, withdrawn_reason;  ///< empty unless withdrawn
};

/// A waybill with what it refers to, as stored.
struct Waybill {
    std::int64_t waybill_id = 0;
    std::string issuer;
    std::int64_t number = 0;
    std::string status;  ///< issued, released, returned, closed, superseded, cancelled
    std::string valid_from, valid_to;
    std::int64_t vehicle_id = 0;
    std::string registration, vehicle_class, make_model;
    std::int64_t driver_id = 0;
    std::string driver_name, licence_series, licence_number, licence_issued_on;
    std::optional<std::int64_t> assignment_id;
    std::string trailer_make_model, trailer_registration;
    std::optional<double> trailer_mass_t;
    std::string service_kind, transport_kind, fuel_grade;
    std::optional<std::int64_t> odometer_out_km, odometer_in_km;
    std::optional<double> fuel_out_l, fuel_in_l;
    double fuel_issued_l = 0;  ///< fuel transactions linked to the waybill
    double fuel_handed_over_l = 0;
    double heater_h = 0, equipment_h = 0, idle_h = 0, transport_work_tkm = 0;
    int loaded_trips = 0;
    bool air_conditioning = false;
    std::string departed_at, returned_at;  ///< empty until released / returned
    std::string issued_at, issued_by, released_by, accepted_at, accepted_by, acceptance_reason;
    std::optional<std::int64_t> corrects_waybill_id;
    std::string cancelled_at, cancelled_by, cancel_reason;  ///< empty unless cancelled
    std::string time_zone = "UTC";                          ///< the issuer's, for presentation
    std::vector<Check> checks;  ///< in time order, withdrawn ones included
};

/// Issuer details the rules require on every waybill.
struct Issuer {
    std::string code, name, legal_form, address, phone, ogrn, ogrnip;
    std::string time_zone = "UTC";  ///< IANA name; validity dates are days in this zone
};

/// Creates or updates an issuer (organisation or sole trader). Journalled.
void save_issuer(pqxx::connection& conn, const Issuer& issuer, const std::string& actor);

struct IssueRequest {
    std::string issuer;   ///< issuer code
    std::string vehicle;  ///< registration; or empty with assignment_id
    std::string driver;   ///< full name or personnel number; or empty with assignment_id
    std::optional<std::int64_t> assignment_id;  ///< issue from a shift assignment
    std::string valid_from, valid_to;           ///< YYYY-MM-DD; default: the assignment's date
    std::string trailer_make_model, trailer_registration;
    std::optional<double> trailer_mass_t;
    std::string service_kind, transport_kind;
    /// Departure odometer and fuel: carried over from the vehicle's previous closed waybill;
    /// given here only for a vehicle's first waybill (a different value breaks the chain and is
    /// flagged at reconciliation).
    std::optional<std::int64_t> odometer_out_km;
    std::optional<double> fuel_out_l;
    std::string actor = "fleetctl";
};

struct Issued {
    std::int64_t waybill_id = 0;
    std::int64_t number = 0;
    std::optional<std::int64_t> odometer_out_km;
    std::optional<double> fuel_out_l;
    bool carried_over = false;  ///< departure values taken from the previous closed waybill
    /// The shift assignment the waybill is linked to: the one given, or the one assignment of
    /// its vehicle and driver in the validity period that no other open waybill is linked to.
    std::optional<std::int64_t> assignment_id;
    bool assignment_found = false;  ///< linked by the vehicle, driver and date, not given
    /// Assignments of the vehicle and driver in the period when there were several to choose
    /// from (none is linked then).
    std::vector<std::int64_t> assignment_candidates;
};

/// Issues a waybill with the issuer's next number. Throws InputError naming what is unknown or
/// wrong (issuer, vehicle, driver, assignment, dates, kinds, negative values). Without an
/// assignment given, links the one assignment the vehicle and driver have in the validity
/// period (see Issued::assignment_id).
Issued issue(pqxx::connection& conn, const IssueRequest& request);

struct CheckRequest {
    std::int64_t waybill_id = 0;
    std::string kind;  ///< technical, medical_pre, medical_post
    std::string checked_at;
    std::string person;
    bool passed = true;
    std::optional<std::int64_t> odometer_km;  ///< required for the technical inspection
    std::string notes;
    std::string actor = "fleetctl";
};

/// Records a check (pre-trip on an issued waybill, post-trip on a released or returned one).
/// Refused (InputError naming the check) when implausible: in the future beyond the clock's
/// tolerance, a pre-trip check after the departure, a post-trip one before it. Returns its id.
std::int64_t record_check(pqxx::connection& conn, const CheckRequest& request,
                          const Clock& clock = {});

struct WithdrawCheckRequest {
    std::int64_t waybill_id = 0;
    std::int64_t check_id = 0;
    std::string reason;
    std::string actor = "fleetctl";
};

/// Withdraws a check typed wrong: kept, marked withdrawn with the reason, journalled, and no
/// longer counted (a correct one can be recorded after it). A pre-trip check only while the
/// waybill is issued (before release); a post-trip one while it is released or returned (before
/// acceptance).
void withdraw_check(pqxx::connection& conn, const WithdrawCheckRequest& request);

struct CancelRequest {
    std::int64_t waybill_id = 0;
    std::string reason;
    std::string actor = "fleetctl";
};

/// Cancels a waybill issued by mistake (or for a trip that will not happen): status cancelled,
/// with who, when and why; its number stays used and it stays listed. Only an issued waybill:
/// once released the vehicle has left, so the waybill is returned (and amended if need be).
/// A cancelled waybill refuses every later step.
void cancel(pqxx::connection& conn, const CancelRequest& request);

struct ReleaseRequest {
    std::int64_t waybill_id = 0;
    std::string departed_at;
    std::string dispatcher;  ///< who releases the vehicle (their mark on the waybill)
    std::string actor = "fleetctl";
};

/// Releases the vehicle. Refused (InputError, with every reason) while the technical inspection
/// or the pre-trip medical examination is missing or failed, outside the validity period, while
/// the vehicle or the driver is out on another waybill, and for what the plausibility rules
/// find (a departure in the future, before a pre-trip check).
void release(pqxx::connection& conn, const ReleaseRequest& request, const Clock& clock = {});

struct ReturnRequest {
    std::int64_t waybill_id = 0;
    std::string returned_at;
    std::int64_t odometer_in_km = 0;
    double fuel_in_l = 0;
    double fuel_handed_over_l = 0;
    double heater_h = 0, equipment_h = 0, idle_h = 0, transport_work_tkm = 0;
    int loaded_trips = 0;
    bool air_conditioning = false;
    /// Corrections that depend on the trip (heavy_road, low_speed, frequent_stops, ...).
    std::vector<std::string> declared_corrections;
    std::string actor = "fleetctl";
};

/// Records the return: odometer, fuel remainder, hours and work. Fuel receipts of the vehicle
/// during the trip (give or take default_receipt_slack_min) are linked to the waybill; so are
/// receipts imported later, by import_fuel_transactions. A return odometer below the departure one
/// needs a rollover or replacement act inside the trip; negative values are refused; so is a
/// return in the future, not after the departure, before a post-trip check or overlapping
/// another trip of the vehicle or driver.
void return_vehicle(pqxx::connection& conn, const ReturnRequest& request, const Clock& clock = {});

/// A returned waybill's figures as they should have been typed: only what is given changes.
struct AmendRequest {
    std::int64_t waybill_id = 0;
    std::optional<std::int64_t> odometer_in_km;
    std::optional<double> fuel_in_l, fuel_handed_over_l;
    std::string departed_at, returned_at;  ///< ISO 8601 with the offset; empty: unchanged
    std::string reason;
    std::string actor = "fleetctl";
};

/// One amended field: its name and its values before and after, as journalled.
struct Amendment {
    std::string field;  ///< odometer_in_km, fuel_in_l, fuel_handed_over_l, departed_at, ...
    std::string old_value, new_value;
};

/// Amends a returned waybill before its acceptance, in place: each changed field is journalled
/// with its old and new value ("waybill amended"), the fuel receipts are linked again when the
/// times change, and the stored reconciliation (if any) is dropped so that the next one uses the
/// amended values. The same rules as the return hold. A closed waybill is refused with the way
/// to correct it (`correct`). Returns what changed (empty: nothing differed, nothing written).
std::vector<Amendment> amend(pqxx::connection& conn, const AmendRequest& request,
                             const Clock& clock = {});

struct OdometerEventRequest {
    std::string vehicle;  ///< registration
    std::string kind;     ///< replacement or rollover
    std::string occurred_at;
    std::int64_t old_reading_km = 0;
    std::int64_t new_reading_km = 0;
    std::string document;  ///< the act's reference
    std::string actor = "fleetctl";
};

/// Records an odometer replacement or rollover act. Returns its id.
std::int64_t record_odometer_event(pqxx::connection& conn, const OdometerEventRequest& request);

struct FuelTransaction {
    std::string vehicle;  ///< registration
    std::string occurred_at;
    double volume_l = 0;
    std::string fuel_grade;
    std::string card_or_coupon;
    std::optional<std::int64_t> odometer_km;  ///< typed at the pump
    std::string source = "card";              ///< card, coupon, manual
    std::string external_id;                  ///< processor's id; repeated ids are skipped
};

/// What is wrong with one of a batch of fuel transactions.
struct FuelProblem {
    std::size_t index = 0;  ///< in the batch
    std::string message;    ///< "field: problem", e.g. "vehicle: unknown vehicle 'X999'"
};

/// Every problem of `transactions`, in their order (a transaction may have several): a time
/// without its offset, a volume that is not positive, a negative pump odometer, an unknown
/// vehicle. Reads, never writes.
std::vector<FuelProblem> fuel_transaction_problems(
    pqxx::connection& conn, const std::vector<FuelTransaction>& transactions);

/// Imports fuel-card or coupon transactions in one transaction; returns how many were new.
/// Imports nothing when any has a problem: the InputError lists them all ("transaction 3:
/// vehicle: unknown vehicle 'X999'"), in order.
std::size_t import_fuel_transactions(pqxx::connection& conn,
                                     const std::vector<FuelTransaction>& transactions,
                                     const std::string& actor);

/// Loads one waybill with its checks and linked fuel. Throws InputError when unknown.
Waybill load_waybill(pqxx::connection& conn, std::int64_t waybill_id);

struct ListFilter {
    std::string from, to;  ///< validity dates overlapping [from, to]; empty: any
    std::string vehicle;   ///< registration; empty: any
    std::string driver;    ///< full name or personnel number; empty: any
    std::string status;    ///< empty: any
};
/// The waybills of `filter`, cancelled ones included. Throws InputError "no such vehicle" or
/// "no such driver" for one that is not registered.
std::vector<Waybill> list_waybills(pqxx::connection& conn, const ListFilter& filter);

/// Every mandatory detail of domain.md §2 missing from a returned waybill, by name. Pure.
std::vector<std::string> missing_details(const Waybill& waybill, const Issuer& issuer);

struct WaybillCorrection {
    std::int64_t waybill_id = 0;  ///< the closed waybill to correct
    std::optional<std::int64_t> odometer_out_km, odometer_in_km;
    std::optional<double> fuel_out_l, fuel_in_l, fuel_handed_over_l;
    std::optional<double> heater_h, equipment_h, idle_h, transport_work_tkm;
    std::optional<int> loaded_trips;
    std::string returned_at, departed_at;
    std::string reason;
    std::string actor = "fleetctl";
};

/// A closed waybill is never edited: this creates a new record linked to it (status returned,
/// to be accepted again) and marks the original superseded. The corrected figures are held to
/// the plausibility rules as a return is. Returns the new waybill's id.
std::int64_t correct(pqxx::connection& conn, const WaybillCorrection& correction,
                     const Clock& clock = {});

/// Loads the issuer of a waybill.
Issuer load_issuer(pqxx::connection& conn, const std::string& code);

}  // namespace fleet::waybills
