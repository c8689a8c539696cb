#include <doctest/doctest.h>

#include <chrono>
#include <sstream>

#include "waybills/report.hpp"

using namespace fleet::waybills;
using namespace std::chrono;

namespace {

std::int64_t at_ms(year_month_day date, hours h, minutes m = minutes(0)) {
    return duration_cast<milliseconds>((sys_days(date) + h + m).time_since_epoch()).count();
}

// A cell as both writers show it.
std::string shown(const Cell& cell) {
    if (const auto* s = std::get_if<std::string>(&cell)) {
        return *s;
    }
    if (const auto* i = std::get_if<std::int64_t>(&cell)) {
        return std::to_string(*i);
    }
    if (const auto* d = std::get_if<Decimal>(&cell)) {
        return format_decimal(d->value, d->decimals);
    }
    if (const auto* t = std::get_if<DateTime>(&cell)) {
        return format_date_time(*t);
    }
    return "";
}

std::vector<std::string> shown(const std::vector<Cell>& row) {
    std::vector<std::string> out;
    for (const auto& c : row) {
        out.push_back(shown(c));
    }
    return out;
}

struct Figures {
    std::int64_t mileage_km;
    double gps_km;
    std::optional<double> norm_l;
    double actual_l;
    int violations;
    std::vector<Discrepancy> discrepancies;
};

// A reconciled day's waybill, as reconcile() would return it.
Reconciliation waybill(std::int64_t number, std::int64_t vehicle_id, std::string registration,
                       std::string driver, year_month_day date, const Figures& f) {
    Reconciliation r;
    r.waybill_id = number + 100;
    r.issuer = "ACME";
    r.number = number;
    r.status = "returned";
    const auto day_text = [](year_month_day d) {
        char out[16];
        std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(d.year()),
                      static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
        return std::string(out);
    };
    r.valid_from = r.valid_to = day_text(date);
    r.vehicle_id = vehicle_id;
    r.registration = std::move(registration);
    r.make_model = "LADA Largus";
    r.driver_name = std::move(driver);
    r.departed_ms = at_ms(date, hours(4), minutes(30));
    r.returned_ms = at_ms(date, hours(13), minutes(15));
    r.time_zone = "Europe/Moscow";
    r.departed_offset_s = r.returned_offset_s = 3 * 3600;
    r.odometer_out_km = 12000;
    r.odometer_in_km = 12000 + f.mileage_km;
    r.mileage_km = f.mileage_km;
    r.track.distance_m = f.gps_km * 1000;
    r.fuel_out_l = 40;
    r.fuel_issued_l = 30;
    r.fuel_handed_over_l = 0;
    r.fuel_in_l = 40 + 30 - f.actual_l;
    if (f.norm_l) {
        r.norm = FuelNorm{.norm_l = *f.norm_l, .base_l = *f.norm_l};
        r.saving_l = *f.norm_l - f.actual_l;
    }
    r.actual_l = f.actual_l;
    for (int i = 0; i < f.violations; ++i) {
        r.violations.push_back({.kind = "overspeed",
                                .started_ms = r.departed_ms + 3600000 * i,
                                .magnitude = 25,
                                .tier = "+20-40"});
    }
    r.discrepancies = f.discrepancies;
    return r;
}

constexpr auto nov = November;
constexpr auto dec = December;

// A month of two vehicles and two drivers: A123BC twice in November (Ivanov, then Petrov) and
// once in December (Ivanov, a model without a norm); B456CD once in November (Petrov).
std::vector<Reconciliation> fleet_month() {
    return {
        waybill(17, 1, "A123BC 77", "Ivanov Ivan", 2026y / nov / 2,
                {120,
                 121.37,
                 26.4,
                 24.6,
                 2,
                 {{"gps_gap", "1 gap(s) in the track"},
                  {"unlinked_receipt", "fuel receipt of 10.0 L is not on the waybill"}}}),
        waybill(18, 2, "B456CD 77", "Petrov Pyotr", 2026y / nov / 5, {30, 29.96, 6.6, 6.0, 1, {}}),
        waybill(19, 1, "A123BC 77", "Petrov Pyotr", 2026y / nov / 20,
                {80, 79.9, 17.6, 19.0, 0, {{"overspend", "overspend 1.40 L"}}}),
        waybill(20, 1, "A123BC 77", "Ivanov Ivan", 2026y / dec / 1,
                {50, 50.2, std::nullopt, 6.0, 0, {{"no_norm", "no fuel norm"}}}),
    };
}

}  // namespace

TEST_CASE("the waybill register has one row per waybill with every figure") {
    const auto sheet = waybills_sheet(fleet_month());
    CHECK(sheet.name == "Waybills");
    REQUIRE(sheet.rows.size() == 4);
    CHECK(sheet.columns == std::vector<std::string>{"Number",
                                                    "Valid from",
                                                    "Valid to",
                                                    "Departed (Europe/Moscow)",
                                                    "Returned (Europe/Moscow)",
                                                    "Vehicle",
                                                    "Driver",
                                                    "Odometer out, km",
                                                    "Odometer in, km",
                                                    "Mileage by odometer, km",
                                                    "Mileage by GPS, km",
                                                    "Fuel out, L",
                                                    "Fuel issued, L",
                                                    "Fuel handed over, L",
                                                    "Fuel in, L",
                                                    "Fuel norm, L",
                                                    "Fuel actual, L",
                                                    "Saving (overspend < 0), L",
                                                    "Violations",
                                                    "Status",
                                                    "Discrepancies",
                                                    "Discrepancy details",
                                                    "Notes"});
    CHECK(shown(sheet.rows[0]) ==
          std::vector<std::string>{"ACME/17",
                                   "2026-11-02",
                                   "2026-11-02",
                                   "2026-11-02 07:30",
                                   "2026-11-02 16:15",
                                   "A123BC 77",
                                   "Ivanov Ivan",
                                   "12000",
                                   "12120",
                                   "120",
                                   "121.4",
                                   "40.00",
                                   "30.00",
                                   "0.00",
                                   "45.40",
                                   "26.40",
                                   "24.60",
                                   "1.80",
                                   "2",
                                   "returned",
                                   "gps_gap; unlinked_receipt",
                                   "1 gap(s) in the track; fuel receipt of 10.0 L is not on the "
                                   "waybill",
                                   ""});
    // Numbers stay numbers (the XLSX writer stores them as such), with their decimals.
    const auto& row = sheet.rows[0];
    CHECK(std::get<std::int64_t>(row[9]) == 120);
    CHECK(std::get<Decimal>(row[10]).decimals == 1);
    CHECK(std::get<Decimal>(row[15]).decimals == 2);
    CHECK(std::get<Decimal>(row[17]).value == doctest::Approx(1.8));
    // Dates are dates: the validity as days, the departure and return to the minute on the
    // issuer's clock (UTC 04:30 is 07:30 in Moscow).
    CHECK(std::get<DateTime>(row[1]).precision == DateTime::Precision::day);
    CHECK(std::get<DateTime>(row[3]).precision == DateTime::Precision::minute);
    CHECK(std::get<DateTime>(row[3]).wall_ms == at_ms(2026y / nov / 2, hours(7), minutes(30)));

    // An overspend is negative; a waybill without a norm has no norm and no saving, not zeros.
    CHECK(shown(sheet.rows[2][17]) == "-1.40");
    CHECK(std::holds_alternative<std::monostate>(sheet.rows[3][15]));
    CHECK(std::holds_alternative<std::monostate>(sheet.rows[3][17]));
    CHECK(shown(sheet.rows[3][16]) == "6.00");
    CHECK(shown(sheet.rows[1][20]).empty());
}

TEST_CASE("the register names its issuers' zone, or says the times are each issuer's own") {
    auto all = fleet_month();
    CHECK(report_time_zone(all) == "Europe/Moscow");
    all[1].time_zone = "Asia/Yekaterinburg";
    all[1].departed_offset_s = 5 * 3600;
    CHECK(report_time_zone(all) == "issuer's local time");
    const auto sheet = waybills_sheet(all);
    CHECK(sheet.columns[3] == "Departed (issuer's local time)");
    CHECK(shown(sheet.rows[1][3]) == "2026-11-05 09:30");
    CHECK(report_time_zone({}) == "issuer's local time");
}

TEST_CASE("dates and months read and print as they are written") {
    CHECK(format_date_time(date_cell("2026-12-31")) == "2026-12-31");
    CHECK(format_date_time(date_cell("2026-12")) == "2026-12");
    CHECK(date_cell("2026-12").wall_ms == at_ms(2026y / dec / 1, hours(0)));
    CHECK_THROWS_AS(date_cell("2026-02-30"), fleet::InputError);
    CHECK_THROWS_AS(date_cell("2026/12/01"), fleet::InputError);
    CHECK(format_number(-3) == "-3");
    CHECK(format_number(152342.5) == "152342.5");
    CHECK(format_number(0.1) == "0.1");
}

TEST_CASE("unknown odometer and fuel readings are empty cells") {
    auto r = fleet_month().front();
    r.odometer_in_km.reset();
    r.mileage_km.reset();
    r.fuel_in_l.reset();
    r.actual_l.reset();
    r.saving_l.reset();
    const auto row = shown(waybills_sheet(std::vector<Reconciliation>{r}).rows.at(0));
    CHECK(row[7] == "12000");
    CHECK(row[8].empty());
    CHECK(row[9].empty());
    CHECK(row[14].empty());
    CHECK(row[16].empty());
    CHECK(row[17].empty());
}

TEST_CASE("the vehicle summary sums a vehicle's waybills per calendar month") {
    const auto sheet = vehicles_sheet(fleet_month());
    CHECK(sheet.name == "Vehicles");
    CHECK(sheet.columns == std::vector<std::string>{"Month", "Vehicle", "Waybills",
                                                    "Mileage by odometer, km", "Mileage by GPS, km",
                                                    "Fuel norm, L", "Fuel actual, L",
                                                    "Saving (overspend < 0), L", "Violations",
                                                    "Waybills with discrepancies"});
    REQUIRE(sheet.rows.size() == 3);
    // Two waybills of A123BC in November: 120 + 80 km, 121.37 + 79.9 km by GPS, norms 26.4 +
    // 17.6, actual 24.6 + 19.0, saving 1.8 − 1.4.
    CHECK(shown(sheet.rows[0]) == std::vector<std::string>{"2026-11", "A123BC 77", "2", "200",
                                                           "201.3", "44.00", "43.60", "0.40", "2",
                                                           "2"});
    CHECK(shown(sheet.rows[1]) == std::vector<std::string>{"2026-11", "B456CD 77", "1", "30",
                                                           "30.0", "6.60", "6.00", "0.60", "1",
                                                           "0"});
    // December is a month of its own; without a norm, norm and saving are unknown, not 0.
    CHECK(shown(sheet.rows[2]) == std::vector<std::string>{"2026-12", "A123BC 77", "1", "50",
                                                           "50.2", "", "6.00", "", "0", "1"});
}

TEST_CASE("the driver summary sums a driver's waybills across vehicles per month") {
    const auto sheet = drivers_sheet(fleet_month());
    CHECK(sheet.name == "Drivers");
    CHECK(sheet.columns.at(1) == "Driver");
    REQUIRE(sheet.rows.size() == 3);
    CHECK(shown(sheet.rows[0]) == std::vector<std::string>{"2026-11", "Ivanov Ivan", "1", "120",
                                                           "121.4", "26.40", "24.60", "1.80", "2",
                                                           "1"});
    // Petrov drove B456CD on the 5th and A123BC on the 20th.
    CHECK(shown(sheet.rows[1]) == std::vector<std::string>{"2026-11", "Petrov Pyotr", "2", "110",
                                                           "109.9", "24.20", "25.00", "-0.80", "1",
                                                           "1"});
    CHECK(shown(sheet.rows[2]) == std::vector<std::string>{"2026-12", "Ivanov Ivan", "1", "50",
                                                           "50.2", "", "6.00", "", "0", "1"});
}

TEST_CASE("a sum over waybills with an unknown mileage counts the known ones") {
    auto all = fleet_month();
    all[2].mileage_km.reset();
    const auto sheet = vehicles_sheet(all);
    CHECK(shown(sheet.rows.at(0)[3]) == "120");
    all[0].mileage_km.reset();
    CHECK(shown(vehicles_sheet(all).rows.at(0)[3]).empty());
}

TEST_CASE("a waybill is counted in the month of its first validity day") {
    auto r = fleet_month().front();
    r.valid_from = "2026-12-01";  // issued for 1 December local time, departed 30 November UTC
    r.valid_to = "2026-12-01";
    r.departed_ms = at_ms(2026y / nov / 30, hours(22));
    CHECK(report_month(r) == "2026-12");
    r.valid_from.clear();
    CHECK(report_month(r) == "2026-11");
}

TEST_CASE("times are UTC ISO 8601 to the second") {
    CHECK(utc_iso(0) == "1970-01-01T00:00:00Z");
    CHECK(utc_iso(at_ms(2026y / nov / 27, hours(4), minutes(30)) + 999) == "2026-11-27T04:30:00Z");
    CHECK(utc_iso(-1) == "1969-12-31T23:59:59Z");
}

TEST_CASE("the report's sheets are accepted by the writers") {
    const auto sheets =
        waybill_report(fleet_month(), {{.transaction_id = 5,
                                        .registration = "A123BC 77",
                                        .time_ms = at_ms(2026y / nov / 7, hours(22), minutes(5)),
                                        .volume_l = 55,
                                        .card_or_coupon = "card 7001",
                                        .source = "card",
                                        .odometer_km = {}}});
    REQUIRE(sheets.size() == 4);
    CHECK(sheets[0].name == "Waybills");
    CHECK(sheets[1].name == "Vehicles");
    CHECK(sheets[2].name == "Drivers");
    CHECK(sheets[3].name == "Receipts without waybill");
    REQUIRE(sheets[3].rows.size() == 1);
    CHECK(shown(sheets[3].rows[0][0]) == "2026-11-07 22:05");
    CHECK(sheets[3].columns[0] == "Time (UTC)");
    CHECK(std::get<Decimal>(sheets[3].rows[0][2]).value == 55);
    CHECK(std::holds_alternative<std::monostate>(sheets[3].rows[0][5]));
    std::ostringstream out;
    write_csv(out, sheets[0]);
    const auto text = out.str();
    CHECK(text.rfind("Number,Valid from,Valid to,", 0) == 0);
    CHECK(text.find("\r\nACME/17,2026-11-02,2026-11-02,2026-11-02 07:30,2026-11-02 16:15,") !=
          std::string::npos);
    CHECK(text.find(",\"Mileage by odometer, km\",") != std::string::npos);
}
