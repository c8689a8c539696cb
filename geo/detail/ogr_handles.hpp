#pragma once

#include <memory>
#include <string>

#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include "geo/error.hpp"

/// Owning handles for GDAL objects and the reprojection shared by geo's OGR readers.
namespace fleet::geo::detail {

struct DatasetCloser {
    void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using Dataset = std::unique_ptr<GDALDataset, DatasetCloser>;

/// While alive, GDAL's messages (open failures, GEOS's validity reasons) are kept for our
/// exceptions (CPLGetLastErrorMsg) instead of going to GDAL's default stderr handler. The
/// handler is per thread.
class QuietGdal {
  public:
    QuietGdal() {
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
    }
    ~QuietGdal() { CPLPopErrorHandler(); }
    QuietGdal(const QuietGdal&) = delete;
    QuietGdal& operator=(const QuietGdal&) = delete;
};

struct TransformDeleter {
    void operator()(OGRCoordinateTransformation* t) const {
        OGRCoordinateTransformation::DestroyCT(t);
    }
};
using Transform = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

/// A transformation from the layer's spatial reference to WGS 84 lon/lat, or null when the
/// layer is already in it or declares none. The data is taken in traditional GIS order (lon/lat
/// or easting/northing). Throws InputError starting with `where` when one is needed but GDAL has
/// none: projected coordinates must never pass as degrees.
inline Transform to_wgs84(OGRLayer& layer, const std::string& where) {
    const OGRSpatialReference* source = layer.GetSpatialRef();
    if (source == nullptr) {
        return nullptr;
    }
    OGRSpatialReference wgs84;
    wgs84.SetWellKnownGeogCS("WGS84");
    wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    if (source->IsSame(&wgs84)) {
        return nullptr;
    }
    OGRSpatialReference source_xy(*source);
    source_xy.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    Transform transform(OGRCreateCoordinateTransformation(&source_xy, &wgs84));
    if (!transform) {
        throw InputError(
            where + "layer '" + layer.GetName() +
            "': no transformation from its spatial reference to WGS 84: " + CPLGetLastErrorMsg());
    }
    return transform;
}

}  // namespace fleet::geo::detail
