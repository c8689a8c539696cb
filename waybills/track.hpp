#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "geo/geodesy.hpp"

/// What the GPS track says about a waybill's period (domain.md §4, checks 3 and 4): the distance
/// driven with parked jitter, (0,0) fixes and impossible jumps filtered out, the data gaps (never
/// bridged), and the fuel fills and drains a level sensor saw while the vehicle stood.
namespace fleet::waybills {

/// One stored fix, as read from fleet.positions.
struct Fix {
    std::int64_t time_ms = 0;  ///< device time, Unix milliseconds
    geo::LonLat position;
    double speed_kmh = 0;
    std::optional<double> fuel_l;  ///< level sensor, when the device has one
    bool valid = true;
};

/// Filters and thresholds; every one is configuration.
struct TrackRules {
    double gap_s = 300;           ///< no fix for longer than this is a data gap
    double jitter_m = 50;         ///< a stationary vehicle wanders less than this from its place
    double moving_kmh = 3;        ///< reported faster than this is moving
    double max_speed_kmh = 200;   ///< a fix implying a faster move is a jump and is dropped
    double fuel_min_l = 5;        ///< level changes smaller than this are noise
    double fuel_stop_min_s = 60;  ///< fills and drains are judged only over a stop this long
};

/// A period without data: the distance across it is not counted, and it is reported.
struct Gap {
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;
    double straight_m = 0;  ///< straight-line distance between the fixes either side
};

/// A fill or a drain seen by the level sensor while the vehicle stood.
struct FuelEvent {
    enum class Kind { fill, drain };
    Kind kind = Kind::fill;
    std::int64_t from_ms = 0;  ///< the stop's start and end
    std::int64_t to_ms = 0;
    geo::LonLat position;
    double before_l = 0;  ///< level at the stop's start (median of its first readings)
    double after_l = 0;   ///< ... and at its end (median of its last readings)
    double volume_l() const { return after_l > before_l ? after_l - before_l : before_l - after_l; }
};

struct TrackSummary {
    double distance_m = 0;
    int fixes = 0;          ///< fixes read
    int used = 0;           ///< fixes that passed the filters
    int invalid = 0;        ///< flagged invalid at ingest (no fix, (0,0), ...)
    int jumps = 0;          ///< dropped as impossible jumps
    int fuel_readings = 0;  ///< fixes with a level-sensor reading
    std::vector<Gap> gaps;  ///< including one before the first / after the last fix if the
                            ///< period's edges are farther than gap_s from them
    std::vector<FuelEvent> fuel_events;
};

/// Summarises one period's fixes, fed in device-time order. The filter keeps an anchor: the last
/// fix that counted. A fix is dropped when invalid or at (0,0); when it implies a speed above
/// max_speed_kmh from the anchor (a jump); and, while both it and the anchor report no motion,
/// when it lies within jitter_m of the anchor (parked jitter: the anchor stays, so slow drift is
/// not summed either). A step longer in time than gap_s is a gap and adds nothing.
class TrackSummariser {
  public:
    TrackSummariser(TrackRules rules, std::int64_t period_from_ms, std::int64_t period_to_ms);

    void add(const Fix& fix);
    TrackSummary finish();

  private:
    void on_fuel(const Fix& fix);
    void close_stop();

    TrackRules rules_;
    std::int64_t from_ms_;
    std::int64_t to_ms_;
    TrackSummary summary_;
    std::optional<Fix> anchor_;
    std::optional<Fix> last_;  ///< last fix that passed the validity and jump filters

    // The current stop (consecutive fixes reporting no motion) and its sensor readings.
    std::optional<Fix> stop_first_;
    std::int64_t stop_last_ms_ = 0;
    std::vector<double> stop_levels_;
};

/// The whole track at once.
TrackSummary summarise_track(const std::vector<Fix>& fixes, const TrackRules& rules,
                             std::int64_t period_from_ms, std::int64_t period_to_ms);

}  // namespace fleet::waybills
