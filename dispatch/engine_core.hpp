#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dispatch/eta_book.hpp"
#include "dispatch/speed_limits.hpp"
#include "dispatch/tracker.hpp"

/// The dispatch engine's logic without threads: fixes, assignment changes and a clock in;
/// events, shift results and each vehicle's live state out. The threaded Engine (engine.hpp)
/// is a thin shell around it; tests step it directly.
namespace fleet::dispatch {

/// A committed position for a vehicle, as the engine receives it.
struct VehicleFix {
    std::int64_t vehicle_id = 0;
    Fix fix;
    /// When the position was committed (steady clock), to measure commit-to-event latency.
    std::chrono::steady_clock::time_point committed_at{};
};

struct EngineConfig {
    Thresholds thresholds;
    ReportRule updates{};                  ///< when an open event is reported again
    std::chrono::milliseconds tick{5000};  ///< how often signal loss and shift checks run
    /// Fixes waiting for the engine; beyond it the oldest are dropped (counted).
    std::size_t max_queue = 1'000'000;
    /// Events waiting for the store (one report each: later reports replace earlier ones);
    /// beyond it the oldest are dropped (counted).
    std::size_t max_event_queue = 100'000;
    /// The arrival-time model's constants (dispatch/eta.hpp).
    EtaOptions eta{};
};

/// Planned against actual of an assignment whose shift is over.
struct ShiftResult {
    std::shared_ptr<const Assignment> assignment;
    ShiftSummary summary;
};

/// What one step produced.
struct StepOutput {
    std::vector<Event> events;
    /// For each event, when the fix that raised it was committed (epoch: raised by the clock
    /// or by an assignment change).
    std::vector<std::chrono::steady_clock::time_point> committed;
    std::vector<ShiftResult> shift_results;
    /// The vehicles whose state this step changed.
    std::vector<std::int64_t> vehicles;
    /// The arrival times predicted from this step's fixes, and the arrivals at stops they saw.
    std::vector<EtaUpdate> etas;
    std::vector<StopArrival> arrivals;
};

/// A vehicle as the engine sees it now: what the operators' live view shows.
struct VehicleState {
    std::int64_t vehicle_id = 0;
    std::optional<Millis> last_fix_at;
    std::optional<geo::LonLat> position;
    std::optional<double> speed_kmh;
    /// The assignment its latest fix was tracked against, with its public codes.
    std::optional<std::int64_t> assignment_id;
    std::string service_date;
    std::string block;
    std::optional<std::size_t> trip_index;
    std::optional<std::int64_t> trip_id;
    std::string trip_code;
    std::string route_code;
    std::string route_short_name;
    std::optional<double> deviation_s;  ///< positive = late; empty when not matched
    std::optional<double> along_m;      ///< along the current trip's shape
    bool on_route = false;              ///< the latest fix matched the trip's shape
    bool off_route = false;             ///< a detour is open
    std::vector<Event> open_events;     ///< the vehicle's and its assignments', as they stand
    /// The plan tracked (shared, never changed in place), for predictions of the stops ahead.
    std::shared_ptr<const Assignment> plan;
    /// Of the current trip: the next stop to be served, and which stops were served (a stop
    /// before next_stop that was not served was passed without stopping: skipped).
    std::size_t next_stop = 0;
    std::vector<bool> served;
    /// The arrival times predicted at the stops still to be served on the current trip, from
    /// the fix at eta_made_at; empty when none are (not on a trip, or the trip is over).
    std::vector<StopEta> eta;
    std::optional<Millis> eta_made_at;
};

/// What the core counted (monotonic) and holds.
struct CoreCounters {
    std::uint64_t fixes_processed = 0;
    std::uint64_t fixes_stale = 0;    ///< not newer than the vehicle's latest fix
    std::uint64_t fixes_invalid = 0;  ///< no vehicle, or a position that is not one
    std::uint64_t event_reports = 0;
    std::uint64_t shift_results = 0;
    std::uint64_t assignments_retired_ignored = 0;  ///< upserts of a shift already over
    std::size_t vehicles = 0;
    std::size_t assignments = 0;
};

class EngineCore {
  public:
    explicit EngineCore(EngineConfig config);

    /// What is wrong with an assignment the engine cannot track (no id, no vehicle, no trips,
    /// a trip without a shape or stops, stops out of order, times backwards), or nothing.
    static std::optional<std::string> problem(const Assignment& assignment);

    /// Adds an assignment, or replaces the one with its assignment_id (the same work keeps its
    /// progress; see ShiftTracker::replace). An assignment moved to another vehicle leaves the
    /// first. Ids below 1 are plans not stored in fleet.shift_assignments (tests, benchmarks):
    /// tracked alike, but their events name no assignment. An assignment whose shift is over
    /// (its result handed out) is not tracked again. Throws InputError (problem()).
    void upsert(std::shared_ptr<const Assignment> assignment);
    /// Withdraws an assignment; its open events are closed. Unknown ids: nothing.
    void cancel(std::int64_t assignment_id);
    /// Replaces the speed zones and class caps; applied from the next fix on.
    void set_speed_limits(std::shared_ptr<const SpeedLimits> limits);

    /// Feeds fixes (each vehicle's in time order), then advances the clock to `now`: every
    /// `tick` of it, the clock checks (signal lost, not departed, no data) and the shift
    /// results of assignments whose window has closed. Reports caused by upsert() and cancel()
    /// since the last step come first.
    StepOutput step(std::span<const VehicleFix> fixes, Millis now);

    std::vector<VehicleState> snapshot() const;
    std::optional<VehicleState> state(std::int64_t vehicle_id) const;
    /// Planned against actual of an assignment being tracked, so far.
    std::optional<ShiftSummary> summary(std::int64_t assignment_id) const;
    const VehicleTracker* tracker(std::int64_t vehicle_id) const;
    const CoreCounters& counters() const { return counters_; }
    /// Runs whose plan the arrival-time model could not follow.
    std::uint64_t eta_refused() const { return eta_.refused(); }

  private:
    VehicleTracker& tracker_for(std::int64_t vehicle_id);
    void add(StepOutput& out, std::vector<Event> events,
             std::chrono::steady_clock::time_point committed, std::int64_t vehicle_id);
    void tick(StepOutput& out, Millis now);

    EngineConfig config_;
    std::shared_ptr<const SpeedLimits> limits_;
    std::unordered_map<std::int64_t, std::unique_ptr<VehicleTracker>> trackers_;
    std::unordered_map<std::int64_t, std::int64_t> vehicle_of_;  // assignment → vehicle
    std::unordered_map<std::int64_t, Millis> retired_;           // assignment → window end
    std::vector<Event> pending_;                                 // reports of upsert() and cancel()
    std::vector<std::int64_t> touched_;                          // their vehicles
    std::optional<Millis> next_tick_;
    EtaBook eta_;
    CoreCounters counters_;
};

}  // namespace fleet::dispatch
