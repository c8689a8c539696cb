#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

/// ISO 8601 times as the API and the exports write and read them: always with an offset, so
/// that a time never means something else in another zone.
namespace fleet::geo {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

/// "2026-12-02T08:00:00Z", or with milliseconds when there are any ("…:00.250Z").
std::string iso_utc(Millis time);

/// Reads "YYYY-MM-DDThh:mm[:ss[.fff]]" (a space may stand for the T) followed by its offset:
/// "Z", "+hh", "+hhmm" or "+hh:mm" (or "-"). Nothing for anything else: a time without its
/// offset, a day that does not exist, an hour past 23, an offset beyond ±18:00, a year before
/// 1900 or after 9999, trailing text.
std::optional<Millis> parse_iso_time(std::string_view text);

}  // namespace fleet::geo
