#include "geo/ogr_lines.hpp"

#include <filesystem>
#include <memory>

#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include "geo/detail/ogr_handles.hpp"
#include "geo/error.hpp"

namespace fleet::geo {

namespace {

using detail::DatasetCloser;
using detail::Transform;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
    throw InputError("route file '" + path + "': " + reason);
}

void add_line(const OGRLineString& line, OGRCoordinateTransformation* transform,
              std::vector<std::vector<LonLat>>& out) {
    if (line.getNumPoints() < 2) {
        return;
    }
    std::vector<LonLat> points;
    points.reserve(static_cast<std::size_t>(line.getNumPoints()));
    for (int i = 0; i < line.getNumPoints(); ++i) {
        double x = line.getX(i);
        double y = line.getY(i);
        if (transform != nullptr && !transform->Transform(1, &x, &y)) {
            continue;
        }
        points.push_back({x, y});
    }
    if (points.size() >= 2) {
        out.push_back(std::move(points));
    }
}

void read_layer(OGRLayer& layer, const std::string& path, std::vector<std::vector<LonLat>>& out) {
    const Transform transform = detail::to_wgs84(layer, "route file '" + path + "': ");
    layer.ResetReading();
    for (auto& feature : layer) {
        const OGRGeometry* geometry = feature->GetGeometryRef();
        if (geometry == nullptr) {
            continue;
        }
        switch (wkbFlatten(geometry->getGeometryType())) {
            case wkbLineString:
                add_line(*geometry->toLineString(), transform.get(), out);
                break;
            case wkbMultiLineString:
                for (const OGRLineString* part : *geometry->toMultiLineString()) {
                    add_line(*part, transform.get(), out);
                }
                break;
            default:
                break;
        }
    }
}

}  // namespace

std::vector<std::vector<LonLat>> read_lines(const std::string& path, const std::string& layer) {
    GDALAllRegister();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        fail(path, "does not exist");
    }
    // GDAL's own message goes into the exception instead of GDAL's default stderr handler.
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    std::unique_ptr<GDALDataset, DatasetCloser> dataset(
        GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    const std::string reason = CPLGetLastErrorMsg();
    CPLPopErrorHandler();
    if (!dataset) {
        fail(path, "cannot be opened as a vector file" + (reason.empty() ? "" : ": " + reason));
    }
    std::vector<std::vector<LonLat>> lines;
    if (!layer.empty()) {
        OGRLayer* selected = dataset->GetLayerByName(layer.c_str());
        if (selected == nullptr) {
            fail(path, "has no layer '" + layer + "'");
        }
        read_layer(*selected, path, lines);
    } else {
        for (OGRLayer* each : dataset->GetLayers()) {
            read_layer(*each, path, lines);
        }
    }
    if (lines.empty()) {
        fail(path, layer.empty() ? "holds no line (LineString, MultiLineString, GPX track or route)"
                                 : "layer '" + layer + "' holds no line");
    }
    return lines;
}

}  // namespace fleet::geo
