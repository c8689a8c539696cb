#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "dispatch/detail/reports.hpp"
#include "dispatch/events.hpp"
#include "dispatch/plan.hpp"
#include "dispatch/shift_tracker.hpp"
#include "dispatch/thresholds.hpp"

/// One vehicle through its day: its assignments (each tracked by a ShiftTracker: matching,
/// stops, schedule, not departed, no data, shift summary) and the concerns of the vehicle
/// itself (signal, speed, standing still, moving without an assignment). Pure: fixes and clock
/// ticks in, events out.
namespace fleet::dispatch {

/// A vehicle with any number of assignments a day (shifts of different drivers, blocks, freight
/// runs, a block taken over from another vehicle).
///
/// Which assignment a fix belongs to — never more than one:
/// 1. The candidates are the assignments whose window holds the fix's time: from its planned
///    start less `shift-tolerance-before` to its planned end plus `shift-tolerance-after`.
/// 2. A candidate in progress keeps its vehicle: begun (left the depot, or a trip's start seen)
///    and not finished, and either before its planned end or, after it, still driving on its
///    route. A late vehicle finishes its work before the next one begins; one that has left its
///    route after the planned end has given the work up. Of two in progress, the one begun last.
/// 3. Otherwise the unfinished candidate planned nearest to the fix's time (0 inside its
///    planned start to end); of two as near, the one planned to start first.
/// 4. Otherwise the finished candidate planned to end last: nothing is judged against it any
///    more, but the vehicle is not without an assignment.
/// Without a candidate the vehicle is unassigned at that time. Clock ticks attribute the
/// vehicle's events (signal lost) by the same rule.
class VehicleTracker {
  public:
    /// `thresholds`: the configuration's; a trip's route may override them (TripPlan).
    VehicleTracker(std::int64_t vehicle_id, Thresholds thresholds, ReportRule rule = {});
    VehicleTracker(const VehicleTracker&) = delete;
    VehicleTracker& operator=(const VehicleTracker&) = delete;

    std::int64_t vehicle_id() const { return reports_.vehicle_id(); }

    /// The cap of the vehicle's class (e.g. 70 km/h for a heavy truck), applied over every
    /// other limit; empty: none.
    void set_class_cap(std::optional<double> limit_kmh) { class_cap_kmh_ = limit_kmh; }

    /// Adds an assignment, or gives the one with its id a new plan (ShiftTracker::replace:
    /// the same work keeps its progress). Returns the reports it caused (events of work no
    /// longer planned, closed at the tracker's latest time).
    std::vector<Event> upsert(std::shared_ptr<const Assignment> assignment);
    /// Withdraws an assignment: its open events are closed at the tracker's latest time.
    /// Unknown ids: nothing.
    std::vector<Event> cancel(std::int64_t assignment_id);
    /// Removes an assignment whose shift is over, closing its open events at `at`; returns its
    /// summary (with those closings), or nothing for an unknown id.
    std::optional<ShiftSummary> retire(std::int64_t assignment_id, std::vector<Event>& out,
                                       Millis at);

    /// Older than (or as old as) the latest fix: on_fix ignores it.
    bool stale(const Fix& fix) const { return last_fix_ && fix.time <= last_fix_->time; }
    /// Feeds one fix (in time order; stale fixes are ignored). Returns the events opened,
    /// updated or closed by it.
    std::vector<Event> on_fix(const Fix& fix);
    /// Advances the clock without a fix: signal lost, not departed, no vehicle data.
    std::vector<Event> on_tick(Millis now);

    /// The assignments, in the order they were added.
    std::vector<const ShiftTracker*> shifts() const;
    const ShiftTracker* shift(std::int64_t assignment_id) const;
    /// The assignment the latest fix was given to, if any.
    const ShiftTracker* current() const;

    /// Of the current assignment: schedule deviation in seconds (positive = late), distance
    /// along its trip, the trip's index; empty when not matched.
    std::optional<double> deviation_s() const;
    std::optional<double> distance_along_m() const;
    std::optional<std::size_t> trip_index() const;
    bool off_route() const;
    /// The thresholds in force: the current trip's route overrides on the configuration's.
    const Thresholds& thresholds() const;

    /// Planned against actual of one assignment so far; nothing for an unknown id.
    std::optional<ShiftSummary> summary(std::int64_t assignment_id) const;
    /// Every open event of the vehicle and its assignments, as it stands.
    std::vector<Event> open_events() const;
    const std::optional<Fix>& last_fix() const { return last_fix_; }
    /// The latest time seen: of a fix or a tick.
    std::optional<Millis> latest_time() const { return now_; }

  private:
    ShiftTracker* find(std::int64_t assignment_id) const;
    ShiftTracker* shift_for(Millis t) const;
    Event make(EventKind kind, Millis started, geo::LonLat where, ShiftTracker* owner);
    void report(std::vector<Event>& out, Event& e, Millis at);
    void follow(std::vector<Event>& out, Event& e, Millis at);
    void close(std::vector<Event>& out, std::optional<Event>& open, Millis at);
    void advance(Millis t);

    void track_signal(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift);
    void track_speed(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift);
    void track_standing(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift);
    void track_unassigned(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift);

    Thresholds base_;
    detail::Reports reports_;
    std::vector<std::unique_ptr<ShiftTracker>> shifts_;
    std::optional<std::int64_t> current_;  // assignment id the latest fix went to
    // Which assignment each open vehicle-wide event was raised in (for its shift summary).
    std::unordered_map<std::uint64_t, std::int64_t> owner_;

    std::optional<Fix> last_fix_;  // the latest valid fix
    Millis last_received_{};
    std::optional<Millis> now_;

    // Standing still, moving without assignment, speeding, signal.
    geo::LonLat anchor_{};
    Millis anchor_at_{};
    std::optional<Event> standing_;
    std::optional<Millis> moving_since_;
    std::optional<Event> unassigned_;
    std::optional<Millis> speeding_since_;
    double speeding_max_kmh_ = 0;
    double speeding_limit_kmh_ = 0;
    std::optional<Event> speeding_;
    std::optional<double> class_cap_kmh_;
    std::optional<Event> signal_;
};

}  // namespace fleet::dispatch
