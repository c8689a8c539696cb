#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "dispatch/detail/reports.hpp"
#include "dispatch/events.hpp"
#include "dispatch/plan.hpp"
#include "dispatch/thresholds.hpp"

/// One assignment of a vehicle against the fixes it is given: map-matching to its trips, the
/// stops, schedule adherence, not departed, no vehicle data, and its shift summary. Pure: fixes
/// and clock ticks in, events out. The vehicle's tracker (tracker.hpp) decides which of its
/// assignments a fix belongs to and keeps the vehicle-wide concerns.
namespace fleet::dispatch {

/// A fix as the engine sees it.
struct Fix {
    Millis time;
    geo::LonLat position;
    std::optional<double> speed_kmh;
    bool valid = true;
    /// The lowest limit of the speed zones at this place, resolved by the engine; the tracker
    /// adds the route segment's, the default and the class cap (effective_limit_kmh).
    std::optional<double> zone_limit_kmh;
    /// When the server received it; signal loss is judged on reception (a device uploading
    /// what it buffered is not silent). Empty: the device time.
    std::optional<Millis> received_at;
};

/// Planned against actual for one assignment (end of shift, or so far).
struct ShiftSummary {
    std::size_t trips_planned = 0;
    std::size_t trips_served = 0;  ///< reached their last stop
    std::size_t stops_planned = 0;
    std::size_t stops_served = 0;  ///< arrived within the stop radius
    double km_planned = 0;         ///< along the trips' shapes
    double km_driven = 0;          ///< along the valid fixes given to the assignment
    double hours_planned = 0;
    double hours_worked = 0;     ///< first to last fix given to the assignment
    std::size_t timepoints = 0;  ///< timepoint departures (freight: stop arrivals) observed
    std::size_t timepoints_on_time = 0;
    double punctuality() const {
        return timepoints == 0
                   ? 0.0
                   : static_cast<double>(timepoints_on_time) / static_cast<double>(timepoints);
    }
    /// Every event of the shift as last reported: its own and the vehicle's (signal, speed,
    /// standing) raised while it was the assignment being tracked.
    std::vector<Event> deviations;
};

/// How a trip begins. A trip is driven from its first stop: it begins with a visit to that stop
/// (or, failing one, with a match on its shape once its departure time, less the `early-after`
/// threshold, has come), and the visit counts only if the vehicle then leaves along the trip's
/// shape: a vehicle that leaves its terminal for the depot has not started the trip, early or
/// not. A block's trips chain: where one ends at the stop where the next begins (same stop, or
/// within the stop radius), the arrival that ends one is the visit that begins the next.
enum class TripStart { waiting, at_first_stop, leaving, driving };

class ShiftTracker {
  public:
    /// `base`: the configuration's thresholds; `reports`: the vehicle's (keys, update rule).
    ShiftTracker(std::shared_ptr<const Assignment> assignment, Thresholds base,
                 detail::Reports& reports);

    /// A new plan for this assignment (same id). The same work (trips, stops and times) keeps
    /// everything and applies the new route rules from the next fix. Otherwise the progress is
    /// kept as far as the plan is unchanged: trips done and the trip being driven stay as they
    /// are when they are the same in the new plan (a block cut short for a hand-over ends where
    /// it now ends); a changed trip being driven starts again from where the vehicle is (stops
    /// already passed are not judged); a change before it starts the assignment afresh. Events
    /// of the work no longer planned are closed at `now`.
    void replace(std::vector<Event>& out, std::shared_ptr<const Assignment> assignment, Millis now);

    /// Closes every open event of the assignment at `at` (cancelled, or its shift is over).
    void close_all(std::vector<Event>& out, Millis at);

    const Assignment& assignment() const { return *assignment_; }
    const std::shared_ptr<const Assignment>& plan() const { return assignment_; }

    /// The window in which fixes may belong to it: the planned one widened by the
    /// shift-tolerance-before and -after thresholds.
    Millis window_start() const;
    Millis window_end() const;
    bool in_window(Millis t) const { return t >= window_start() && t <= window_end(); }
    /// How far `t` lies from the planned window (0 inside it).
    Millis::duration planned_distance(Millis t) const;

    /// Its work has begun: the vehicle left the depot, a trip began, or it is at the first
    /// stop of the trip it is to drive (until it leaves it for elsewhere).
    bool started() const;
    /// When it began (for choosing between two in progress).
    std::optional<Millis> started_at() const;
    /// The last trip is done (timetabled: arrived at its last stop; freight: left it).
    bool finished() const;
    /// Begun and not finished, and at `t` still its vehicle's: before its planned end, or after
    /// it while on its route (a vehicle that finishes late keeps its work; one that has left
    /// its route after the planned end has given it up).
    bool in_progress_at(Millis t) const;

    /// Feeds one valid fix that belongs to this assignment (in time order).
    void on_fix(std::vector<Event>& out, const Fix& fix);
    /// The clock without a fix: not departed, no vehicle data. `vehicle_last`: the vehicle's
    /// latest fix (whichever assignment it went to), if any.
    void on_tick(std::vector<Event>& out, Millis now, const std::optional<Fix>& vehicle_last);
    /// A fix of the vehicle arrived inside the window: it is not without data.
    void vehicle_seen(std::vector<Event>& out, Millis at);

    /// A gap in the vehicle's data during this assignment (named as a cause when nothing else
    /// explains a delay).
    void note_signal_gap(double gap_s);
    /// Adds the assignment's and current trip's public codes and ids to a vehicle-wide event.
    void stamp(Event& e) const;
    /// Keeps a vehicle-wide event in this shift's history (its summary's deviations).
    void record(const Event& e);

    /// What the vehicle-wide concerns need from the latest fix.
    bool on_route_now() const { return on_route_now_; }
    bool at_stop() const { return at_stop_.has_value(); }
    /// The speed limit of the current trip's route stretch where the latest fix matched.
    std::optional<double> segment_limit_kmh() const;
    /// The thresholds in force: the configuration's with the current trip's route overrides.
    const Thresholds& thresholds() const { return t_; }

    /// Current schedule deviation in seconds (positive = late), when matched to a trip.
    std::optional<double> deviation_s() const { return deviation_s_; }
    /// Distance along the current trip's shape, when matched.
    std::optional<double> distance_along_m() const { return along_m_; }
    std::optional<std::size_t> trip_index() const;
    const TripPlan* current_trip() const;
    bool off_route() const { return detour_open_; }
    TripStart trip_start() const { return start_; }
    /// The next stop of the current trip to be served (its index); stops before it were
    /// served or passed.
    std::size_t next_stop() const { return next_stop_; }
    /// Whether each stop of the current trip was served (empty before a trip).
    std::vector<bool> served_on_trip() const;
    /// When the vehicle arrived at each stop of the current trip it served (empty before a
    /// trip; nothing for a stop not served).
    std::span<const std::optional<Millis>> arrivals_on_trip() const { return arrivals(trip_); }
    /// The same for any trip of the assignment, by its index.
    std::span<const std::optional<Millis>> arrivals(std::size_t trip) const {
        return trip < arrived_.size() ? std::span(arrived_[trip])
                                      : std::span<const std::optional<Millis>>{};
    }
    /// Its open events as they stand.
    std::vector<Event> open_events() const;

    ShiftSummary summary() const;

  private:
    struct StopRef {  // a stop named by a cause (a copy: plans are replaced)
        std::int64_t id = 0;
        std::string code;
        std::string name;
    };
    struct DelayCause {
        std::string text;
        double seconds = 0;
        std::optional<StopRef> stop;
    };
    struct Cause {
        std::string text;
        std::optional<StopRef> stop;
    };

    Event make(EventKind kind, Millis started, geo::LonLat where) const;
    void report(std::vector<Event>& out, Event& e, Millis at);
    void follow(std::vector<Event>& out, Event& e, Millis at);
    void close(std::vector<Event>& out, std::optional<Event>& open, Millis at);
    void set_plan(std::shared_ptr<const Assignment> assignment);
    void reset_progress();
    void restart_trip(std::size_t index, TripStart start);
    void mark_started(Millis at);

    void track_depot(std::vector<Event>& out, const Fix& fix);
    void track_start(std::vector<Event>& out, const Fix& fix);
    void track_route(std::vector<Event>& out, const Fix& fix);
    void track_stops(std::vector<Event>& out, const Fix& fix);
    void track_schedule(std::vector<Event>& out, const Fix& fix);

    bool begin_at_first_stop(const Fix& fix);
    bool begin_on_shape(std::vector<Event>& out, const Fix& fix);
    void serve(std::size_t index, Millis arrived);
    void confirm_start(std::vector<Event>& out, double along_m);
    void judge_departure(std::vector<Event>& out, std::size_t index, Millis departed);
    void end_trip(std::vector<Event>& out, const Fix& fix);
    void close_trip_events(std::vector<Event>& out, Millis at);
    void close_detour(std::vector<Event>& out, Millis at);
    bool chains_to_next() const;
    std::optional<geo::Projection> match_by_schedule(const TripPlan& trip, const Fix& fix) const;
    double scheduled_offset_s(const TripPlan& trip, double distance_m, Millis now,
                              bool at_stop) const;
    double window_offset_s(const TripPlan& trip, Millis now) const;
    Cause late_cause() const;
    static StopRef ref(const PlannedStop& stop) { return {stop.stop_id, stop.code, stop.name}; }
    double radius_m(const PlannedStop& stop) const;
    void use_route_thresholds();
    void stamp_stop(Event& e, const PlannedStop& stop) const;

    std::shared_ptr<const Assignment> assignment_;
    Thresholds base_;  // the configuration's
    Thresholds t_;     // in force: base_ with the current trip's route overrides
    detail::Reports* reports_;

    // Data given to this assignment.
    std::optional<Fix> last_fix_;
    std::optional<Millis> first_fix_;
    std::optional<Millis> started_at_;

    // The trip being driven (or next to begin) and how it began.
    std::size_t trip_ = 0;
    TripStart start_ = TripStart::waiting;
    Millis left_first_at_{};  // TripStart::leaving: when it left the first stop
    int leaving_unmatched_ = 0;
    bool rejoin_ = false;  // (re)planned mid-work: stops already passed are not judged
    std::optional<double> along_m_;
    bool on_route_now_ = false;  // the latest fix matched the trip's shape
    bool trip_done_ = false;
    std::optional<double> deviation_s_;

    // Detour (off route) with anti-flapping.
    int off_count_ = 0;
    int on_count_ = 0;
    std::optional<Millis> off_since_;
    std::vector<geo::LonLat> off_path_;
    double off_max_m_ = 0;
    bool detour_open_ = false;
    std::optional<Event> detour_;

    // Stops.
    std::size_t next_stop_ = 0;
    std::optional<std::size_t> at_stop_;
    Millis arrived_at_{};
    std::optional<Event> dwell_;
    std::vector<std::vector<std::optional<Millis>>> arrived_;  // per trip, per stop: served

    // Schedule adherence.
    enum class Adherence { on_time, late, early };
    Adherence candidate_ = Adherence::on_time;
    std::optional<Millis> candidate_since_;
    double candidate_peak_s_ = 0;  // largest |deviation| since candidate_since_
    Adherence declared_ = Adherence::on_time;
    std::optional<Event> adherence_;

    // Leaving the depot.
    bool seen_at_depot_ = false;
    bool departed_ = false;
    std::optional<Event> not_departed_;
    std::optional<Event> no_data_;

    // What delayed the vehicle on the current trip, for causes.
    std::vector<DelayCause> delays_;

    // Planned vs actual.
    ShiftSummary actual_;
    std::vector<Event> history_;
    std::unordered_map<std::uint64_t, std::size_t> history_index_;  // by key
};

}  // namespace fleet::dispatch
