#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dispatch/assignments.hpp"

/// Assignment requests written as text: a planned stop on fleetctl's command line, and CSV
/// files of many assignments. Pure: text in, requests out.
namespace fleet::dispatch {

/// A planned stop of freight work: "NAME;LON;LAT;FROM;TO[;RADIUS]" (a place of its own) or
/// "CODE;;;FROM;TO[;RADIUS]" (a known stop of the feed); FROM and TO as AssignmentRequest::start,
/// RADIUS in metres. Throws InputError saying what is wrong.
StopRequest parse_stop(const std::string& text);

/// The columns an assignment CSV file may have (a file needs date and vehicle, and the columns
/// its rows use; the order is free).
inline constexpr std::string_view assignment_csv_columns =
    "date,vehicle,driver,feed,block,trips,route,start,end,tz,stop,lon,lat,from,to,radius";

/// Reads assignment requests from CSV (RFC 4180: quotes, embedded commas; a header line names
/// the columns). A timetabled row gives date, vehicle, driver, feed, and a block or trips
/// (separated by ';'), and may give its shift's own start and end. Freight work takes one row per
/// planned stop: the first gives date, vehicle, driver, feed, route, start, end (and tz) and its
/// first stop (stop = a known stop's code, or a name with lon and lat; from, to; radius optional);
/// each following row of the same date and vehicle whose route is empty or the same adds a stop.
/// Each request's origin is "FILE:LINE" of its first row. Throws InputError naming the file and
/// line.
std::vector<AssignmentRequest> read_assignment_csv(std::string_view text, const std::string& file);

}  // namespace fleet::dispatch
