#pragma once

#include <string_view>

namespace fleet::geo {

/// Whether `text` is a calendar date written YYYY-MM-DD: ten characters, and a day that exists
/// (2026-02-29 does not). Commands and imports check dates with it before the database sees
/// them, so that a bad one is named with its field.
bool is_calendar_date(std::string_view text);

}  // namespace fleet::geo
