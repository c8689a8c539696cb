#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "ingest/counters.hpp"
#include "ingest/position.hpp"

/// Validation of decoded fixes before they are stored. Pure: the caller passes the server time.
namespace fleet::ingest {

struct ValidationConfig {
    /// A device time further ahead of the server clock than this is refused.
    std::chrono::seconds max_future{300};
    /// Between consecutive fixes of a vehicle, an implied speed above this flags the later fix.
    double max_plausible_speed_kmh = 250;
    /// Attributes (and status values) nested deeper than this are refused: jsonb and the JSON
    /// code on both sides recurse per level.
    std::size_t max_attributes_depth = 32;
};

/// The earliest device time stored: 2000-01-01 00:00 UTC (no tracker in service reports
/// earlier; an earlier time is a device without a clock).
inline constexpr Millis earliest_device_time{std::chrono::milliseconds(946'684'800'000)};

/// The outcome for one fix. A rejected fix is not stored (and still acknowledged: resending
/// cannot make it better). A flagged fix is stored with valid = false and the reason in
/// attributes["invalid"].
///
/// Storable or refused: every value is checked against what its column of fleet.positions
/// holds, so that the database never refuses a record that passed (the writer's quarantine is
/// only the second line of defence):
/// - latitude and longitude finite and within ±90 and ±180 (bad_coordinates);
/// - device time not before 2000-01-01 (past_time) nor more than max_future ahead of the server
///   clock (future_time);
/// - speed_kmh, course_deg, altitude_m and fuel_l (real) finite and within float4's range,
///   satellites (smallint) within -32768..32767, odometer_m (double precision) finite
///   (bad_number);
/// - attributes (jsonb) an object without NUL characters in keys or strings at any depth, and
///   nested at most max_attributes_depth levels (bad_attributes).
struct Verdict {
    std::optional<Rejection> rejected;
    bool flagged = false;
};

/// Checks fixes; keeps the last accepted valid fix per vehicle for the speed plausibility test.
/// Not thread-safe: one instance per writer (or per partition of vehicles).
class Validator {
  public:
    explicit Validator(ValidationConfig config) : config_(config) {}

    /// Checks `p` of `vehicle_id` against `server_now`; may set p.valid = false and add
    /// attributes["invalid"] (no_satellites, null_island, implausible_speed).
    Verdict check(std::int64_t vehicle_id, Position& p, Millis server_now);

    /// Whether a device status can be stored in fleet.vehicle_status: reported_at within the
    /// same bounds as a device time (past_time, future_time), values an object as attributes
    /// must be (bad_attributes). Does not change the plausibility track.
    std::optional<Rejection> check_status(const DeviceStatus& status, Millis server_now) const;

  private:
    struct Last {
        Millis time;
        double lat;
        double lon;
    };
    struct Track {
        Last last;                    ///< last valid fix
        std::optional<Last> outlier;  ///< last fix flagged implausible
    };
    bool plausible(const Last& from, const Position& p) const;
    std::optional<Rejection> storable(const Position& p, Millis server_now) const;
    std::optional<Rejection> storable_time(Millis t, Millis server_now) const;

    ValidationConfig config_;
    std::unordered_map<std::int64_t, Track> tracks_;
};

}  // namespace fleet::ingest
