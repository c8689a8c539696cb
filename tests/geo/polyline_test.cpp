#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "geo/polyline.hpp"

using fleet::geo::LonLat;
using fleet::geo::Polyline;
using fleet::geo::Projection;
namespace geo = fleet::geo;

namespace {

// Streets are laid out in metres from a corner in Moscow with the geodesy code, so that every
// expected distance is a round number. A polyline runs straight in lon/lat between its points,
// while `destination` follows the geodesic: on a 1 km east-west segment at this latitude the two
// part by up to 3 cm, so offsets are checked to 5 cm.
constexpr LonLat corner{37.6, 55.75};

LonLat go(LonLat from, double bearing_deg, double distance_m) {
    return geo::destination(from, bearing_deg, distance_m);
}

constexpr double north = 0;
constexpr double east = 90;
constexpr double south = 180;
constexpr double west = 270;

}  // namespace

TEST_CASE("an L-shaped street: length, point_at and project round trips, bearings") {
    // 500 m east, 500 m north, 500 m east.
    const LonLat a = corner;
    const LonLat b = go(a, east, 500);
    const LonLat c = go(b, north, 500);
    const LonLat d = go(c, east, 500);
    const Polyline line({a, b, c, d}, "route 1");
    REQUIRE(line.segment_count() == 3);
    CHECK(line.length_m() == doctest::Approx(1500).epsilon(1e-8));
    CHECK(line.cumulative_m()[2] == doctest::Approx(1000).epsilon(1e-8));

    CHECK(geo::geodesic_m(line.point_at(0), a) == 0.0);
    CHECK(geo::geodesic_m(line.point_at(1500), d) < 1e-6);
    CHECK(geo::geodesic_m(line.point_at(-10), a) == 0.0);
    CHECK(geo::geodesic_m(line.point_at(1e9), d) < 1e-6);
    CHECK(geo::geodesic_m(line.point_at(500), b) < 1e-6);
    // 250 m along the first leg, 250 m up the second.
    CHECK(geo::geodesic_m(line.point_at(250), go(a, east, 250)) < 0.01);
    CHECK(geo::geodesic_m(line.point_at(750), go(b, north, 250)) < 0.01);

    for (double along = 0; along <= 1500; along += 37.5) {
        CAPTURE(along);
        const Projection on = line.project(line.point_at(along));
        CHECK(on.distance_along_m == doctest::Approx(along).epsilon(1e-7));
        CHECK(std::abs(on.offset_m) < 1e-6);
        CHECK(geo::geodesic_m(on.closest, line.point_at(along)) < 1e-6);
    }

    CHECK(line.bearing_at(100) == doctest::Approx(90).epsilon(1e-6));
    CHECK(line.bearing_at(500) == doctest::Approx(0).epsilon(1e-6));  // the leg starting there
    CHECK(line.bearing_at(900) == doctest::Approx(0).epsilon(1e-6));
    CHECK(line.bearing_at(1500) == doctest::Approx(90).epsilon(1e-3));
    CHECK_THROWS_AS(line.point_at(std::nan("")), fleet::InputError);

    // A forward window that starts exactly at the corner still finds the corner.
    const auto at_corner = line.project_forward(b, line.cumulative_m()[1], 100, 60, 0);
    REQUIRE(at_corner);
    CHECK(at_corner->distance_along_m == line.cumulative_m()[1]);
    CHECK(at_corner->segment == 0);
}

TEST_CASE("lateral offset is signed: positive right of the direction of travel") {
    const Polyline eastbound({corner, go(corner, east, 1000)}, "eastbound");
    const LonLat on_street = eastbound.point_at(400);

    const Projection left = eastbound.project(go(on_street, north, 20));
    CHECK(left.offset_m == doctest::Approx(-20).epsilon(1e-4));
    CHECK(left.distance_along_m == doctest::Approx(400).epsilon(1e-5));
    CHECK(left.segment == 0);

    const Projection right = eastbound.project(go(on_street, south, 20));
    CHECK(right.offset_m == doctest::Approx(20).epsilon(1e-4));

    const Polyline westbound({go(corner, east, 1000), corner}, "westbound");
    CHECK(westbound.project(go(on_street, north, 20)).offset_m ==
          doctest::Approx(20).epsilon(1e-4));
    CHECK(westbound.project(go(on_street, north, 20)).distance_along_m ==
          doctest::Approx(600).epsilon(1e-5));

    // Beyond the end the nearest point is the end.
    const Projection beyond = eastbound.project(go(corner, east, 1100));
    CHECK(beyond.distance_along_m == doctest::Approx(1000));
    CHECK(std::abs(beyond.offset_m) == doctest::Approx(100).epsilon(1e-4));
}

TEST_CASE("a loop around a square block (start == end) passes its start twice") {
    // 200 m east, north, west, south, back to the start.
    const LonLat a = corner;
    const LonLat b = go(a, east, 200);
    const LonLat c = go(b, north, 200);
    const LonLat d = go(c, west, 200);
    const Polyline loop({a, b, c, d, a}, "block loop");
    const double length = loop.length_m();
    CHECK(length == doctest::Approx(800).epsilon(1e-4));

    // 40 m east of the start, on the first side: once as the trip begins, once as it ends
    // (the last side runs south into the start corner, 40 m away, the point on its left).
    const auto near_start = loop.candidates(go(a, east, 40), 60);
    REQUIRE(near_start.size() == 2);
    CHECK(near_start[0].distance_along_m == doctest::Approx(40).epsilon(1e-6));
    CHECK(std::abs(near_start[0].offset_m) < 0.05);
    CHECK(near_start[0].segment == 0);
    CHECK(near_start[1].distance_along_m == doctest::Approx(length));
    CHECK(near_start[1].offset_m == doctest::Approx(-40).epsilon(1e-3));
    CHECK(near_start[1].segment == 3);

    // Mid-block on the far side: one pass only.
    const auto far_side = loop.candidates(go(c, west, 100), 60);
    REQUIRE(far_side.size() == 1);
    CHECK(far_side[0].distance_along_m == doctest::Approx(500).epsilon(1e-4));

    // Driven around twice: every point of the block is passed twice, a lap apart.
    const Polyline twice({a, b, c, d, a, b, c, d, a}, "block loop, two laps");
    const auto laps = twice.candidates(go(b, north, 100), 60);
    REQUIRE(laps.size() == 2);
    CHECK(laps[0].distance_along_m == doctest::Approx(300).epsilon(1e-4));
    CHECK(laps[1].distance_along_m == doctest::Approx(1100).epsilon(1e-4));
    CHECK(laps[1].segment == 5);
}

TEST_CASE("an out-and-back route along one street gives one candidate per direction") {
    const LonLat a = corner;
    const LonLat b = go(a, east, 1000);
    const Polyline route({a, b, a}, "out and back");
    CHECK(route.length_m() == doctest::Approx(2000).epsilon(1e-8));

    // 400 m from A, 5 m north of the street: left of the way out, right of the way back.
    const LonLat p = go(go(a, east, 400), north, 5);
    const auto found = route.candidates(p, 60);
    REQUIRE(found.size() == 2);
    CHECK(found[0].distance_along_m == doctest::Approx(400).epsilon(1e-5));
    CHECK(found[0].offset_m == doctest::Approx(-5).epsilon(0.01));
    CHECK(found[0].segment == 0);
    CHECK(found[1].distance_along_m == doctest::Approx(1600).epsilon(1e-5));
    CHECK(found[1].offset_m == doctest::Approx(5).epsilon(0.01));
    CHECK(found[1].segment == 1);

    // Out of the radius: none.
    CHECK(route.candidates(go(p, north, 100), 60).empty());

    // 20 m before the turning point the two passes are one (closer than 2 × radius apart); of
    // two equally near matches the earlier is kept.
    const auto turning = route.candidates(go(a, east, 980), 60);
    REQUIRE(turning.size() == 1);
    CHECK(turning[0].distance_along_m == doctest::Approx(980).epsilon(1e-5));
    // At the turning point itself: one.
    CHECK(route.candidates(b, 60).size() == 1);
}

TEST_CASE("a route that uses the same street twice, laps apart, and forward-only matching") {
    // A→B east 1000 m, a block north and back west to A, then A→B again and on to C.
    const LonLat a = corner;
    const LonLat b = go(a, east, 1000);
    const LonLat b_north = go(b, north, 300);
    const LonLat a_north = go(b_north, west, 1000);
    const LonLat c = go(b, east, 500);
    const Polyline route({a, b, b_north, a_north, a, b, c}, "route 42");
    const double lap = route.cumulative_m()[4];
    CHECK(lap == doctest::Approx(2600).epsilon(1e-3));

    const LonLat p = go(go(a, east, 300), south, 8);
    const auto found = route.candidates(p, 60);
    REQUIRE(found.size() == 2);
    CHECK(found[0].distance_along_m == doctest::Approx(300).epsilon(1e-5));
    CHECK(found[0].segment == 0);
    CHECK(found[1].distance_along_m == doctest::Approx(lap + 300).epsilon(1e-5));
    CHECK(found[1].segment == 4);
    CHECK(found[1].offset_m == doctest::Approx(8).epsilon(0.01));

    // From the start, the first pass.
    const auto first = route.project_forward(p, 0, 1000, 60);
    REQUIRE(first);
    CHECK(first->distance_along_m == doctest::Approx(300).epsilon(1e-5));
    // With a long reach both passes qualify: the earliest is taken.
    const auto earliest = route.project_forward(p, 0, 10000, 60);
    REQUIRE(earliest);
    CHECK(earliest->distance_along_m == doctest::Approx(300).epsilon(1e-5));
    // Past the first pass (on the return leg), the later pass.
    const auto later = route.project_forward(p, 2500, 1000, 60);
    REQUIRE(later);
    CHECK(later->distance_along_m == doctest::Approx(lap + 300).epsilon(1e-5));
    // A jump beyond what the vehicle could drive is rejected.
    CHECK_FALSE(route.project_forward(p, 1500, 1000, 60));
    CHECK_FALSE(route.project_forward(p, 0, 250, 60));
    // GPS noise just behind the previous match is accepted, more is not.
    CHECK(route.project_forward(p, 320, 100, 60));
    CHECK_FALSE(route.project_forward(p, 340, 100, 60));
    CHECK(route.project_forward(p, 340, 100, 60, 50));
    CHECK_THROWS_AS(route.project_forward(p, 0, -1, 60), fleet::InputError);
}

TEST_CASE("a densely digitised, wiggly street yields one candidate per pass") {
    // Points every 5 m with ±1 m of lateral jitter: dozens of local minima near the point.
    std::vector<LonLat> points;
    for (int i = 0; i <= 200; ++i) {
        const LonLat on = go(corner, east, 5.0 * i);
        points.push_back(go(on, i % 2 == 0 ? north : south, 1.0));
    }
    const Polyline street(points, "wiggly street");
    const auto found = street.candidates(go(corner, east, 502), 60);
    REQUIRE(found.size() == 1);
    // The zigzag from 500 m (1 m north) to 505 m (1 m south) crosses the street at 502.5 m;
    // distance along counts the zigzag (5.39 m a segment).
    CHECK(found[0].segment == 100);
    CHECK(found[0].distance_along_m > street.cumulative_m()[100]);
    CHECK(found[0].distance_along_m < street.cumulative_m()[101]);
    CHECK(std::abs(found[0].offset_m) < 0.5);
    // Three of the 200 segments come within 5 m; still one candidate.
    CHECK(street.candidates(go(corner, east, 502), 5).size() == 1);
}

TEST_CASE("substring cuts the line between two distances along it") {
    const LonLat a = corner;
    const LonLat b = go(a, east, 500);
    const LonLat c = go(b, north, 500);
    const LonLat d = go(c, east, 500);
    const Polyline line({a, b, c, d}, "route 1");

    const auto middle = line.substring(100, 1200);
    REQUIRE(middle.size() == 4);
    CHECK(geo::geodesic_m(middle[0], go(a, east, 100)) < 0.01);
    CHECK(geo::geodesic_m(middle[1], b) == 0.0);
    CHECK(geo::geodesic_m(middle[2], c) == 0.0);
    CHECK(geo::geodesic_m(middle[3], go(c, east, 200)) < 0.01);
    CHECK(Polyline(middle, "detour").length_m() == doctest::Approx(1100).epsilon(1e-6));

    CHECK(line.substring(200, 300).size() == 2);
    CHECK(line.substring(-50, 5000).size() == 4);
    CHECK(geo::geodesic_m(line.substring(-50, 5000).back(), d) < 1e-6);
    const auto point = line.substring(700, 700);
    REQUIRE(point.size() == 2);
    CHECK(geo::geodesic_m(point[0], point[1]) == 0.0);
    CHECK_THROWS_AS(line.substring(300, 200), fleet::InputError);
}

TEST_CASE("invalid lines are refused with the feature named") {
    const LonLat a = corner;
    const LonLat b = go(a, east, 100);
    const auto problem = [](std::vector<LonLat> points) -> std::string {
        try {
            Polyline line(std::move(points), "route 7 shape");
        } catch (const fleet::GeometryError& e) {
            CHECK(e.feature() == "route 7 shape");
            return e.what();
        }
        return "accepted";
    };
    CHECK(problem({a}).find("at least 2 distinct points") != std::string::npos);
    CHECK(problem({}).find("at least 2 distinct points") != std::string::npos);
    CHECK(problem({a, a, a}).find("at least 2 distinct points") != std::string::npos);
    CHECK(problem({a, {std::nan(""), 55}}).find("point 1 is not finite") != std::string::npos);
    CHECK(problem({a, {37, INFINITY}}).find("point 1 is not finite") != std::string::npos);
    CHECK(problem({{37, 91}, a}).find("point 0") != std::string::npos);
    CHECK(problem({{181, 55}, a}).find("outside") != std::string::npos);
    CHECK(problem({{179.9, 0}, {-179.9, 0}}).find("antimeridian") != std::string::npos);
    CHECK(problem({{179.9, 0}, {-179.9, 0}}).find("route 7 shape") != std::string::npos);

    // Consecutive duplicates are dropped, repeated visits are kept.
    const Polyline line({a, a, b, b, b, a}, "route 7 shape");
    CHECK(line.points().size() == 3);
    CHECK(line.length_m() == doctest::Approx(200).epsilon(1e-8));
    // Two longitudes of the pole are one point.
    CHECK(Polyline({{0, 89.9}, {10, 90}, {20, 90}}, "polar").points().size() == 2);

    CHECK_THROWS_AS(line.project({200, 0}), fleet::InputError);
    CHECK_THROWS_AS(line.candidates({0, std::nan("")}, 60), fleet::InputError);
    const std::vector<std::size_t> out_of_range{0, 5};
    CHECK_THROWS_AS(line.candidates(a, 60, out_of_range), fleet::InputError);
}
