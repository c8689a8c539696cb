#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dispatch/reference/store.hpp"
#include "geo/error.hpp"
#include "geo/ogr_features.hpp"
#include "tests/support/db.hpp"

namespace geo = fleet::geo;
namespace reference = fleet::dispatch::reference;
using fleet::geo::GeometryKind;
using fleet::geo::LonLat;

namespace {

const std::string data = std::string(FLEET_TEST_DATA) + "/ogr/";

std::vector<geo::Feature> read(const std::string& file, GeometryKind kind) {
    geo::ReadOptions options;
    options.kind = kind;
    options.name_field = "name";
    return geo::read_features(data + file, options);
}

reference::ImportOptions from(const std::string& file) {
    reference::ImportOptions options;
    options.source = data + file;
    options.actor = "tests";
    return options;
}

// Great-circle length on a sphere of 6 371 008.8 m: within 0.5 % of the ellipsoid anywhere.
double haversine_m(const std::vector<LonLat>& line) {
    constexpr double r_m = 6371008.8;
    constexpr double rad = 3.14159265358979323846 / 180;
    double total = 0;
    for (std::size_t i = 1; i < line.size(); ++i) {
        const double dlat = (line[i].lat_deg - line[i - 1].lat_deg) * rad;
        const double dlon = (line[i].lon_deg - line[i - 1].lon_deg) * rad;
        const double a = std::pow(std::sin(dlat / 2), 2) + std::cos(line[i - 1].lat_deg * rad) *
                                                               std::cos(line[i].lat_deg * rad) *
                                                               std::pow(std::sin(dlon / 2), 2);
        total += 2 * r_m * std::asin(std::sqrt(a));
    }
    return total;
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

double number(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<double>();
}

std::string text(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<std::string>();
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("reference: routes are stored with their shape, re-imported without duplicates") {
        fleet::test::MigratedDatabase db;
        auto& conn = db.conn();
        const auto routes = read("route.geojson", GeometryKind::line);
        const auto first = reference::import_routes(conn, routes, from("route.geojson"));
        CHECK(first.inserted == 2);
        CHECK(first.replaced == 0);
        CHECK(count(conn, "SELECT count(*) FROM fleet.routes WHERE feed = 'local'") == 2);
        for (const auto& route : routes) {
            CAPTURE(route.name);
            pqxx::read_transaction tx(conn);
            const auto row = tx.exec_params1(
                "SELECT ST_Length(geom::geography), ST_NPoints(geom), ST_SRID(geom),"
                " attributes->>'operator' FROM fleet.routes WHERE feed = 'local' AND code = $1",
                route.name);
            CHECK(row[0].as<double>() ==
                  doctest::Approx(haversine_m(std::get<geo::Line>(route.geometry))).epsilon(0.01));
            CHECK(row[1].as<std::size_t>() == std::get<geo::Line>(route.geometry).size());
            CHECK(row[2].as<int>() == 4326);
            CHECK(row[3].as<std::string>() == route.attributes["operator"]);
        }
        CHECK(number(conn,
                     "SELECT ST_X(ST_PointN(geom, 3)) FROM fleet.routes WHERE code = 'Route 7'") ==
              10.0123456);

        // The same routes from KML replace geometry and attributes; no row is added.
        const auto again = reference::import_routes(conn, read("route.kml", GeometryKind::line),
                                                    from("route.kml"));
        CHECK(again.inserted == 0);
        CHECK(again.replaced == 2);
        CHECK(count(conn, "SELECT count(*) FROM fleet.routes") == 2);
        CHECK(text(conn,
                   "SELECT attributes->>'description' FROM fleet.routes"
                   " WHERE code = 'Route 12'") == "South yard");
        CHECK(count(conn, "SELECT count(*) FROM fleet.routes WHERE attributes ? 'vehicles'") == 0);

        // Another feed is another set of codes.
        auto other = from("route.gpx");
        other.feed = "contractor";
        CHECK(
            reference::import_routes(conn, read("route.gpx", GeometryKind::line), other).inserted ==
            2);
        CHECK(count(conn, "SELECT count(*) FROM fleet.routes") == 4);

        CHECK(count(conn,
                    "SELECT count(*) FROM fleet.journal WHERE action = 'routes imported'"
                    " AND actor = 'tests'") == 3);
        pqxx::read_transaction tx(conn);
        const auto entry = tx.exec1(
            "SELECT subject, details->>'file', details->>'feed', (details->>'features')::int,"
            " (details->>'inserted')::int, (details->>'replaced')::int FROM fleet.journal"
            " WHERE action = 'routes imported' ORDER BY entry_id LIMIT 1");
        CHECK(entry[0].as<std::string>() == data + "route.geojson");
        CHECK(entry[1].as<std::string>() == data + "route.geojson");
        CHECK(entry[2].as<std::string>() == "local");
        CHECK(entry[3].as<int>() == 2);
        CHECK(entry[4].as<int>() == 2);
        CHECK(entry[5].as<int>() == 0);
    }

    TEST_CASE("reference: a bad import after a good one leaves the previous data as it was") {
        fleet::test::MigratedDatabase db;
        auto& conn = db.conn();
        reference::import_routes(conn, read("route.geojson", GeometryKind::line),
                                 from("route.geojson"));
        const std::string before =
            text(conn,
                 "SELECT string_agg(code || ST_AsText(geom) || attributes::text, ';' ORDER BY code)"
                 " FROM fleet.routes");

        // A bad file fails while being read, before anything is stored.
        CHECK_THROWS_AS(read("bad/one_point.geojson", GeometryKind::line), fleet::GeometryError);

        // A coordinate that is not a number is refused before anything is written.
        auto features = read("route.kml", GeometryKind::line);
        features.push_back(features.back());
        features.back().name = "Broken";
        std::get<geo::Line>(features.back().geometry)[1].lat_deg =
            std::numeric_limits<double>::quiet_NaN();
        CHECK_THROWS_AS(reference::import_routes(conn, features, from("route.kml")),
                        fleet::InputError);

        // Two features of one name are refused before anything is written.
        features.pop_back();
        features.push_back(features.front());
        CHECK_THROWS_AS(reference::import_routes(conn, features, from("route.kml")),
                        fleet::InputError);

        CHECK(text(conn,
                   "SELECT string_agg(code || ST_AsText(geom) || attributes::text, ';' ORDER BY "
                   "code) FROM fleet.routes") == before);
        CHECK(count(conn, "SELECT count(*) FROM fleet.journal") == 1);
    }

    TEST_CASE("reference: a failure part-way through an import rolls back the rows before it") {
        fleet::test::MigratedDatabase db;
        auto& conn = db.conn();
        auto zones = read("depots.shp", GeometryKind::polygon);
        reference::import_zones(conn, zones, from("depots.shp"), reference::ZoneKind::depot);
        const std::string before =
            text(conn,
                 "SELECT string_agg(code || kind || ST_AsText(geom), ';' ORDER BY code)"
                 " FROM fleet.zones");

        // The first two features are upserted, then PostGIS refuses a ring that is not closed.
        zones.push_back(zones.front());
        zones.back().name = "Open ring";
        std::get<geo::MultiPolygon>(zones.back().geometry)[0][0].back().lon_deg += 0.001;
        CHECK_THROWS_AS(
            reference::import_zones(conn, zones, from("depots.shp"), reference::ZoneKind::area),
            pqxx::sql_error);

        CHECK(text(conn,
                   "SELECT string_agg(code || kind || ST_AsText(geom), ';' ORDER BY code)"
                   " FROM fleet.zones") == before);
        CHECK(count(conn, "SELECT count(*) FROM fleet.journal") == 1);
    }

    TEST_CASE("reference: depots from a UTM Shapefile and a speed zone with its limit") {
        fleet::test::MigratedDatabase db;
        auto& conn = db.conn();
        const auto depots = reference::import_zones(conn, read("depots.shp", GeometryKind::polygon),
                                                    from("depots.shp"), reference::ZoneKind::depot);
        CHECK(depots.inserted == 2);
        CHECK(count(conn, "SELECT count(*) FROM fleet.zones WHERE kind = 'depot'") == 2);
        CHECK(count(conn,
                    "SELECT ST_NumGeometries(geom) FROM fleet.zones"
                    " WHERE code = 'South yard'") == 2);
        CHECK(text(conn, "SELECT GeometryType(geom) FROM fleet.zones WHERE code = 'North depot'") ==
              "MULTIPOLYGON");
        // 0.002° of longitude by 0.0015° of latitude at 50° N.
        const double width_m = haversine_m({{10.0, 50.00075}, {10.002, 50.00075}});
        const double height_m = haversine_m({{10.0, 50.0}, {10.0, 50.0015}});
        CHECK(number(conn,
                     "SELECT ST_Area(geom::geography) FROM fleet.zones"
                     " WHERE code = 'North depot'") ==
              doctest::Approx(width_m * height_m).epsilon(0.01));
        CHECK(count(conn,
                    "SELECT (attributes->>'capacity')::int FROM fleet.zones"
                    " WHERE code = 'North depot'") == 12);
        CHECK(count(conn, "SELECT count(*) FROM fleet.zones WHERE speed_limit_kmh IS NULL") == 2);

        const auto speed = read("speed_zone.geojson", GeometryKind::polygon);
        CHECK_THROWS_AS(reference::import_zones(conn, speed, from("speed_zone.geojson"),
                                                reference::ZoneKind::speed_zone),
                        fleet::InputError);
        CHECK_THROWS_AS(reference::import_zones(conn, speed, from("speed_zone.geojson"),
                                                reference::ZoneKind::speed_zone, "hours"),
                        fleet::InputError);
        CHECK(reference::import_zones(conn, speed, from("speed_zone.geojson"),
                                      reference::ZoneKind::speed_zone, "LIMIT")
                  .inserted == 1);
        CHECK(number(conn, "SELECT speed_limit_kmh FROM fleet.zones WHERE kind = 'speed_zone'") ==
              30);

        // Re-imported as loading points: the same two rows, of the new kind.
        const auto again =
            reference::import_zones(conn, read("depots.shp", GeometryKind::polygon),
                                    from("depots.shp"), reference::ZoneKind::loading_point);
        CHECK(again.replaced == 2);
        CHECK(count(conn, "SELECT count(*) FROM fleet.zones") == 3);
        CHECK(count(conn, "SELECT count(*) FROM fleet.zones WHERE kind = 'loading_point'") == 2);
        CHECK(count(conn,
                    "SELECT count(*) FROM fleet.journal WHERE action = 'zones imported'"
                    " AND details->>'kind' IN ('depot', 'speed_zone', 'loading_point')") == 3);
    }

    TEST_CASE("reference: stops with their radius, replaced on re-import") {
        fleet::test::MigratedDatabase db;
        auto& conn = db.conn();
        const auto stops = read("stops.geojson", GeometryKind::point);
        CHECK(reference::import_stops(conn, stops, from("stops.geojson"), 30).inserted == 3);
        CHECK(number(conn, "SELECT ST_X(geom) FROM fleet.stops WHERE code = 'Market'") ==
              10.0123456);
        CHECK(number(conn, "SELECT ST_Y(geom) FROM fleet.stops WHERE code = 'Market'") ==
              50.0034567);
        CHECK(text(conn, "SELECT name FROM fleet.stops WHERE code = 'Quarry gate'") ==
              "Quarry gate");
        const auto again = reference::import_stops(conn, stops, from("stops.geojson"), 40);
        CHECK(again.replaced == 3);
        CHECK(count(conn, "SELECT count(*) FROM fleet.stops") == 3);
        CHECK(count(conn, "SELECT count(*) FROM fleet.stops WHERE radius_m = 40") == 3);
        CHECK(count(conn,
                    "SELECT count(*) FROM fleet.journal WHERE action = 'stops imported'"
                    " AND (details->>'features')::int = 3") == 2);
        CHECK_THROWS_AS(reference::import_stops(conn, read("route.geojson", GeometryKind::line),
                                                from("route.geojson")),
                        fleet::InputError);
    }
}
