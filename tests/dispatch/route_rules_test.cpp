// A route's speed limits, measured along its line, placed on the shapes of its trips.
#include <doctest/doctest.h>

#include "dispatch/route_rules.hpp"
#include "geo/geodesy.hpp"

using namespace fleet;
using namespace fleet::dispatch;

namespace {
const geo::LonLat west{37.60, 55.75};
const geo::LonLat east = geo::destination(west, 90, 3000);
const std::vector<SpeedSegment> school = {{.from_m = 500, .to_m = 1000, .limit_kmh = 30}};
}  // namespace

TEST_CASE("on a trip that follows the route's line, the stretches stay where they are") {
    const geo::Polyline route({west, east}, "route");
    const geo::Polyline same({west, east}, "trip");
    const auto placed = place_segments(school, route, same);
    REQUIRE(placed.size() == 1);
    CHECK(placed[0].from_m == 500);
    CHECK(placed[0].to_m == 1000);
}

TEST_CASE("on the way back, a stretch lies as far from the other end") {
    const geo::Polyline route({west, east}, "route");
    const geo::Polyline back({east, west}, "trip back");
    const auto placed = place_segments(school, route, back);
    REQUIRE(placed.size() == 1);
    CHECK(placed[0].from_m == doctest::Approx(2000).epsilon(0.001));
    CHECK(placed[0].to_m == doctest::Approx(2500).epsilon(0.001));
    CHECK(placed[0].limit_kmh == 30);
}

TEST_CASE("a trip that turns off before the stretch does not get it") {
    const geo::Polyline route({west, east}, "route");
    const geo::LonLat corner = geo::destination(west, 90, 300);
    const geo::Polyline branch({west, corner, geo::destination(corner, 0, 2000)}, "branch");
    CHECK(place_segments(school, route, branch).empty());
}
