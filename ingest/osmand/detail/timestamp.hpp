#pragma once

#include <optional>
#include <string_view>

#include "ingest/position.hpp"

/// The time formats OsmAnd and Traccar Client put in `timestamp`.
namespace fleet::ingest::osmand::detail {

/// Parses a `timestamp` value. Accepted forms, as Traccar's OsmAndProtocolDecoder accepts them:
/// - an unsigned integer: Unix seconds when below 2^31 - 1, else Unix milliseconds;
/// - ISO 8601 `yyyy-MM-ddTHH:mm[:ss[.fff]]` followed by `Z`, `+hh:mm`, `+hhmm`, `+hh` or nothing;
/// - `yyyy-MM-dd HH:mm:ss` (a space instead of the `T`).
/// A time without a zone is taken as UTC (Traccar would use the server's zone). Returns nothing for
/// anything else, including impossible dates (2024-02-30) and years past 9999.
std::optional<Millis> parse_timestamp(std::string_view text);

}  // namespace fleet::ingest::osmand::detail
