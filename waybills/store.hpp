#pragma once

#include <cstdint>
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

/// A pre-trip or post-trip check as recorded.
struct Check {
    std::string kind;  ///< technical, medical_pre, medical_post
    std::string checked_at;
    std::string person;
    bool passed = false;
    std::optional<std::int64_t> odometer_km;  ///< technical inspection only
    std::string notes;
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
    std::vector<Check> checks;  ///< in the order recorded
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
};

/// Issues a waybill with the issuer's next number. Throws InputError naming what is unknown or
/// wrong (issuer, vehicle, driver, assignment, dates, kinds, negative values).
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
void record_check(pqxx::connection& conn, const CheckRequest& request);

struct ReleaseRequest {
    std::int64_t waybill_id = 0;
    std::string departed_at;
    std::string dispatcher;  ///< who releases the vehicle (their mark on the waybill)
    std::string actor = "fleetctl";
};

/// Releases the vehicle. Refused (InputError, with every reason) while the technical inspection
/// or the pre-trip medical examination is missing or failed, outside the validity period, or
/// while the vehicle has another waybill released.
void release(pqxx::connection& conn, const ReleaseRequest& request);

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
/// needs a rollover or replacement act inside the trip; negative values are refused.
void return_vehicle(pqxx::connection& conn, const ReturnRequest& request);

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

/// Imports fuel-card or coupon transactions in one transaction; returns how many were new.
std::size_t import_fuel_transactions(pqxx::connection& conn,
                                     const std::vector<FuelTransaction>& transactions,
                                     const std::string& actor);

/// Loads one waybill with its checks and linked fuel. Throws InputError when unknown.
Waybill load_waybill(pqxx::connection& conn, std::int64_t waybill_id);

struct ListFilter {
    std::string from, to;  ///< validity dates overlapping [from, to]; empty: any
    std::string vehicle;   ///< registration; empty: any
    std::string status;    ///< empty: any
};
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
/// to be accepted again) and marks the original superseded. Returns the new waybill's id.
std::int64_t correct(pqxx::connection& conn, const WaybillCorrection& correction);

/// Loads the issuer of a waybill.
Issuer load_issuer(pqxx::connection& conn, const std::string& code);

}  // namespace fleet::waybills
