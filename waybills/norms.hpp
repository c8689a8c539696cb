#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// Normative fuel and lubricant consumption by the Russian Ministry of Transport methodology
/// AM-23-r (2008, as amended; domain.md §3), the dated norm corrections a company's order fixes,
/// and the fuel identities of a waybill (domain.md §2). Pure functions on plain values: no
/// database, no clock. Bad input throws fleet::InputError naming the field; bad correction
/// configuration throws fleet::ConfigError naming the correction. Every member of the structs
/// here has a default, so designated initialisers may leave out what does not apply.
namespace fleet::waybills {

/// The formula family of a vehicle; the values match the database's `vehicle_class`.
enum class VehicleClass { car, bus, truck, dump_truck, special };

/// "car", "bus", "truck", "dump_truck" or "special"; anything else throws InputError.
VehicleClass parse_vehicle_class(std::string_view text);
/// The database spelling of `vehicle_class`.
std::string_view to_string(VehicleClass vehicle_class);

/// The fuel a vehicle runs on, as far as the methodology's maxima for the transport-work and
/// trailer norms depend on it (Hw, Hg in L/100 t·km: petrol ≤ 2, diesel ≤ 1.3, LPG ≤ 2.64).
/// Natural gas (normed in m³) is not supported.
enum class FuelKind { petrol, diesel, lpg };

/// "petrol", "diesel" or "lpg"; anything else throws InputError.
FuelKind parse_fuel_kind(std::string_view text);
/// The spelling `parse_fuel_kind` accepts.
std::string_view to_string(FuelKind fuel);

/// The methodology's maximum of Hw and Hg for `fuel`, in L/100 t·km.
double max_tonne_km_norm_l_per_100tkm(FuelKind fuel);
/// The methodology's maximum of Hz, the additional norm per loaded trip of a dump truck.
inline constexpr double max_loaded_trip_l = 0.25;
/// Idling with the engine required is normed at up to this share of the base norm per hour.
inline constexpr double max_idle_share_of_base_norm = 0.10;
/// Lubricant norms may be raised by at most this many percent (old vehicles, capital repair).
inline constexpr double max_lubricant_raise_pct = 20;

/// What the normative fuel of one waybill (or one driver's part of it) is computed from.
/// Terms that the vehicle class's formula does not have must stay 0; a non-zero value there
/// throws InputError rather than being silently ignored. Use designated initialisers:
/// `{.vehicle_class = VehicleClass::car, .fuel = FuelKind::petrol, .base_norm_l_per_100km =
/// 8.4, .mileage_km = 120, .correction_pct = 25}`.
struct FuelNormInput {
    /// Selects the formula.
    VehicleClass vehicle_class = VehicleClass::car;
    /// Selects the maxima of `work_l_per_100tkm` and `trailer_l_per_100tkm`; the default,
    /// diesel, has the lowest maxima, so forgetting to set it refuses rather than admits.
    FuelKind fuel = FuelKind::diesel;
    /// The model's base norm, L/100 km: Hs for cars, buses and trucks (without trailer), Hsanc
    /// (the dump truck's or dump road train's norm as the company's order fixes it) for dump
    /// trucks, Hsc (the norm for driving) for special vehicles.
    double base_norm_l_per_100km = 0;
    /// S, the mileage by odometer.
    double mileage_km = 0;
    /// D, the total correction in percent (`AppliedCorrections::total_pct`); may be negative.
    double correction_pct = 0;

    /// Hh, buses only: the heater's norm.
    double heater_l_per_h = 0;
    /// T, buses only: heater hours.
    double heater_h = 0;

    /// Hg, trucks only: the norm per tonne of the trailer's (semitrailer's) own mass.
    double trailer_l_per_100tkm = 0;
    /// Gtrailer, trucks only: the trailer's own mass; Hsan = Hs + Hg · Gtrailer.
    double trailer_mass_t = 0;
    /// Hw, trucks only: the norm per transport work.
    double work_l_per_100tkm = 0;
    /// W, trucks only: transport work, cargo mass × loaded km.
    double transport_work_tkm = 0;

    /// Hz, dump trucks only: the additional norm per loaded trip (≤ 0.25 L).
    double loaded_trip_l = 0;
    /// Z, dump trucks only: loaded trips.
    std::int64_t loaded_trips = 0;

    /// Ht, special vehicles only: the norm per hour of the special equipment's work.
    double equipment_l_per_h = 0;
    /// T, special vehicles only: equipment hours.
    double equipment_h = 0;

    /// Any class: the norm per hour of idling with the engine required (loading, winter
    /// warm-up, parked air conditioning); at most 10 % of `base_norm_l_per_100km`, per hour.
    double idle_l_per_h = 0;
    /// Any class: hours of such idling.
    double idle_h = 0;
};

/// The normative fuel and how it is made up, so that a report can explain the figure:
/// `norm_l == base_l + trailer_l + work_l + equipment_l + correction_l + heater_l +
/// loaded_trips_l + idle_l`. No rounding is applied.
struct FuelNorm {
    /// Qn plus the idling part.
    double norm_l = 0;
    /// 0.01 · base norm · S.
    double base_l = 0;
    /// Trucks: 0.01 · Hg · Gtrailer · S (the trailer's share of 0.01 · Hsan · S).
    double trailer_l = 0;
    /// Trucks: 0.01 · Hw · W.
    double work_l = 0;
    /// Special vehicles: Ht · T (before the correction, which applies to it too).
    double equipment_l = 0;
    /// 0.01 · D times the parts the formula corrects: base, trailer and work (trucks), base
    /// and equipment (special vehicles), base only (cars, buses, dump trucks).
    double correction_l = 0;
    /// Buses: Hh · T, not corrected.
    double heater_l = 0;
    /// Dump trucks: Hz · Z, not corrected.
    double loaded_trips_l = 0;
    /// Idling with the engine required: norm per hour × hours, not corrected.
    double idle_l = 0;
    /// D, the correction used, in percent.
    double correction_pct = 0;
};

/// Litres as a waybill states them: to 0.01 L, rounded half away from zero on the value's 15
/// significant digits (`round_decimal(litres, 2)`, the figure the reports print), so that a norm
/// computed in binary as 18.449999999999996 L is 18.45 L. Every figure of the fuel block is
/// stated so before it is compared or stored. Throws InputError for a non-finite value.
double stated_l(double litres);

/// A norm as the waybill states it: `norm_l` is the exact total rounded by `stated_l` (not the
/// sum of rounded parts), and each part is rounded by `stated_l` too, so the stated parts may
/// differ from the stated total by a cent or two.
FuelNorm stated_norm(const FuelNorm& exact);

/// Normative fuel by the formula of `input.vehicle_class` (domain.md §3):
///   car:        Qn = 0.01 · Hs · S · (1 + 0.01·D)
///   bus:        Qn = 0.01 · Hs · S · (1 + 0.01·D) + Hh · T
///   truck:      Qn = 0.01 · (Hsan · S + Hw · W) · (1 + 0.01·D),  Hsan = Hs + Hg · Gtrailer
///   dump_truck: Qn = 0.01 · Hsanc · S · (1 + 0.01·D) + Hz · Z
///   special:    Qn = (0.01 · Hsc · S + Ht · T) · (1 + 0.01·D)
/// plus idling with the engine required, idle_l_per_h · idle_h, outside the correction.
/// Throws InputError naming the field for a negative or non-finite value, D ≤ −100, Hw or Hg
/// above the maximum for the fuel, Hz above 0.25 L, an idle norm above 10 % of the base norm,
/// or a non-zero term the class's formula does not have.
FuelNorm normative_fuel(const FuelNormInput& input);

/// Lubricant norms of a model, per 100 L of normative fuel.
struct LubricantRates {
    /// Engine oil (and other oils the company norms together), L per 100 L of fuel.
    double oil_l_per_100l = 0;
    /// Greases, kg per 100 L of fuel.
    double grease_kg_per_100l = 0;
    /// Raise for vehicles after capital repair or older than 5 years, 0–20 %.
    double raise_pct = 0;
};

/// Normative lubricants for an amount of normative fuel.
struct LubricantNorm {
    double oil_l = 0;
    double grease_kg = 0;
};

/// oil_l = 0.01 · fuel_norm_l · oil_l_per_100l · (1 + 0.01 · raise_pct), grease likewise.
/// Throws InputError naming the field for negative values or a raise above 20 %.
LubricantNorm normative_lubricants(double fuel_norm_l, const LubricantRates& rates);

/// The kinds of norm correction of the methodology (domain.md §3).
enum class CorrectionCode {
    winter,
    city,
    frequent_stops,
    mountains,
    air_conditioning,
    age,
    low_speed,
    heavy_road,
    out_of_town,
    other
};

/// The code's name as spelled in the enumeration ("winter", "frequent_stops", ...); anything
/// else throws InputError.
CorrectionCode parse_correction_code(std::string_view text);
/// The spelling `parse_correction_code` accepts.
std::string_view to_string(CorrectionCode code);

/// When a correction applies besides its date and scope.
enum class CorrectionCondition {
    /// Whenever date and scope match.
    always,
    /// Only when the waybill says the air conditioning was used.
    aircon_used,
    /// Only when the vehicle is older than `older_than_years` or has run more than
    /// `more_than_km` (either threshold may be absent, not both).
    vehicle_age,
    /// Only when the waybill declares this correction's code (heavy road conditions, low
    /// average speed, frequent stops: facts of the trip rather than of the vehicle or place).
    declared,
};

/// "always", "aircon_used", "vehicle_age" or "declared"; anything else throws InputError.
CorrectionCondition parse_correction_condition(std::string_view text);
/// The spelling `parse_correction_condition` accepts.
std::string_view to_string(CorrectionCondition condition);

/// One line of the company's order on norm corrections: a percentage valid for a period,
/// optionally limited to a region, a vehicle class and/or a make and model, and to a condition.
struct Correction {
    CorrectionCode code = CorrectionCode::other;
    /// Added to D; negative lowers the norm (out-of-town flat roads −15 %).
    double percent = 0;
    /// First day of validity.
    std::chrono::year_month_day valid_from{};
    /// Last day of validity, inclusive; absent = open-ended.
    std::optional<std::chrono::year_month_day> valid_to{};
    /// Applies only to waybills in this region (exact, case-sensitive match); absent = any.
    std::optional<std::string> region{};
    /// Applies only to this class; absent = any.
    std::optional<VehicleClass> vehicle_class{};
    /// Applies only to this make and model (exact match); absent = any.
    std::optional<std::string> make_model{};
    CorrectionCondition condition = CorrectionCondition::always;
    /// For `vehicle_age`: applies when the vehicle's age in years is strictly greater.
    std::optional<double> older_than_years{};
    /// For `vehicle_age`: applies when the vehicle's total mileage is strictly greater.
    std::optional<double> more_than_km{};
    /// The document that fixes the value (e.g. "order 14 of 2024-10-25, item 3"); shown in
    /// errors and available to reports.
    std::string reference{};
};

/// The facts of one waybill the corrections are chosen by.
struct CorrectionContext {
    /// The waybill's date (its first day when issued for several days).
    std::chrono::year_month_day date{};
    std::string region{};
    VehicleClass vehicle_class = VehicleClass::car;
    std::string make_model{};
    /// Age at `date`, in years (fractional).
    double vehicle_age_years = 0;
    /// Odometer (total mileage) at departure.
    double vehicle_total_km = 0;
    /// The waybill says the air conditioning was used while driving.
    bool aircon_used = false;
    /// Codes the waybill declares (for corrections with condition `declared`).
    std::vector<CorrectionCode> declared{};
};

/// The corrections chosen for a waybill and their sum D.
struct AppliedCorrections {
    /// At most one per code, ordered by code.
    std::vector<Correction> applied{};
    /// D, the sum of the applied percentages.
    double total_pct = 0;
};

/// Checks a correction configuration as loaded: valid dates and `valid_to` not before
/// `valid_from`, a finite percent in (−100, 100], non-empty region and make_model when given,
/// thresholds given for `vehicle_age` (non-negative) and only there, and no two corrections
/// of the same code, the same scope (region, class, make and model) and the same condition
/// (thresholds included) with overlapping periods. Throws ConfigError naming the correction
/// by its position and reference.
void validate_corrections(const std::vector<Correction>& corrections);

/// The corrections that apply to a waybill: valid on `context.date`, whose scope matches (each
/// given scope field equal to the context's) and whose condition holds. At most one per code:
/// when several of the same code apply, the most specific scope wins — make and model over
/// class over region over general, compared in that order (so model beats class + region, and
/// class + region beats class alone) — and among equally specific ones (tiers that differ only
/// in their condition, such as age over 5 years 5 % and over 8 years 10 %) the greatest percent
/// wins. Corrections of one code are never added together, `other` included (unrelated
/// surcharges of kind `other` have to be combined into one line of the configuration). D is the
/// sum over the codes.
/// Expects a configuration that `validate_corrections` accepted; two applicable corrections it
/// would have refused (same code, scope and condition) throw ConfigError.
AppliedCorrections select_corrections(const std::vector<Correction>& corrections,
                                      const CorrectionContext& context);

/// mileage_km = odometer_return_km − odometer_departure_km. Throws InputError when either is
/// negative or the return reading is below the departure reading (a rollover or an odometer
/// replacement is a documented event: see `mileage_across_rollover_km`).
std::int64_t mileage_km(std::int64_t odometer_departure_km, std::int64_t odometer_return_km);

/// Mileage over one recorded rollover of an odometer that counts modulo `counter_modulus_km`
/// (100 000 for a 99 999 counter): modulus − departure + return. Requires
/// 0 ≤ return < departure < modulus; throws InputError naming the field otherwise.
std::int64_t mileage_across_rollover_km(std::int64_t odometer_departure_km,
                                        std::int64_t odometer_return_km,
                                        std::int64_t counter_modulus_km);

/// The fuel block of a waybill.
struct FuelBlock {
    /// Remainder in the tank at departure.
    double remainder_departure_l = 0;
    /// Issued during the waybill (fuel cards, coupons).
    double issued_l = 0;
    /// Handed over (drained back to the store or to another vehicle).
    double handed_over_l = 0;
    /// Remainder in the tank at return.
    double remainder_return_l = 0;
};

/// fuel_actual_l = remainder_departure_l + issued_l − handed_over_l − remainder_return_l,
/// stated to 0.01 L (`stated_l`). Throws InputError naming the field for a negative or
/// non-finite amount. The result may be negative (more fuel came back than went out and was
/// issued: undocumented fuel); it is returned as it is for the reconciliation to flag.
double fuel_actual_l(const FuelBlock& fuel);

/// saving_l = fuel_norm_l − fuel_actual_l, both stated to 0.01 L first and the difference
/// stated too, so that an actual consumption equal to the stated norm saves exactly 0; negative
/// is an overspend (needs a reason). Throws InputError for a negative norm or a non-finite value.
double saving_l(double fuel_norm_l, double fuel_actual_l);

/// A model's norms as fleet.vehicle_models holds them (the column names), for checking before
/// they are stored.
struct ModelNorms {
    VehicleClass vehicle_class = VehicleClass::car;
    /// Selects the maxima of the tonne-km norms (fleet.vehicle_models.fuel_grade).
    FuelKind fuel = FuelKind::diesel;
    /// Hs (Hsanc for dump trucks, Hsc for special vehicles), L/100 km; positive.
    double base_l_per_100km = 0;
    double heater_l_per_h = 0;        ///< Hh, buses only
    double work_l_per_100tkm = 0;     ///< Hw, trucks only
    double trailer_l_per_100tkm = 0;  ///< Hg, trucks only
    double loaded_trip_l = 0;         ///< Hz, dump trucks only
    double equipment_l_per_h = 0;     ///< Ht, special vehicles only
    double idle_l_per_h = 0;          ///< any class, at most 10 % of the base norm
    double oil_l_per_100l = 0;        ///< lubricants per 100 L of normative fuel
    double grease_kg_per_100l = 0;
};

/// Every problem of a model's norms, each as (column, problem): a base norm that is not
/// positive, a negative or non-finite norm, a norm of a term the class's formula does not have
/// (a heater norm on a car, which the reconciliation would otherwise ignore), Hw or Hg above the
/// methodology's maximum for the fuel, Hz above 0.25 L, an idle norm above 10 % of the base
/// norm, a lubricant norm above 100 per 100 L, or a base or hourly norm above 1000 (a unit
/// slip). Empty when the norms can be stored.
std::vector<std::pair<std::string, std::string>> model_norm_problems(const ModelNorms& norms);

}  // namespace fleet::waybills
