#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "geo/ogr_lines.hpp"
#include "geo/polyline.hpp"

/// What a vehicle is supposed to do on a service day, in absolute times: the dispatch engine's
/// input, built from timetables (GTFS trips and blocks) or freight routes and shift assignments.
namespace fleet::dispatch {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

/// A stop of a trip, placed along the trip's shape.
struct PlannedStop {
    std::int64_t stop_id = 0;
    std::string name;
    geo::LonLat position;
    double distance_along_m = 0;  ///< where the stop projects onto the trip's shape
    Millis arrival;               ///< scheduled; for freight: the window's start
    Millis departure;             ///< scheduled; for freight: the window's end
    bool timepoint = true;        ///< exact time (a timepoint) or approximate
    double radius_m = 50;         ///< "at stop" radius
};

/// One trip (or one freight run): its shape and its stops in order.
struct TripPlan {
    std::int64_t trip_id = 0;
    std::string code;
    std::shared_ptr<const geo::Polyline> shape;
    std::vector<PlannedStop> stops;  ///< at least two, in travel order
    /// Speed limit along the route (km/h), if the route sets one.
    std::optional<double> speed_limit_kmh;
    /// Per-route thresholds override the engine's defaults where set (see Thresholds).
    std::optional<double> on_route_m;

    Millis start() const { return stops.front().departure; }
    Millis end() const { return stops.back().arrival; }
};

/// A vehicle's work for one service day: a block of trips (timetabled) or a freight route.
struct Assignment {
    std::int64_t assignment_id = 0;
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t> driver_id;
    Millis planned_start;  ///< shift start (leaving the depot)
    Millis planned_end;
    std::vector<TripPlan> trips;  ///< in order
    /// Where the shift starts (the depot); "not departed" is judged against it.
    std::optional<geo::LonLat> depot;
    double depot_radius_m = 150;
};

}  // namespace fleet::dispatch
