#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "dispatch/events.hpp"
#include "dispatch/plan.hpp"
#include "dispatch/thresholds.hpp"

/// One vehicle against its assignment: map-matching, schedule deviation, stops, and the
/// deviation events with their likely causes. Pure: fixes and clock ticks in, events out.
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
    double km_driven = 0;          ///< along the valid fixes
    double hours_planned = 0;
    double hours_worked = 0;     ///< first to last fix within the shift
    std::size_t timepoints = 0;  ///< timepoint departures (freight: stop arrivals) observed
    std::size_t timepoints_on_time = 0;
    double punctuality() const {
        return timepoints == 0
                   ? 0.0
                   : static_cast<double>(timepoints_on_time) / static_cast<double>(timepoints);
    }
    std::vector<Event> deviations;  ///< every event of the shift, as last reported
};

class VehicleTracker {
  public:
    /// `thresholds`: the configuration's; a trip's route may override them (TripPlan).
    VehicleTracker(std::int64_t vehicle_id, Thresholds thresholds);

    /// The cap of the vehicle's class (e.g. 70 km/h for a heavy truck), applied over every
    /// other limit; empty: none.
    void set_class_cap(std::optional<double> limit_kmh) { class_cap_kmh_ = limit_kmh; }

    /// Sets (or replaces, mid-day) the assignment; nullptr clears it. The same assignment
    /// again (same id, trips and stops) with other route thresholds or speed limits keeps the
    /// state and applies them from the next fix.
    void assign(std::shared_ptr<const Assignment> assignment);

    /// Feeds one fix (in time order; older fixes than the last are ignored). Returns the
    /// events opened, updated or closed by it.
    std::vector<Event> on_fix(const Fix& fix);

    /// Advances the clock without a fix: signal lost, not departed, no vehicle data.
    std::vector<Event> on_tick(Millis now);

    /// Current schedule deviation in seconds (positive = late), when matched to a trip.
    std::optional<double> deviation_s() const { return deviation_s_; }
    /// Distance along the current trip's shape, when matched.
    std::optional<double> distance_along_m() const;
    std::optional<std::size_t> trip_index() const;
    bool off_route() const { return detour_open_; }
    /// The thresholds in force: the configuration's with the current trip's route overrides.
    const Thresholds& thresholds() const { return t_; }

    ShiftSummary summary() const;
    /// The assignment being tracked, if any.
    const std::shared_ptr<const Assignment>& assignment() const { return assignment_; }

  private:
    struct Open {  // an event that has been reported open
        Event event;
    };
    struct DelayCause {
        std::string text;
        double seconds = 0;
    };

    Event make(EventKind kind, Millis started, geo::LonLat where);
    void report(std::vector<Event>& out, const Event& e);
    void close(std::vector<Event>& out, std::optional<Event>& open, Millis at);

    void track_signal(std::vector<Event>& out, const Fix& fix);
    void track_speed(std::vector<Event>& out, const Fix& fix);
    void track_standing(std::vector<Event>& out, const Fix& fix, bool at_stop);
    void track_unassigned(std::vector<Event>& out, const Fix& fix);
    void track_route(std::vector<Event>& out, const Fix& fix);
    void track_stops(std::vector<Event>& out, const Fix& fix);
    void track_schedule(std::vector<Event>& out, const Fix& fix);
    double scheduled_offset_s(const TripPlan& trip, double distance_m, Millis now,
                              bool at_stop) const;
    double window_offset_s(const TripPlan& trip, Millis now) const;
    bool active_at(Millis t) const;
    std::string late_cause() const;
    double radius_m(const PlannedStop& stop) const;
    void use_route_thresholds();

    std::int64_t vehicle_id_;
    Thresholds base_;  // the configuration's
    Thresholds t_;     // in force: base_ with the current trip's route overrides
    std::shared_ptr<const Assignment> assignment_;
    std::uint64_t next_key_ = 1;

    // Last data.
    std::optional<Fix> last_fix_;
    Millis last_received_{};
    std::optional<Millis> first_fix_in_shift_;

    // Matching.
    std::size_t trip_ = 0;
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
    std::vector<bool> served_;  // per stop of the current trip

    // Schedule adherence.
    enum class Adherence { on_time, late, early };
    Adherence candidate_ = Adherence::on_time;
    std::optional<Millis> candidate_since_;
    double candidate_peak_s_ = 0;  // largest |deviation| since candidate_since_
    Adherence declared_ = Adherence::on_time;
    std::optional<Event> adherence_;

    // Standing still, moving without assignment, speeding, signal, shift.
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
    std::optional<Event> not_departed_;
    std::optional<Event> no_data_;
    bool departed_ = false;

    // What delayed the vehicle, for causes.
    std::vector<DelayCause> delays_;

    // Planned vs actual.
    ShiftSummary actual_;
    std::vector<Event> history_;
};

}  // namespace fleet::dispatch
