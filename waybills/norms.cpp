#include "waybills/norms.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "geo/error.hpp"
#include "waybills/table.hpp"

namespace fleet::waybills {

namespace {

using std::chrono::year_month_day;

std::string number(double value) {
    std::array<char, 32> buf{};
    const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    return std::string(buf.data(), result.ptr);
}

std::string iso_date(const year_month_day& date) {
    std::array<char, 16> buf{};
    std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02u", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    return buf.data();
}

template <typename Enum, std::size_t N>
Enum parse_name(std::string_view text, const std::array<std::string_view, N>& names,
                const char* field) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == text) {
            return static_cast<Enum>(i);
        }
    }
    std::string known;
    for (const auto name : names) {
        known += known.empty() ? "" : ", ";
        known += name;
    }
    throw InputError(std::string(field) + ": '" + std::string(text) + "' is not one of " + known);
}

// Indexed by the enumerations' values, in declaration order.
constexpr std::array<std::string_view, 5> vehicle_class_names{"car", "bus", "truck", "dump_truck",
                                                              "special"};
constexpr std::array<std::string_view, 3> fuel_kind_names{"petrol", "diesel", "lpg"};
constexpr std::array<std::string_view, 10> correction_code_names{
    "winter", "city",      "frequent_stops", "mountains",   "air_conditioning",
    "age",    "low_speed", "heavy_road",     "out_of_town", "other"};
constexpr std::array<std::string_view, 4> condition_names{"always", "aircon_used", "vehicle_age",
                                                          "declared"};

void require_non_negative(double value, const char* context, const char* field) {
    if (!std::isfinite(value) || value < 0) {
        throw InputError(std::string(context) + ": " + field +
                         " must be a non-negative number (got " + number(value) + ")");
    }
}

void require_finite(double value, const char* context, const char* field) {
    if (!std::isfinite(value)) {
        throw InputError(std::string(context) + ": " + field + " must be a finite number (got " +
                         number(value) + ")");
    }
}

// A term the class's formula does not have: refused, so that it is never silently dropped.
void require_absent(double value, VehicleClass vehicle_class, const char* field,
                    const char* owner) {
    if (value != 0) {
        throw InputError("fuel norm: " + std::string(field) + " is " + number(value) + ", but " +
                         owner + " have that term, not a " + std::string(to_string(vehicle_class)));
    }
}

bool valid_on(const Correction& c, const year_month_day& date) {
    return c.valid_from <= date && (!c.valid_to || date <= *c.valid_to);
}

bool scope_matches(const Correction& c, const CorrectionContext& context) {
    return (!c.region || *c.region == context.region) &&
           (!c.vehicle_class || *c.vehicle_class == context.vehicle_class) &&
           (!c.make_model || *c.make_model == context.make_model);
}

bool condition_holds(const Correction& c, const CorrectionContext& context) {
    switch (c.condition) {
        case CorrectionCondition::always:
            return true;
        case CorrectionCondition::aircon_used:
            return context.aircon_used;
        case CorrectionCondition::vehicle_age:
            return (c.older_than_years && context.vehicle_age_years > *c.older_than_years) ||
                   (c.more_than_km && context.vehicle_total_km > *c.more_than_km);
        case CorrectionCondition::declared:
            for (const auto code : context.declared) {
                if (code == c.code) {
                    return true;
                }
            }
            return false;
    }
    return false;
}

// Model over class over region over general, compared in that order.
int specificity(const Correction& c) {
    return (c.make_model ? 4 : 0) + (c.vehicle_class ? 2 : 0) + (c.region ? 1 : 0);
}

bool same_code_scope_and_condition(const Correction& a, const Correction& b) {
    return a.code == b.code && a.region == b.region && a.vehicle_class == b.vehicle_class &&
           a.make_model == b.make_model && a.condition == b.condition &&
           a.older_than_years == b.older_than_years && a.more_than_km == b.more_than_km;
}

bool periods_overlap(const Correction& a, const Correction& b) {
    const bool a_starts_before_b_ends = !b.valid_to || a.valid_from <= *b.valid_to;
    const bool b_starts_before_a_ends = !a.valid_to || b.valid_from <= *a.valid_to;
    return a_starts_before_b_ends && b_starts_before_a_ends;
}

std::string period(const Correction& c) {
    return iso_date(c.valid_from) + ".." + (c.valid_to ? iso_date(*c.valid_to) : "");
}

std::string name_of(const std::vector<Correction>& corrections, const Correction& c) {
    const auto index = static_cast<std::size_t>(&c - corrections.data());
    std::string name = "corrections[" + std::to_string(index) + "] (" +
                       std::string(to_string(c.code)) + " " + number(c.percent) + " % " + period(c);
    if (!c.reference.empty()) {
        name += ", " + c.reference;
    }
    return name + ")";
}

void validate_one(const std::vector<Correction>& all, const Correction& c) {
    auto fail = [&](const std::string& problem) { throw ConfigError(name_of(all, c), problem); };
    if (!c.valid_from.ok()) {
        fail("valid_from is not a valid date");
    }
    if (c.valid_to && !c.valid_to->ok()) {
        fail("valid_to is not a valid date");
    }
    if (c.valid_to && *c.valid_to < c.valid_from) {
        fail("valid_to is before valid_from");
    }
    if (!std::isfinite(c.percent) || c.percent <= -100 || c.percent > 100) {
        fail("percent must be within (-100, 100]");
    }
    if (c.region && c.region->empty()) {
        fail("region is given but empty (leave it out to apply everywhere)");
    }
    if (c.make_model && c.make_model->empty()) {
        fail("make_model is given but empty (leave it out to apply to every model)");
    }
    if (c.condition == CorrectionCondition::vehicle_age) {
        if (!c.older_than_years && !c.more_than_km) {
            fail("condition vehicle_age needs older_than_years or more_than_km");
        }
        if ((c.older_than_years && !(*c.older_than_years >= 0)) ||
            (c.more_than_km && !(*c.more_than_km >= 0))) {
            fail("older_than_years and more_than_km must be non-negative");
        }
    } else if (c.older_than_years || c.more_than_km) {
        fail("older_than_years and more_than_km belong to condition vehicle_age, not " +
             std::string(to_string(c.condition)));
    }
}

}  // namespace

VehicleClass parse_vehicle_class(std::string_view text) {
    return parse_name<VehicleClass>(text, vehicle_class_names, "vehicle_class");
}

std::string_view to_string(VehicleClass vehicle_class) {
    return vehicle_class_names.at(static_cast<std::size_t>(vehicle_class));
}

FuelKind parse_fuel_kind(std::string_view text) {
    return parse_name<FuelKind>(text, fuel_kind_names, "fuel");
}

std::string_view to_string(FuelKind fuel) {
    return fuel_kind_names.at(static_cast<std::size_t>(fuel));
}

double max_tonne_km_norm_l_per_100tkm(FuelKind fuel) {
    switch (fuel) {
        case FuelKind::petrol:
            return 2.0;
        case FuelKind::diesel:
            return 1.3;
        case FuelKind::lpg:
            return 2.64;
    }
    return 0;
}

FuelNorm normative_fuel(const FuelNormInput& in) {
    constexpr const char* ctx = "fuel norm";
    require_non_negative(in.base_norm_l_per_100km, ctx, "base_norm_l_per_100km");
    if (in.base_norm_l_per_100km == 0) {
        throw InputError("fuel norm: base_norm_l_per_100km must be positive (got 0)");
    }
    require_non_negative(in.mileage_km, ctx, "mileage_km");
    require_finite(in.correction_pct, ctx, "correction_pct");
    if (in.correction_pct <= -100) {
        throw InputError("fuel norm: correction_pct must be above -100 (got " +
                         number(in.correction_pct) + ")");
    }
    require_non_negative(in.heater_l_per_h, ctx, "heater_l_per_h");
    require_non_negative(in.heater_h, ctx, "heater_h");
    require_non_negative(in.trailer_l_per_100tkm, ctx, "trailer_l_per_100tkm");
    require_non_negative(in.trailer_mass_t, ctx, "trailer_mass_t");
    require_non_negative(in.work_l_per_100tkm, ctx, "work_l_per_100tkm");
    require_non_negative(in.transport_work_tkm, ctx, "transport_work_tkm");
    require_non_negative(in.loaded_trip_l, ctx, "loaded_trip_l");
    if (in.loaded_trips < 0) {
        throw InputError("fuel norm: loaded_trips must not be negative (got " +
                         std::to_string(in.loaded_trips) + ")");
    }
    require_non_negative(in.equipment_l_per_h, ctx, "equipment_l_per_h");
    require_non_negative(in.equipment_h, ctx, "equipment_h");
    require_non_negative(in.idle_l_per_h, ctx, "idle_l_per_h");
    require_non_negative(in.idle_h, ctx, "idle_h");

    const auto cls = in.vehicle_class;
    if (cls != VehicleClass::bus) {
        require_absent(in.heater_l_per_h, cls, "heater_l_per_h", "buses");
        require_absent(in.heater_h, cls, "heater_h", "buses");
    }
    if (cls != VehicleClass::truck) {
        require_absent(in.trailer_l_per_100tkm, cls, "trailer_l_per_100tkm", "trucks");
        require_absent(in.trailer_mass_t, cls, "trailer_mass_t", "trucks");
        require_absent(in.work_l_per_100tkm, cls, "work_l_per_100tkm", "trucks");
        require_absent(in.transport_work_tkm, cls, "transport_work_tkm", "trucks");
    }
    if (cls != VehicleClass::dump_truck) {
        require_absent(in.loaded_trip_l, cls, "loaded_trip_l", "dump trucks");
        require_absent(static_cast<double>(in.loaded_trips), cls, "loaded_trips", "dump trucks");
    }
    if (cls != VehicleClass::special) {
        require_absent(in.equipment_l_per_h, cls, "equipment_l_per_h", "special vehicles");
        require_absent(in.equipment_h, cls, "equipment_h", "special vehicles");
    }

    const double max_tkm = max_tonne_km_norm_l_per_100tkm(in.fuel);
    const auto above_max = [&](double value, const char* field) {
        if (value > max_tkm) {
            throw InputError("fuel norm: " + std::string(field) + " " + number(value) +
                             " L/100 t·km is above the methodology's maximum of " +
                             number(max_tkm) + " for " + std::string(to_string(in.fuel)));
        }
    };
    above_max(in.work_l_per_100tkm, "work_l_per_100tkm");
    above_max(in.trailer_l_per_100tkm, "trailer_l_per_100tkm");
    if (in.loaded_trip_l > max_loaded_trip_l) {
        throw InputError("fuel norm: loaded_trip_l " + number(in.loaded_trip_l) +
                         " L is above the methodology's maximum of 0.25 L per loaded trip");
    }
    // 10 % of the base norm, with a margin for the rounding of 0.1 · base (0.1 · 8.4 is not
    // exactly 0.84 in binary).
    const double max_idle = max_idle_share_of_base_norm * in.base_norm_l_per_100km;
    if (in.idle_l_per_h > max_idle * (1 + 1e-9)) {
        throw InputError("fuel norm: idle_l_per_h " + number(in.idle_l_per_h) +
                         " L/h is above 10 % of base_norm_l_per_100km (" + number(max_idle) + ")");
    }

    FuelNorm norm;
    norm.correction_pct = in.correction_pct;
    norm.base_l = 0.01 * in.base_norm_l_per_100km * in.mileage_km;
    norm.trailer_l = 0.01 * in.trailer_l_per_100tkm * in.trailer_mass_t * in.mileage_km;
    norm.work_l = 0.01 * in.work_l_per_100tkm * in.transport_work_tkm;
    norm.equipment_l = in.equipment_l_per_h * in.equipment_h;
    // Terms of other classes are 0 (checked above), so one sum serves every formula.
    const double corrected = norm.base_l + norm.trailer_l + norm.work_l + norm.equipment_l;
    norm.correction_l = corrected * 0.01 * in.correction_pct;
    norm.heater_l = in.heater_l_per_h * in.heater_h;
    norm.loaded_trips_l = in.loaded_trip_l * static_cast<double>(in.loaded_trips);
    norm.idle_l = in.idle_l_per_h * in.idle_h;
    norm.norm_l = corrected + norm.correction_l + norm.heater_l + norm.loaded_trips_l + norm.idle_l;
    return norm;
}

LubricantNorm normative_lubricants(double fuel_norm_l, const LubricantRates& rates) {
    constexpr const char* ctx = "lubricant norm";
    require_non_negative(fuel_norm_l, ctx, "fuel_norm_l");
    require_non_negative(rates.oil_l_per_100l, ctx, "oil_l_per_100l");
    require_non_negative(rates.grease_kg_per_100l, ctx, "grease_kg_per_100l");
    require_non_negative(rates.raise_pct, ctx, "raise_pct");
    if (rates.raise_pct > max_lubricant_raise_pct) {
        throw InputError("lubricant norm: raise_pct " + number(rates.raise_pct) +
                         " is above the methodology's maximum of 20 %");
    }
    const double per_100l = 0.01 * fuel_norm_l * (1 + 0.01 * rates.raise_pct);
    return {.oil_l = per_100l * rates.oil_l_per_100l,
            .grease_kg = per_100l * rates.grease_kg_per_100l};
}

CorrectionCode parse_correction_code(std::string_view text) {
    return parse_name<CorrectionCode>(text, correction_code_names, "correction code");
}

std::string_view to_string(CorrectionCode code) {
    return correction_code_names.at(static_cast<std::size_t>(code));
}

CorrectionCondition parse_correction_condition(std::string_view text) {
    return parse_name<CorrectionCondition>(text, condition_names, "correction condition");
}

std::string_view to_string(CorrectionCondition condition) {
    return condition_names.at(static_cast<std::size_t>(condition));
}

void validate_corrections(const std::vector<Correction>& corrections) {
    for (const auto& c : corrections) {
        validate_one(corrections, c);
    }
    for (std::size_t i = 0; i < corrections.size(); ++i) {
        for (std::size_t j = i + 1; j < corrections.size(); ++j) {
            const auto& a = corrections[i];
            const auto& b = corrections[j];
            if (same_code_scope_and_condition(a, b) && periods_overlap(a, b)) {
                throw ConfigError(name_of(corrections, b),
                                  "its period overlaps " + name_of(corrections, a) +
                                      ", which has the same code, scope and condition");
            }
        }
    }
}

AppliedCorrections select_corrections(const std::vector<Correction>& corrections,
                                      const CorrectionContext& context) {
    std::array<const Correction*, correction_code_names.size()> best{};
    for (const auto& c : corrections) {
        if (!valid_on(c, context.date) || !scope_matches(c, context) ||
            !condition_holds(c, context)) {
            continue;
        }
        auto& slot = best.at(static_cast<std::size_t>(c.code));
        if (slot == nullptr) {
            slot = &c;
            continue;
        }
        if (same_code_scope_and_condition(*slot, c)) {
            throw ConfigError(name_of(corrections, c),
                              "applies on " + iso_date(context.date) + " together with " +
                                  name_of(corrections, *slot) +
                                  ", which has the same code, scope and condition");
        }
        const int current = specificity(*slot);
        const int candidate = specificity(c);
        if (candidate > current || (candidate == current && c.percent > slot->percent)) {
            slot = &c;
        }
    }
    AppliedCorrections result;
    for (const auto* c : best) {
        if (c != nullptr) {
            result.applied.push_back(*c);
            result.total_pct += c->percent;
        }
    }
    return result;
}

std::int64_t mileage_km(std::int64_t odometer_departure_km, std::int64_t odometer_return_km) {
    if (odometer_departure_km < 0) {
        throw InputError("odometer: odometer_departure_km must not be negative (got " +
                         std::to_string(odometer_departure_km) + ")");
    }
    if (odometer_return_km < 0) {
        throw InputError("odometer: odometer_return_km must not be negative (got " +
                         std::to_string(odometer_return_km) + ")");
    }
    if (odometer_return_km < odometer_departure_km) {
        throw InputError("odometer: odometer_return_km " + std::to_string(odometer_return_km) +
                         " is below odometer_departure_km " +
                         std::to_string(odometer_departure_km) +
                         " (a rollover or an odometer replacement must be recorded)");
    }
    return odometer_return_km - odometer_departure_km;
}

std::int64_t mileage_across_rollover_km(std::int64_t odometer_departure_km,
                                        std::int64_t odometer_return_km,
                                        std::int64_t counter_modulus_km) {
    if (counter_modulus_km <= 0) {
        throw InputError("odometer: counter_modulus_km must be positive (got " +
                         std::to_string(counter_modulus_km) + ")");
    }
    if (odometer_departure_km < 0 || odometer_departure_km >= counter_modulus_km) {
        throw InputError("odometer: odometer_departure_km " +
                         std::to_string(odometer_departure_km) + " is outside the counter's 0.." +
                         std::to_string(counter_modulus_km - 1));
    }
    if (odometer_return_km < 0 || odometer_return_km >= odometer_departure_km) {
        throw InputError("odometer: odometer_return_km " + std::to_string(odometer_return_km) +
                         " must be at least 0 and below odometer_departure_km " +
                         std::to_string(odometer_departure_km) + " for a rollover");
    }
    return counter_modulus_km - odometer_departure_km + odometer_return_km;
}

double fuel_actual_l(const FuelBlock& fuel) {
    constexpr const char* ctx = "fuel block";
    require_non_negative(fuel.remainder_departure_l, ctx, "remainder_departure_l");
    require_non_negative(fuel.issued_l, ctx, "issued_l");
    require_non_negative(fuel.handed_over_l, ctx, "handed_over_l");
    require_non_negative(fuel.remainder_return_l, ctx, "remainder_return_l");
    return stated_l(fuel.remainder_departure_l + fuel.issued_l - fuel.handed_over_l -
                    fuel.remainder_return_l);
}

double saving_l(double fuel_norm_l, double fuel_actual_l) {
    require_non_negative(fuel_norm_l, "fuel saving", "fuel_norm_l");
    require_finite(fuel_actual_l, "fuel saving", "fuel_actual_l");
    return stated_l(stated_l(fuel_norm_l) - stated_l(fuel_actual_l));
}

double stated_l(double litres) {
    if (!std::isfinite(litres)) {
        throw InputError("litres to state must be a finite number (got " + number(litres) + ")");
    }
    return round_decimal(litres, 2);
}

FuelNorm stated_norm(const FuelNorm& exact) {
    FuelNorm out = exact;
    for (double FuelNorm::*part :
         {&FuelNorm::norm_l, &FuelNorm::base_l, &FuelNorm::trailer_l, &FuelNorm::work_l,
          &FuelNorm::equipment_l, &FuelNorm::correction_l, &FuelNorm::heater_l,
          &FuelNorm::loaded_trips_l, &FuelNorm::idle_l}) {
        out.*part = stated_l(exact.*part);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> model_norm_problems(const ModelNorms& m) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto problem = [&](const char* column, std::string text) {
        out.emplace_back(column, std::move(text));
    };
    // A unit slip (L/km typed as L/100 km, a total typed as a rate) rather than a real norm.
    constexpr double implausible = 1000;
    struct Term {
        const char* column;
        double value;
        bool applies;
        const char* owner;
    };
    const auto cls = m.vehicle_class;
    const Term terms[] = {
        {"base_l_per_100km", m.base_l_per_100km, true, ""},
        {"heater_l_per_h", m.heater_l_per_h, cls == VehicleClass::bus, "buses"},
        {"work_l_per_100tkm", m.work_l_per_100tkm, cls == VehicleClass::truck, "trucks"},
        {"trailer_l_per_100tkm", m.trailer_l_per_100tkm, cls == VehicleClass::truck, "trucks"},
        {"loaded_trip_l", m.loaded_trip_l, cls == VehicleClass::dump_truck, "dump trucks"},
        {"equipment_l_per_h", m.equipment_l_per_h, cls == VehicleClass::special,
         "special vehicles"},
        {"idle_l_per_h", m.idle_l_per_h, true, ""},
        {"oil_l_per_100l", m.oil_l_per_100l, true, ""},
        {"grease_kg_per_100l", m.grease_kg_per_100l, true, ""},
    };
    for (const auto& t : terms) {
        if (!std::isfinite(t.value) || t.value < 0) {
            problem(t.column, "must be a non-negative number (got " + number(t.value) + ")");
        } else if (!t.applies && t.value != 0) {
            problem(t.column, "is " + number(t.value) + ", but only " + t.owner +
                                  " have that term, not a " + std::string(to_string(cls)) +
                                  " (leave it 0)");
        } else if (t.value > implausible) {
            problem(t.column, number(t.value) + " is implausible (above " + number(implausible) +
                                  "); check the unit");
        }
    }
    if (m.base_l_per_100km == 0) {
        problem("base_l_per_100km", "must be positive (got 0)");
    }
    const double max_tkm = max_tonne_km_norm_l_per_100tkm(m.fuel);
    for (const auto& [column, value] :
         {std::pair{"work_l_per_100tkm", m.work_l_per_100tkm},
          std::pair{"trailer_l_per_100tkm", m.trailer_l_per_100tkm}}) {
        if (value > max_tkm && value <= implausible) {
            problem(column, number(value) + " L/100 t·km is above the methodology's maximum of " +
                                number(max_tkm) + " for " + std::string(to_string(m.fuel)));
        }
    }
    if (m.loaded_trip_l > max_loaded_trip_l && m.loaded_trip_l <= implausible) {
        problem("loaded_trip_l", number(m.loaded_trip_l) +
                                     " L is above the methodology's maximum of 0.25 L per loaded "
                                     "trip");
    }
    // The same margin as normative_fuel: 0.1 · 8.4 is not exactly 0.84 in binary.
    const double max_idle = max_idle_share_of_base_norm * m.base_l_per_100km;
    if (m.base_l_per_100km > 0 && std::isfinite(max_idle) &&
        m.idle_l_per_h > max_idle * (1 + 1e-9) && m.idle_l_per_h <= implausible) {
        problem("idle_l_per_h", number(m.idle_l_per_h) +
                                    " L/h is above 10 % of base_l_per_100km (" + number(max_idle) +
                                    ")");
    }
    for (const auto& [column, value] : {std::pair{"oil_l_per_100l", m.oil_l_per_100l},
                                        std::pair{"grease_kg_per_100l", m.grease_kg_per_100l}}) {
        if (value > 100 && value <= implausible) {
            problem(column, number(value) + " per 100 L of fuel is more lubricant than fuel");
        }
    }
    return out;
}

}  // namespace fleet::waybills
