#include "waybills/report.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <tuple>

namespace fleet::waybills {

namespace {

constexpr int litre_decimals = 2;
constexpr int gps_km_decimals = 1;

Cell litres(double value) {
    return Decimal{value, litre_decimals};
}

Cell litres(const std::optional<double>& value) {
    return value ? litres(*value) : Cell{};
}

Cell km(const std::optional<std::int64_t>& value) {
    return value ? Cell{*value} : Cell{};
}

// A moment of the trip on the issuer's wall clock.
Cell local(std::int64_t time_ms, std::int32_t offset_s) {
    return DateTime{.wall_ms = time_ms + std::int64_t{offset_s} * 1000,
                    .precision = DateTime::Precision::minute};
}

Cell date_or_text(const std::string& date) {
    try {
        return date_cell(date);
    } catch (const InputError&) {
        return date;
    }
}

std::string joined(const std::vector<Discrepancy>& discrepancies, std::string Discrepancy::*part) {
    std::string out;
    for (const auto& d : discrepancies) {
        out += (out.empty() ? "" : "; ") + d.*part;
    }
    return out;
}

// A sum over the waybills where the figure is known; unknown while none is.
template <typename T>
struct Sum {
    std::optional<T> total;
    void add(const std::optional<T>& value) {
        if (value) {
            total = total.value_or(T{}) + *value;
        }
    }
};

struct MonthTotals {
    std::string name;  // registration or driver
    std::int64_t waybills = 0;
    Sum<std::int64_t> odometer_km;
    double gps_km = 0;
    Sum<double> norm_l, actual_l, saving_l;
    std::int64_t violations = 0;
    std::int64_t with_discrepancies = 0;

    void add(const Reconciliation& r) {
        ++waybills;
        odometer_km.add(r.mileage_km);
        gps_km += r.gps_km();
        norm_l.add(r.norm ? std::optional<double>(r.norm->norm_l) : std::nullopt);
        actual_l.add(r.actual_l);
        saving_l.add(r.saving_l);
        violations += static_cast<std::int64_t>(r.violations.size());
        with_discrepancies += r.discrepancies.empty() ? 0 : 1;
    }
};

// Groups by (month, key), ordered by month then by the name shown.
template <typename Key, typename KeyOf, typename NameOf>
Sheet monthly(const char* sheet_name, const char* who, const std::vector<Reconciliation>& all,
              KeyOf key_of, NameOf name_of) {
    std::map<std::tuple<std::string, std::string, Key>, MonthTotals> groups;
    for (const auto& r : all) {
        auto& totals = groups[{report_month(r), name_of(r), key_of(r)}];
        totals.name = name_of(r);
        totals.add(r);
    }
    Sheet sheet{
        .name = sheet_name,
        .columns = {"Month", who, "Waybills", "Mileage by odometer, km", "Mileage by GPS, km",
                    "Fuel norm, L", "Fuel actual, L", "Saving (overspend < 0), L", "Violations",
                    "Waybills with discrepancies"}};
    for (const auto& [key, t] : groups) {
        sheet.rows.push_back({date_or_text(std::get<0>(key)), t.name, t.waybills,
                              km(t.odometer_km.total), Decimal{t.gps_km, gps_km_decimals},
                              litres(t.norm_l.total), litres(t.actual_l.total),
                              litres(t.saving_l.total), t.violations, t.with_discrepancies});
    }
    return sheet;
}

}  // namespace

std::string utc_iso(std::int64_t time_ms) {
    using namespace std::chrono;
    const sys_seconds t = floor<seconds>(sys_time<milliseconds>(milliseconds(time_ms)));
    const auto day = floor<days>(t);
    const year_month_day date(day);
    const hh_mm_ss time(t - day);
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return out;
}

std::string report_month(const Reconciliation& r) {
    if (r.valid_from.size() >= 7) {
        return r.valid_from.substr(0, 7);
    }
    return utc_iso(r.departed_ms).substr(0, 7);
}

namespace {

std::string notes(const std::vector<std::string>& all) {
    std::string out;
    for (const auto& n : all) {
        out += (out.empty() ? "" : "; ") + n;
    }
    return out;
}

}  // namespace

std::string report_time_zone(const std::vector<Reconciliation>& all) {
    std::string zone;
    for (const auto& r : all) {
        if (!zone.empty() && r.time_zone != zone) {
            return "issuer's local time";
        }
        zone = r.time_zone;
    }
    return zone.empty() ? "issuer's local time" : zone;
}

Sheet waybills_sheet(const std::vector<Reconciliation>& all) {
    const auto zone = report_time_zone(all);
    Sheet sheet{.name = waybills_sheet_name,
                .columns = {"Number",
                            "Valid from",
                            "Valid to",
                            "Departed (" + zone + ")",
                            "Returned (" + zone + ")",
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
                            "Notes"}};
    for (const auto& r : all) {
        sheet.rows.push_back({r.issuer + "/" + std::to_string(r.number),
                              date_or_text(r.valid_from),
                              date_or_text(r.valid_to),
                              local(r.departed_ms, r.departed_offset_s),
                              local(r.returned_ms, r.returned_offset_s),
                              r.registration,
                              r.driver_name,
                              km(r.odometer_out_km),
                              km(r.odometer_in_km),
                              km(r.mileage_km),
                              Decimal{r.gps_km(), gps_km_decimals},
                              litres(r.fuel_out_l),
                              litres(r.fuel_issued_l),
                              litres(r.fuel_handed_over_l),
                              litres(r.fuel_in_l),
                              r.norm ? litres(r.norm->norm_l) : Cell{},
                              litres(r.actual_l),
                              litres(r.saving_l),
                              static_cast<std::int64_t>(r.violations.size()),
                              r.status,
                              joined(r.discrepancies, &Discrepancy::code),
                              joined(r.discrepancies, &Discrepancy::message),
                              notes(r.notes)});
    }
    return sheet;
}

Sheet vehicles_sheet(const std::vector<Reconciliation>& all) {
    return monthly<std::int64_t>(
        vehicles_sheet_name, "Vehicle", all, [](const Reconciliation& r) { return r.vehicle_id; },
        [](const Reconciliation& r) { return r.registration; });
}

Sheet drivers_sheet(const std::vector<Reconciliation>& all) {
    return monthly<std::int64_t>(
        drivers_sheet_name, "Driver", all, [](const Reconciliation& r) { return r.driver_id; },
        [](const Reconciliation& r) { return r.driver_name; });
}

Sheet receipts_sheet(const std::vector<LooseReceipt>& receipts) {
    Sheet sheet{.name = "Receipts without waybill",
                .columns = {"Time (UTC)", "Vehicle", "Volume, L", "Card or coupon", "Source",
                            "Odometer at the pump, km"}};
    for (const auto& r : receipts) {
        sheet.rows.push_back({local(r.time_ms, 0), r.registration, litres(r.volume_l),
                              r.card_or_coupon, r.source, km(r.odometer_km)});
    }
    return sheet;
}

std::vector<Sheet> waybill_report(const std::vector<Reconciliation>& all,
                                  const std::vector<LooseReceipt>& receipts) {
    return {waybills_sheet(all), vehicles_sheet(all), drivers_sheet(all), receipts_sheet(receipts)};
}

bool is_report_sheet(const std::string& name) {
    return name == "waybills" || name == "vehicles" || name == "drivers" || name == "receipts";
}

Sheet report_sheet(const std::string& name, const std::vector<Reconciliation>& all,
                   const std::vector<LooseReceipt>& receipts) {
    if (name == "waybills") {
        return waybills_sheet(all);
    }
    if (name == "vehicles") {
        return vehicles_sheet(all);
    }
    if (name == "drivers") {
        return drivers_sheet(all);
    }
    if (name == "receipts") {
        return receipts_sheet(receipts);
    }
    throw InputError("a report sheet is waybills, vehicles, drivers or receipts, not '" +
                     name.substr(0, 32) + "'");
}

}  // namespace fleet::waybills
