#include "dispatch/reference/store.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <span>

#include <nlohmann/json.hpp>

#include "geo/error.hpp"
#include "geo/journal.hpp"

namespace fleet::dispatch::reference {

namespace {

using LonLatSpan = std::span<const geo::LonLat>;

// "layer 'x', FID 3": where a feature came from, for messages.
std::string place(const geo::Feature& feature) {
    return "layer '" + feature.layer + "', FID " + std::to_string(feature.fid);
}

std::string in_source(const ImportOptions& options) {
    return options.source.empty() ? "" : " in '" + options.source + "'";
}

// Names become codes, unique per feed: two features of one name would silently overwrite each
// other within one import.
void check_unique_names(const std::vector<geo::Feature>& features, const ImportOptions& options) {
    std::map<std::string, const geo::Feature*> seen;
    for (const geo::Feature& feature : features) {
        const auto [it, fresh] = seen.emplace(feature.name, &feature);
        if (!fresh) {
            throw InputError("two features" + in_source(options) + " are named '" + feature.name +
                             "' (" + place(*it->second) + " and " + place(feature) +
                             "); the name is the code and must be unique");
        }
    }
}

bool finite(const LonLatSpan& points) {
    return std::all_of(points.begin(), points.end(), [](const geo::LonLat& p) {
        return std::isfinite(p.lon_deg) && std::isfinite(p.lat_deg);
    });
}

// PostGIS takes "NaN" in WKT as a coordinate; features from read_features never hold one, but
// features built otherwise might.
bool finite(const geo::Geometry& geometry) {
    if (const auto* point = std::get_if<geo::LonLat>(&geometry)) {
        return finite(LonLatSpan(point, 1));
    }
    if (const auto* line = std::get_if<geo::Line>(&geometry)) {
        return finite(LonLatSpan(*line));
    }
    for (const geo::Polygon& polygon : std::get<geo::MultiPolygon>(geometry)) {
        for (const geo::Ring& ring : polygon) {
            if (!finite(LonLatSpan(ring))) {
                return false;
            }
        }
    }
    return true;
}

template <typename T>
const T& geometry_as(const geo::Feature& feature, const char* kind, const ImportOptions& options) {
    const T* geometry = std::get_if<T>(&feature.geometry);
    if (geometry == nullptr) {
        throw InputError("feature '" + feature.name + "'" + in_source(options) + " (" +
                         place(feature) + ") is not a " + kind);
    }
    if (!finite(feature.geometry)) {
        throw InputError("feature '" + feature.name + "'" + in_source(options) + " (" +
                         place(feature) + ") has a coordinate that is not a number");
    }
    return *geometry;
}

std::string lower(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

// The attribute named `field`, matched without regard to case as OGR matches field names.
const nlohmann::json* attribute(const geo::Feature& feature, const std::string& field) {
    if (auto it = feature.attributes.find(field); it != feature.attributes.end()) {
        return &*it;
    }
    const std::string wanted = lower(field);
    for (auto it = feature.attributes.begin(); it != feature.attributes.end(); ++it) {
        if (lower(it.key()) == wanted) {
            return &*it;
        }
    }
    return nullptr;
}

double speed_limit_kmh(const geo::Feature& feature, const std::string& field,
                       const ImportOptions& options) {
    const nlohmann::json* value = attribute(feature, field);
    std::optional<double> limit;
    if (value != nullptr && value->is_number()) {
        limit = value->get<double>();
    } else if (value != nullptr && value->is_string()) {
        const std::string text = value->get<std::string>();
        double parsed = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
        if (ec == std::errc() && end == text.data() + text.size()) {
            limit = parsed;
        }
    }
    if (!limit || !std::isfinite(*limit) || *limit <= 0) {
        throw InputError("zone '" + feature.name + "'" + in_source(options) + " (" +
                         place(feature) + "): speed limit field '" + field + "' " +
                         (value == nullptr
                              ? std::string("has no value")
                              : "holds " + value->dump() + ", not a positive number of km/h"));
    }
    return *limit;
}

std::string json_text(const nlohmann::json& value) {
    // Attribute text from a file in a wrong encoding must not stop the import.
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void report_progress(const ImportOptions& options, std::size_t done) {
    if (options.progress && options.progress_every > 0 && done % options.progress_every == 0) {
        options.progress(done);
    }
}

void count(ImportReport& report, const pqxx::row& row) {
    // xmax = 0 on the returned row version means INSERT; otherwise ON CONFLICT updated it.
    if (row[0].as<bool>()) {
        ++report.inserted;
    } else {
        ++report.replaced;
    }
}

void journal(pqxx::work& tx, const ImportOptions& options, const std::string& action,
             const ImportReport& report, nlohmann::json details) {
    details["feed"] = options.feed;
    details["file"] = options.source;
    details["features"] = report.inserted + report.replaced;
    details["inserted"] = report.inserted;
    details["replaced"] = report.replaced;
    geo::record(tx, {.actor = options.actor.empty() ? std::string("unknown") : options.actor,
                     .action = action,
                     .subject = options.source.empty() ? options.feed : options.source,
                     .details = details});
}

}  // namespace

const char* to_string(ZoneKind kind) {
    switch (kind) {
        case ZoneKind::depot:
            return "depot";
        case ZoneKind::loading_point:
            return "loading_point";
        case ZoneKind::speed_zone:
            return "speed_zone";
        case ZoneKind::area:
            return "area";
    }
    return "?";
}

ZoneKind zone_kind_from_string(const std::string& text) {
    for (ZoneKind kind :
         {ZoneKind::depot, ZoneKind::loading_point, ZoneKind::speed_zone, ZoneKind::area}) {
        if (text == to_string(kind)) {
            return kind;
        }
    }
    throw InputError("zone kind '" + text +
                     "' is not one of depot, loading_point, speed_zone, area");
}

ImportReport import_routes(pqxx::connection& conn, const std::vector<geo::Feature>& features,
                           const ImportOptions& options) {
    check_unique_names(features, options);
    for (const geo::Feature& feature : features) {
        geometry_as<geo::Line>(feature, "line", options);
    }
    ImportReport report;
    pqxx::work tx(conn);
    for (const geo::Feature& feature : features) {
        count(report, tx.exec_params1("INSERT INTO fleet.routes (feed, code, geom, attributes)"
                                      " VALUES ($1, $2, ST_GeomFromText($3, 4326), $4::jsonb)"
                                      " ON CONFLICT (feed, code) DO UPDATE"
                                      " SET geom = EXCLUDED.geom, attributes = EXCLUDED.attributes"
                                      " RETURNING xmax = 0",
                                      options.feed, feature.name, geo::to_wkt(feature.geometry),
                                      json_text(feature.attributes)));
        report_progress(options, report.inserted + report.replaced);
    }
    journal(tx, options, "routes imported", report, nlohmann::json::object());
    tx.commit();
    return report;
}

ImportReport import_zones(pqxx::connection& conn, const std::vector<geo::Feature>& features,
                          const ImportOptions& options, ZoneKind kind,
                          const std::string& speed_limit_field) {
    if (kind == ZoneKind::speed_zone && speed_limit_field.empty()) {
        throw InputError("speed zones need the attribute that holds their speed limit");
    }
    check_unique_names(features, options);
    std::vector<std::optional<double>> limits;
    for (const geo::Feature& feature : features) {
        geometry_as<geo::MultiPolygon>(feature, "polygon", options);
        limits.push_back(speed_limit_field.empty()
                             ? std::nullopt
                             : std::optional(speed_limit_kmh(feature, speed_limit_field, options)));
    }
    ImportReport report;
    pqxx::work tx(conn);
    for (std::size_t i = 0; i < features.size(); ++i) {
        const geo::Feature& feature = features[i];
        count(report,
              tx.exec_params1(
                  "INSERT INTO fleet.zones"
                  " (feed, code, name, kind, speed_limit_kmh, geom, attributes)"
                  " VALUES ($1, $2, $2, $3, $4, ST_Multi(ST_GeomFromText($5, 4326)), $6::jsonb)"
                  " ON CONFLICT (feed, code) DO UPDATE"
                  " SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
                  " speed_limit_kmh = EXCLUDED.speed_limit_kmh, geom = EXCLUDED.geom,"
                  " attributes = EXCLUDED.attributes"
                  " RETURNING xmax = 0",
                  options.feed, feature.name, std::string(to_string(kind)), limits[i],
                  geo::to_wkt(feature.geometry), json_text(feature.attributes)));
        report_progress(options, report.inserted + report.replaced);
    }
    nlohmann::json details = {{"kind", to_string(kind)}};
    if (!speed_limit_field.empty()) {
        details["speed_limit_field"] = speed_limit_field;
    }
    journal(tx, options, "zones imported", report, std::move(details));
    tx.commit();
    return report;
}

ImportReport import_stops(pqxx::connection& conn, const std::vector<geo::Feature>& features,
                          const ImportOptions& options, double radius_m) {
    if (!std::isfinite(radius_m) || radius_m <= 0) {
        throw InputError("a stop's radius must be a positive number of metres");
    }
    check_unique_names(features, options);
    for (const geo::Feature& feature : features) {
        geometry_as<geo::LonLat>(feature, "point", options);
    }
    ImportReport report;
    pqxx::work tx(conn);
    for (const geo::Feature& feature : features) {
        count(report,
              tx.exec_params1("INSERT INTO fleet.stops (feed, code, name, geom, radius_m)"
                              " VALUES ($1, $2, $2, ST_GeomFromText($3, 4326), $4)"
                              " ON CONFLICT (feed, code) DO UPDATE"
                              " SET name = EXCLUDED.name, geom = EXCLUDED.geom,"
                              " radius_m = EXCLUDED.radius_m"
                              " RETURNING xmax = 0",
                              options.feed, feature.name, geo::to_wkt(feature.geometry), radius_m));
        report_progress(options, report.inserted + report.replaced);
    }
    journal(tx, options, "stops imported", report, {{"radius_m", radius_m}});
    tx.commit();
    return report;
}

}  // namespace fleet::dispatch::reference
