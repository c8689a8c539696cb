#pragma once

#include <string>

#include "geo/track.hpp"

/// The track formats written through OGR (geo/ogr_track.cpp); geo::write_track documents them.
namespace fleet::geo::detail {

/// GPX 1.1 through OGR's GPX driver, written into /vsimem/ and returned as bytes.
std::string write_gpx(const Track& track);
/// KML 2.2 through OGR's LIBKML driver (its KML driver when GDAL lacks LIBKML), likewise.
std::string write_kml(const Track& track);

}  // namespace fleet::geo::detail
