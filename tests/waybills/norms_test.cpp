#include <doctest/doctest.h>

#include <chrono>
#include <limits>

#include "geo/error.hpp"
#include "waybills/norms.hpp"

using namespace fleet;
using namespace fleet::waybills;
using std::chrono::day;
using std::chrono::month;
using std::chrono::year;
using std::chrono::year_month_day;

namespace {

doctest::Approx litres(double value) {
    return doctest::Approx(value).epsilon(1e-12);
}

constexpr year_month_day date(int y, unsigned m, unsigned d) {
    return year_month_day{year{y}, month{m}, day{d}};
}

// A company's order on norm corrections, as it might read for the winter 2024/25.
std::vector<Correction> company_order() {
    return {
        {.code = CorrectionCode::winter,
         .percent = 10,
         .valid_from = date(2024, 11, 1),
         .valid_to = date(2025, 3, 31),
         .reference = "order 14, item 1: winter, everywhere"},
        {.code = CorrectionCode::winter,
         .percent = 15,
         .valid_from = date(2024, 11, 1),
         .valid_to = date(2025, 3, 31),
         .region = "Murmansk",
         .reference = "order 14, item 2: winter, Murmansk"},
        {.code = CorrectionCode::winter,
         .percent = 12,
         .valid_from = date(2024, 11, 1),
         .valid_to = date(2025, 3, 31),
         .vehicle_class = VehicleClass::bus,
         .reference = "order 14, item 3: winter, buses"},
        {.code = CorrectionCode::winter,
         .percent = 13,
         .valid_from = date(2024, 11, 1),
         .valid_to = date(2025, 3, 31),
         .region = "Murmansk",
         .vehicle_class = VehicleClass::bus,
         .reference = "order 14, item 4: winter, buses in Murmansk"},
        {.code = CorrectionCode::winter,
         .percent = 18,
         .valid_from = date(2024, 11, 1),
         .valid_to = date(2025, 3, 31),
         .make_model = "PAZ-3205",
         .reference = "order 14, item 5: winter, PAZ-3205"},
        // A city of about 500 thousand: 15 % (250 thousand to 1 million), lowered to 10 % from
        // 15 January 2025 by a later order.
        {.code = CorrectionCode::city,
         .percent = 15,
         .valid_from = date(2024, 1, 1),
         .valid_to = date(2025, 1, 14),
         .region = "Ryazan",
         .reference = "order 3 of 2024"},
        {.code = CorrectionCode::city,
         .percent = 10,
         .valid_from = date(2025, 1, 15),
         .region = "Ryazan",
         .reference = "order 2 of 2025"},
        {.code = CorrectionCode::air_conditioning,
         .percent = 7,
         .valid_from = date(2024, 1, 1),
         .condition = CorrectionCondition::aircon_used},
        {.code = CorrectionCode::age,
         .percent = 5,
         .valid_from = date(2024, 1, 1),
         .condition = CorrectionCondition::vehicle_age,
         .older_than_years = 5,
         .more_than_km = 100'000},
        {.code = CorrectionCode::age,
         .percent = 10,
         .valid_from = date(2024, 1, 1),
         .condition = CorrectionCondition::vehicle_age,
         .older_than_years = 8,
         .more_than_km = 150'000},
        {.code = CorrectionCode::heavy_road,
         .percent = 35,
         .valid_from = date(2024, 1, 1),
         .condition = CorrectionCondition::declared},
    };
}

CorrectionContext car_in_ryazan(year_month_day on) {
    return {.date = on,
            .region = "Ryazan",
            .vehicle_class = VehicleClass::car,
            .make_model = "Lada Vesta",
            .vehicle_age_years = 3,
            .vehicle_total_km = 60'000};
}

std::vector<CorrectionCode> codes(const AppliedCorrections& applied) {
    std::vector<CorrectionCode> out;
    for (const auto& c : applied.applied) {
        out.push_back(c.code);
    }
    return out;
}

}  // namespace

TEST_CASE("a car in a city of 500 thousand in December: city 15 % + winter 10 % gives 12.6 L") {
    const auto corrections = company_order();
    REQUIRE_NOTHROW(validate_corrections(corrections));
    const auto applied = select_corrections(corrections, car_in_ryazan(date(2024, 12, 10)));
    CHECK(codes(applied) == std::vector{CorrectionCode::winter, CorrectionCode::city});
    CHECK(applied.total_pct == 25);
    CHECK(applied.applied[0].reference == "order 14, item 1: winter, everywhere");

    // Hs 8.4 L/100 km, S 120 km, D 25 %:
    //   0.01 · 8.4 · 120 = 10.08 L; 10.08 · 0.25 = 2.52 L; 10.08 · 1.25 = 12.6 L.
    const FuelNorm norm = normative_fuel({.vehicle_class = VehicleClass::car,
                                          .fuel = FuelKind::petrol,
                                          .base_norm_l_per_100km = 8.4,
                                          .mileage_km = 120,
                                          .correction_pct = applied.total_pct});
    CHECK(norm.norm_l == litres(12.6));
    CHECK(norm.base_l == litres(10.08));
    CHECK(norm.correction_l == litres(2.52));
    CHECK(norm.correction_pct == 25);
    CHECK(norm.trailer_l == 0);
    CHECK(norm.heater_l == 0);
    CHECK(norm.idle_l == 0);
}

TEST_CASE("a truck with a trailer and transport work") {
    // Hs 25 L/100 km, trailer Hg 1.3 L/100 t·km × 5 t, S 200 km, W 1500 t·km, Hw 1.3, D 10 %:
    //   Hsan = 25 + 1.3 · 5 = 31.5 L/100 km
    //   0.01 · (31.5 · 200 + 1.3 · 1500) = 0.01 · (6300 + 1950) = 82.5 L
    //     of which base 0.01 · 25 · 200 = 50, trailer 0.01 · 6.5 · 200 = 13, work 19.5
    //   82.5 · 0.10 = 8.25 L correction; Qn = 82.5 · 1.10 = 90.75 L.
    const FuelNorm norm = normative_fuel({.vehicle_class = VehicleClass::truck,
                                          .fuel = FuelKind::diesel,
                                          .base_norm_l_per_100km = 25,
                                          .mileage_km = 200,
                                          .correction_pct = 10,
                                          .trailer_l_per_100tkm = 1.3,
                                          .trailer_mass_t = 5,
                                          .work_l_per_100tkm = 1.3,
                                          .transport_work_tkm = 1500});
    CHECK(norm.norm_l == litres(90.75));
    CHECK(norm.base_l == litres(50));
    CHECK(norm.trailer_l == litres(13));
    CHECK(norm.work_l == litres(19.5));
    CHECK(norm.correction_l == litres(8.25));
}

TEST_CASE("a bus with heater hours: the heater is not corrected") {
    // Hs 30 L/100 km, S 180 km, D 20 % (winter 10 + city 10), heater Hh 2.5 L/h × T 4 h:
    //   0.01 · 30 · 180 = 54 L; 54 · 1.20 = 64.8 L; + 2.5 · 4 = 10 L; Qn = 74.8 L.
    const FuelNorm norm = normative_fuel({.vehicle_class = VehicleClass::bus,
                                          .fuel = FuelKind::diesel,
                                          .base_norm_l_per_100km = 30,
                                          .mileage_km = 180,
                                          .correction_pct = 20,
                                          .heater_l_per_h = 2.5,
                                          .heater_h = 4});
    CHECK(norm.norm_l == litres(74.8));
    CHECK(norm.base_l == litres(54));
    CHECK(norm.correction_l == litres(10.8));
    CHECK(norm.heater_l == litres(10));
}

TEST_CASE("a dump truck with loaded trips: the trips are not corrected") {
    // Hsanc 28 L/100 km, S 90 km, D 10 %, Hz 0.25 L × Z 12 loaded trips:
    //   0.01 · 28 · 90 = 25.2 L; 25.2 · 1.10 = 27.72 L; + 0.25 · 12 = 3 L; Qn = 30.72 L.
    const FuelNorm norm = normative_fuel({.vehicle_class = VehicleClass::dump_truck,
                                          .fuel = FuelKind::diesel,
                                          .base_norm_l_per_100km = 28,
                                          .mileage_km = 90,
                                          .correction_pct = 10,
                                          .loaded_trip_l = 0.25,
                                          .loaded_trips = 12});
    CHECK(norm.norm_l == litres(30.72));
    CHECK(norm.base_l == litres(25.2));
    CHECK(norm.correction_l == litres(2.52));
    CHECK(norm.loaded_trips_l == litres(3));
}

TEST_CASE("a special vehicle with equipment hours: the correction covers the equipment too") {
    // Hsc 22 L/100 km, S 40 km, Ht 8.5 L/h × T 5 h, D 10 %:
    //   0.01 · 22 · 40 = 8.8 L; 8.5 · 5 = 42.5 L; (8.8 + 42.5) · 1.10 = 51.3 · 1.10 = 56.43 L.
    const FuelNorm norm = normative_fuel({.vehicle_class = VehicleClass::special,
                                          .fuel = FuelKind::diesel,
                                          .base_norm_l_per_100km = 22,
                                          .mileage_km = 40,
                                          .correction_pct = 10,
                                          .equipment_l_per_h = 8.5,
                                          .equipment_h = 5});
    CHECK(norm.norm_l == litres(56.43));
    CHECK(norm.base_l == litres(8.8));
    CHECK(norm.equipment_l == litres(42.5));
    CHECK(norm.correction_l == litres(5.13));
}

TEST_CASE("idling with the engine required is normed per hour, up to 10 % of the base norm") {
    // The car of the first case waits 1.5 h with the engine running at 0.84 L/h (10 % of 8.4):
    //   12.6 + 0.84 · 1.5 = 12.6 + 1.26 = 13.86 L; idling is outside the correction.
    const FuelNormInput car{.vehicle_class = VehicleClass::car,
                            .fuel = FuelKind::petrol,
                            .base_norm_l_per_100km = 8.4,
                            .mileage_km = 120,
                            .correction_pct = 25,
                            .idle_l_per_h = 0.84,
                            .idle_h = 1.5};
    const FuelNorm norm = normative_fuel(car);
    CHECK(norm.norm_l == litres(13.86));
    CHECK(norm.idle_l == litres(1.26));
    CHECK(norm.correction_l == litres(2.52));

    FuelNormInput too_much = car;
    too_much.idle_l_per_h = 0.85;
    CHECK_THROWS_WITH_AS(normative_fuel(too_much),
                         doctest::Contains("idle_l_per_h 0.85 L/h is above 10 %"), InputError);
}

TEST_CASE("the breakdown always adds up to the norm") {
    const FuelNorm norm = normative_fuel({.vehicle_class = VehicleClass::truck,
                                          .fuel = FuelKind::petrol,
                                          .base_norm_l_per_100km = 31,
                                          .mileage_km = 77,
                                          .correction_pct = -15,
                                          .trailer_l_per_100tkm = 2,
                                          .trailer_mass_t = 3.5,
                                          .work_l_per_100tkm = 2,
                                          .transport_work_tkm = 420,
                                          .idle_l_per_h = 1,
                                          .idle_h = 0.5});
    // Out of town, D −15 %: (23.87 + 5.39 + 8.4) · 0.85 + 0.5 = 37.66 · 0.85 + 0.5 = 32.511 L.
    CHECK(norm.norm_l == litres(32.511));
    CHECK(norm.norm_l ==
          litres(norm.base_l + norm.trailer_l + norm.work_l + norm.equipment_l + norm.correction_l +
                 norm.heater_l + norm.loaded_trips_l + norm.idle_l));
}

TEST_CASE("bad inputs to the fuel norm are refused, naming the field") {
    const FuelNormInput car{.vehicle_class = VehicleClass::car,
                            .fuel = FuelKind::petrol,
                            .base_norm_l_per_100km = 8.4,
                            .mileage_km = 120,
                            .correction_pct = 0};
    auto with = [&](auto change) {
        FuelNormInput input = car;
        change(input);
        return input;
    };
    CHECK_THROWS_WITH_AS(normative_fuel(with([](auto& i) { i.mileage_km = -5; })),
                         "fuel norm: mileage_km must be a non-negative number (got -5)",
                         InputError);
    CHECK_THROWS_WITH_AS(normative_fuel(with([](auto& i) { i.base_norm_l_per_100km = 0; })),
                         doctest::Contains("base_norm_l_per_100km must be positive"), InputError);
    CHECK_THROWS_WITH_AS(normative_fuel(with([](auto& i) { i.idle_h = -1; })),
                         doctest::Contains("idle_h"), InputError);
    CHECK_THROWS_WITH_AS(normative_fuel(with([](auto& i) { i.correction_pct = -100; })),
                         doctest::Contains("correction_pct must be above -100"), InputError);
    CHECK_THROWS_WITH_AS(normative_fuel(with([](auto& i) { i.heater_h = 3; })),
                         doctest::Contains("heater_h is 3, but buses have that term, not a car"),
                         InputError);
    CHECK_THROWS_WITH_AS(normative_fuel(with([](auto& i) { i.transport_work_tkm = 100; })),
                         doctest::Contains("transport_work_tkm"), InputError);

    const FuelNormInput truck{.vehicle_class = VehicleClass::truck,
                              .fuel = FuelKind::diesel,
                              .base_norm_l_per_100km = 25,
                              .mileage_km = 200,
                              .correction_pct = 0,
                              .work_l_per_100tkm = 1.3,
                              .transport_work_tkm = 1500};
    CHECK_NOTHROW(normative_fuel(truck));
    FuelNormInput petrol_rate_on_diesel = truck;
    petrol_rate_on_diesel.work_l_per_100tkm = 2;
    CHECK_THROWS_WITH_AS(normative_fuel(petrol_rate_on_diesel),
                         doctest::Contains("work_l_per_100tkm 2 L/100 t·km is above the "
                                           "methodology's maximum of 1.3 for diesel"),
                         InputError);
    petrol_rate_on_diesel.fuel = FuelKind::petrol;
    CHECK_NOTHROW(normative_fuel(petrol_rate_on_diesel));
    FuelNormInput lpg = truck;
    lpg.fuel = FuelKind::lpg;
    lpg.trailer_l_per_100tkm = 2.64;
    lpg.trailer_mass_t = 4;
    CHECK_NOTHROW(normative_fuel(lpg));
    lpg.trailer_l_per_100tkm = 2.65;
    CHECK_THROWS_WITH_AS(normative_fuel(lpg), doctest::Contains("trailer_l_per_100tkm 2.65"),
                         InputError);

    const FuelNormInput dump{.vehicle_class = VehicleClass::dump_truck,
                             .fuel = FuelKind::diesel,
                             .base_norm_l_per_100km = 28,
                             .mileage_km = 90,
                             .correction_pct = 0,
                             .loaded_trip_l = 0.3,
                             .loaded_trips = 12};
    CHECK_THROWS_WITH_AS(normative_fuel(dump), doctest::Contains("loaded_trip_l 0.3 L is above"),
                         InputError);
    FuelNormInput negative_trips = dump;
    negative_trips.loaded_trip_l = 0.25;
    negative_trips.loaded_trips = -1;
    CHECK_THROWS_WITH_AS(normative_fuel(negative_trips), doctest::Contains("loaded_trips"),
                         InputError);
}

TEST_CASE("lubricants per 100 L of normative fuel, raised for old vehicles up to 20 %") {
    // The truck's 90.75 L, engine oil 2.4 L/100 L, grease 0.2 kg/100 L, raised 20 %:
    //   oil 0.9075 · 2.4 · 1.2 = 2.6136 L; grease 0.9075 · 0.2 · 1.2 = 0.2178 kg.
    const auto lubricants = normative_lubricants(
        90.75, {.oil_l_per_100l = 2.4, .grease_kg_per_100l = 0.2, .raise_pct = 20});
    CHECK(lubricants.oil_l == litres(2.6136));
    CHECK(lubricants.grease_kg == litres(0.2178));
    // Without the raise: 0.9075 · 2.4 = 2.178 L.
    CHECK(normative_lubricants(90.75, {.oil_l_per_100l = 2.4, .grease_kg_per_100l = 0.2}).oil_l ==
          litres(2.178));
    CHECK_THROWS_WITH_AS(
        normative_lubricants(90.75,
                             {.oil_l_per_100l = 2.4, .grease_kg_per_100l = 0.2, .raise_pct = 25}),
        doctest::Contains("raise_pct 25 is above the methodology's maximum of 20 %"), InputError);
    CHECK_THROWS_WITH_AS(normative_lubricants(90.75, {.oil_l_per_100l = -1}),
                         doctest::Contains("oil_l_per_100l"), InputError);
}

TEST_CASE("corrections are chosen by the waybill's date") {
    const auto corrections = company_order();
    SUBCASE("winter, valid November to March, applies in December, not in June") {
        CHECK(select_corrections(corrections, car_in_ryazan(date(2024, 12, 10))).total_pct == 25);
        const auto june = select_corrections(corrections, car_in_ryazan(date(2025, 6, 10)));
        CHECK(codes(june) == std::vector{CorrectionCode::city});
        CHECK(june.total_pct == 10);
    }
    SUBCASE("the period's ends are inclusive") {
        CHECK(select_corrections(corrections, car_in_ryazan(date(2024, 11, 1))).total_pct == 25);
        CHECK(select_corrections(corrections, car_in_ryazan(date(2024, 10, 31))).total_pct == 15);
        // 31 March 2025: winter 10 + city 10 (the new value).
        CHECK(select_corrections(corrections, car_in_ryazan(date(2025, 3, 31))).total_pct == 20);
        CHECK(select_corrections(corrections, car_in_ryazan(date(2025, 4, 1))).total_pct == 10);
    }
    SUBCASE("a value changed on a date: the old one before, the new one from that day") {
        const auto before = select_corrections(corrections, car_in_ryazan(date(2025, 1, 14)));
        const auto after = select_corrections(corrections, car_in_ryazan(date(2025, 1, 15)));
        CHECK(before.total_pct == 25);  // winter 10 + city 15
        CHECK(after.total_pct == 20);   // winter 10 + city 10
        CHECK(after.applied.back().reference == "order 2 of 2025");
    }
}

TEST_CASE("the most specific correction of a code wins, never the sum") {
    const auto corrections = company_order();
    auto winter_pct = [&](CorrectionContext context) {
        const auto applied = select_corrections(corrections, context);
        REQUIRE(codes(applied).front() == CorrectionCode::winter);
        return applied.applied.front().percent;
    };
    auto context = car_in_ryazan(date(2025, 1, 20));
    CHECK(winter_pct(context) == 10);  // general
    context.region = "Murmansk";
    CHECK(winter_pct(context) == 15);  // region beats general: 15, not 10 + 15
    CHECK(select_corrections(corrections, context).total_pct == 15);
    context.vehicle_class = VehicleClass::bus;
    context.region = "Ryazan";
    CHECK(winter_pct(context) == 12);  // class beats general
    context.region = "Murmansk";
    CHECK(winter_pct(context) == 13);  // class + region beats class and region alone
    context.make_model = "PAZ-3205";
    CHECK(winter_pct(context) == 18);  // model beats everything
    CHECK(select_corrections(corrections, context).total_pct == 18);
}

TEST_CASE("conditions: air conditioning when used, age tiers, declared road conditions") {
    const auto corrections = company_order();
    auto context = car_in_ryazan(date(2025, 6, 10));  // city 10 % only
    CHECK(select_corrections(corrections, context).total_pct == 10);
    context.aircon_used = true;
    CHECK(select_corrections(corrections, context).total_pct == 17);

    context.aircon_used = false;
    context.vehicle_age_years = 5;  // not older than 5
    CHECK(select_corrections(corrections, context).total_pct == 10);
    context.vehicle_age_years = 5.5;
    CHECK(select_corrections(corrections, context).total_pct == 15);
    context.vehicle_age_years = 9;  // both tiers hold: the higher, 10 %, not 5 + 10
    CHECK(select_corrections(corrections, context).total_pct == 20);
    context.vehicle_age_years = 2;
    context.vehicle_total_km = 160'000;  // young but worn: over 150 000 km
    CHECK(select_corrections(corrections, context).total_pct == 20);

    context.vehicle_total_km = 1000;
    context.declared = {CorrectionCode::heavy_road};
    CHECK(select_corrections(corrections, context).total_pct == 45);
    CHECK(codes(select_corrections(corrections, context)) ==
          std::vector{CorrectionCode::city, CorrectionCode::heavy_road});
}

TEST_CASE("a correction configuration with overlapping periods is refused") {
    auto corrections = company_order();
    // A second general winter value whose period overlaps the first one's.
    corrections.push_back({.code = CorrectionCode::winter,
                           .percent = 12,
                           .valid_from = date(2025, 3, 1),
                           .valid_to = date(2025, 4, 15),
                           .reference = "order 20"});
    CHECK_THROWS_WITH_AS(
        validate_corrections(corrections),
        "configuration: 'corrections[11] (winter 12 % 2025-03-01..2025-04-15, order 20)': its "
        "period overlaps corrections[0] (winter 10 % 2024-11-01..2025-03-31, order 14, item 1: "
        "winter, everywhere), which has the same code, scope and condition",
        ConfigError);
    // Used without validation, the ambiguity is still refused where it matters.
    CHECK_THROWS_AS(select_corrections(corrections, car_in_ryazan(date(2025, 3, 10))), ConfigError);
    CHECK(select_corrections(corrections, car_in_ryazan(date(2025, 4, 10))).total_pct == 22);

    corrections.back().valid_from = date(2025, 4, 1);  // adjacent, no longer overlapping
    CHECK_NOTHROW(validate_corrections(corrections));

    // An open-ended period overlaps everything after its start.
    corrections.push_back({.code = CorrectionCode::city,
                           .percent = 12,
                           .valid_from = date(2030, 1, 1),
                           .region = "Ryazan"});
    CHECK_THROWS_WITH_AS(validate_corrections(corrections), doctest::Contains("order 2 of 2025"),
                         ConfigError);
}

TEST_CASE("malformed corrections are refused by name") {
    auto one = [](Correction c) { return std::vector<Correction>{std::move(c)}; };
    CHECK_THROWS_WITH_AS(validate_corrections(one({.code = CorrectionCode::winter,
                                                   .percent = 10,
                                                   .valid_from = date(2025, 3, 31),
                                                   .valid_to = date(2024, 11, 1)})),
                         doctest::Contains("valid_to is before valid_from"), ConfigError);
    CHECK_THROWS_WITH_AS(validate_corrections(one({.code = CorrectionCode::city,
                                                   .percent = 150,
                                                   .valid_from = date(2025, 1, 1),
                                                   .reference = "typo"})),
                         doctest::Contains("(city 150 % 2025-01-01.., typo)': percent must be"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(validate_corrections(one({.code = CorrectionCode::age,
                                                   .percent = 5,
                                                   .valid_from = date(2025, 1, 1),
                                                   .condition = CorrectionCondition::vehicle_age})),
                         doctest::Contains("needs older_than_years or more_than_km"), ConfigError);
    CHECK_THROWS_WITH_AS(validate_corrections(one({.code = CorrectionCode::age,
                                                   .percent = 5,
                                                   .valid_from = date(2025, 1, 1),
                                                   .older_than_years = 5})),
                         doctest::Contains("belong to condition vehicle_age, not always"),
                         ConfigError);
    CHECK_THROWS_WITH_AS(validate_corrections(one({.code = CorrectionCode::city,
                                                   .percent = 5,
                                                   .valid_from = date(2025, 1, 1),
                                                   .region = ""})),
                         doctest::Contains("region is given but empty"), ConfigError);
    CHECK_THROWS_WITH_AS(
        validate_corrections(
            one({.code = CorrectionCode::city, .percent = 5, .valid_from = date(2025, 2, 30)})),
        doctest::Contains("valid_from is not a valid date"), ConfigError);
}

TEST_CASE("vehicle classes, fuels, codes and conditions by their database names") {
    for (const auto cls : {VehicleClass::car, VehicleClass::bus, VehicleClass::truck,
                           VehicleClass::dump_truck, VehicleClass::special}) {
        CHECK(parse_vehicle_class(to_string(cls)) == cls);
    }
    CHECK(to_string(VehicleClass::dump_truck) == "dump_truck");
    CHECK_THROWS_WITH_AS(parse_vehicle_class("lorry"),
                         "vehicle_class: 'lorry' is not one of car, bus, truck, dump_truck, "
                         "special",
                         InputError);
    CHECK(parse_fuel_kind("lpg") == FuelKind::lpg);
    CHECK_THROWS_AS(parse_fuel_kind("Diesel"), InputError);
    CHECK(parse_correction_code("out_of_town") == CorrectionCode::out_of_town);
    CHECK(to_string(CorrectionCode::frequent_stops) == "frequent_stops");
    CHECK_THROWS_WITH_AS(parse_correction_code("snow"), doctest::Contains("correction code"),
                         InputError);
    CHECK(parse_correction_condition("vehicle_age") == CorrectionCondition::vehicle_age);
    CHECK(to_string(CorrectionCondition::aircon_used) == "aircon_used");
}

TEST_CASE("fuel identities of a waybill") {
    CHECK(mileage_km(12'345, 12'465) == 120);
    CHECK(mileage_km(500, 500) == 0);
    CHECK_THROWS_WITH_AS(mileage_km(12'465, 12'345),
                         "odometer: odometer_return_km 12345 is below odometer_departure_km "
                         "12465 (a rollover or an odometer replacement must be recorded)",
                         InputError);
    CHECK_THROWS_WITH_AS(mileage_km(-1, 5), doctest::Contains("odometer_departure_km"), InputError);
    // A 99 999 counter rolls over: 99 950 → 120 is 50 km to 100 000 and 120 km after.
    CHECK(mileage_across_rollover_km(99'950, 120, 100'000) == 170);
    CHECK_THROWS_WITH_AS(mileage_across_rollover_km(99'950, 99'960, 100'000),
                         doctest::Contains("odometer_return_km 99960 must be"), InputError);
    CHECK_THROWS_AS(mileage_across_rollover_km(120'000, 10, 100'000), InputError);

    // 40 L at departure, 60 L issued, 0 handed over, 35 L at return: 40 + 60 − 0 − 35 = 65 L.
    const double actual = fuel_actual_l({.remainder_departure_l = 40,
                                         .issued_l = 60,
                                         .handed_over_l = 0,
                                         .remainder_return_l = 35});
    CHECK(actual == 65);
    // Norm 62.3 L: 62.3 − 65 = −2.7 L, an overspend.
    CHECK(saving_l(62.3, actual) == litres(-2.7));
    CHECK(saving_l(12.6, 11.2) == litres(1.4));
    // More fuel back than went out: undocumented fuel, returned for the reconciliation to flag.
    CHECK(fuel_actual_l({.remainder_departure_l = 10,
                         .issued_l = 0,
                         .handed_over_l = 0,
                         .remainder_return_l = 15}) == -5);
    CHECK_THROWS_WITH_AS(fuel_actual_l({.remainder_departure_l = 40,
                                        .issued_l = -60,
                                        .handed_over_l = 0,
                                        .remainder_return_l = 35}),
                         "fuel block: issued_l must be a non-negative number (got -60)",
                         InputError);
    CHECK_THROWS_WITH_AS(saving_l(-1, 5), doctest::Contains("fuel_norm_l"), InputError);
}

TEST_CASE("litres are stated to 0.01 L before they are compared") {
    // 0.01 · 8.4 · 106 · 1.25 in binary is 11.129999999999999: the waybill says 11.13.
    const auto norm = normative_fuel({.vehicle_class = VehicleClass::car,
                                      .fuel = FuelKind::petrol,
                                      .base_norm_l_per_100km = 8.4,
                                      .mileage_km = 106,
                                      .correction_pct = 25});
    CHECK(norm.norm_l < 11.13);
    const auto stated = stated_norm(norm);
    CHECK(stated.norm_l == 11.13);
    CHECK(stated.base_l == 8.9);
    CHECK(stated.correction_l == 2.23);  // 2.2275: parts are stated on their own
    CHECK(stated.correction_pct == 25);
    // 41.13 − 30 is 11.130000000000003 in binary.
    const double actual = fuel_actual_l({.remainder_departure_l = 41.13,
                                         .issued_l = 0,
                                         .handed_over_l = 0,
                                         .remainder_return_l = 30});
    CHECK(actual == 11.13);
    CHECK(saving_l(norm.norm_l, actual) == 0.0);
    CHECK(saving_l(10.08, 12.5) == -2.42);
    CHECK(saving_l(18.449999999999996, 18.45) == 0.0);
    CHECK(saving_l(18.444, 18.45) == -0.01);  // the norm states 18.44
    CHECK(stated_l(2.675) == 2.68);
    CHECK(stated_l(-0.004) == 0.0);
    CHECK_THROWS_AS(stated_l(std::numeric_limits<double>::quiet_NaN()), InputError);
}

TEST_CASE("a model's norms: every problem by column") {
    CHECK(model_norm_problems({.vehicle_class = VehicleClass::bus,
                               .fuel = FuelKind::diesel,
                               .base_l_per_100km = 41.5,
                               .heater_l_per_h = 3.5,
                               .idle_l_per_h = 4.15})
              .empty());
    const auto problems = model_norm_problems({.vehicle_class = VehicleClass::car,
                                               .fuel = FuelKind::petrol,
                                               .base_l_per_100km = 0,
                                               .heater_l_per_h = 2,
                                               .work_l_per_100tkm = 0,
                                               .trailer_l_per_100tkm = 0,
                                               .loaded_trip_l = 0,
                                               .equipment_l_per_h = 0,
                                               .idle_l_per_h = 0,
                                               .oil_l_per_100l = -1,
                                               .grease_kg_per_100l = 150});
    REQUIRE(problems.size() == 4);
    CHECK(problems[0].first == "heater_l_per_h");
    CHECK(problems[1] == std::pair<std::string, std::string>{
                             "oil_l_per_100l", "must be a non-negative number (got -1)"});
    CHECK(problems[2].first == "base_l_per_100km");
    CHECK(problems[3].second == "150 per 100 L of fuel is more lubricant than fuel");
    // The tonne-km maxima depend on the fuel: 2 L/100 t·km is allowed on petrol, not on diesel.
    const ModelNorms truck{.vehicle_class = VehicleClass::truck,
                           .fuel = FuelKind::petrol,
                           .base_l_per_100km = 25,
                           .work_l_per_100tkm = 2};
    CHECK(model_norm_problems(truck).empty());
    auto diesel = truck;
    diesel.fuel = FuelKind::diesel;
    REQUIRE(model_norm_problems(diesel).size() == 1);
    CHECK(model_norm_problems(diesel)[0].first == "work_l_per_100tkm");
}
