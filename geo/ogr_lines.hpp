#pragma once

#include <string>
#include <vector>

/// Reading line geometries (routes, tracks) from any vector format OGR opens.
namespace fleet::geo {

/// A WGS 84 position, longitude first as in GeoJSON and OGR.
struct LonLat {
    double lon_deg = 0;
    double lat_deg = 0;
};

/// The lines of a vector file (GeoJSON, GPX, KML, Shapefile, ...), in file order: every
/// LineString, every part of a MultiLineString (GPX tracks; GPX routes are LineStrings), with
/// coordinates transformed to WGS 84 lon/lat when the layer declares another spatial reference.
/// `layer` selects one layer by name; empty reads all layers. Lines with fewer than 2 points are
/// skipped. Throws InputError naming the path and the reason when the file cannot be opened, the
/// layer does not exist or no line is found.
std::vector<std::vector<LonLat>> read_lines(const std::string& path, const std::string& layer = "");

}  // namespace fleet::geo
