#pragma once

#include <string>
#include <string_view>

#include "tools/fleetsim/devices/fix.hpp"

/// What the OsmAnd app / Traccar Client sends: one fix per HTTP GET, as query parameters.
namespace fleet::tools::fleetsim::devices::osmand {

/// The request target for one fix: `/?id=..&lat=..&lon=..&timestamp=<Unix s>&speed=<knots>
/// &bearing=..&altitude=..&batt=..`. The id is percent-encoded.
std::string encode_target(std::string_view device_id, const Fix& fix);

}  // namespace fleet::tools::fleetsim::devices::osmand
