#pragma once

#include <string>
#include <string_view>

#include "tools/fleetsim/devices/fix.hpp"

/// What the OsmAnd app / Traccar Client sends: one fix per HTTP GET, as query parameters.
namespace fleet::tools::fleetsim::devices::osmand {

/// The request target for one fix: `/?id=..&lat=..&lon=..&timestamp=<Unix s>&speed=<knots>
/// &bearing=..&altitude=..`. The id is percent-encoded.
std::string encode_target(std::string_view device_id, const Fix& fix);

/// What encode_target(.., fix) carries, as the ingest decoder reads it: time in whole seconds,
/// coordinates with 7 decimals, speed in knots with 2 decimals (converted to km/h as the
/// decoder does), bearing (modulo 360) and altitude with 1 decimal. No satellites, odometer,
/// fuel or ignition: Traccar Client sends none.
SentFix sent_fix(const Fix& fix);

}  // namespace fleet::tools::fleetsim::devices::osmand
