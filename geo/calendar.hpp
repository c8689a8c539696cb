#pragma once

#include <string_view>

namespace fleet::geo {

/// Whether `text` is a calendar date written YYYY-MM-DD: ten characters, and a day that exists
/// (2026-02-29 does not). Commands and imports check dates with it before the database sees
/// them, so that a bad one is named with its field.
bool is_calendar_date(std::string_view text);

/// Whether `text`, a time PostgreSQL is to read, ends in its offset after the time of day:
/// "…Z", "…+03", "…+0530", "…-05:00". Without one PostgreSQL would take the session's zone.
bool has_time_offset(std::string_view text);

}  // namespace fleet::geo
