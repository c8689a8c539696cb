#include "geo/track.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "geo/detail/ogr_track.hpp"
#include "geo/error.hpp"

namespace fleet::geo {

namespace {

using nlohmann::json;

constexpr TrackFormat all_formats[] = {TrackFormat::json, TrackFormat::geojson, TrackFormat::gpx,
                                       TrackFormat::kml, TrackFormat::csv};

template <typename T>
json value_or_null(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

json point_properties(const TrackFix& f) {
    return {{"time", iso_time(f.time_ms, f.utc_offset_s)},
            {"lon", f.position.lon_deg},
            {"lat", f.position.lat_deg},
            {"speed_kmh", value_or_null(f.speed_kmh)},
            {"course_deg", value_or_null(f.course_deg)},
            {"altitude_m", value_or_null(f.altitude_m)},
            {"satellites", value_or_null(f.satellites)},
            {"valid", f.valid},
            {"odometer_m", value_or_null(f.odometer_m)},
            {"fuel_l", value_or_null(f.fuel_l)},
            {"ignition", value_or_null(f.ignition)}};
}

json place(const TrackFix& f) {
    return {{"lon", f.position.lon_deg}, {"lat", f.position.lat_deg}};
}

json trip_json(const Trip& t) {
    return {{"start_time", iso_time(t.start.time_ms, t.start.utc_offset_s)},
            {"end_time", iso_time(t.end.time_ms, t.end.utc_offset_s)},
            {"start", place(t.start)},
            {"end", place(t.end)},
            {"distance_m", t.distance_m},
            {"duration_s", t.duration_s},
            {"average_speed_kmh", t.average_speed_kmh},
            {"max_speed_kmh", t.max_speed_kmh}};
}

json stop_json(const Stop& s) {
    return {{"start_time", iso_time(s.start.time_ms, s.start.utc_offset_s)},
            {"end_time", iso_time(s.end.time_ms, s.end.utc_offset_s)},
            {"place", place(s.start)},
            {"duration_s", s.duration_s}};
}

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string write_json(const Track& track) {
    json points = json::array();
    for (const auto& f : track.fixes) {
        points.push_back(point_properties(f));
    }
    json out = {{"vehicle", {{"id", track.vehicle_id}, {"registration", track.registration}}},
                {"from", iso_time(track.from_ms, track.from_offset_s)},
                {"to", iso_time(track.to_ms, track.to_offset_s)},
                {"fixes", track.fixes.size()},
                {"points", std::move(points)}};
    if (track.trips) {
        out["trips"] = json::array();
        for (const auto& t : *track.trips) {
            out["trips"].push_back(trip_json(t));
        }
    }
    if (track.stops) {
        out["stops"] = json::array();
        for (const auto& s : *track.stops) {
            out["stops"].push_back(stop_json(s));
        }
    }
    return dump(out) + "\n";
}

json coordinates(const LonLat& p) {
    return json::array({p.lon_deg, p.lat_deg});
}

json coordinates(const TrackFix& f) {
    return coordinates(f.position);
}

json coordinates(const std::vector<LonLat>& line) {
    json out = json::array();
    for (const auto& p : line) {
        out.push_back(coordinates(p));
    }
    return out;
}

json feature(json geometry, json properties) {
    return {{"type", "Feature"},
            {"geometry", std::move(geometry)},
            {"properties", std::move(properties)}};
}

std::string write_geojson(const Track& track) {
    json features = json::array();
    if (const auto line = track_line(track.fixes, track.from_ms, track.to_ms); line.size() >= 2) {
        features.push_back(feature({{"type", "LineString"}, {"coordinates", coordinates(line)}},
                                   {{"kind", "track"},
                                    {"vehicle_id", track.vehicle_id},
                                    {"registration", track.registration},
                                    {"from", iso_time(track.from_ms, track.from_offset_s)},
                                    {"to", iso_time(track.to_ms, track.to_offset_s)},
                                    {"fixes", track.fixes.size()}}));
    }
    for (const auto& f : track.fixes) {
        json properties = point_properties(f);
        properties.erase("lon");
        properties.erase("lat");
        properties["kind"] = "fix";
        features.push_back(
            feature({{"type", "Point"}, {"coordinates", coordinates(f)}}, std::move(properties)));
    }
    if (track.trips) {
        for (const auto& t : *track.trips) {
            json properties = trip_json(t);
            properties.erase("start");
            properties.erase("end");
            properties["kind"] = "trip";
            features.push_back(
                feature({{"type", "LineString"},
                         {"coordinates",
                          coordinates(track_line(track.fixes, t.start.time_ms, t.end.time_ms))}},
                        std::move(properties)));
        }
    }
    if (track.stops) {
        for (const auto& s : *track.stops) {
            json properties = stop_json(s);
            properties.erase("place");
            properties["kind"] = "stop";
            features.push_back(feature({{"type", "Point"}, {"coordinates", coordinates(s.start)}},
                                       std::move(properties)));
        }
    }
    return dump({{"type", "FeatureCollection"}, {"features", std::move(features)}}) + "\n";
}

// The shortest text that reads back to the same double.
void append_number(std::string& out, double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

template <typename T>
void append_cell(std::string& out, const std::optional<T>& v) {
    out += ',';
    if (!v) {
        return;
    }
    if constexpr (std::is_same_v<T, bool>) {
        out += *v ? "true" : "false";
    } else if constexpr (std::is_same_v<T, int>) {
        out += std::to_string(*v);
    } else {
        append_number(out, *v);
    }
}

std::string write_csv(const Track& track) {
    // Only times, numbers and booleans: nothing a spreadsheet could take for a formula.
    std::string out =
        "time,lon,lat,speed_kmh,course_deg,altitude_m,satellites,valid,odometer_m,fuel_l,"
        "ignition\r\n";
    for (const auto& f : track.fixes) {
        out += iso_time(f.time_ms, f.utc_offset_s);
        out += ',';
        append_number(out, f.position.lon_deg);
        out += ',';
        append_number(out, f.position.lat_deg);
        append_cell(out, f.speed_kmh);
        append_cell(out, f.course_deg);
        append_cell(out, f.altitude_m);
        append_cell(out, f.satellites);
        append_cell(out, std::optional<bool>(f.valid));
        append_cell(out, f.odometer_m);
        append_cell(out, f.fuel_l);
        append_cell(out, f.ignition);
        out += "\r\n";
    }
    return out;
}

}  // namespace

const char* to_string(TrackFormat format) {
    switch (format) {
        case TrackFormat::json:
            return "json";
        case TrackFormat::geojson:
            return "geojson";
        case TrackFormat::gpx:
            return "gpx";
        case TrackFormat::kml:
            return "kml";
        case TrackFormat::csv:
            return "csv";
    }
    return "?";
}

TrackFormat track_format(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const auto f : all_formats) {
        if (lower == to_string(f)) {
            return f;
        }
    }
    throw InputError("format: expected json, geojson, gpx, kml or csv, got '" + std::string(name) +
                     "'");
}

const char* content_type(TrackFormat format) {
    switch (format) {
        case TrackFormat::json:
            return "application/json";
        case TrackFormat::geojson:
            return "application/geo+json";
        case TrackFormat::gpx:
            return "application/gpx+xml";
        case TrackFormat::kml:
            return "application/vnd.google-earth.kml+xml";
        case TrackFormat::csv:
            return "text/csv; charset=utf-8";
    }
    return "application/octet-stream";
}

const char* file_extension(TrackFormat format) {
    switch (format) {
        case TrackFormat::json:
            return ".json";
        case TrackFormat::geojson:
            return ".geojson";
        case TrackFormat::gpx:
            return ".gpx";
        case TrackFormat::kml:
            return ".kml";
        case TrackFormat::csv:
            return ".csv";
    }
    return "";
}

std::string iso_time(std::int64_t time_ms, int utc_offset_s) {
    using namespace std::chrono;
    const sys_time<milliseconds> local{milliseconds(time_ms + std::int64_t{utc_offset_s} * 1000)};
    const auto day = floor<days>(local);
    const year_month_day ymd{day};
    const hh_mm_ss hms{local - day};
    const int offset_min = std::abs(utc_offset_s) / 60;
    char buf[48];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(ymd.year()),
                          unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                          int(hms.minutes().count()), int(hms.seconds().count()));
    if (const auto ms = hms.subseconds().count(); ms != 0) {
        n += std::snprintf(buf + n, sizeof buf - n, ".%03d", int(ms));
    }
    std::snprintf(buf + n, sizeof buf - n, "%c%02d:%02d", utc_offset_s < 0 ? '-' : '+',
                  offset_min / 60, offset_min % 60);
    return buf;
}

std::vector<LonLat> track_line(const std::vector<TrackFix>& fixes, std::int64_t from_ms,
                               std::int64_t to_ms) {
    std::vector<LonLat> out;
    for (const auto& f : fixes) {
        if (f.valid && f.time_ms >= from_ms && f.time_ms <= to_ms) {
            out.push_back(f.position);
        }
    }
    return out;
}

std::string write_track(const Track& track, TrackFormat format) {
    switch (format) {
        case TrackFormat::json:
            return write_json(track);
        case TrackFormat::geojson:
            return write_geojson(track);
        case TrackFormat::gpx:
            return detail::write_gpx(track);
        case TrackFormat::kml:
            return detail::write_kml(track);
        case TrackFormat::csv:
            return write_csv(track);
    }
    throw Error("write_track: unknown format");
}

}  // namespace fleet::geo
