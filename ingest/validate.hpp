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
};

/// The outcome for one fix. A rejected fix is not stored (and still acknowledged: resending
/// cannot make it better). A flagged fix is stored with valid = false and the reason in
/// attributes["invalid"].
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

    ValidationConfig config_;
    std::unordered_map<std::int64_t, Track> tracks_;
};

}  // namespace fleet::ingest
