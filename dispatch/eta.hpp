#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dispatch/plan.hpp"

/// Arrival-time prediction (ETA) for the stops a vehicle has still to serve on its trip. Pure:
/// fixes already matched to the trip go in, predictions for a given `now` come out; no clock,
/// no database. One EtaPredictor per vehicle on a trip; one RouteHistory per route (or per
/// network), shared by the predictors of its trips, learns the dwell at each stop and the
/// running time of each segment from what the predictors observed before.
///
/// The model, for the latest fix (time t, distance along x) and a stop k ahead:
///
///   T_i   the timetable's time for segment i, stop i to stop i+1: arr_{i+1} − dep_i.
///   R_i   its running time, dwell excluded. Before any run is observed, the timetable's less
///         the dwell it was planned with (dwell_prior_s) at a stop that shows none:
///           R⁰_i = max(min_running_share · T_i, T_i − max(0, dwell_prior_s − (dep_i − arr_i)))
///         (no dwell at the first stop); then the typical observed running time shrunk
///         towards R⁰_i (RouteHistory::running_s; congestions left out, x_R below).
///   τ(x)  the running clock: Σ R_i over the segments before x, plus the share of its own
///         segment's R that x has covered (linear in distance).
///   M, S  over a stretch the vehicle drove: M the time it spent moving (the intervals between
///         fixes not both at the same stop, less the part of such an interval spent at a stop,
///         placed by accel_ms2, and less a hold at a timepoint), S = Δτ.
///   ρ_trip   the trip's pace, believed as far as its segments agree: m the median of M / S
///            over the n segments it ran end to end (a congestion it went through is one
///            segment's pace, not the trip's), σ_w² = (n · (1.4826 · MAD)² + segment_pace_prior_
///            count · segment_pace_sd²) / (n + segment_pace_prior_count) their spread,
///            τ = trip_pace_sd:  ρ_trip = 1 + (m − 1) · n·τ² / (n·τ² + σ_w²).
///   ρ_recent the pace over the last recent_window_s, shrunk towards ρ_trip:
///            (M_win + recent_prior_s · ρ_trip) / (S_win + recent_prior_s).
///   v_recent the speed over the same window (the latest fix's speed while it has too little).
///   A stretch of route from s0 to s1 seconds ahead (Δx metres) takes, s counting the running
///   clock from the latest fix plus the standing (dwells, holds) predicted before the stretch,
///       run_a = ∫ ρ(s) ds,  ρ(s) = ρ_trip + (ρ_recent − ρ_trip) · e^(−s / recent_memory_s)
///             = ρ_trip·(s1 − s0) + (ρ_recent − ρ_trip)·g,
///               g = recent_memory_s · (e^(−s0/recent_memory_s) − e^(−s1/recent_memory_s)),
///       run_b = Δx / v_recent,
///       run   = ((1 − ω)·run_a + ω·run_b) · (1 + x_R · w̄(s0, s1)),
///               ω = speed_weight · g / (s1 − s0):
///     the recent pace and speed counting where the recent situation lasts, and the rare
///     congestions x_R (RouteHistory::rare_running_share) where they come to count:
///     w(s) = 1 − e^(−s / rare_horizon_s), w̄ its mean over s0..s1.
///   D_j   the dwell expected at stop j, s_j seconds ahead (as above):
///         φ · (RouteHistory::dwell_s(j) + x_D · w(s_j)), x_D the rare long dwells per stop and
///         φ the trip's dwell factor: (Σ min(d, dwell_clip · E[D]) + trip_dwell_prior_stops · μ)
///         / (Σ E[D] + trip_dwell_prior_stops · μ) over the dwells it was seen making, μ the
///         history's mean dwell. Standing at stop c for e seconds: the rest of the dwell is
///         φ · RouteHistory::remaining_dwell_s(c, e / φ).
///   Then stop by stop from where the vehicle is (or from leaving the stop it stands at):
///     arrival_k   = max(now, departure_{k−1} + run(segment to k)),
///     departure_k = arrival_k + D_k, and at a timepoint (and at the first stop, a terminal)
///                   departure_k = max(departure_k, scheduled departure_k): a vehicle early at
///                   a timepoint waits for its time (domain.md §1).
/// Medians and clipped means rather than means: the score that matters is how often a
/// prediction is near enough, and one long dwell or one congestion should not move every
/// prediction after it.
///
/// Method of each prediction: `schedule` before any fix; `held` when a hold at a timepoint on
/// the way (or the vehicle's own) sets it; `progress` otherwise. The baseline to compare with
/// is baseline_eta(): scheduled arrival + the current schedule deviation.
namespace fleet::dispatch {

/// A position already matched to the trip (the tracker's distance along its shape).
struct EtaFix {
    Millis time;
    double along_m = 0;  ///< along the trip's shape
    std::optional<double> speed_kmh;
    /// Standing at a stop (dwelling, or holding at a timepoint or the terminal).
    bool at_stop = false;
};

/// Every constant of the model, with its unit. The defaults suit urban buses with fixes every
/// 10–30 s; each one appears in the formula in this file's introduction.
struct EtaOptions {
    /// A fix `at_stop` within this of a stop's distance along is at that stop (domain.md §1:
    /// "within 50 m of a stop").
    double stop_radius_m = 50;
    /// A bus's acceleration (and braking), to place between two fixes the moment it left a stop
    /// or reached one: d / v + v / (2 · accel_ms2) seconds for d metres from or to standstill
    /// at speed v (the fix's, else the recent speed, else default_speed_kmh). The time before
    /// leaving and after reaching is dwell, not running.
    double accel_ms2 = 1.0;
    double default_speed_kmh = 20;
    /// The recent window of the pace and speed, in seconds back from the latest fix.
    double recent_window_s = 180;
    /// Weight of the trip's pace in the recent pace, in running seconds.
    double recent_prior_s = 120;
    /// How much trips' paces differ from one another (sd of the pace; the prior's spread around
    /// 1, running like the trips before).
    double trip_pace_sd = 0.1;
    /// How much one trip's segments differ in pace from one another (sd), before its own
    /// segments show it, and the weight of that in segments.
    double segment_pace_sd = 0.3;
    double segment_pace_prior_count = 3;
    /// How far ahead, in running seconds, the recent pace persists (1/e).
    double recent_memory_s = 60;
    /// Weight of the recent speed against the recent pace where the recent situation lasts
    /// (0..1).
    double speed_weight = 0.1;
    /// The recent speed is used once the window holds this much moving time, in seconds.
    double min_speed_window_s = 30;
    /// Paces are kept within these (observed time per running time).
    double min_pace = 0.5;
    double max_pace = 3.0;
    /// R⁰_i is never less than this share of the segment's timetabled time.
    double min_running_share = 0.5;
    /// Weight of R⁰ in a segment's running time, in observed runs.
    double running_prior_count = 2;
    /// An observed run counts in its segment's running time up to this many times the mean so
    /// far (the timetable's time for the first); the rest is a rare event (a congestion).
    double running_clip = 1.4;
    /// How far ahead, in running seconds, the rare events (the parts of runs and dwells beyond
    /// running_clip and dwell_clip) come to count: w(s) = 1 − e^(−s / rare_horizon_s).
    double rare_horizon_s = 300;
    /// The dwell expected at a stop before any is observed, in seconds; also the one the
    /// timetable's running times are taken to include at a stop that shows none.
    double dwell_prior_s = 15;
    /// Weight of dwell_prior_s in the history's mean dwell, in observations.
    double route_dwell_prior_count = 10;
    /// Weight of the history's mean dwell in one stop's, in observations.
    double stop_dwell_prior_count = 4;
    /// A stop's dwell and a segment's running time are the mean of at most this many of the
    /// latest observations (older ones fade: traffic and crowds change over the day).
    double history_count = 10;
    /// Weight of "this trip dwells like any other" (φ = 1), in stops' worth of dwell.
    double trip_dwell_prior_stops = 6;
    /// An observed dwell counts in the means (E[D], μ') and in φ up to this many times the
    /// stop's E[D]; the rest is a rare event (a ramp, a dispute).
    double dwell_clip = 3;
    /// φ is kept within these.
    double min_dwell_factor = 0.3;
    double max_dwell_factor = 3.0;
    /// Samples of "the rest of a dwell is one mean dwell" among those of the rest.
    std::size_t residual_prior_count = 3;
    /// Which quantile of the rests of past dwells the rest of a dwell under way is (0..1).
    double residual_quantile = 0.5;
    /// Dwells the history keeps (the latest) to estimate the rest of a dwell under way.
    std::size_t residual_samples = 1000;
};

/// A dwell a predictor observed.
struct ObservedDwell {
    std::int64_t stop_id = 0;
    /// From the estimated arrival to the estimated departure (see accel_ms2) around the at-stop
    /// fixes; 0 when the stop was passed without one.
    double dwell_s = 0;
    /// Seen at the stop in at least one fix.
    bool stopped = false;
};

/// A segment a predictor saw the vehicle run from end to end.
struct ObservedRun {
    std::int64_t from_stop_id = 0;
    std::int64_t to_stop_id = 0;
    /// The moving time on it (dwells at its ends and holds not counted).
    double running_s = 0;
    /// The timetable's time for it (T), the yardstick of its first run.
    double scheduled_s = 0;
};

/// What a fix completed, for the route's history.
struct EtaObservations {
    std::vector<ObservedDwell> dwells;
    std::vector<ObservedRun> runs;
};

/// How a prediction was made.
enum class EtaMethod {
    schedule,        ///< no fix yet: the timetable
    schedule_delay,  ///< the baseline: timetable + current deviation
    progress,        ///< from the vehicle's pace, speed and the dwells ahead
    held,            ///< set by a hold at a timepoint (or the terminal) on the way
};

/// "schedule", "schedule_delay", "progress", "held".
std::string_view to_string(EtaMethod method);

/// The prediction for one stop.
struct StopEta {
    std::size_t stop_index = 0;  ///< in TripPlan::stops
    std::int64_t stop_id = 0;
    Millis scheduled_arrival;
    Millis arrival;        ///< predicted
    double horizon_s = 0;  ///< arrival − now
    EtaMethod method = EtaMethod::schedule;
};

/// What the trips of a route showed, learned online. A stop's dwell and a segment's running
/// time are means of the latest history_count observations at most (a new one weighs at least
/// 1/history_count), each observation clipped first: what lies beyond the clip is a rare event
/// (a long dwell, a congestion), kept apart and spread over all stops or segments.
///
/// Dwell, d an ObservedDwell::dwell_s (zeros included), clipped to dwell_clip · E[D] of its
/// stop at the time; n observations in all, n_j at stop j:
///   μ'     = (Σ clipped d + route_dwell_prior_count · dwell_prior_s)
///            / (n + route_dwell_prior_count)                           (does not fade)
///   E[D_j] = (Σ clipped d at j + stop_dwell_prior_count · μ') / (n_j + stop_dwell_prior_count)
///   x_D    = Σ (d − clipped d) / n,   μ = μ' + x_D
/// The rest of a dwell under way for e seconds at stop j, from the latest residual_samples
/// dwells during which the vehicle stopped, each kept as a ratio r = d / E[D] of its stop at
/// the time (unclipped): u = e / E[D_j], and
///   rest = E[D_j] · the residual_quantile of {r − u : r ≥ u}, with residual_prior_count
///          samples of 1 among them (the rest is one typical dwell, lacking data).
///
/// Running time, r an ObservedRun::running_s clipped to running_clip times the segment's mean
/// so far (its timetabled time for the first):
///   R_i = (Σ clipped r + running_prior_count · R⁰_i) / (n_i + running_prior_count)
///   x_R = Σ (r − clipped r) / Σ clipped r   (a share of the running time; does not fade)
class RouteHistory {
  public:
    explicit RouteHistory(EtaOptions options = {});

    void observe(const EtaObservations& observations);
    void observe(const ObservedDwell& dwell);
    void observe(const ObservedRun& run);

    /// E[D_j] in seconds, the rare long dwells left out.
    double dwell_s(std::int64_t stop_id) const;
    /// x_D: the rare long dwells, in seconds per stop.
    double rare_dwell_s() const;
    /// μ = μ' + x_D in seconds.
    double mean_dwell_s() const;
    /// The rest of a dwell at `stop_id` that has lasted `elapsed_s`, in seconds.
    double remaining_dwell_s(std::int64_t stop_id, double elapsed_s) const;
    /// R_i in seconds, `prior_s` being R⁰_i, the rare congestions left out.
    double running_s(std::int64_t from_stop_id, std::int64_t to_stop_id, double prior_s) const;
    /// x_R: the rare congestions, as a share of the running time.
    double rare_running_share() const;

    std::size_t dwells_observed() const { return dwells_observed_; }
    std::size_t runs_observed() const { return runs_observed_; }

  private:
    struct Mean {
        double sum = 0;
        double count = 0;
    };
    void add(Mean& mean, double value) const;
    double typical_dwell_s() const;

    EtaOptions options_;
    std::unordered_map<std::int64_t, Mean> stop_dwell_;
    Mean dwell_;
    double rare_dwell_sum_s_ = 0;       // the parts of dwells beyond dwell_clip
    double rare_running_sum_s_ = 0;     // the parts of runs beyond running_clip
    double clipped_running_sum_s_ = 0;  // the runs without them
    std::map<std::pair<std::int64_t, std::int64_t>, Mean> running_;
    std::size_t dwells_observed_ = 0;
    std::size_t runs_observed_ = 0;
    std::vector<double> ratios_;  // ring of the latest stopped dwells, dwell / E[D]
    std::size_t next_ratio_ = 0;
};

/// Schedule deviation at a fix, domain.md §1: the fix's time less the scheduled time at its
/// distance along (interpolated linearly between the previous stop's departure and the next
/// stop's arrival), positive = late; 0 at a timepoint or the first stop before its departure.
double schedule_delay_s(const TripPlan& trip, const EtaFix& fix, double stop_radius_m = 50);

/// The first stop still to be served after `fix`: the one after the stop the vehicle stands at,
/// else the first one ahead of its distance along; stops.size() when none is left.
std::size_t first_remaining_stop(const TripPlan& trip, const EtaFix& fix,
                                 double stop_radius_m = 50);

/// The baseline: every remaining stop at its scheduled arrival + schedule_delay_s(latest);
/// without a fix, the timetable (method schedule).
std::vector<StopEta> baseline_eta(const TripPlan& trip, const std::optional<EtaFix>& latest,
                                  Millis now, double stop_radius_m = 50);

/// One vehicle on one timetabled trip. Throws InputError for a trip without stops, or with
/// stops out of order along the shape or in time, and for options out of range.
class EtaPredictor {
  public:
    explicit EtaPredictor(const TripPlan& trip, EtaOptions options = {});

    /// Feeds a fix (in time order; one not newer than the latest is ignored). Returns what it
    /// completed, for the route's history: dwells (a stop left, or passed without stopping; not
    /// at the terminals, nor one that may have been a hold: at a timepoint, begun before its
    /// scheduled departure) and runs (a segment driven from end to end).
    EtaObservations on_fix(const EtaFix& fix);

    /// Predictions for every stop still to be served, in order; empty past the last stop.
    std::vector<StopEta> predict(Millis now, const RouteHistory& history) const;

    /// The paces of the model (observed per running time; 1 = like the trips before).
    struct Pace {
        double trip = 1;
        double recent = 1;
        std::optional<double> recent_speed_kmh;
    };
    Pace pace(const RouteHistory& history) const;
    /// The trip's dwell factor φ.
    double dwell_factor(const RouteHistory& history) const;
    /// The latest fix taken (its distance along never goes back).
    const std::optional<EtaFix>& latest() const { return latest_; }

  private:
    struct Stop {
        std::int64_t id = 0;
        double along_m = 0;
        Millis arrival;
        Millis departure;
        bool holds = false;        // a timepoint, or the first stop
        double segment_s = 0;      // T: from its departure to the next stop's arrival
        double shown_dwell_s = 0;  // departure − arrival
    };
    // Moving time and distance, and the share of each segment covered meanwhile.
    struct Progress {
        double moving_s = 0;
        double distance_m = 0;
        std::vector<double> covered;  // per segment
    };
    struct Interval {
        Millis end;
        double moving_s = 0;
        double distance_m = 0;
        std::vector<std::pair<std::size_t, double>> covered;  // segment, share
    };

    std::vector<double> running_s(const RouteHistory& history) const;
    double clock_s(double along_m, const std::vector<double>& running) const;
    double covered_s(const Progress& progress, const std::vector<double>& running) const;
    Pace pace(const std::vector<double>& running) const;
    std::optional<std::size_t> stop_at(const EtaFix& fix) const;
    void close_dwell(EtaObservations& out);
    void record(EtaObservations& out, std::size_t stop, double dwell_s, bool stopped);
    void add(Progress& progress, const Interval& step, double sign) const;
    double run_s(double s0, double s1, double distance_m, const Pace& pace) const;

    EtaOptions options_;
    std::vector<Stop> stops_;
    std::optional<EtaFix> latest_;
    bool departed_ = false;
    // The stop the vehicle stands at, and its first and last fix there.
    std::optional<std::size_t> at_;
    Millis at_first_;
    Millis at_last_;
    std::size_t next_unobserved_ = 1;       // dwells before it are recorded or given up
    std::size_t next_run_ = 0;              // runs before it are recorded
    std::vector<double> segment_moving_s_;  // moving time on each segment, this trip
    std::deque<Interval> window_;
    Progress recent_;  // over window_
    Progress total_;   // since the trip started
    std::vector<ObservedDwell> dwells_;
};

}  // namespace fleet::dispatch
