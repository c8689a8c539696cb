#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dispatch/plan.hpp"

namespace fleet::dispatch {

enum class EventKind {
    late,
    early,
    early_departure,  ///< left a timepoint before its time
    off_route,        ///< a detour; geometry is the path driven off the route
    missed_stop,
    not_departed,    ///< shift start passed, vehicle still at the depot
    unplanned_stop,  ///< standing away from stops ("delayed", then "possibly broken down")
    long_dwell,      ///< at a stop much longer than planned
    overspeed,
    signal_lost,
    moving_unassigned,  ///< moving without an assignment
    no_vehicle_data,    ///< an assignment whose vehicle sends nothing
};

const char* to_string(EventKind kind);

/// A deviation: opened when it is declared, followed while it lasts (updates of its magnitude,
/// place and details, rate-limited: see ReportRule in tracker.hpp), closed (ended set) when it is
/// over. Every report of one event carries the same `key`.
///
/// `details` carries the public codes a person recognises, where the event has them:
/// `service_date`, `block`, `route_code` (GTFS route_id), `route_short_name`, `trip_code` (GTFS
/// trip_id) of the assignment and trip it happened on; for stop events (missed_stop,
/// long_dwell, early_departure) the stop: `stop` (name), `stop_id`, `stop_code`; for a late
/// event whose cause is a stop (a late departure from it, a long dwell at it): `cause_stop`,
/// `cause_stop_id`, `cause_stop_code`; and the kind's own figures (see the README's list).
struct Event {
    EventKind kind{};
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t> assignment_id;
    std::optional<std::int64_t> trip_id;
    Millis started_at;
    std::optional<Millis> ended_at;
    std::vector<geo::LonLat> geometry;  ///< a point, or the path (see append_path)
    double magnitude = 0;               ///< seconds late/early, metres off route, km/h over, ...
    std::string cause;                  ///< likely cause where the data shows one
    nlohmann::json details = nlohmann::json::object();
    std::uint64_t key = 0;  ///< same for every report of the event
    /// 0 for the opening report, then 1, 2, ... for each later one (updates, the closing).
    std::uint32_t revision = 0;
};

/// Most points an event's path keeps (a detour's, a stretch of speeding, moving without an
/// assignment): an event open all day is stored again at each update, so its path is bounded.
inline constexpr std::size_t max_path_points = 256;

/// Appends a point to an event's path. Past max_path_points every second point is dropped
/// (the first and the newest always kept): the path keeps its shape at half the detail, and an
/// event's size and the work of storing it stay bounded however long it lasts.
void append_path(std::vector<geo::LonLat>& path, geo::LonLat point);

}  // namespace fleet::dispatch
