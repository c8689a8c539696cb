#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "waybills/reconcile.hpp"
#include "waybills/table.hpp"

/// The accountants' reports (issue 5): the register of waybills for a period and the monthly
/// summaries per vehicle and per driver, built from reconciliations as sheets that table.hpp
/// writes as CSV or XLSX. Pure functions: no database, no clock.
///
/// Litres are shown with 2 decimals, GPS kilometres with 1, odometer kilometres as integers.
/// A figure that is unknown (no norm for the model, no odometer reading) is an empty cell, never
/// a zero. A waybill belongs to the calendar month of its first validity day (`valid_from`, the
/// issuer's local date), or of its departure in UTC when that is missing.
namespace fleet::waybills {

/// The sheet names, as they appear in a workbook.
inline constexpr const char* waybills_sheet_name = "Waybills";
inline constexpr const char* vehicles_sheet_name = "Vehicles";
inline constexpr const char* drivers_sheet_name = "Drivers";

/// The zone the waybills sheet shows its times in: the issuers' zone when they all share one
/// (the usual case), else "issuer's local time" (each row in its own issuer's zone).
std::string report_time_zone(const std::vector<Reconciliation>& reconciliations);

/// One row per waybill, in the order given: number (ISSUER/NUMBER), validity (date cells),
/// departure and return (date-and-time cells on the issuer's wall clock, the zone named in the
/// column titles: "Departed (Europe/Moscow)"), vehicle, driver, odometer out and in, mileage by
/// odometer and by GPS, fuel out, issued, handed over and in, norm, actual, saving (negative:
/// overspend), violations, status, the discrepancy codes joined by "; " and their messages joined
/// by "; ".
Sheet waybills_sheet(const std::vector<Reconciliation>& reconciliations);

/// One row per vehicle and calendar month (a date cell shown "YYYY-MM"), ordered by month and
/// registration: waybills, km by odometer, km by GPS, fuel norm, actual, saving, violations, and
/// waybills with discrepancies. Each sum is over the waybills where the figure is known (empty when
/// none is); a waybill without a norm shows up in the discrepancy count (code no_norm).
Sheet vehicles_sheet(const std::vector<Reconciliation>& reconciliations);

/// The same per driver (by full name) and calendar month, ordered by month and name.
Sheet drivers_sheet(const std::vector<Reconciliation>& reconciliations);

/// "Receipts without waybill": fuel paid for with no trip to explain it, one row per receipt,
/// its time in UTC (a receipt has a vehicle, not an issuer).
Sheet receipts_sheet(const std::vector<LooseReceipt>& receipts);

/// The sheets in the order above, for a workbook.
std::vector<Sheet> waybill_report(const std::vector<Reconciliation>& reconciliations,
                                  const std::vector<LooseReceipt>& receipts);

/// The sheet a CSV report is of, by its name: "waybills", "vehicles", "drivers" or "receipts".
/// Throws InputError naming the four for any other name.
Sheet report_sheet(const std::string& name, const std::vector<Reconciliation>& reconciliations,
                   const std::vector<LooseReceipt>& receipts);

/// Whether `name` is one report_sheet knows.
bool is_report_sheet(const std::string& name);

/// Unix milliseconds as UTC ISO 8601 to the second: "2026-11-27T04:30:00Z".
std::string utc_iso(std::int64_t time_ms);

/// The calendar month a waybill is counted in, "YYYY-MM" (see the namespace comment).
std::string report_month(const Reconciliation& reconciliation);

}  // namespace fleet::waybills
