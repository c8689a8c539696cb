#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "geo/error.hpp"
#include "geo/ogr_features.hpp"

using fleet::geo::Feature;
using fleet::geo::GeometryKind;
using fleet::geo::LonLat;
using fleet::geo::read_features;
using fleet::geo::ReadOptions;
namespace geo = fleet::geo;

namespace {

const std::string data = std::string(FLEET_TEST_DATA) + "/ogr/";

// The two routes every route fixture holds, as written in route.geojson.
const std::vector<LonLat> route_7 = {
    {10.0, 50.0}, {10.005, 50.002}, {10.0123456, 50.0034567}, {10.02, 50.006}};
const std::vector<LonLat> route_12 = {{10.03, 50.01}, {10.03, 50.02}, {10.041, 50.025}};

ReadOptions options(GeometryKind kind, const std::string& name_field = "name") {
    ReadOptions o;
    o.kind = kind;
    o.name_field = name_field;
    return o;
}

bool near(const LonLat& a, const LonLat& b) {
    return std::abs(a.lon_deg - b.lon_deg) < 1e-7 && std::abs(a.lat_deg - b.lat_deg) < 1e-7;
}

void check_line(const Feature& feature, const std::string& name,
                const std::vector<LonLat>& expected) {
    CHECK(feature.name == name);
    const auto* line = std::get_if<geo::Line>(&feature.geometry);
    REQUIRE(line != nullptr);
    REQUIRE(line->size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CAPTURE((*line)[i].lon_deg);
        CAPTURE((*line)[i].lat_deg);
        CHECK(near((*line)[i], expected[i]));
    }
}

template <typename Error>
Error error_of(const std::string& file, const ReadOptions& o) {
    try {
        (void)read_features(data + file, o);
    } catch (const Error& e) {
        return e;
    }
    FAIL("no error reading " << file);
    return Error("", "");
}

std::string input_error(const std::string& file, const ReadOptions& o) {
    try {
        (void)read_features(data + file, o);
    } catch (const fleet::InputError& e) {
        return e.what();
    }
    FAIL("no InputError reading " << file);
    return "";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("ogr features: one route file read as GeoJSON, KML, GPX and EPSG:3857 GeoJSON") {
    for (const char* file : {"route.geojson", "route.kml", "route.gpx", "route_3857.geojson"}) {
        CAPTURE(file);
        const auto features = read_features(data + file, options(GeometryKind::line));
        REQUIRE(features.size() == 2);
        check_line(features[0], "Route 7", route_7);
        check_line(features[1], "Route 12", route_12);
    }
}

TEST_CASE("ogr features: GPX and KML are named by their name element without --name-field") {
    for (const char* file : {"route.kml", "route.gpx"}) {
        CAPTURE(file);
        const auto features = read_features(data + file, options(GeometryKind::line, ""));
        REQUIRE(features.size() == 2);
        CHECK(features[0].name == "Route 7");
    }
    // The GPX waypoint is not a route; read as points, it is the only feature.
    const auto waypoints = read_features(data + "route.gpx", options(GeometryKind::point, ""));
    REQUIRE(waypoints.size() == 1);
    CHECK(waypoints[0].name == "North depot");
    CHECK(near(std::get<LonLat>(waypoints[0].geometry), {10.0, 50.0}));
}

TEST_CASE("ogr features: attributes keep their types") {
    const auto geojson = read_features(data + "route.geojson", options(GeometryKind::line));
    CHECK(geojson[0].attributes["name"] == "Route 7");
    CHECK(geojson[0].attributes["operator"] == "North depot");
    CHECK(geojson[0].attributes["night"] == false);
    CHECK(geojson[0].attributes["vehicles"] == 4);
    CHECK(geojson[1].attributes["night"] == true);
    CHECK(geojson[0].layer == "routes");

    const auto kml = read_features(data + "route.kml", options(GeometryKind::line));
    CHECK(kml[1].attributes["description"] == "South yard");
    const auto gpx = read_features(data + "route.gpx", options(GeometryKind::line));
    CHECK(gpx[1].attributes["desc"] == "South yard");
    CHECK(gpx[1].layer == "tracks");

    // A field without a value is left out.
    const auto stops = read_features(data + "stops.geojson", options(GeometryKind::point));
    REQUIRE(stops.size() == 3);
    CHECK(stops[1].attributes["platform"] == "B");
    CHECK_FALSE(stops[2].attributes.contains("platform"));
    CHECK(near(std::get<LonLat>(stops[1].geometry), {10.0123456, 50.0034567}));
}

TEST_CASE("ogr features: a Shapefile in UTM zone 32N is reprojected to WGS 84") {
    ReadOptions o = options(GeometryKind::polygon);
    o.required_fields = {"capacity"};
    const auto zones = read_features(data + "depots.shp", o);
    REQUIRE(zones.size() == 2);
    CHECK(zones[0].name == "North depot");
    CHECK(zones[0].attributes["capacity"] == 12);
    CHECK(zones[0].attributes["note"] == "gate on the east side");
    const auto& north = std::get<geo::MultiPolygon>(zones[0].geometry);
    REQUIRE(north.size() == 1);
    REQUIRE(north[0].size() == 1);
    const std::vector<LonLat> square = {
        {10.0, 50.0}, {10.0, 50.0015}, {10.002, 50.0015}, {10.002, 50.0}, {10.0, 50.0}};
    REQUIRE(north[0][0].size() == 5);
    // The Shapefile writer turns outer rings clockwise; every corner is there.
    for (const LonLat& corner : square) {
        bool found = false;
        for (const LonLat& p : north[0][0]) {
            found = found || near(p, corner);
        }
        CAPTURE(corner.lon_deg);
        CAPTURE(corner.lat_deg);
        CHECK(found);
    }
    CHECK(zones[1].name == "South yard");
    CHECK(std::get<geo::MultiPolygon>(zones[1].geometry).size() == 2);
}

TEST_CASE("ogr features: a speed zone keeps its limit; a joined MultiLineString is one line") {
    const auto zones = read_features(data + "speed_zone.geojson", options(GeometryKind::polygon));
    REQUIRE(zones.size() == 1);
    CHECK(zones[0].name == "School street");
    CHECK(zones[0].attributes["limit"] == 30);

    const auto joined = read_features(data + "joined_line.geojson", options(GeometryKind::line));
    REQUIRE(joined.size() == 1);
    check_line(joined[0], "Joined", {{10.0, 50.0}, {10.01, 50.0}, {10.01, 50.01}});
}

TEST_CASE("ogr features: a self-intersecting polygon is refused, naming it and the reason") {
    const auto e =
        error_of<fleet::GeometryError>("bad/bowtie.geojson", options(GeometryKind::polygon));
    CHECK(e.feature() == "Bow tie");
    CHECK(contains(e.what(), "Self-intersection"));
    CHECK(contains(e.what(), "bowtie.geojson"));
}

TEST_CASE("ogr features: a line of one point is refused") {
    const auto e =
        error_of<fleet::GeometryError>("bad/one_point.geojson", options(GeometryKind::line));
    CHECK(e.feature() == "Stub");
    CHECK(contains(e.what(), "1 point"));
}

TEST_CASE("ogr features: a MultiLineString with a gap is refused") {
    const auto e =
        error_of<fleet::GeometryError>("bad/split_line.geojson", options(GeometryKind::line));
    CHECK(e.feature() == "Gapped");
    CHECK(contains(e.what(), "do not join into one line"));
}

TEST_CASE("ogr features: a geometry of another kind is refused") {
    // Asked for by name, a layer of points is read and its first feature refused.
    ReadOptions o = options(GeometryKind::line);
    o.layer = "stops";
    const auto e = error_of<fleet::GeometryError>("stops.geojson", o);
    CHECK(e.feature() == "Central");
    CHECK(contains(e.what(), "Point where a line was expected"));
    // Otherwise a layer declared to hold another kind is passed over.
    CHECK(contains(input_error("stops.geojson", options(GeometryKind::line)),
                   "holds no line feature (its layers: stops: Point)"));
}

TEST_CASE("ogr features: a missing name field is named, with the fields there are") {
    const std::string missing = input_error("bad/no_name.geojson", options(GeometryKind::line));
    CHECK(contains(missing, "no_name.geojson"));
    CHECK(contains(missing, "no name field 'name'"));
    CHECK(contains(missing, "title, operator"));

    const std::string none = input_error("route.geojson", options(GeometryKind::line, ""));
    CHECK(contains(none, "no name field given"));
    CHECK(contains(none, "name, operator, night, vehicles"));

    ReadOptions o = options(GeometryKind::polygon);
    o.required_fields = {"limit"};
    CHECK(contains(input_error("depots.shp", o), "no required field 'limit'"));

    o.layer = "nowhere";
    CHECK(contains(input_error("depots.shp", o), "no layer 'nowhere' (its layers: depots)"));
    CHECK(contains(input_error("missing.geojson", o), "does not exist"));
}

TEST_CASE("ogr features: geometries as WKT read back to the same numbers") {
    CHECK(geo::to_wkt(geo::Geometry{LonLat{10.0123456, 50.0034567}}) ==
          "POINT(10.0123456 50.0034567)");
    CHECK(geo::to_wkt(geo::Geometry{geo::Line{{10, 50}, {10.5, -0.25}}}) ==
          "LINESTRING(10 50,10.5 -0.25)");
    const geo::MultiPolygon two = {
        {{{0, 0}, {1, 0}, {1, 1}, {0, 0}}},
        {{{2, 2}, {3, 2}, {3, 3}, {2, 2}}, {{2.1, 2.1}, {2.2, 2.1}, {2.2, 2.2}, {2.1, 2.1}}}};
    CHECK(
        geo::to_wkt(geo::Geometry{two}) ==
        "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((2 2,3 2,3 3,2 2),(2.1 2.1,2.2 2.1,2.2 2.2,2.1 2.1)))");
}
