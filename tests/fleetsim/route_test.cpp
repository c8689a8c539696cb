#include <doctest/doctest.h>

#include "geo/geodesy.hpp"

#include <chrono>
#include <memory>
#include <string>

#include "geo/error.hpp"
#include "geo/ogr_lines.hpp"
#include "tools/fleetsim/motion.hpp"

using namespace std::chrono_literals;
using fleet::geo::LonLat;
using fleet::geo::read_lines;
namespace sim = fleet::tools::fleetsim;

namespace {

const std::string routes = std::string(FLEET_TEST_DATA) + "/routes/";

double length_m(const std::vector<LonLat>& line) {
    return sim::Path(line).length_m();
}

std::string input_error(const std::string& path) {
    try {
        (void)read_lines(path);
    } catch (const fleet::InputError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("haversine: 0.01 degree of latitude") {
    // R × 0.01° in radians, R = 6 371 008.8 m.
    CHECK(fleet::geo::haversine_m({30, 60}, {30, 60.01}) == doctest::Approx(1111.95).epsilon(1e-5));
    CHECK(fleet::geo::initial_bearing_deg({30, 60}, {30, 60.01}) == doctest::Approx(0));
    CHECK(fleet::geo::initial_bearing_deg({30, 60.01}, {30, 60}) == doctest::Approx(180));
    const LonLat east = fleet::geo::destination({30, 60}, 90, 1000);
    CHECK(fleet::geo::geodesic_m({30, 60}, east) == doctest::Approx(1000).epsilon(1e-6));
}

TEST_CASE("routes: a GeoJSON LineString") {
    const auto lines = read_lines(routes + "meridian.geojson");
    REQUIRE(lines.size() == 1);
    REQUIRE(lines[0].size() == 3);
    CHECK(lines[0][0].lon_deg == 30.0);
    CHECK(lines[0][0].lat_deg == 60.0);
    CHECK(length_m(lines[0]) == doctest::Approx(2228.25).epsilon(1e-5));  // on WGS 84
}

TEST_CASE("routes: a GPX track, waypoints and track points skipped") {
    const auto lines = read_lines(routes + "track.gpx");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].size() == 3);
    CHECK(length_m(lines[0]) == doctest::Approx(1112.29).epsilon(1e-5));  // on WGS 84
    CHECK(read_lines(routes + "track.gpx", "tracks").size() == 1);
}

TEST_CASE("routes: files without a usable line give an InputError naming the file") {
    const std::string missing = input_error(routes + "no_such_file.geojson");
    CHECK(missing.find("no_such_file.geojson") != std::string::npos);
    CHECK(missing.find("does not exist") != std::string::npos);

    const std::string text = input_error(routes + "not_a_route.txt");
    CHECK(text.find("not_a_route.txt") != std::string::npos);
    CHECK(text.find("cannot be opened") != std::string::npos);

    const std::string points = input_error(routes + "points_only.geojson");
    CHECK(points.find("points_only.geojson") != std::string::npos);
    CHECK(points.find("no line") != std::string::npos);

    CHECK_THROWS_AS(read_lines(routes + "track.gpx", "no_layer"), fleet::InputError);
    CHECK_THROWS_AS(read_lines(routes + "track.gpx", "waypoints"), fleet::InputError);
}

TEST_CASE("paths: positions by distance") {
    const sim::Path path(read_lines(routes + "meridian.geojson").front());
    const auto middle = path.at(path.length_m() / 2);
    CHECK(middle.at.lat_deg == doctest::Approx(60.01).epsilon(1e-9));
    CHECK(middle.at.lon_deg == doctest::Approx(30.0));
    CHECK(middle.bearing_deg == doctest::Approx(0));
    CHECK(path.at(-5).at.lat_deg == 60.0);
    CHECK(path.at(1e9).at.lat_deg == doctest::Approx(60.02));
    CHECK_THROWS_AS(sim::Path({{30, 60}}), fleet::InputError);
    CHECK_THROWS_AS(sim::Path({{30, 60}, {30, 60}}), fleet::InputError);
}

TEST_CASE("vehicles: drive along the route and turn round at its end") {
    auto path = std::make_shared<const sim::Path>(read_lines(routes + "meridian.geojson").front());
    // 36 km/h = 10 m/s; start 1000 m along a 2228.25 m line (WGS 84).
    sim::Vehicle v(path, 1000, 36);
    const auto t0 = std::chrono::sys_days(std::chrono::year(2026) / 1 / 1) + 0ms;
    CHECK(v.fix(t0).course_deg == doctest::Approx(0));
    v.advance(100s);  // 1000 m → at 2000 m, heading north
    auto f = v.fix(t0 + 100s);
    CHECK(fleet::geo::geodesic_m({30, 60}, {f.longitude_deg, f.latitude_deg}) ==
          doctest::Approx(2000).epsilon(1e-4));
    CHECK(f.odometer_m == doctest::Approx(1000));
    CHECK(f.speed_kmh == 36);
    CHECK(f.moving);
    v.advance(50s);  // 500 m more: 228.25 m to the end, then 271.75 m back
    f = v.fix(t0 + 150s);
    CHECK(fleet::geo::geodesic_m({30, 60}, {f.longitude_deg, f.latitude_deg}) ==
          doctest::Approx(2228.25 - 271.75).epsilon(1e-4));
    CHECK(f.course_deg == doctest::Approx(180));
    CHECK(f.odometer_m == doctest::Approx(1500));
}

TEST_CASE("vehicles: a random walk moves the distance driven, reproducibly") {
    sim::Vehicle a(LonLat{30, 60}, 7, 36);
    sim::Vehicle b(LonLat{30, 60}, 7, 36);
    const auto t0 = std::chrono::sys_days(std::chrono::year(2026) / 1 / 1) + 0ms;
    auto before = a.fix(t0);
    a.advance(10s);
    b.advance(10s);
    auto after = a.fix(t0 + 10s);
    CHECK(fleet::geo::geodesic_m({before.longitude_deg, before.latitude_deg},
                                 {after.longitude_deg, after.latitude_deg}) ==
          doctest::Approx(100).epsilon(1e-6));
    CHECK(after.latitude_deg == b.fix(t0).latitude_deg);
    CHECK(after.longitude_deg == b.fix(t0).longitude_deg);
}
