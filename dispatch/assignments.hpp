#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/plan.hpp"

/// Shift assignments in PostGIS: created and changed by operators (journalled), loaded for the
/// engine with their trips, shapes and stops in absolute time.
namespace fleet::dispatch {

/// Loads the assignments of a service date ("YYYY-MM-DD"), ordered by id, each trip with its
/// route's rules (thresholds, speed limits; see route_rules.hpp).
///
/// Timetabled work: stop times are placed in absolute time from the feed's agency time zone
/// (GTFS: noon minus 12 h of the service day, so times past 24:00 fall on the next calendar
/// day); stops without times are interpolated by distance. A trip without a shape follows its
/// stops.
///
/// Freight work: one TripPlan along the route's line (trip_id 0, time_windows set), its stops
/// placed along it in order, each stop's arrival and departure the start and end of its window.
///
/// Throws DatabaseError.
std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const std::string& service_date);

/// A planned stop of freight work, as an operator gives it.
struct StopRequest {
    std::string stop;                     ///< code of a known stop of the feed; or
    std::optional<geo::LonLat> position;  ///< a place of its own (then `name` is required)
    std::string name;                     ///< empty: the known stop's name
    std::optional<double> radius_m;       ///< empty: the known stop's, else `stop-radius`
    std::string window_from;              ///< a time, as AssignmentRequest::start
    std::string window_to;
};

/// What an operator asks for: a vehicle (by registration), a driver (optional, by name or
/// personnel number), and either a block or a list of trips of a feed (timetabled work), or a
/// route of the feed with a shift start and end and planned stops with time windows (freight).
struct AssignmentRequest {
    std::string service_date;  ///< YYYY-MM-DD
    std::string vehicle;       ///< registration
    std::string driver;        ///< full name or personnel number; empty: none
    std::string feed = "local";
    std::string block;               ///< block_id; or
    std::vector<std::string> trips;  ///< trip_ids in order; or
    std::string route;               ///< freight: fleet.routes code in `feed`; its line is the path
    /// Freight shift start and end: "HH:MM[:SS]" on the service date in `time_zone` (past 24:00
    /// for the next day), or a date and time "YYYY-MM-DDTHH:MM[:SS]" with an optional offset
    /// ("Z", "+03:00"; without one, in `time_zone`).
    std::string start;
    std::string end;
    std::string time_zone;           ///< IANA name; empty: the feed's agency time zone, else UTC
    std::vector<StopRequest> stops;  ///< freight: in route order, at least one
    /// Freight: a stop farther than this from the route's line is refused.
    double max_stop_offset_m = 500;
    std::string actor = "fleetctl";
    std::string origin;  ///< where the request was read ("file.csv:12"); prefixed to errors
};

/// Creates the assignment, or replaces the vehicle's assignment of that date (journalled as a
/// change, with what it was). The trips of a block are those running on the date, in order of
/// departure. Throws InputError naming what is unknown or wrong (vehicle, driver, block, trip,
/// date, route, stop, time, a window outside the shift or out of order, stops not in route
/// order or too far from it) and changes nothing then. Returns the assignment id.
std::int64_t save_assignment(pqxx::connection& conn, const AssignmentRequest& request);

/// Called with (requests saved so far, total).
using SaveProgress = std::function<void(std::size_t done, std::size_t total)>;

/// Saves all of `requests` in one transaction, in order, or none of them: the first that
/// fails throws its InputError (prefixed with its origin) and nothing is written. `progress`
/// is called after every `progress_every` requests and after the last. Returns the ids.
std::vector<std::int64_t> save_assignments(pqxx::connection& conn,
                                           const std::vector<AssignmentRequest>& requests,
                                           const SaveProgress& progress = {},
                                           std::size_t progress_every = 100);

}  // namespace fleet::dispatch
