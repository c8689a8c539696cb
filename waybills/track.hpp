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
    /// As reported by the device; empty when it reports none (then the summariser derives one
    /// from the step since the previous fix, see TrackSummariser).
    std::optional<double> speed_kmh;
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
    int relocate_fixes = 3;  ///< this many successive jumps that agree move the track (0: never)
};

/// A period without data: the distance across it is not counted, and it is reported. Also a
/// relocation (see TrackSummariser): the track moved without a plausible path.
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
    int used = 0;           ///< fixes that passed the filters (fixes = used + invalid + jumps)
    int invalid = 0;        ///< flagged invalid at ingest (no fix, (0,0), ...)
    int jumps = 0;          ///< dropped as impossible jumps, including a retracted seed
    int fuel_readings = 0;  ///< fixes with a level-sensor reading
    std::vector<Gap> gaps;  ///< including one before the first / after the last fix if the
                            ///< period's edges are farther than gap_s from them, and relocations
    std::vector<FuelEvent> fuel_events;
};

/// Summarises one period's fixes, fed in device-time order.
///
/// Speed. A fix without a reported speed gets one derived from its step since the last accepted
/// fix: the step over the time between them, or 0 when the step is within jitter_m (a parked
/// receiver wanders that far without moving) or there is no earlier fix. A fix is *still* when
/// its speed, reported or derived, is below moving_kmh.
///
/// Distance. The filter keeps an anchor: the last fix that counted. A fix is dropped when invalid
/// or at (0,0); when it implies a speed above max_speed_kmh from the last accepted fix (a jump);
/// and, while both it and the anchor are still, when it lies within jitter_m of the anchor (parked
/// jitter: the anchor stays, so slow drift is not summed either).
///
/// Gaps. A step longer in time than gap_s is a gap and adds nothing. The fix after it is a *seed*,
/// as is the first fix of the period: accepted with nothing to check it against.
///
/// Relocation. Jumps are held back as candidates, each plausible from the one before; a jump that
/// is not, an accepted fix, a gap or the end of the period discards those gathered as jumps.
/// When relocate_fixes candidates have gathered:
/// - if the last accepted fix is a seed that no fix has confirmed yet, the seed was the outlier
///   (a cold start, a wake-up fix): it is retracted, counted as a jump, and the candidates are
///   taken as if it had never come, their steps counted;
/// - otherwise the vehicle is elsewhere than the track said: the first candidate becomes a seed,
///   the move to it is reported as a Gap (from the last accepted fix, with the straight-line
///   distance) and not counted, and the steps between the candidates are.
/// Candidates taken count as used, never as jumps.
///
/// Fuel. A stop is a run of still fixes within jitter_m of the stop's first fix; any other
/// accepted fix ends it. A gap ends it too, unless the fixes either side are both still and within
/// jitter_m of each other (the device slept where the vehicle stood: the typical drain is then
/// seen).
class TrackSummariser {
  public:
    TrackSummariser(TrackRules rules, std::int64_t period_from_ms, std::int64_t period_to_ms);

    void add(const Fix& fix);
    TrackSummary finish();

  private:
    // A run of still fixes and its sensor readings.
    struct Stop {
        std::optional<Fix> first;
        std::int64_t last_ms = 0;
        std::vector<double> levels;
    };
    // What a seed changed, to put back when it is retracted.
    struct BeforeSeed {
        std::optional<Fix> anchor;
        std::optional<Fix> last;
        std::size_t gaps = 0;
        std::size_t fuel_events = 0;
        Stop stop;
    };

    void place(const Fix& read);
    bool plausible(const Fix& from, const Fix& to) const;
    void seed(const Fix& fix, std::optional<Gap> gap, bool keep_stop);
    void on_candidate(const Fix& fix);
    void relocate();
    void drop_candidates();
    bool still(const Fix& fix) const;
    void on_fuel(const Fix& fix);
    void close_stop();

    TrackRules rules_;
    std::int64_t from_ms_;
    std::int64_t to_ms_;
    TrackSummary summary_;
    std::optional<Fix> anchor_;
    std::optional<Fix> last_;                     ///< last accepted fix, its speed filled in
    std::optional<BeforeSeed> unconfirmed_seed_;  ///< set while last_ is a seed nothing followed
    std::vector<Fix> candidates_;                 ///< jumps that agree among themselves, as read
    Stop stop_;
};

/// The whole track at once.
TrackSummary summarise_track(const std::vector<Fix>& fixes, const TrackRules& rules,
                             std::int64_t period_from_ms, std::int64_t period_to_ms);

}  // namespace fleet::waybills
