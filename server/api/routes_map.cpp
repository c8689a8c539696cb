// What the dashboard's map draws besides the vehicles: the routes' lines, the stops and the
// zones, as GeoJSON FeatureCollections made by PostGIS; and the page's own settings.
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

// Each layer is one statement that returns the whole FeatureCollection as JSON text, so the
// API copies it without parsing. Coordinates to 6 decimals (0.1 m), as GeoJSON readers expect.
constexpr const char* routes_sql = R"(
WITH route_shapes AS (
    SELECT DISTINCT route_id, shape_id FROM fleet.trips WHERE shape_id IS NOT NULL
), f AS (
    SELECT r.route_id,
           json_build_object(
               'type', 'Feature', 'id', r.route_id,
               'geometry', ST_AsGeoJSON(COALESCE(r.geom,
                   (SELECT ST_Multi(ST_Collect(sh.geom)) FROM route_shapes rs
                      JOIN fleet.shapes sh USING (shape_id) WHERE rs.route_id = r.route_id)),
                   6)::json,
               'properties', json_build_object(
                   'route_id', r.route_id, 'feed', r.feed, 'code', r.code,
                   'short_name', r.short_name, 'long_name', r.long_name,
                   'route_type', r.route_type,
                   'colour', NULLIF(r.attributes->>'route_color', ''))) AS feature
      FROM fleet.routes r
)
SELECT json_build_object('type', 'FeatureCollection',
                         'features', COALESCE(json_agg(feature ORDER BY route_id), '[]'))::text
  FROM f WHERE feature->'geometry' IS NOT NULL AND json_typeof(feature->'geometry') = 'object'
)";

constexpr const char* stops_sql = R"(
SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(
           json_build_object('type', 'Feature', 'id', stop_id,
                             'geometry', ST_AsGeoJSON(geom, 6)::json,
                             'properties', json_build_object('stop_id', stop_id, 'feed', feed,
                                                             'code', code, 'name', name,
                                                             'radius_m', radius_m))
           ORDER BY stop_id), '[]'))::text
  FROM fleet.stops
)";

constexpr const char* zones_sql = R"(
SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg(
           json_build_object('type', 'Feature', 'id', zone_id,
                             'geometry', ST_AsGeoJSON(geom, 6)::json,
                             'properties', json_build_object('zone_id', zone_id, 'feed', feed,
                                                             'code', code, 'name', name,
                                                             'kind', kind,
                                                             'speed_limit_kmh', speed_limit_kmh))
           ORDER BY zone_id), '[]'))::text
  FROM fleet.zones
)";

Route layer_route(std::string pattern, const char* sql) {
    return {.method = Method::get,
            .pattern = std::move(pattern),
            .roles = all_roles,
            .handler = [sql](Call& call) {
                pqxx::read_transaction tx(call.db());
                const auto row = tx.exec1(sql);
                Response r{200, "application/geo+json", row[0].as<std::string>()};
                r.headers.emplace_back("Cache-Control", "private, max-age=60");
                return r;
            }};
}

}  // namespace

void add_map_routes(Router& router, ApiServices& s) {
    router.add(layer_route("/api/map/routes", routes_sql));
    router.add(layer_route("/api/map/stops", stops_sql));
    router.add(layer_route("/api/map/zones", zones_sql));
    // What the page needs to know of the service's configuration.
    router.add({.method = Method::get,
                .pattern = "/api/ui",
                .roles = all_roles,
                .runs = Runs::in_memory,
                .handler = [&s](Call& call) {
                    call.user();
                    const auto& t = s.settings.thresholds;
                    return json_response({{"map_tiles", or_null(s.settings.map_tiles)},
                                          {"map_attribution", or_null(s.settings.map_attribution)},
                                          {"on_time_window_s",
                                           {{"early", t.early.count()}, {"late", t.late.count()}}},
                                          {"replies", s.settings.message_replies},
                                          {"user",
                                           {{"name", call.user().name},
                                            {"role", to_string(call.user().role)},
                                            {"limited_to_groups", call.user().limited}}}});
                }});
}

}  // namespace fleet::server::api
