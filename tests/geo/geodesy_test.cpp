#include <doctest/doctest.h>

#include <cmath>

#include "geo/geodesy.hpp"

using fleet::geo::LonLat;
namespace geo = fleet::geo;

namespace {

// Vincenty's classic test line (Survey Review 1975; Geoscience Australia's worked example):
// Flinders Peak 37°57'03.72030"S 144°25'29.52440"E to Buninyong 37°39'10.15610"S
// 143°55'35.38390"E, 54 972.271 m, forward azimuth 306°52'05.37".
constexpr LonLat flinders_peak{144.0 + 25.0 / 60 + 29.52440 / 3600,
                               -(37.0 + 57.0 / 60 + 3.72030 / 3600)};
constexpr LonLat buninyong{143.0 + 55.0 / 60 + 35.38390 / 3600,
                           -(37.0 + 39.0 / 60 + 10.15610 / 3600)};
constexpr double flinders_azimuth_deg = 306.0 + 52.0 / 60 + 5.37 / 3600;

constexpr LonLat moscow{37.6173, 55.7558};
constexpr LonLat st_petersburg{30.3351, 59.9343};

// Difference of two bearings in degrees, in [0, 180].
double bearing_difference_deg(double a, double b) {
    return std::abs(std::remainder(a - b, 360.0));
}

}  // namespace

TEST_CASE("haversine on the mean sphere: one degree of arc is R·π/180 = 111 195.08 m") {
    CHECK(geo::haversine_m({0, 0}, {0, 1}) == doctest::Approx(111195.08).epsilon(1e-7));
    CHECK(geo::haversine_m({10, 60}, {10, 61}) == doctest::Approx(111195.08).epsilon(1e-7));
    CHECK(geo::haversine_m({5, 5}, {5, 5}) == 0.0);
}

TEST_CASE("geodesic distances on WGS 84 match known values") {
    // One degree of latitude at the equator: meridian arc 110 574.389 m.
    CHECK(geo::geodesic_m({0, 0}, {0, 1}) == doctest::Approx(110574.389).epsilon(1e-8));
    // One degree of longitude along the equator: a · π / 180 = 111 319.491 m.
    CHECK(geo::geodesic_m({0, 0}, {1, 0}) == doctest::Approx(111319.491).epsilon(1e-8));
    // Vincenty's test line, to the millimetre, in both directions.
    CHECK(std::abs(geo::geodesic_m(flinders_peak, buninyong) - 54972.271) < 0.001);
    CHECK(std::abs(geo::geodesic_m(buninyong, flinders_peak) - 54972.271) < 0.001);
    // Moscow (Red Square area) to St Petersburg (Nevsky Prospekt area): about 634.6 km; the
    // sphere underestimates this north-south line by about 0.25 %.
    const double ellipsoid_m = geo::geodesic_m(moscow, st_petersburg);
    CHECK(ellipsoid_m > 634000);
    CHECK(ellipsoid_m < 635200);
    const double sphere_m = geo::haversine_m(moscow, st_petersburg);
    CHECK(std::abs(sphere_m - ellipsoid_m) / ellipsoid_m == doctest::Approx(0.0025).epsilon(0.1));
    CHECK(geo::geodesic_m(moscow, moscow) == 0.0);
    // Two longitudes of one pole are the same place.
    CHECK(geo::geodesic_m({10, 90}, {-100, 90}) < 1e-6);
}

TEST_CASE("geodesic distance falls back to the sphere for antipodal points") {
    // Exactly antipodal on the equator: the shortest path runs over a pole, half a meridian
    // 20 003 931.459 m; Vincenty's iteration has no answer, haversine gives π·R = 20 015 114 m.
    const double d = geo::geodesic_m({0, 0}, {180, 0});
    CHECK(std::isfinite(d));
    CHECK(std::abs(d - 20003931.459) / 20003931.459 < 0.001);
    const double nearly = geo::geodesic_m({0, 0}, {179.7, 0.1});
    CHECK(std::isfinite(nearly));
    CHECK(nearly > 19.9e6);
    CHECK(nearly < 20.02e6);
}

TEST_CASE("initial bearing: Vincenty's forward azimuth and the cardinal directions") {
    // Published to 0.01" (2.8e-6°).
    CHECK(bearing_difference_deg(geo::initial_bearing_deg(flinders_peak, buninyong),
                                 flinders_azimuth_deg) < 1.4e-6);
    CHECK(geo::initial_bearing_deg({0, 0}, {0, 1}) == doctest::Approx(0.0));
    CHECK(geo::initial_bearing_deg({0, 0}, {1, 0}) == doctest::Approx(90.0));
    CHECK(geo::initial_bearing_deg({0, 1}, {0, 0}) == doctest::Approx(180.0));
    CHECK(geo::initial_bearing_deg({1, 0}, {0, 0}) == doctest::Approx(270.0));
    // Across the antimeridian the short way is east.
    CHECK(geo::initial_bearing_deg({179.5, 0}, {-179.5, 0}) == doctest::Approx(90.0));
    CHECK(geo::initial_bearing_deg(moscow, moscow) == 0.0);
}

TEST_CASE("destination reaches Buninyong and round-trips with distance and bearing") {
    const LonLat reached = geo::destination(flinders_peak, flinders_azimuth_deg, 54972.271);
    // The azimuth is given to 0.01", about 3 mm at this distance.
    CHECK(geo::geodesic_m(reached, buninyong) < 0.005);

    for (const LonLat start : {LonLat{37.6, 55.75}, LonLat{-58.4, -34.6}, LonLat{0, 0}}) {
        for (double bearing = 0; bearing < 360; bearing += 22.5) {
            for (const double distance : {10.0, 1000.0, 100000.0}) {
                CAPTURE(bearing);
                CAPTURE(distance);
                const LonLat end = geo::destination(start, bearing, distance);
                CHECK(std::abs(geo::geodesic_m(start, end) - distance) < 1e-5);
                CHECK(bearing_difference_deg(geo::initial_bearing_deg(start, end), bearing) < 1e-7);
            }
        }
    }
    // The longitude is normalised across the antimeridian.
    const LonLat across = geo::destination({179.99, 0}, 90, 2226.39);
    CHECK(across.lon_deg == doctest::Approx(-179.99).epsilon(1e-6));
    CHECK(across.lat_deg == doctest::Approx(0.0));
}

TEST_CASE("local projection: round trip, metres near the origin, error bound, antimeridian") {
    const LonLat origin{37.6, 60.0};
    const geo::LocalProjection plane(origin);
    const auto east = plane.to_xy(geo::destination(origin, 90, 100));
    CHECK(east.x_m == doctest::Approx(100).epsilon(1e-5));
    CHECK(std::abs(east.y_m) < 0.01);
    const auto north = plane.to_xy(geo::destination(origin, 0, 100));
    CHECK(north.y_m == doctest::Approx(100).epsilon(1e-6));
    CHECK(north.x_m == doctest::Approx(0.0));

    for (double bearing = 0; bearing < 360; bearing += 15) {
        CAPTURE(bearing);
        for (const double distance : {60.0, 1000.0, 5000.0}) {
            const LonLat p = geo::destination(origin, bearing, distance);
            const auto xy = plane.to_xy(p);
            const LonLat back = plane.to_lonlat(xy);
            CHECK(back.lon_deg == doctest::Approx(p.lon_deg).epsilon(1e-12));
            CHECK(back.lat_deg == doctest::Approx(p.lat_deg).epsilon(1e-12));
            // The documented bound: 0.03 m · (d / 1 km)² · tan 60°, with 50 % headroom.
            const double bound_m = 1.5 * 0.03 * std::pow(distance / 1000, 2) * std::sqrt(3.0);
            CHECK(std::abs(std::hypot(xy.x_m, xy.y_m) - distance) < bound_m);
        }
    }

    const geo::LocalProjection dateline({179.999, 0});
    const auto across = dateline.to_xy({-179.999, 0});
    CHECK(across.x_m == doctest::Approx(222.64).epsilon(1e-3));
    CHECK(dateline.to_lonlat(across).lon_deg == doctest::Approx(-179.999));
}

TEST_CASE("is_valid accepts the WGS 84 range only") {
    CHECK(geo::is_valid({180, 90}));
    CHECK(geo::is_valid({-180, -90}));
    CHECK_FALSE(geo::is_valid({180.5, 0}));
    CHECK_FALSE(geo::is_valid({0, -90.5}));
    CHECK_FALSE(geo::is_valid({std::nan(""), 0}));
    CHECK_FALSE(geo::is_valid({0, INFINITY}));
}
