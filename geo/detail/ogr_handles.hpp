#pragma once

#include <memory>

#include <gdal_priv.h>
#include <ogr_spatialref.h>

/// Owning handles for GDAL objects, shared by geo's OGR readers.
namespace fleet::geo::detail {

struct DatasetCloser {
    void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using Dataset = std::unique_ptr<GDALDataset, DatasetCloser>;

struct TransformDeleter {
    void operator()(OGRCoordinateTransformation* t) const {
        OGRCoordinateTransformation::DestroyCT(t);
    }
};
using Transform = std::unique_ptr<OGRCoordinateTransformation, TransformDeleter>;

}  // namespace fleet::geo::detail
