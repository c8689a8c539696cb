#pragma once

#include <vector>

#include "geo/track.hpp"

/// Trips and stops of a track, as Traccar's trips and stops reports find them (its
/// documentation, "Trips and Stops"; its report.trip.* keys and their defaults). Pure: the fixes
/// in, the trips and stops out; no database, no clock.
namespace fleet::geo {

/// The detection's thresholds, with Traccar's defaults; every one is configuration.
struct TripRules {
    /// A fix is *moving* when its speed is above this (Traccar's speedThreshold, 0.01 knots). A
    /// fix without a speed counts as not moving.
    double speed_threshold_kmh = 0.01 * 1.852;
    /// Motion becomes a trip once it has lasted this long (minimalTripDuration, 300 s) ...
    double min_trip_duration_s = 300;
    /// ... or covered this distance from where it began (minimalTripDistance, 500 m).
    double min_trip_distance_m = 500;
    /// Standing becomes a stop once it has lasted this long (minimalParkingDuration, 300 s).
    double min_parking_duration_s = 300;
    /// No fix for longer than this (minimalNoDataDuration, 3600 s) while moving ends the trip at
    /// the last fix before the gap: the vehicle is taken to have stood there through the gap.
    double min_no_data_duration_s = 3600;
    /// When set (Traccar's useIgnition, default off), a fix with the ignition off counts as not
    /// moving and ends a trip at once.
    bool use_ignition = false;
};

/// The trips and stops of the period.
struct TripsAndStops {
    std::vector<Trip> trips;
    std::vector<Stop> stops;
};

/// The trips and stops of `fixes` (in device-time order; invalid fixes are skipped).
///
/// Motion, fix by fix: a fix is moving or standing (see TripRules). The vehicle's state starts
/// as that of the first fix and changes only after a continuous run of the other kind: from
/// standing to moving when the run of moving fixes has lasted min_trip_duration_s or gone
/// min_trip_distance_m (summed between the fixes), from moving to standing when the run of
/// standing fixes has lasted min_parking_duration_s (at once for an ignition-off fix with
/// use_ignition). A fix of the current state's kind breaks the run ("any fluctuation resets the
/// detection"). The change dates from the run's first fix: a trip starts where the motion began
/// and ends where the vehicle came to stand. A gap longer than min_no_data_duration_s while
/// moving ends the trip at the fix before it.
///
/// A trip still going at the period's end ends at its last fix, and a stop still going ends
/// there too; the period's first state, when standing, is a stop from its first fix. Trips and
/// stops alternate and do not overlap: a stop lasts from the end of one trip to the start of
/// the next.
TripsAndStops find_trips_and_stops(const std::vector<TrackFix>& fixes, const TripRules& rules);

}  // namespace fleet::geo
