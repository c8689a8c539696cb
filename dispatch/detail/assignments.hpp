#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/plan.hpp"
#include "geo/polyline.hpp"

/// What the reading and the writing of assignments share: dates and times as operators write
/// them and as messages show them, stops placed along a line, and array parameters. Pure.
namespace fleet::dispatch::detail {

/// "YYYY-MM-DD" naming a real day.
bool is_date(const std::string& text);

/// A time as operators write it, not yet placed in a time zone.
struct TimeText {
    std::string date;                ///< empty: the service date
    double seconds = 0;              ///< after that date's midnight (past 24 h for the next day)
    std::optional<double> offset_s;  ///< its own UTC offset, when it gives one
};

/// "HH:MM[:SS]" on the service date (up to 47:59:59), or
/// "YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH[:MM]]"; nothing when it is neither.
std::optional<TimeText> parse_time(const std::string& text);

/// "2024-03-05T04:45:00Z".
std::string iso_utc(Millis t);

/// "1250 m".
std::string metres(double m);

/// Points placed on a line in order: their distances along it, or the index of the first point
/// that has no place.
struct Placement {
    std::vector<double> along_m;
    std::optional<std::size_t> failed;
};

/// Places `points` on `line` in order: each at the first pass within `radius_m` that is not
/// behind the previous point's.
Placement place_in_order(const geo::Polyline& line, const std::vector<geo::LonLat>& points,
                         double radius_m);

/// A PostgreSQL array literal of integers ("{1,2,3}"), for a `$n::bigint[]` parameter.
std::string array_literal(const std::vector<std::int64_t>& values);

/// A PostgreSQL array literal of texts, each element in double quotes with its quotes and
/// backslashes escaped, for a `$n::text[]` (or `::date[]`) parameter.
std::string array_literal(const std::vector<std::string>& values);

}  // namespace fleet::dispatch::detail
