#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "geo/ogr_lines.hpp"

namespace fleet::dispatch::detail {

/// The points of a GeoJSON LineString as PostGIS writes it (ST_AsGeoJSON). Throws
/// nlohmann::json errors on anything else.
inline std::vector<geo::LonLat> line_from_geojson(const std::string& geojson) {
    std::vector<geo::LonLat> out;
    const auto j = nlohmann::json::parse(geojson);
    for (const auto& c : j.at("coordinates")) {
        out.push_back({c.at(0).get<double>(), c.at(1).get<double>()});
    }
    return out;
}

}  // namespace fleet::dispatch::detail
