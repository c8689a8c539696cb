#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/thresholds.hpp"
#include "geo/ogr_lines.hpp"
#include "geo/polyline.hpp"

/// What a vehicle is supposed to do on a service day, in absolute times: the dispatch engine's
/// input, built from timetables (GTFS trips and blocks) or freight routes and shift assignments.
namespace fleet::dispatch {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

/// A stop of a trip, placed along the trip's shape.
struct PlannedStop {
    std::int64_t stop_id = 0;
    std::string code;  ///< the stop's public code (the GTFS stop_id); empty when it has none
    std::string name;
    geo::LonLat position;
    double distance_along_m = 0;  ///< where the stop projects onto the trip's shape
    Millis arrival;               ///< scheduled; for freight: the window's start
    Millis departure;             ///< scheduled; for freight: the window's end
    bool timepoint = true;        ///< exact time (a timepoint) or approximate
    /// "At stop" radius; empty: the `stop-radius` threshold.
    std::optional<double> radius_m;
};

/// A stretch of a trip's shape with its own speed limit, in metres along the shape.
struct SpeedSegment {
    double from_m = 0;
    double to_m = 0;  ///< exclusive
    double limit_kmh = 0;
};

/// One trip (or one freight run): its shape and its stops in order.
struct TripPlan {
    std::int64_t trip_id = 0;  ///< fleet.trips; 0 for a freight run (it has no trip row)
    std::int64_t route_id = 0;
    std::string code;  ///< the GTFS trip_id; for a freight run the route's code
    /// The route as people know it: its code (GTFS route_id) and short name ("12", "N7").
    std::string route_code;
    std::string route_short_name;
    std::shared_ptr<const geo::Polyline> shape;
    /// In travel order: at least two for a timetabled trip, at least one for a freight run.
    std::vector<PlannedStop> stops;
    /// Freight: each stop's [arrival, departure] is the window to arrive in, not a timetable.
    bool time_windows = false;
    /// The route's own thresholds (configuration keys, see threshold_keys()); the engine's
    /// configuration for the rest.
    ThresholdOverrides thresholds;
    /// The route's speed limits along this trip's shape, in order (placed from the route's line
    /// onto another shape they may overlap: the lowest applies).
    std::vector<SpeedSegment> speed_segments;

    Millis start() const { return stops.front().departure; }
    Millis end() const { return stops.back().arrival; }
};

/// A vehicle's work for one service day: a block of trips (timetabled) or a freight route.
struct Assignment {
    std::int64_t assignment_id = 0;
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t> driver_id;
    std::string service_date;  ///< YYYY-MM-DD, the local service day the work belongs to
    std::string block;         ///< the GTFS block_id of timetabled work; empty otherwise
    Millis planned_start;      ///< shift start (leaving the depot)
    Millis planned_end;
    std::vector<TripPlan> trips;  ///< in order
    /// Where the shift starts (the depot); "not departed" is judged against it.
    std::optional<geo::LonLat> depot;
    double depot_radius_m = 150;
};

}  // namespace fleet::dispatch
