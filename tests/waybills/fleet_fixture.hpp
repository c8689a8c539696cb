#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <pqxx/pqxx>

#include "waybills/store.hpp"

/// A small fleet for the waybill tests: issuer FLEET with every detail, a LADA Largus A123BC
/// (car, 10 L/100 km, Moscow, built 2019), driver Ivan Petrov (0042) with a licence, and the
/// company's corrections: winter 10 % in Moscow from 2026-11-01 to 2027-03-31, city 15 %.
namespace fleet::test {

void prepare_fleet(pqxx::connection& conn);

/// A clock that stands at `utc` ("now" for the plausibility rules), 5 minutes' tolerance.
waybills::Clock clock_at(std::chrono::sys_seconds utc);

/// The value of one text column of one row, or "" for none or NULL.
std::string text_of(pqxx::connection& conn, const std::string& sql);
long count(pqxx::connection& conn, const std::string& sql);

/// FLEET, A123BC, 0042, 2026-11-20, urban cargo, departure 120 000 km and 40 L.
waybills::IssueRequest issue_request();
void pass_pre_trip_checks(pqxx::connection& conn, std::int64_t waybill_id,
                          std::int64_t odometer_km);
/// Issued with the given departure values, checked, released 2026-11-20 07:30 Moscow.
std::int64_t released_waybill(pqxx::connection& conn, std::int64_t odometer_out_km,
                              double fuel_out_l);
/// Returned at 18:30 Moscow on 2026-11-20.
waybills::ReturnRequest return_request(std::int64_t waybill_id, std::int64_t odometer_in_km,
                                       double fuel_in_l);
/// Released, returned, post-trip examination, accepted (with a reason: there is no track).
std::int64_t closed_waybill(pqxx::connection& conn, std::int64_t odometer_out_km, double fuel_out_l,
                            std::int64_t odometer_in_km, double fuel_in_l);
/// Post-trip examination (18:40 Moscow on `date`) and acceptance with a reason.
void close_returned(pqxx::connection& conn, const std::string& url, std::int64_t waybill_id,
                    const std::string& date);
/// Checks, releases (07:30 Moscow on `date`) and returns (18:30) an issued waybill.
std::int64_t returned_waybill_from(pqxx::connection& conn, std::int64_t waybill_id,
                                   std::int64_t inspection_odometer_km, const std::string& date,
                                   std::int64_t odometer_in_km, double fuel_in_l);

}  // namespace fleet::test
