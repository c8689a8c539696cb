#include "dispatch/eta.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

double seconds_between(Millis from, Millis to) {
    return std::chrono::duration<double>(to - from).count();
}

Millis plus_s(Millis t, double s) {
    return t + std::chrono::milliseconds(std::llround(s * 1000));
}

// The stop nearest to `along_m` within `radius_m`, of `n` stops placed by `along(i)`.
template <class Along>
std::optional<std::size_t> nearest_stop(std::size_t n, Along along, double along_m,
                                        double radius_m) {
    std::optional<std::size_t> best;
    double best_m = radius_m;
    for (std::size_t i = 0; i < n; ++i) {
        const double off_m = std::abs(along(i) - along_m);
        if (off_m <= best_m) {
            best = i;
            best_m = off_m;
        }
    }
    return best;
}

template <class Along>
std::size_t first_remaining(std::size_t n, Along along, const EtaFix& fix, double radius_m) {
    if (fix.at_stop) {
        if (const auto at = nearest_stop(n, along, fix.along_m, radius_m)) {
            return *at + 1;
        }
    }
    std::size_t k = 0;
    while (k < n && along(k) <= fix.along_m) {
        ++k;
    }
    return k;
}

// The median of `values` (reordered); 0 when empty.
double median(std::vector<double>& values) {
    if (values.empty()) {
        return 0;
    }
    const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
    std::nth_element(values.begin(), mid, values.end());
    if (values.size() % 2 == 1) {
        return *mid;
    }
    return (*mid + *std::max_element(values.begin(), mid)) / 2;
}

void check_options(const EtaOptions& o) {
    auto positive = [](double v, const char* field) {
        if (!(v > 0)) {
            throw InputError(std::string("eta options: ") + field + " must be positive");
        }
    };
    auto non_negative = [](double v, const char* field) {
        if (!(v >= 0)) {
            throw InputError(std::string("eta options: ") + field + " must not be negative");
        }
    };
    non_negative(o.stop_radius_m, "stop_radius_m");
    positive(o.recent_window_s, "recent_window_s");
    non_negative(o.recent_prior_s, "recent_prior_s");
    positive(o.trip_pace_sd, "trip_pace_sd");
    positive(o.segment_pace_sd, "segment_pace_sd");
    positive(o.segment_pace_prior_count, "segment_pace_prior_count");
    positive(o.recent_memory_s, "recent_memory_s");
    non_negative(o.speed_weight, "speed_weight");
    if (o.speed_weight > 1) {
        throw InputError("eta options: speed_weight must be at most 1");
    }
    positive(o.min_pace, "min_pace");
    positive(o.accel_ms2, "accel_ms2");
    positive(o.default_speed_kmh, "default_speed_kmh");
    if (o.max_pace < o.min_pace) {
        throw InputError("eta options: max_pace must not be below min_pace");
    }
    non_negative(o.min_running_share, "min_running_share");
    non_negative(o.dwell_prior_s, "dwell_prior_s");
    positive(o.route_dwell_prior_count, "route_dwell_prior_count");
    positive(o.stop_dwell_prior_count, "stop_dwell_prior_count");
    positive(o.running_prior_count, "running_prior_count");
    positive(o.rare_horizon_s, "rare_horizon_s");
    if (!(o.running_clip >= 1)) {
        throw InputError("eta options: running_clip must be at least 1");
    }
    if (!(o.history_count >= 1)) {
        throw InputError("eta options: history_count must be at least 1");
    }
    positive(o.trip_dwell_prior_stops, "trip_dwell_prior_stops");
    positive(o.min_dwell_factor, "min_dwell_factor");
    positive(o.dwell_clip, "dwell_clip");
    if (o.max_dwell_factor < o.min_dwell_factor) {
        throw InputError("eta options: max_dwell_factor must not be below min_dwell_factor");
    }
    if (!(o.residual_quantile >= 0 && o.residual_quantile <= 1)) {
        throw InputError("eta options: residual_quantile must be within 0..1");
    }
}

}  // namespace

std::string_view to_string(EtaMethod method) {
    switch (method) {
        case EtaMethod::schedule:
            return "schedule";
        case EtaMethod::schedule_delay:
            return "schedule_delay";
        case EtaMethod::progress:
            return "progress";
        case EtaMethod::held:
            return "held";
    }
    return "unknown";
}

RouteHistory::RouteHistory(EtaOptions options) : options_(options) {
    check_options(options_);
    ratios_.reserve(options_.residual_samples);
}

void RouteHistory::add(Mean& mean, double value) const {
    if (mean.count >= options_.history_count) {
        // A mean of the latest history_count: the older ones make room in proportion.
        mean.sum *= (options_.history_count - 1) / mean.count;
        mean.count = options_.history_count - 1;
    }
    mean.sum += value;
    mean.count += 1;
}

void RouteHistory::observe(const EtaObservations& observations) {
    for (const ObservedDwell& dwell : observations.dwells) {
        observe(dwell);
    }
    for (const ObservedRun& run : observations.runs) {
        observe(run);
    }
}

void RouteHistory::observe(const ObservedDwell& dwell) {
    const double dwell_s = std::max(0.0, dwell.dwell_s);
    const double expected_s = this->dwell_s(dwell.stop_id);
    if (dwell.stopped && expected_s > 0 && options_.residual_samples > 0) {
        const double ratio = dwell_s / expected_s;
        if (ratios_.size() < options_.residual_samples) {
            ratios_.push_back(ratio);
        } else {
            ratios_[next_ratio_] = ratio;
        }
        next_ratio_ = (next_ratio_ + 1) % options_.residual_samples;
    }
    // One long dwell (a ramp, a dispute) is one passenger's, not what the stop is like: the
    // part beyond dwell_clip times the typical dwell is a rare event, spread over all stops.
    const double clipped_s = std::min(dwell_s, options_.dwell_clip * std::max(1.0, expected_s));
    add(stop_dwell_[dwell.stop_id], clipped_s);
    dwell_.sum += clipped_s;  // the means of all stops do not fade: they are each one's prior
    dwell_.count += 1;
    rare_dwell_sum_s_ += dwell_s - clipped_s;
    ++dwells_observed_;
}

void RouteHistory::observe(const ObservedRun& run) {
    Mean& mean = running_[{run.from_stop_id, run.to_stop_id}];
    const double running_s = std::max(0.0, run.running_s);
    // A congestion one trip met is not what the segment is like: the part beyond running_clip
    // times the typical running time is a rare event, spread over all segments.
    const double typical_s = mean.count > 0 ? mean.sum / mean.count : run.scheduled_s;
    const double clipped_s =
        typical_s > 0 ? std::min(running_s, typical_s * options_.running_clip) : running_s;
    add(mean, clipped_s);
    rare_running_sum_s_ += running_s - clipped_s;
    clipped_running_sum_s_ += clipped_s;
    ++runs_observed_;
}

double RouteHistory::rare_dwell_s() const {
    return dwell_.count > 0 ? rare_dwell_sum_s_ / dwell_.count : 0;
}

double RouteHistory::rare_running_share() const {
    return clipped_running_sum_s_ > 0 ? rare_running_sum_s_ / clipped_running_sum_s_ : 0;
}

double RouteHistory::typical_dwell_s() const {
    const double n0 = options_.route_dwell_prior_count;
    return (dwell_.sum + n0 * options_.dwell_prior_s) / (dwell_.count + n0);
}

double RouteHistory::mean_dwell_s() const {
    return typical_dwell_s() + rare_dwell_s();
}

double RouteHistory::dwell_s(std::int64_t stop_id) const {
    const auto it = stop_dwell_.find(stop_id);
    if (it == stop_dwell_.end()) {
        return typical_dwell_s();
    }
    const double n0 = options_.stop_dwell_prior_count;
    return (it->second.sum + n0 * typical_dwell_s()) / (it->second.count + n0);
}

double RouteHistory::remaining_dwell_s(std::int64_t stop_id, double elapsed_s) const {
    // A stop whose dwells were all zero so far still dwells when the vehicle stands there:
    // one second keeps the ratios finite.
    const double expected = std::max(1.0, dwell_s(stop_id));
    const double u = std::max(0.0, elapsed_s) / expected;
    std::vector<double> rests(options_.residual_prior_count, 1.0);
    for (const double r : ratios_) {
        if (r >= u) {
            rests.push_back(r - u);
        }
    }
    if (rests.empty()) {
        return 0;
    }
    const auto nth =
        rests.begin() + static_cast<std::ptrdiff_t>(std::llround(
                            options_.residual_quantile * static_cast<double>(rests.size() - 1)));
    std::nth_element(rests.begin(), nth, rests.end());
    return expected * *nth;
}

double RouteHistory::running_s(std::int64_t from_stop_id, std::int64_t to_stop_id,
                               double prior_s) const {
    const double n0 = options_.running_prior_count;
    const auto it = running_.find({from_stop_id, to_stop_id});
    if (it == running_.end()) {
        return prior_s;
    }
    return (it->second.sum + n0 * prior_s) / (it->second.count + n0);
}

double schedule_delay_s(const TripPlan& trip, const EtaFix& fix, double stop_radius_m) {
    const auto& stops = trip.stops;
    if (stops.empty()) {
        throw InputError("schedule delay: the trip has no stops");
    }
    auto along = [&stops](std::size_t i) { return stops[i].distance_along_m; };
    if (fix.at_stop) {
        const auto at = nearest_stop(stops.size(), along, fix.along_m, stop_radius_m);
        if (at && (*at == 0 || stops[*at].timepoint) && fix.time <= stops[*at].departure) {
            return 0;  // layover: holding at a timepoint (or the terminal) until its time
        }
    }
    if (fix.along_m <= stops.front().distance_along_m) {
        return fix.time <= stops.front().departure
                   ? 0
                   : seconds_between(stops.front().departure, fix.time);
    }
    for (std::size_t b = 1; b < stops.size(); ++b) {
        if (fix.along_m > stops[b].distance_along_m) {
            continue;
        }
        const PlannedStop& a = stops[b - 1];
        const double span_m = std::max(1.0, stops[b].distance_along_m - a.distance_along_m);
        const double f = std::clamp((fix.along_m - a.distance_along_m) / span_m, 0.0, 1.0);
        const Millis scheduled =
            plus_s(a.departure, f * seconds_between(a.departure, stops[b].arrival));
        return seconds_between(scheduled, fix.time);
    }
    return seconds_between(stops.back().arrival, fix.time);
}

std::size_t first_remaining_stop(const TripPlan& trip, const EtaFix& fix, double stop_radius_m) {
    const auto& stops = trip.stops;
    return first_remaining(
        stops.size(), [&stops](std::size_t i) { return stops[i].distance_along_m; }, fix,
        stop_radius_m);
}

std::vector<StopEta> baseline_eta(const TripPlan& trip, const std::optional<EtaFix>& latest,
                                  Millis now, double stop_radius_m) {
    std::vector<StopEta> out;
    const auto& stops = trip.stops;
    double delay_s = 0;
    std::size_t first = 0;
    EtaMethod method = EtaMethod::schedule;
    if (latest) {
        delay_s = schedule_delay_s(trip, *latest, stop_radius_m);
        first = first_remaining_stop(trip, *latest, stop_radius_m);
        method = EtaMethod::schedule_delay;
    }
    for (std::size_t k = first; k < stops.size(); ++k) {
        const Millis arrival = plus_s(stops[k].arrival, delay_s);
        out.push_back({k, stops[k].stop_id, stops[k].arrival, arrival,
                       seconds_between(now, arrival), method});
    }
    return out;
}

EtaPredictor::EtaPredictor(const TripPlan& trip, EtaOptions options) : options_(options) {
    check_options(options_);
    const auto& planned = trip.stops;
    if (planned.empty()) {
        throw InputError("eta: trip '" + trip.code + "' has no stops");
    }
    for (std::size_t i = 0; i < planned.size(); ++i) {
        const PlannedStop& s = planned[i];
        if (s.departure < s.arrival) {
            throw InputError("eta: trip '" + trip.code + "': stop " + std::to_string(i) +
                             " departs before it arrives");
        }
        if (i > 0 && (s.distance_along_m < planned[i - 1].distance_along_m ||
                      s.arrival < planned[i - 1].departure)) {
            throw InputError("eta: trip '" + trip.code + "': stop " + std::to_string(i) +
                             " comes before the one preceding it");
        }
        const double segment_s =
            i + 1 < planned.size() ? seconds_between(s.departure, planned[i + 1].arrival) : 0;
        stops_.push_back({s.stop_id, s.distance_along_m, s.arrival, s.departure,
                          i == 0 || s.timepoint, segment_s,
                          seconds_between(s.arrival, s.departure)});
    }
    total_.covered.assign(stops_.size(), 0);
    recent_.covered.assign(stops_.size(), 0);
    segment_moving_s_.assign(stops_.size(), 0);
}

std::vector<double> EtaPredictor::running_s(const RouteHistory& history) const {
    std::vector<double> running(stops_.size(), 0);
    for (std::size_t i = 0; i + 1 < stops_.size(); ++i) {
        const Stop& s = stops_[i];
        // The dwell the timetable was planned with, not the one observed today.
        const double hidden_s =
            i == 0 ? 0 : std::max(0.0, options_.dwell_prior_s - s.shown_dwell_s);
        const double prior_s =
            std::max(options_.min_running_share * s.segment_s, s.segment_s - hidden_s);
        running[i] = history.running_s(s.id, stops_[i + 1].id, prior_s);
    }
    return running;
}

double EtaPredictor::clock_s(double along_m, const std::vector<double>& running) const {
    double clock = 0;
    for (std::size_t i = 0; i + 1 < stops_.size(); ++i) {
        const Stop& a = stops_[i];
        const Stop& b = stops_[i + 1];
        if (along_m <= a.along_m) {
            return clock;
        }
        if (along_m < b.along_m) {
            return clock + running[i] * (along_m - a.along_m) / (b.along_m - a.along_m);
        }
        clock += running[i];
    }
    return clock;
}

double EtaPredictor::covered_s(const Progress& progress, const std::vector<double>& running) const {
    double s = 0;
    for (std::size_t i = 0; i < running.size(); ++i) {
        s += progress.covered[i] * running[i];
    }
    return s;
}

std::optional<std::size_t> EtaPredictor::stop_at(const EtaFix& fix) const {
    if (!fix.at_stop) {
        return std::nullopt;
    }
    return nearest_stop(
        stops_.size(), [this](std::size_t i) { return stops_[i].along_m; }, fix.along_m,
        options_.stop_radius_m);
}

void EtaPredictor::record(EtaObservations& out, std::size_t stop, double dwell_s, bool stopped) {
    if (stop == 0 || stop + 1 == stops_.size()) {
        return;  // the terminals: layover, not dwell
    }
    if (stopped && stops_[stop].holds && at_first_ <= stops_[stop].departure) {
        return;  // arrived before its time at a timepoint: the dwell may be a hold
    }
    const ObservedDwell dwell{stops_[stop].id, dwell_s, stopped};
    out.dwells.push_back(dwell);
    dwells_.push_back(dwell);
}

void EtaPredictor::close_dwell(EtaObservations& out) {
    if (!at_) {
        return;
    }
    record(out, *at_, seconds_between(at_first_, at_last_), true);
    next_unobserved_ = std::max(next_unobserved_, *at_ + 1);
    at_.reset();
}

void EtaPredictor::add(Progress& progress, const Interval& step, double sign) const {
    progress.moving_s += sign * step.moving_s;
    progress.distance_m += sign * step.distance_m;
    for (const auto& [segment, share] : step.covered) {
        progress.covered[segment] += sign * share;
    }
}

EtaObservations EtaPredictor::on_fix(const EtaFix& fix) {
    EtaObservations out;
    if (latest_ && fix.time <= latest_->time) {
        return out;
    }
    EtaFix taken = fix;
    if (latest_) {
        taken.along_m = std::max(fix.along_m, latest_->along_m);  // matching only moves forward
    }
    const std::optional<std::size_t> here = stop_at(fix);
    const bool dwelling = at_ && here && *at_ == *here;

    if (!departed_ && taken.along_m > stops_.front().along_m && here != std::size_t{0}) {
        departed_ = true;
    }
    // Where between the two fixes the vehicle left the stop it stood at, and reached the one
    // it stands at now: from the distance to the stop and the speed, starting or stopping at
    // accel_ms2 (d / v + v / 2a).
    std::optional<Millis> left_at;
    std::optional<Millis> arrived_at;
    if (latest_ && !dwelling) {
        auto speed_ms = [this](const EtaFix& f) {
            if (f.speed_kmh && *f.speed_kmh > 3.6) {
                return *f.speed_kmh / 3.6;
            }
            return recent_.moving_s > 0 && recent_.distance_m > 0
                       ? recent_.distance_m / recent_.moving_s
                       : options_.default_speed_kmh / 3.6;
        };
        auto moved_s = [this](double distance_m, double v_ms) {
            return std::max(0.0, distance_m) / v_ms + v_ms / (2 * options_.accel_ms2);
        };
        Millis from = latest_->time;
        if (at_) {
            const double v = speed_ms(fix);
            from = std::clamp(plus_s(fix.time, -moved_s(taken.along_m - stops_[*at_].along_m, v)),
                              latest_->time, fix.time);
            if (stops_[*at_].holds) {
                // Holding until the timepoint's time is not running.
                from = std::max(from, std::min(fix.time, stops_[*at_].departure));
            }
            left_at = from;
        }
        if (here) {
            const double v = speed_ms(*latest_);
            arrived_at = std::clamp(
                plus_s(from, moved_s(stops_[*here].along_m - latest_->along_m, v)), from, fix.time);
        }
    }
    if (latest_ && departed_ && !dwelling) {
        const Millis start = left_at.value_or(latest_->time);
        const Millis end = arrived_at.value_or(fix.time);
        Interval step{fix.time, seconds_between(start, end), taken.along_m - latest_->along_m, {}};
        double weight_s = 0;  // the moving time goes to the segments by their timetabled time
        for (std::size_t i = 0; i + 1 < stops_.size(); ++i) {
            const double from_m = std::max(latest_->along_m, stops_[i].along_m);
            const double to_m = std::min(taken.along_m, stops_[i + 1].along_m);
            const double length_m = stops_[i + 1].along_m - stops_[i].along_m;
            if (to_m > from_m && length_m > 0) {
                const double share = (to_m - from_m) / length_m;
                step.covered.emplace_back(i, share);
                weight_s += share * stops_[i].segment_s;
            }
        }
        for (const auto& [segment, share] : step.covered) {
            segment_moving_s_[segment] +=
                weight_s > 0 ? step.moving_s * share * stops_[segment].segment_s / weight_s
                             : step.moving_s / static_cast<double>(step.covered.size());
        }
        add(recent_, step, 1);
        add(total_, step, 1);
        window_.push_back(std::move(step));
    }
    const Millis window_start = plus_s(fix.time, -options_.recent_window_s);
    while (!window_.empty() && window_.front().end < window_start) {
        add(recent_, window_.front(), -1);
        window_.pop_front();
    }
    if (window_.empty()) {
        recent_.moving_s = recent_.distance_m = 0;
        std::fill(recent_.covered.begin(), recent_.covered.end(), 0.0);
    }

    if (dwelling) {
        at_last_ = fix.time;
    } else {
        if (at_ && left_at) {
            at_last_ = *left_at;
        }
        close_dwell(out);
        if (here) {
            at_ = here;
            at_first_ = arrived_at.value_or(fix.time);
            at_last_ = fix.time;
        }
    }
    while (next_unobserved_ < stops_.size() &&
           stops_[next_unobserved_].along_m + options_.stop_radius_m < taken.along_m &&
           at_ != next_unobserved_) {
        record(out, next_unobserved_, 0, false);
        ++next_unobserved_;
    }
    // A segment is run once the vehicle has left its far stop (or stands at the last one).
    while (next_run_ + 1 < stops_.size()) {
        const std::size_t to = next_run_ + 1;
        const bool last = to + 1 == stops_.size();
        const bool done =
            (stops_[to].along_m + options_.stop_radius_m < taken.along_m && at_ != to) ||
            (last && (at_ == to || taken.along_m >= stops_[to].along_m));
        if (!done) {
            break;
        }
        // Seen from end to end (not joined half-way): its moving time is its running time.
        if (total_.covered[next_run_] > 0.95) {
            out.runs.push_back({stops_[next_run_].id, stops_[to].id,
                                segment_moving_s_[next_run_] / total_.covered[next_run_],
                                stops_[next_run_].segment_s});
        }
        ++next_run_;
    }
    latest_ = taken;
    return out;
}

EtaPredictor::Pace EtaPredictor::pace(const RouteHistory& history) const {
    return pace(running_s(history));
}

EtaPredictor::Pace EtaPredictor::pace(const std::vector<double>& running) const {
    Pace p;
    // The median pace of the segments run end to end: a congestion the trip went through is
    // one segment's pace, not the trip's.
    std::vector<double> paces;
    for (std::size_t i = 0; i < next_run_ && i < running.size(); ++i) {
        if (total_.covered[i] > 0.95 && running[i] > 0) {
            paces.push_back(segment_moving_s_[i] / total_.covered[i] / running[i]);
        }
    }
    if (!paces.empty()) {
        // Believed as far as the segments agree: the normal-normal shrinkage of the median
        // towards 1, the segments' spread (1.4826 · MAD) shrunk towards segment_pace_sd.
        const double n = static_cast<double>(paces.size());
        const double m = median(paces);
        for (double& x : paces) {
            x = std::abs(x - m);
        }
        const double spread = 1.4826 * median(paces);
        const double k = options_.segment_pace_prior_count;
        const double within2 =
            (n * spread * spread + k * options_.segment_pace_sd * options_.segment_pace_sd) /
            (n + k);
        const double between2 = options_.trip_pace_sd * options_.trip_pace_sd;
        p.trip = 1 + (m - 1) * n * between2 / (n * between2 + within2);
    }
    p.trip = std::clamp(p.trip, options_.min_pace, options_.max_pace);
    const double recent_s = covered_s(recent_, running);
    p.recent = recent_s + options_.recent_prior_s > 0
                   ? (recent_.moving_s + options_.recent_prior_s * p.trip) /
                         (recent_s + options_.recent_prior_s)
                   : p.trip;
    p.recent = std::clamp(p.recent, options_.min_pace, options_.max_pace);
    if (recent_.moving_s >= options_.min_speed_window_s && recent_.distance_m > 0) {
        p.recent_speed_kmh = recent_.distance_m / recent_.moving_s * 3.6;
    } else if (departed_ && latest_ && latest_->speed_kmh && *latest_->speed_kmh > 1) {
        p.recent_speed_kmh = latest_->speed_kmh;
    }
    return p;
}

double EtaPredictor::dwell_factor(const RouteHistory& history) const {
    const double prior_s = options_.trip_dwell_prior_stops * history.mean_dwell_s();
    double observed_s = prior_s;
    double expected_s = prior_s;
    for (const ObservedDwell& d : dwells_) {
        const double typical_s = history.dwell_s(d.stop_id);
        // One long dwell (a ramp, a dispute) tells of a passenger, not of the trip.
        observed_s += std::min(d.dwell_s, options_.dwell_clip * std::max(1.0, typical_s));
        expected_s += typical_s;
    }
    if (expected_s <= 0) {
        return 1;
    }
    return std::clamp(observed_s / expected_s, options_.min_dwell_factor,
                      options_.max_dwell_factor);
}

double EtaPredictor::run_s(double s0, double s1, double distance_m, const Pace& pace) const {
    const double span_s = s1 - s0;
    if (span_s <= 0) {
        return 0;
    }
    const double memory_s = options_.recent_memory_s;
    const double g = memory_s * (std::exp(-s0 / memory_s) - std::exp(-s1 / memory_s));
    const double run_a = pace.trip * span_s + (pace.recent - pace.trip) * g;
    if (!pace.recent_speed_kmh || *pace.recent_speed_kmh <= 0) {
        return std::max(0.0, run_a);
    }
    const double omega = options_.speed_weight * g / span_s;
    const double run_b = std::max(0.0, distance_m) / (*pace.recent_speed_kmh / 3.6);
    return std::max(0.0, (1 - omega) * run_a + omega * run_b);
}

std::vector<StopEta> EtaPredictor::predict(Millis now, const RouteHistory& history) const {
    std::vector<StopEta> out;
    if (!latest_) {
        for (std::size_t k = 0; k < stops_.size(); ++k) {
            out.push_back({k, stops_[k].id, stops_[k].arrival, stops_[k].arrival,
                           seconds_between(now, stops_[k].arrival), EtaMethod::schedule});
        }
        return out;
    }
    const EtaFix& fix = *latest_;
    std::size_t first = at_ ? *at_ + 1 : 0;
    if (!at_) {
        while (first < stops_.size() && stops_[first].along_m <= fix.along_m) {
            ++first;
        }
    }
    if (first >= stops_.size()) {
        return out;
    }
    const std::vector<double> running = running_s(history);
    const Pace p = pace(running);
    const double phi = dwell_factor(history);

    Millis depart = fix.time;
    double from_m = fix.along_m;
    bool held = false;
    // Seconds ahead spent standing (dwells, holds): the recent situation ages meanwhile.
    double standing_s = 0;
    if (at_) {
        const Stop& here = stops_[*at_];
        const double elapsed_s = seconds_between(at_first_, fix.time);
        depart = plus_s(fix.time, phi * history.remaining_dwell_s(here.id, elapsed_s / phi));
        if (here.holds && depart < here.departure) {
            depart = here.departure;
            held = true;
        }
        from_m = here.along_m;
        standing_s = seconds_between(fix.time, depart);
    }
    // The rare long events (congestions, long dwells) count in full far ahead, hardly at all
    // in the next minute: their share over running seconds s0..s1 ahead.
    const double rare_running = history.rare_running_share();
    const double rare_dwell = history.rare_dwell_s();
    const double horizon_s = options_.rare_horizon_s;
    auto rare_share = [horizon_s](double s0, double s1) {
        if (s1 - s0 < 1e-9) {
            return 1 - std::exp(-s1 / horizon_s);
        }
        return 1 - horizon_s * (std::exp(-s0 / horizon_s) - std::exp(-s1 / horizon_s)) / (s1 - s0);
    };
    // Running seconds ahead, from where the vehicle is (s0) to each stop (s1).
    const double base_s = clock_s(from_m, running);
    double stop_clock_s = clock_s(stops_[first].along_m, running);
    double s0 = 0;
    for (std::size_t k = first; k < stops_.size(); ++k) {
        const Stop& stop = stops_[k];
        if (k > first) {
            stop_clock_s += running[k - 1];
        }
        const double s1 = std::max(s0, stop_clock_s - base_s);
        const double a0 = s0 + standing_s;
        const double a1 = s1 + standing_s;
        Millis arrival = plus_s(depart, run_s(a0, a1, stop.along_m - from_m, p) *
                                            (1 + rare_running * rare_share(a0, a1)));
        arrival = std::max(arrival, now);
        out.push_back({k, stop.id, stop.arrival, arrival, seconds_between(now, arrival),
                       held ? EtaMethod::held : EtaMethod::progress});
        const Millis arrived = arrival;
        depart =
            plus_s(arrival, phi * (history.dwell_s(stop.id) + rare_dwell * rare_share(a1, a1)));
        if (stop.holds && depart < stop.departure) {
            depart = stop.departure;
            held = true;
        }
        standing_s += seconds_between(arrived, depart);
        s0 = s1;
        from_m = stop.along_m;
    }
    return out;
}

}  // namespace fleet::dispatch
