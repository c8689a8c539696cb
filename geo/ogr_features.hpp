#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "geo/ogr_lines.hpp"

/// Reading named features (routes, zones, stops) with their attributes from any vector format OGR
/// opens: GeoJSON, KML, GPX, Shapefile, GeoPackage, ...
namespace fleet::geo {

/// The kind of geometry a caller wants from a file.
enum class GeometryKind {
    line,     ///< LineString, or a MultiLineString whose parts join into one line
    polygon,  ///< Polygon or MultiPolygon
    point,    ///< Point, or a MultiPoint of one point
    area,     ///< a polygon, or a line (a road section that a buffer turns into an area)
};

/// "line", "polygon", "point" or "area".
const char* to_string(GeometryKind kind);

/// A line in WGS 84, at least 2 positions.
using Line = std::vector<LonLat>;
/// A closed ring (first position repeated last).
using Ring = std::vector<LonLat>;
/// One polygon: the outer ring first, then its holes.
using Polygon = std::vector<Ring>;
/// One or more polygons (a Polygon is read as a MultiPolygon of one).
using MultiPolygon = std::vector<Polygon>;
/// A feature's geometry, in WGS 84 lon/lat: a point, a line or polygons as asked for.
using Geometry = std::variant<LonLat, Line, MultiPolygon>;

/// The geometry as OGC WKT (2D, SRID not included), numbers written so that they read back to the
/// same doubles: "POINT(10 50)", "LINESTRING(...)", "MULTIPOLYGON(((...)))".
std::string to_wkt(const Geometry& geometry);

/// The geometry as a GeoJSON geometry object ("Point", "LineString" or "MultiPolygon").
nlohmann::json to_geojson(const Geometry& geometry);

/// The polygons of a GeoJSON MultiPolygon's coordinates, as PostGIS writes them
/// (ST_AsGeoJSON(ST_Multi(geom))). Throws nlohmann::json::exception for another shape.
MultiPolygon multipolygon_of_geojson(const nlohmann::json& geometry);

/// How to read a file.
struct ReadOptions {
    /// One layer by name; empty reads every layer that may hold the wanted kind (for GPX: the
    /// "routes" and "tracks" layers for lines, "waypoints" for points).
    std::string layer;
    /// The attribute that names each feature (matched without regard to case). Empty means
    /// "name" for GPX and KML files, whose features always have one; other formats need it.
    std::string name_field;
    /// Features need no name (an area drawn in a GIS): each is named by its FID, and
    /// `name_field` is not looked for.
    bool unnamed = false;
    /// The geometry every feature must have.
    GeometryKind kind = GeometryKind::line;
    /// Further attributes that every layer read must declare (e.g. a speed limit field).
    std::vector<std::string> required_fields;
    /// Called with the number of features read so far, every `progress_every` features.
    std::function<void(std::size_t features_read)> progress;
    std::size_t progress_every = 1000;
};

/// One named feature of a file.
struct Feature {
    std::string name;      ///< the value of the name field, never empty
    std::int64_t fid = 0;  ///< OGR's feature id within its layer
    std::string layer;     ///< the layer it came from
    Geometry geometry;     ///< the kind asked for, in WGS 84 lon/lat
    nlohmann::json attributes = nlohmann::json::object();  ///< every field that has a value
};

/// The features of a file, in file order, with coordinates transformed to WGS 84 lon/lat
/// (traditional GIS axis order) when the layer declares another spatial reference; Z and M
/// values are dropped. Attributes keep their types (numbers, booleans, strings, lists, JSON
/// objects); dates become ISO 8601 strings; fields without a value are left out.
///
/// All or nothing: throws at the first feature that cannot be used, and returns nothing then.
/// Throws InputError (naming the file) when the file cannot be opened, the layer does not exist,
/// the name field or a required field is missing (the message lists the fields there are), a
/// feature's name is empty, or no feature is found; throws GeometryError naming the feature (its
/// name, or "FID n" when it has none) and the reason when its geometry is missing, empty, of
/// another kind, a line of fewer than 2 points, a MultiLineString whose parts do not join into
/// one line, invalid (e.g. a self-intersecting polygon, with GEOS's reason and place), outside
/// the WGS 84 range after transformation, or cannot be transformed.
std::vector<Feature> read_features(const std::string& path, const ReadOptions& options);

}  // namespace fleet::geo
