#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "geo/ogr_lines.hpp"

/// A vehicle's track for a period, and how it is written out: our JSON, GeoJSON, GPX, KML (GPX
/// and KML through OGR, see geo/ogr_track.cpp) and CSV. Pure: the fixes come from the caller
/// (geo/track_store.hpp reads them from fleet.positions).
namespace fleet::geo {

/// One fix of the track, as stored in fleet.positions.
struct TrackFix {
    std::int64_t time_ms = 0;  ///< device time, Unix milliseconds
    /// The offset from UTC, in seconds, of the zone the track is shown in at this instant (0 for
    /// UTC; +10800 for Europe/Moscow). Times are written with it: "2026-11-27T07:30:00+03:00".
    int utc_offset_s = 0;
    LonLat position{};
    std::optional<double> speed_kmh{};
    std::optional<double> course_deg{};
    std::optional<double> altitude_m{};
    std::optional<int> satellites{};
    bool valid = true;
    std::optional<double> odometer_m{};
    std::optional<double> fuel_l{};
    std::optional<bool> ignition{};
};

/// A trip, as Traccar's trips report has it (geo/trips.hpp).
struct Trip {
    TrackFix start{};  ///< the fix where the motion began
    TrackFix end{};    ///< the fix where it stopped
    double distance_m = 0;
    double duration_s = 0;
    double average_speed_kmh = 0;  ///< distance over duration
    double max_speed_kmh = 0;      ///< the highest speed reported during the trip
};

/// A stop (Traccar's "stops" report): the vehicle stood from start to end.
struct Stop {
    TrackFix start{};  ///< where the vehicle stood: the fix where it stopped
    TrackFix end{};    ///< the fix where it moved off again (or the last of the period)
    double duration_s = 0;
};

/// A vehicle's fixes for the period [from_ms, to_ms), in device-time order, with the trips and
/// stops of the period when they were asked for.
struct Track {
    std::int64_t vehicle_id = 0;
    std::string registration{};
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;
    int from_offset_s = 0;  ///< the zone's offsets at from_ms and to_ms, to write them
    int to_offset_s = 0;
    std::vector<TrackFix> fixes{};
    std::optional<std::vector<Trip>> trips{};  ///< written when present
    std::optional<std::vector<Stop>> stops{};  ///< written when present
};

/// The formats a track is written in.
enum class TrackFormat { json, geojson, gpx, kml, csv };

/// "json", "geojson", "gpx", "kml" or "csv".
const char* to_string(TrackFormat format);
/// The format named so (as to_string writes it, any letter case); InputError listing the names
/// otherwise.
TrackFormat track_format(std::string_view name);
/// The media type of the format: "application/json", "application/geo+json",
/// "application/gpx+xml", "application/vnd.google-earth.kml+xml", "text/csv; charset=utf-8".
const char* content_type(TrackFormat format);
/// The file name ending: ".json", ".geojson", ".gpx", ".kml", ".csv".
const char* file_extension(TrackFormat format);

/// `time_ms` in ISO 8601 with the offset: "2026-11-27T07:30:00+03:00", with milliseconds
/// (".250") only when the time has them.
std::string iso_time(std::int64_t time_ms, int utc_offset_s = 0);

/// The positions of the valid fixes from from_ms to to_ms (both included), in order: the line a
/// map draws of the track or of a trip. Invalid fixes (no satellite fix, (0,0)) stay out of
/// every line; the points of the formats that have them keep them, marked.
std::vector<LonLat> track_line(const std::vector<TrackFix>& fixes, std::int64_t from_ms,
                               std::int64_t to_ms);

/// The track in `format`, as the bytes of a file:
/// - json: `{"vehicle": {"id", "registration"}, "from", "to", "fixes": N, "points": [{"time",
///   "lon", "lat", "speed_kmh", "course_deg", "altitude_m", "satellites", "valid", "odometer_m",
///   "fuel_l", "ignition"}], "trips": [...], "stops": [...]}`; a value the device did not
///   report is null; trips and stops only when the track holds them.
/// - geojson: a FeatureCollection (RFC 7946, WGS 84 lon/lat): first the whole track as one
///   LineString feature (`"kind": "track"`, registration, from, to, fixes) when it has at least
///   2 valid fixes, then one Point feature per fix (`"kind": "fix"` and the fields of json's
///   points), then a LineString per trip (`"kind": "trip"`) and a Point per stop (`"kind": "stop"`)
///   when the track holds them. Points alone are of no use on a map without the line, and the line
///   alone has no times; both make one file that QGIS and web maps style by `kind`.
/// - gpx: GPX 1.1 through OGR's GPX driver: one track (<trk>, named by the registration) of one
///   segment with a <trkpt> per valid fix (<time>, <ele>, <course>, <sat>, and the speed in km/h as
///   an extension); each stop a waypoint (<wpt>) when the track holds stops.
/// - kml: KML 2.2 through OGR's LIBKML driver: a folder "track" with the line (named by the
///   registration), a folder "points" with a placemark per fix (named by its time, with its
///   <TimeStamp>, and speed_kmh, course_deg and valid as data), and folders "trips" (a line each)
///   and "stops" (a placemark each) when the track holds them.
/// - csv: a header line, then one row per fix: time,lon,lat,speed_kmh,course_deg,altitude_m,
///   satellites,valid,odometer_m,fuel_l,ignition (an empty cell for a value not reported).
/// Throws Error when OGR fails to write (which would be a defect, not bad input).
std::string write_track(const Track& track, TrackFormat format);

}  // namespace fleet::geo
