#include "geo/ogr_features.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include "geo/detail/ogr_handles.hpp"
#include "geo/error.hpp"

namespace fleet::geo {

namespace {

using detail::DatasetCloser;
using detail::QuietGdal;
using detail::Transform;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
    throw InputError("file '" + path + "': " + reason);
}

// Where a feature is, for messages: "file 'x', layer 'y', FID 3".
std::string place(const std::string& path, OGRLayer& layer, GIntBig fid) {
    return "file '" + path + "', layer '" + layer.GetName() + "', FID " + std::to_string(fid);
}

// The kind a declared layer geometry type can hold; nullopt for wkbNone and for types that hold
// any kind (unknown, collections).
std::optional<GeometryKind> declared_kind(OGRwkbGeometryType type) {
    switch (wkbFlatten(type)) {
        case wkbPoint:
        case wkbMultiPoint:
            return GeometryKind::point;
        case wkbLineString:
        case wkbMultiLineString:
        case wkbCircularString:
        case wkbCompoundCurve:
        case wkbMultiCurve:
            return GeometryKind::line;
        case wkbPolygon:
        case wkbMultiPolygon:
        case wkbCurvePolygon:
        case wkbMultiSurface:
            return GeometryKind::polygon;
        default:
            return std::nullopt;
    }
}

std::vector<OGRLayer*> layers_to_read(GDALDataset& dataset, const std::string& path,
                                      const ReadOptions& options) {
    if (!options.layer.empty()) {
        OGRLayer* selected = dataset.GetLayerByName(options.layer.c_str());
        if (selected == nullptr) {
            std::string names;
            for (OGRLayer* each : dataset.GetLayers()) {
                names += (names.empty() ? "" : ", ") + std::string(each->GetName());
            }
            fail(path, "has no layer '" + options.layer + "' (its layers: " + names + ")");
        }
        return {selected};
    }
    const std::string driver = dataset.GetDriver()->GetDescription();
    if (driver == "GPX") {
        // GPX also offers every route and track point as a point layer; only waypoints are
        // features of their own.
        std::vector<OGRLayer*> chosen;
        for (const char* name : options.kind == GeometryKind::point
                                    ? std::vector<const char*>{"waypoints"}
                                    : std::vector<const char*>{"routes", "tracks"}) {
            if (OGRLayer* layer = dataset.GetLayerByName(name); layer != nullptr) {
                chosen.push_back(layer);
            }
        }
        return chosen;
    }
    std::vector<OGRLayer*> chosen;
    for (OGRLayer* each : dataset.GetLayers()) {
        const OGRwkbGeometryType type = each->GetGeomType();
        const auto kind = declared_kind(type);
        if (type != wkbNone &&
            (!kind || *kind == options.kind ||
             (options.kind == GeometryKind::area &&
              (*kind == GeometryKind::polygon || *kind == GeometryKind::line)))) {
            chosen.push_back(each);
        }
    }
    return chosen;
}

std::string field_list(OGRFeatureDefn& defn) {
    std::string names;
    for (int i = 0; i < defn.GetFieldCount(); ++i) {
        names += (i ? ", " : "") + std::string(defn.GetFieldDefn(i)->GetNameRef());
    }
    return names.empty() ? "(none)" : names;
}

int field_index(OGRLayer& layer, const std::string& path, const std::string& field,
                const std::string& role) {
    OGRFeatureDefn& defn = *layer.GetLayerDefn();
    const int index = defn.GetFieldIndex(field.c_str());
    if (index < 0) {
        fail(path, "layer '" + std::string(layer.GetName()) + "' has no " + role + " field '" +
                       field + "'; its fields are: " + field_list(defn));
    }
    return index;
}

std::string two_digits(int value) {
    char text[16];
    std::snprintf(text, sizeof text, "%02d", value);
    return text;
}

// OGR's date, time and date-time fields as ISO 8601 text.
std::string iso8601(OGRFeature& feature, int index, OGRFieldType type) {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, tz = 0;
    float second = 0;
    feature.GetFieldAsDateTime(index, &year, &month, &day, &hour, &minute, &second, &tz);
    std::string out;
    if (type != OFTTime) {
        char date[48];
        std::snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, day);
        out = date;
    }
    if (type == OFTDate) {
        return out;
    }
    if (type == OFTDateTime) {
        out += 'T';
    }
    char time[64];
    if (second != std::floor(second)) {
        std::snprintf(time, sizeof time, "%02d:%02d:%06.3f", hour, minute,
                      static_cast<double>(second));
    } else {
        std::snprintf(time, sizeof time, "%02d:%02d:%02d", hour, minute, static_cast<int>(second));
    }
    out += time;
    // OGR's time zone flag: 0 unknown, 1 local time, 100 UTC, 100 ± n quarters of an hour.
    if (tz == 100) {
        out += 'Z';
    } else if (tz > 1) {
        const int offset_min = (tz - 100) * 15;
        const int magnitude = std::abs(offset_min);
        out += (offset_min < 0 ? "-" : "+") + two_digits(magnitude / 60) + ":" +
               two_digits(magnitude % 60);
    }
    return out;
}

nlohmann::json attribute(OGRFeature& feature, int index) {
    const OGRFieldDefn& defn = *feature.GetFieldDefnRef(index);
    int count = 0;
    switch (defn.GetType()) {
        case OFTInteger:
            if (defn.GetSubType() == OFSTBoolean) {
                return feature.GetFieldAsInteger(index) != 0;
            }
            return feature.GetFieldAsInteger(index);
        case OFTInteger64:
            return static_cast<std::int64_t>(feature.GetFieldAsInteger64(index));
        case OFTReal:
            return feature.GetFieldAsDouble(index);
        case OFTString:
            if (defn.GetSubType() == OFSTJSON) {
                auto parsed = nlohmann::json::parse(feature.GetFieldAsString(index), nullptr,
                                                    /*allow_exceptions=*/false);
                if (!parsed.is_discarded()) {
                    return parsed;
                }
            }
            return feature.GetFieldAsString(index);
        case OFTDate:
        case OFTTime:
        case OFTDateTime:
            return iso8601(feature, index, defn.GetType());
        case OFTIntegerList: {
            const int* values = feature.GetFieldAsIntegerList(index, &count);
            auto list = nlohmann::json::array();
            for (int i = 0; i < count; ++i) {
                list.push_back(defn.GetSubType() == OFSTBoolean ? nlohmann::json(values[i] != 0)
                                                                : nlohmann::json(values[i]));
            }
            return list;
        }
        case OFTInteger64List: {
            const GIntBig* values = feature.GetFieldAsInteger64List(index, &count);
            auto list = nlohmann::json::array();
            for (int i = 0; i < count; ++i) {
                list.push_back(static_cast<std::int64_t>(values[i]));
            }
            return list;
        }
        case OFTRealList: {
            const double* values = feature.GetFieldAsDoubleList(index, &count);
            return std::vector<double>(values, values + count);
        }
        case OFTStringList: {
            auto list = nlohmann::json::array();
            for (char** each = feature.GetFieldAsStringList(index); each && *each; ++each) {
                list.push_back(*each);
            }
            return list;
        }
        default:
            return feature.GetFieldAsString(index);
    }
}

std::string trimmed(std::string text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return "";
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string number(double value) {
    char text[32];
    const auto result = std::to_chars(text, text + sizeof text, value);
    return std::string(text, result.ptr);
}

std::string coordinates(const LonLat& p) {
    return number(p.lon_deg) + " " + number(p.lat_deg);
}

Line line_of(const OGRSimpleCurve& curve) {
    Line out;
    out.reserve(static_cast<std::size_t>(curve.getNumPoints()));
    for (int i = 0; i < curve.getNumPoints(); ++i) {
        out.push_back({curve.getX(i), curve.getY(i)});
    }
    return out;
}

bool same(const LonLat& a, const LonLat& b) {
    return a.lon_deg == b.lon_deg && a.lat_deg == b.lat_deg;
}

// The parts of a MultiLineString as one line, when each part continues the previous one (either
// way round; the first part may be turned round too). GPX tracks split into segments at a pause
// read this way; parts with a gap between them are not one route.
std::optional<Line> merged(const OGRMultiLineString& multi, std::string& problem) {
    std::vector<Line> parts;
    for (const OGRLineString* part : multi) {
        if (part->getNumPoints() > 0) {
            parts.push_back(line_of(*part));
        }
    }
    if (parts.empty()) {
        problem = "is empty";
        return std::nullopt;
    }
    Line out = parts.front();
    for (std::size_t i = 1; i < parts.size(); ++i) {
        Line part = parts[i];
        if (i == 1 && !same(out.back(), part.front()) && !same(out.back(), part.back()) &&
            (same(out.front(), part.front()) || same(out.front(), part.back()))) {
            std::reverse(out.begin(), out.end());
        }
        if (same(out.back(), part.back())) {
            std::reverse(part.begin(), part.end());
        }
        if (!same(out.back(), part.front())) {
            problem = "is a MultiLineString of " + std::to_string(parts.size()) +
                      " parts that do not join into one line (part " + std::to_string(i + 1) +
                      " starts at " + coordinates(part.front()) + ", part " + std::to_string(i) +
                      " ends at " + coordinates(out.back()) + ")";
            return std::nullopt;
        }
        out.insert(out.end(), part.begin() + 1, part.end());
    }
    return out;
}

MultiPolygon polygons_of(const OGRGeometry& geometry) {
    MultiPolygon out;
    auto add = [&out](const OGRPolygon& polygon) {
        Polygon rings;
        for (const OGRLinearRing* ring : polygon) {
            rings.push_back(line_of(*ring));
        }
        out.push_back(std::move(rings));
    };
    if (wkbFlatten(geometry.getGeometryType()) == wkbPolygon) {
        add(*geometry.toPolygon());
    } else {
        for (const OGRPolygon* polygon : *geometry.toMultiPolygon()) {
            add(*polygon);
        }
    }
    return out;
}

// Every position within lon [-180, 180], lat [-90, 90]; a projected file without its .prj reads
// as metres taken for degrees and fails here.
std::optional<std::string> out_of_range(const OGRGeometry& geometry) {
    OGREnvelope box;
    geometry.getEnvelope(&box);
    if (box.MinX < -180 || box.MaxX > 180 || box.MinY < -90 || box.MaxY > 90 ||
        !std::isfinite(box.MinX) || !std::isfinite(box.MaxX) || !std::isfinite(box.MinY) ||
        !std::isfinite(box.MaxY)) {
        return "has coordinates outside WGS 84 longitude/latitude (extent " + number(box.MinX) +
               " " + number(box.MinY) + ", " + number(box.MaxX) + " " + number(box.MaxY) +
               "); does the file declare its spatial reference (e.g. a .prj)?";
    }
    return std::nullopt;
}

std::string validity_problem(const OGRGeometry& geometry) {
    CPLErrorReset();
    if (geometry.IsValid()) {
        return "";
    }
    // GEOS gives the reason as a warning ("GEOS warning: Self-intersection at or near point x y").
    std::string reason = CPLGetLastErrorMsg();
    const std::string prefix = "GEOS warning: ";
    if (reason.rfind(prefix, 0) == 0) {
        reason.erase(0, prefix.size());
    }
    return "is not valid" + (reason.empty() ? std::string() : ": " + reason);
}

// The feature's geometry as the kind asked for, in WGS 84, or the reason it cannot be used.
Geometry geometry_of(const OGRGeometry* source, GeometryKind kind,
                     OGRCoordinateTransformation* transform, const std::string& label,
                     const std::string& where) {
    auto problem = [&](const std::string& reason) -> GeometryError {
        return GeometryError(label, reason + " (" + where + ")");
    };
    if (source == nullptr) {
        throw problem("is missing (the feature has no geometry)");
    }
    std::unique_ptr<OGRGeometry> geometry(source->hasCurveGeometry() ? source->getLinearGeometry()
                                                                     : source->clone());
    geometry->flattenTo2D();
    if (geometry->IsEmpty()) {
        throw problem("is empty");
    }
    const OGRwkbGeometryType type = wkbFlatten(geometry->getGeometryType());
    bool right_kind = false;
    switch (kind) {
        case GeometryKind::line:
            right_kind = type == wkbLineString || type == wkbMultiLineString;
            break;
        case GeometryKind::polygon:
            right_kind = type == wkbPolygon || type == wkbMultiPolygon;
            break;
        case GeometryKind::point:
            right_kind = type == wkbPoint || (type == wkbMultiPoint &&
                                              geometry->toMultiPoint()->getNumGeometries() == 1);
            break;
        case GeometryKind::area:
            right_kind = type == wkbPolygon || type == wkbMultiPolygon || type == wkbLineString ||
                         type == wkbMultiLineString;
            break;
    }
    if (!right_kind) {
        throw problem("is a " + std::string(OGRGeometryTypeToName(type)) + " where a " +
                      to_string(kind) + " was expected");
    }
    if (type == wkbLineString && geometry->toLineString()->getNumPoints() < 2) {
        const int points = geometry->toLineString()->getNumPoints();
        throw problem("is a line of " + std::to_string(points) + " point" +
                      (points == 1 ? "" : "s") + "; a line needs at least 2");
    }
    if (transform != nullptr && geometry->transform(transform) != OGRERR_NONE) {
        throw problem("cannot be transformed to WGS 84: " + std::string(CPLGetLastErrorMsg()));
    }
    if (const auto reason = out_of_range(*geometry)) {
        throw problem(*reason);
    }
    Geometry out;
    if (type == wkbMultiLineString) {
        std::string reason;
        auto line = merged(*geometry->toMultiLineString(), reason);
        if (!line) {
            throw problem(reason);
        }
        if (line->size() < 2) {
            throw problem("is a line of 1 point; a line needs at least 2");
        }
        OGRLineString joined;
        for (const LonLat& p : *line) {
            joined.addPoint(p.lon_deg, p.lat_deg);
        }
        if (const std::string invalid = validity_problem(joined); !invalid.empty()) {
            throw problem(invalid);
        }
        return std::move(*line);
    }
    if (const std::string invalid = validity_problem(*geometry); !invalid.empty()) {
        throw problem(invalid);
    }
    switch (type) {
        case wkbPoint: {
            const OGRPoint& p = *geometry->toPoint();
            return LonLat{p.getX(), p.getY()};
        }
        case wkbMultiPoint: {
            const OGRPoint& p = *geometry->toMultiPoint()->getGeometryRef(0);
            return LonLat{p.getX(), p.getY()};
        }
        case wkbLineString:
            return line_of(*geometry->toLineString());
        default:
            return polygons_of(*geometry);
    }
}

void read_layer(OGRLayer& layer, const std::string& path, const ReadOptions& options,
                const std::string& name_field, std::vector<Feature>& out) {
    const int name_index = options.unnamed ? -1 : field_index(layer, path, name_field, "name");
    for (const std::string& required : options.required_fields) {
        field_index(layer, path, required, "required");
    }
    const Transform transform = detail::to_wgs84(layer, "file '" + path + "': ");
    layer.ResetReading();
    for (auto& feature : layer) {
        const GIntBig fid = feature->GetFID();
        const std::string where = place(path, layer, fid);
        const std::string name = options.unnamed ? "FID " + std::to_string(fid)
                                 : feature->IsFieldSetAndNotNull(name_index)
                                     ? trimmed(feature->GetFieldAsString(name_index))
                                     : std::string();
        const std::string label = name.empty() ? "FID " + std::to_string(fid) : name;
        Geometry geometry =
            geometry_of(feature->GetGeometryRef(), options.kind, transform.get(), label, where);
        if (name.empty()) {
            throw InputError(where + ": no value in the name field '" + name_field + "'");
        }
        if (!CPLIsUTF8(name.c_str(), -1)) {
            throw InputError(where + ": the name is not UTF-8 text");
        }
        Feature each{name, static_cast<std::int64_t>(fid), layer.GetName(), std::move(geometry),
                     nlohmann::json::object()};
        for (int i = 0; i < feature->GetFieldCount(); ++i) {
            if (feature->IsFieldSetAndNotNull(i)) {
                each.attributes[feature->GetFieldDefnRef(i)->GetNameRef()] = attribute(*feature, i);
            }
        }
        out.push_back(std::move(each));
        if (options.progress && options.progress_every > 0 &&
            out.size() % options.progress_every == 0) {
            options.progress(out.size());
        }
    }
}

void append_ring(std::string& out, const Ring& ring) {
    out += '(';
    for (std::size_t i = 0; i < ring.size(); ++i) {
        out += (i ? "," : "") + coordinates(ring[i]);
    }
    out += ')';
}

}  // namespace

const char* to_string(GeometryKind kind) {
    switch (kind) {
        case GeometryKind::line:
            return "line";
        case GeometryKind::polygon:
            return "polygon";
        case GeometryKind::point:
            return "point";
        case GeometryKind::area:
            return "area";
    }
    return "?";
}

std::string to_wkt(const Geometry& geometry) {
    std::string out;
    if (const auto* point = std::get_if<LonLat>(&geometry)) {
        out = "POINT(" + coordinates(*point) + ")";
    } else if (const auto* line = std::get_if<Line>(&geometry)) {
        out = "LINESTRING";
        append_ring(out, *line);
    } else {
        out = "MULTIPOLYGON(";
        const auto& polygons = std::get<MultiPolygon>(geometry);
        for (std::size_t i = 0; i < polygons.size(); ++i) {
            out += i ? ",(" : "(";
            for (std::size_t r = 0; r < polygons[i].size(); ++r) {
                if (r) {
                    out += ',';
                }
                append_ring(out, polygons[i][r]);
            }
            out += ')';
        }
        out += ')';
    }
    return out;
}

nlohmann::json to_geojson(const Geometry& geometry) {
    const auto position = [](const LonLat& p) {
        return nlohmann::json::array({p.lon_deg, p.lat_deg});
    };
    const auto positions = [&](const std::vector<LonLat>& points) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& p : points) {
            out.push_back(position(p));
        }
        return out;
    };
    if (const auto* point = std::get_if<LonLat>(&geometry)) {
        return {{"type", "Point"}, {"coordinates", position(*point)}};
    }
    if (const auto* line = std::get_if<Line>(&geometry)) {
        return {{"type", "LineString"}, {"coordinates", positions(*line)}};
    }
    nlohmann::json polygons = nlohmann::json::array();
    for (const auto& polygon : std::get<MultiPolygon>(geometry)) {
        nlohmann::json rings = nlohmann::json::array();
        for (const auto& ring : polygon) {
            rings.push_back(positions(ring));
        }
        polygons.push_back(std::move(rings));
    }
    return {{"type", "MultiPolygon"}, {"coordinates", std::move(polygons)}};
}

MultiPolygon multipolygon_of_geojson(const nlohmann::json& geometry) {
    MultiPolygon area;
    for (const auto& polygon : geometry.at("coordinates")) {
        Polygon rings;
        for (const auto& ring : polygon) {
            Ring points;
            for (const auto& c : ring) {
                points.push_back({c.at(0).get<double>(), c.at(1).get<double>()});
            }
            rings.push_back(std::move(points));
        }
        area.push_back(std::move(rings));
    }
    return area;
}

std::vector<Feature> read_features(const std::string& path, const ReadOptions& options) {
    GDALAllRegister();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        fail(path, "does not exist");
    }
    const QuietGdal quiet;
    std::unique_ptr<GDALDataset, DatasetCloser> dataset(
        GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    if (!dataset) {
        const std::string reason = CPLGetLastErrorMsg();
        fail(path, "cannot be opened as a vector file" + (reason.empty() ? "" : ": " + reason));
    }
    std::string name_field = options.name_field;
    if (name_field.empty() && !options.unnamed) {
        const std::string driver = dataset->GetDriver()->GetDescription();
        if (driver != "GPX" && driver != "KML" && driver != "LIBKML") {
            std::string fields;
            for (OGRLayer* each : dataset->GetLayers()) {
                fields += (fields.empty() ? "" : "; ") + std::string(each->GetName()) + ": " +
                          field_list(*each->GetLayerDefn());
            }
            fail(path, "no name field given; the attributes there are (by layer) " + fields);
        }
        name_field = "name";
    }
    std::vector<Feature> features;
    for (OGRLayer* layer : layers_to_read(*dataset, path, options)) {
        read_layer(*layer, path, options, name_field, features);
    }
    if (features.empty()) {
        std::string layers;
        for (OGRLayer* each : dataset->GetLayers()) {
            layers += (layers.empty() ? "" : ", ") + std::string(each->GetName()) + ": " +
                      OGRGeometryTypeToName(each->GetGeomType());
        }
        fail(path, "holds no " + std::string(to_string(options.kind)) + " feature" +
                       (options.layer.empty() ? "" : " in layer '" + options.layer + "'") +
                       " (its layers: " + layers + ")");
    }
    return features;
}

}  // namespace fleet::geo
