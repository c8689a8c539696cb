#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <pqxx/pqxx>

#include "geo/error.hpp"
#include "geo/track.hpp"

/// Reading a vehicle's track for a period from fleet.positions, bounded so that one request
/// cannot read a year of a fleet.
namespace fleet::geo {

/// A vehicle that is not in fleet.vehicles: "no such vehicle 'A123BC77'" (the API answers 404).
class NoSuchVehicle : public InputError {
  public:
    using InputError::InputError;
};

/// How much one read may take; both are configuration.
struct TrackLimits {
    double max_period_days = 31;     ///< the longest period read at once
    std::size_t max_fixes = 200000;  ///< the most fixes read at once (a month at 13 s a fix)
};

/// Throws InputError unless from_ms < to_ms and the period is at most limits.max_period_days
/// long; the message names the limit ("at most 31 days (max_period_days)").
void check_track_period(std::int64_t from_ms, std::int64_t to_ms, const TrackLimits& limits);

/// What to read.
struct TrackQuery {
    std::int64_t vehicle_id = 0;
    /// The period [from, to): ISO 8601 times with their offset ("2026-11-27 07:30+03",
    /// "2026-11-27T04:30:00Z").
    std::string from{}, to{};
    /// The IANA zone the times are written in (each fix's utc_offset_s).
    std::string time_zone = "UTC";
    TrackLimits limits{};
};

/// The id of the vehicle with this registration (exactly as registered); NoSuchVehicle
/// otherwise.
std::int64_t track_vehicle_id(pqxx::transaction_base& tx, const std::string& registration);

/// The vehicle's fixes in [from, to), valid and invalid, in device-time order, with its
/// registration and the zone's offsets filled in; trips and stops are left to the caller
/// (geo::find_trips_and_stops). Sets the caller's transaction's TimeZone to the query's.
/// Throws InputError naming the field for a time without an offset or unreadable, an unknown
/// time zone, a period out of bounds (check_track_period) or more fixes than
/// limits.max_fixes; NoSuchVehicle for an unknown vehicle id.
Track read_track(pqxx::transaction_base& tx, const TrackQuery& query);

}  // namespace fleet::geo
