#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/gtfs/error.hpp"

namespace fleet::dispatch::gtfs {

/// A transit agency (agency.txt).
struct Agency {
    std::string id;  ///< agency_id; may be empty when the feed has one agency
    std::string name;
    std::string url;
    std::string timezone;  ///< IANA zone the feed's times are in, e.g. "Europe/Moscow"
    std::string lang;
    std::string phone;
};

/// A stop, station or other location (stops.txt). Coordinates in WGS 84 degrees; a location
/// that has none in the file (generic node, boarding area) takes its parent station's.
struct Stop {
    std::string id;
    std::string code;  ///< stop_code, the short text riders see
    std::string name;
    std::optional<double> lat;
    std::optional<double> lon;
    int location_type = 0;  ///< 0 stop, 1 station, 2 entrance, 3 generic node, 4 boarding area
    std::string parent_station;
};

/// A route (routes.txt).
struct Route {
    std::string id;
    std::string agency_id;
    std::string short_name;
    std::string long_name;
    int type = 3;  ///< route_type: 0 tram, 1 metro, 2 rail, 3 bus, ... (extended types kept)
    std::string color;
    std::string text_color;
};

/// One scheduled call of a trip at a stop (stop_times.txt). Times are seconds after the
/// service day's noon minus 12 h, so 24:10:00 is 87000 and belongs to the day before.
struct StopTime {
    std::string stop_id;
    int stop_sequence = 0;
    std::optional<int> arrival_s;    ///< empty for an untimed intermediate stop
    std::optional<int> departure_s;  ///< empty for an untimed intermediate stop
    bool timepoint = true;           ///< false: the times are approximate (timepoint = 0)
    std::optional<double> shape_dist_traveled;  ///< as in the file, in the feed's own unit
    std::size_t line = 0;                       ///< line in stop_times.txt, for messages
};

/// A trip (trips.txt) with its stop times in stop_sequence order.
struct Trip {
    std::string id;
    std::string route_id;
    std::string service_id;
    std::string headsign;
    std::optional<int> direction_id;  ///< 0 or 1
    std::string block_id;             ///< trips one vehicle runs in sequence share a block
    /// The shape the trip follows: shape_id from the file, or the shape built from its stops.
    std::string shape_id;
    std::vector<StopTime> stop_times;

    /// Departure from the first stop, in seconds (see StopTime).
    int first_departure_s() const { return stop_times.front().departure_s.value_or(0); }
    /// Arrival at the last stop, in seconds (see StopTime).
    int last_arrival_s() const { return stop_times.back().arrival_s.value_or(0); }
};

/// A point of a shape in WGS 84 degrees.
struct ShapePoint {
    double lat = 0;
    double lon = 0;
    std::optional<double> dist_traveled;  ///< shape_dist_traveled, in the feed's own unit
};

/// The path a vehicle travels (shapes.txt ordered by shape_pt_sequence, or built from the stop
/// sequence of a trip that has none).
struct Shape {
    std::string id;
    std::vector<ShapePoint> points;
    bool built_from_stops = false;

    /// Length along the points on the WGS 84 mean sphere, in metres.
    double length_m() const;
};

/// Weekly service pattern of a service_id (calendar.txt). Dates are inclusive.
struct Calendar {
    std::string service_id;
    std::array<bool, 7> days{};  ///< Monday first
    std::chrono::year_month_day start_date;
    std::chrono::year_month_day end_date;
};

/// An exception to a service's pattern on one date (calendar_dates.txt).
struct CalendarDate {
    std::string service_id;
    std::chrono::year_month_day date;
    int exception_type = 1;  ///< 1 service added on the date, 2 removed
};

/// The trips one vehicle runs in sequence (trips sharing a block_id), ordered by their first
/// departure.
struct Block {
    std::string id;
    std::vector<std::string> trip_ids;
};

/// A whole, validated feed. Containers keep the files' order; shapes are ordered by id.
struct Feed {
    std::vector<Agency> agencies;
    std::vector<Stop> stops;
    std::vector<Route> routes;
    std::vector<Trip> trips;
    std::map<std::string, Shape> shapes;
    std::vector<Calendar> calendars;
    std::vector<CalendarDate> calendar_dates;
    std::vector<Block> blocks;  ///< ordered by block id

    /// Number of stop times over all trips.
    std::size_t stop_time_count() const;
    /// The stop, route or trip with this id, or nullptr.
    const Stop* find_stop(const std::string& id) const;
    const Route* find_route(const std::string& id) const;
    const Trip* find_trip(const std::string& id) const;
};

/// Reports progress of a long step: `stage` names it (a file name while reading), `done` of
/// `total` units (bytes while reading a file, rows while storing).
using Progress = std::function<void(const std::string& stage, std::size_t done, std::size_t total)>;

/// Contents of a feed's files by name ("stops.txt"); an absent file is absent from the map.
using FeedFiles = std::map<std::string, std::string>;

/// Parses and validates a feed held in memory. Throws FeedError naming file, line and field on
/// the first problem: a missing required file or column, an empty required value, a malformed
/// number, time or date, a duplicate id, a reference to an unknown stop, trip, route, service or
/// shape, a trip with fewer than two stop times or whose times go backwards along stop_sequence.
Feed parse_feed(const FeedFiles& files, const Progress& progress = {});

/// Reads a feed from a folder or a .zip file (through GDAL's /vsizip/) and parses it as
/// parse_feed() does. Throws FeedError when the path cannot be read, or as parse_feed().
Feed read_feed(const std::string& path, const Progress& progress = {});

/// Reads a feed from a .zip held in memory (an upload), as read_feed() does; a zip whose files
/// would take more than `max_bytes` uncompressed is refused before it is read.
Feed read_feed_zip(std::string_view zip, std::size_t max_bytes, const Progress& progress = {});

/// Parses a GTFS time "HH:MM:SS" or "H:MM:SS" (hours may exceed 23) into seconds.
std::optional<int> parse_time(std::string_view text);
/// Formats seconds as "HH:MM:SS" (hours may exceed 23).
std::string format_time(int seconds);
/// Parses a GTFS date "YYYYMMDD"; empty when malformed or not a calendar date.
std::optional<std::chrono::year_month_day> parse_date(std::string_view text);

}  // namespace fleet::dispatch::gtfs
