#include "dispatch/shift_tracker.hpp"

#include <algorithm>
#include <cmath>

#include "dispatch/speed_limits.hpp"
#include "geo/geodesy.hpp"

namespace fleet::dispatch {

namespace {

double seconds_between(Millis a, Millis b) {
    return std::chrono::duration<double>(b - a).count();
}

std::string minutes_text(double seconds) {
    const long minutes = std::lround(seconds / 60.0);
    return (minutes >= 0 ? "+" : "") + std::to_string(minutes) + " min";
}

// The same trip with the same stops and times (route rules may differ). A reload builds the
// shape again: the same length with the same stops on it is the same shape.
bool same_trip(const TripPlan& x, const TripPlan& y) {
    if (x.trip_id != y.trip_id || x.code != y.code || x.stops.size() != y.stops.size() ||
        x.time_windows != y.time_windows || !x.shape != !y.shape ||
        (x.shape && x.shape->length_m() != y.shape->length_m())) {
        return false;
    }
    for (std::size_t k = 0; k < x.stops.size(); ++k) {
        const auto& a = x.stops[k];
        const auto& b = y.stops[k];
        if (a.stop_id != b.stop_id || a.distance_along_m != b.distance_along_m ||
            a.arrival != b.arrival || a.departure != b.departure) {
            return false;
        }
    }
    return true;
}

// The same work: a refreshed plan of the assignment being tracked, not another one.
bool same_work(const Assignment& a, const Assignment& b) {
    if (a.assignment_id != b.assignment_id || a.trips.size() != b.trips.size() ||
        a.planned_start != b.planned_start || a.planned_end != b.planned_end) {
        return false;
    }
    for (std::size_t i = 0; i < a.trips.size(); ++i) {
        if (!same_trip(a.trips[i], b.trips[i])) {
            return false;
        }
    }
    return true;
}

// Freight: how far `now` lies outside the times at which the run may pass `d` (from the
// windows' starts to their ends, interpolated by distance between the stops); 0 inside.
double window_band_offset_s(const TripPlan& trip, double d, Millis now) {
    const auto& stops = trip.stops;
    std::size_t b = 0;
    while (b + 1 < stops.size() && stops[b].distance_along_m < d) {
        ++b;
    }
    const std::size_t a = b == 0 ? 0 : b - 1;
    const double span_m = stops[b].distance_along_m - stops[a].distance_along_m;
    const double f =
        span_m <= 0 ? 1.0 : std::clamp((d - stops[a].distance_along_m) / span_m, 0.0, 1.0);
    auto between = [f](Millis x, Millis y) {
        return x + std::chrono::milliseconds(
                       static_cast<long long>(f * static_cast<double>((y - x).count())));
    };
    const Millis earliest = between(stops[a].arrival, stops[b].arrival);
    const Millis latest = between(stops[a].departure, stops[b].departure);
    if (now < earliest) {
        return seconds_between(earliest, now);
    }
    return now > latest ? seconds_between(latest, now) : 0;
}

}  // namespace

ShiftTracker::ShiftTracker(std::shared_ptr<const Assignment> assignment, Thresholds base,
                           detail::Reports& reports)
    : base_(base), t_(base), reports_(&reports) {
    set_plan(std::move(assignment));
    reset_progress();
}

void ShiftTracker::set_plan(std::shared_ptr<const Assignment> assignment) {
    assignment_ = std::move(assignment);
    const auto& trips = assignment_->trips;
    actual_.trips_planned = trips.size();
    actual_.stops_planned = 0;
    actual_.km_planned = 0;
    for (const auto& trip : trips) {
        actual_.stops_planned += trip.stops.size();
        actual_.km_planned += trip.shape ? trip.shape->length_m() / 1000.0 : 0;
    }
    actual_.hours_planned =
        seconds_between(assignment_->planned_start, assignment_->planned_end) / 3600.0;
    arrived_.resize(trips.size());
    for (std::size_t i = 0; i < trips.size(); ++i) {
        arrived_[i].resize(trips[i].stops.size());
    }
    use_route_thresholds();
}

void ShiftTracker::reset_progress() {
    restart_trip(0, TripStart::waiting);
    for (auto& trip : arrived_) {
        std::fill(trip.begin(), trip.end(), std::nullopt);
    }
    actual_.trips_served = 0;
    actual_.stops_served = 0;
    actual_.timepoints = 0;
    actual_.timepoints_on_time = 0;
}

void ShiftTracker::restart_trip(std::size_t index, TripStart start) {
    trip_ = index;
    start_ = start;
    trip_done_ = false;
    leaving_unmatched_ = 0;
    along_m_.reset();
    deviation_s_.reset();
    next_stop_ = 0;
    at_stop_.reset();
    off_count_ = 0;
    on_count_ = 0;
    off_since_.reset();
    off_path_.clear();
    off_max_m_ = 0;
    detour_open_ = false;
    candidate_ = declared_ = Adherence::on_time;
    candidate_since_.reset();
    candidate_peak_s_ = 0;
    delays_.clear();
    use_route_thresholds();
    if (start == TripStart::at_first_stop && trip_ < assignment_->trips.size()) {
        at_stop_ = 0;
        next_stop_ = 1;
        along_m_ = assignment_->trips[trip_].stops.front().distance_along_m;
    }
}

void ShiftTracker::use_route_thresholds() {
    t_ = trip_ < assignment_->trips.size()
             ? with_overrides(base_, assignment_->trips[trip_].thresholds)
             : base_;
}

void ShiftTracker::close_detour(std::vector<Event>& out, Millis at) {
    if (detour_) {
        detour_->geometry = off_path_;
        detour_->magnitude = off_max_m_;
        close(out, detour_, at);
    }
    detour_open_ = false;
    off_path_.clear();
}

void ShiftTracker::close_trip_events(std::vector<Event>& out, Millis at) {
    close(out, adherence_, at);
    close(out, dwell_, at);
    close_detour(out, at);
}

void ShiftTracker::close_all(std::vector<Event>& out, Millis at) {
    close_trip_events(out, at);
    close(out, not_departed_, at);
    close(out, no_data_, at);
}

void ShiftTracker::replace(std::vector<Event>& out, std::shared_ptr<const Assignment> assignment,
                           Millis now) {
    if (same_work(*assignment, *assignment_)) {
        assignment_ = std::move(assignment);  // new route rules, from the next fix
        use_route_thresholds();
        return;
    }
    if (!started()) {
        // Nothing driven yet: the new plan from the start; what was judged against the old
        // planned start (not departed, no data) is judged again.
        close_all(out, now);
        set_plan(std::move(assignment));
        reset_progress();
        return;
    }
    const auto& old_trips = assignment_->trips;
    const auto& new_trips = assignment->trips;
    std::size_t same = 0;  // leading trips unchanged
    while (same < old_trips.size() && same < new_trips.size() &&
           same_trip(old_trips[same], new_trips[same])) {
        ++same;
    }
    const bool current_begun = start_ != TripStart::waiting || trip_done_;
    if (same > trip_ || (same == trip_ && !current_begun && trip_ < new_trips.size())) {
        set_plan(std::move(assignment));  // the work so far is the same: go on
        return;
    }
    if (same == trip_ && trip_ >= new_trips.size()) {
        // The trip being driven is no longer planned (a block cut short for a hand-over): the
        // work now ends with the trip before it, which is done.
        close_trip_events(out, now);
        set_plan(std::move(assignment));
        restart_trip(new_trips.size() - 1, TripStart::driving);
        trip_done_ = true;
        return;
    }
    close_trip_events(out, now);
    if (same == trip_) {
        set_plan(std::move(assignment));  // the trip being driven changed: again from here
        restart_trip(trip_, TripStart::waiting);
    } else {
        set_plan(std::move(assignment));  // an earlier trip changed: the work afresh
        reset_progress();
    }
    rejoin_ = true;
}

Millis ShiftTracker::window_start() const {
    return assignment_->planned_start - t_.shift_before;
}

Millis ShiftTracker::window_end() const {
    return assignment_->planned_end + t_.shift_after;
}

Millis::duration ShiftTracker::planned_distance(Millis t) const {
    if (t < assignment_->planned_start) {
        return assignment_->planned_start - t;
    }
    return t > assignment_->planned_end ? t - assignment_->planned_end : Millis::duration{0};
}

bool ShiftTracker::started() const {
    return started_at().has_value();
}

std::optional<Millis> ShiftTracker::started_at() const {
    if (started_at_) {
        return started_at_;
    }
    // At its first stop (or just leaving it): begun, unless it turns out to go elsewhere.
    if (start_ == TripStart::at_first_stop || start_ == TripStart::leaving) {
        return arrived_at_;
    }
    return std::nullopt;
}

void ShiftTracker::mark_started(Millis at) {
    if (!started_at_) {
        started_at_ = at;
    }
}

bool ShiftTracker::finished() const {
    const auto& trips = assignment_->trips;
    return trips.empty() ||
           (trip_done_ && trip_ + 1 >= trips.size() && !(trips[trip_].time_windows && at_stop_));
}

bool ShiftTracker::in_progress_at(Millis t) const {
    return started() && !finished() &&
           (t <= assignment_->planned_end || (start_ == TripStart::driving && !detour_open_));
}

std::optional<std::size_t> ShiftTracker::trip_index() const {
    if (assignment_->trips.empty()) {
        return std::nullopt;
    }
    return trip_;
}

const TripPlan* ShiftTracker::current_trip() const {
    return trip_ < assignment_->trips.size() ? &assignment_->trips[trip_] : nullptr;
}

std::optional<double> ShiftTracker::segment_limit_kmh() const {
    if (!on_route_now_ || !along_m_ || trip_ >= assignment_->trips.size()) {
        return std::nullopt;
    }
    return segment_limit(assignment_->trips[trip_].speed_segments, *along_m_);
}

void ShiftTracker::stamp(Event& e) const {
    const Assignment& a = *assignment_;
    if (a.assignment_id > 0) {  // below 1: a plan that is not stored (tests, benchmarks)
        e.assignment_id = a.assignment_id;
    }
    if (!a.service_date.empty()) {
        e.details["service_date"] = a.service_date;
    }
    if (!a.block.empty()) {
        e.details["block"] = a.block;
    }
    if (const TripPlan* trip = current_trip()) {
        if (trip->trip_id > 0) {
            e.trip_id = trip->trip_id;
        }
        if (!trip->code.empty()) {
            e.details["trip_code"] = trip->code;
        }
        if (!trip->route_code.empty()) {
            e.details["route_code"] = trip->route_code;
        }
        if (!trip->route_short_name.empty()) {
            e.details["route_short_name"] = trip->route_short_name;
        }
    }
}

void ShiftTracker::stamp_stop(Event& e, const PlannedStop& stop) const {
    e.details["stop_id"] = stop.stop_id;
    e.details["stop"] = stop.name;
    if (!stop.code.empty()) {
        e.details["stop_code"] = stop.code;
    }
}

Event ShiftTracker::make(EventKind kind, Millis started, geo::LonLat where) const {
    Event e = reports_->make(kind, started, where);
    stamp(e);
    return e;
}

void ShiftTracker::record(const Event& e) {
    const auto [it, added] = history_index_.try_emplace(e.key, history_.size());
    if (added) {
        history_.push_back(e);
    } else {
        history_[it->second] = e;
    }
}

void ShiftTracker::report(std::vector<Event>& out, Event& e, Millis at) {
    reports_->report(out, e, at);
    record(out.back());
}

void ShiftTracker::follow(std::vector<Event>& out, Event& e, Millis at) {
    if (reports_->follow(out, e, at)) {
        record(out.back());
    }
}

void ShiftTracker::close(std::vector<Event>& out, std::optional<Event>& open, Millis at) {
    if (!open) {
        return;
    }
    open->ended_at = at;
    report(out, *open, at);
    open.reset();
}

double ShiftTracker::radius_m(const PlannedStop& stop) const {
    return stop.radius_m.value_or(t_.stop_radius_m);
}

void ShiftTracker::note_signal_gap(double gap_s) {
    // A gap explains nothing by itself (negative: see late_cause()).
    delays_.push_back(
        {"no signal for " + std::to_string(std::lround(gap_s / 60)) + " min", -gap_s, {}});
}

void ShiftTracker::vehicle_seen(std::vector<Event>& out, Millis at) {
    close(out, no_data_, at);
}

void ShiftTracker::on_fix(std::vector<Event>& out, const Fix& fix) {
    on_route_now_ = false;
    if (last_fix_) {
        actual_.km_driven += geo::haversine_m(last_fix_->position, fix.position) / 1000.0;
    }
    if (!first_fix_) {
        first_fix_ = fix.time;
    }
    actual_.hours_worked = seconds_between(*first_fix_, fix.time) / 3600.0;
    close(out, no_data_, fix.time);
    if (!assignment_->trips.empty()) {
        track_depot(out, fix);
        track_start(out, fix);
        track_route(out, fix);
        track_stops(out, fix);
        track_schedule(out, fix);
    }
    last_fix_ = fix;
}

void ShiftTracker::on_tick(std::vector<Event>& out, Millis now,
                           const std::optional<Fix>& vehicle_last) {
    const Assignment& a = *assignment_;
    if (!in_window(now) || a.trips.empty()) {
        return;
    }
    if (!departed_ && !not_departed_ && now >= a.planned_start + t_.not_departed_grace &&
        vehicle_last && a.depot &&
        geo::haversine_m(*a.depot, vehicle_last->position) <= a.depot_radius_m) {
        not_departed_ = make(EventKind::not_departed, a.planned_start, vehicle_last->position);
        not_departed_->magnitude = seconds_between(a.planned_start, now);
        report(out, *not_departed_, now);
    } else if (not_departed_) {
        not_departed_->magnitude = seconds_between(a.planned_start, now);
        follow(out, *not_departed_, now);
    }
    // Without data: the vehicle sent nothing since the window opened (its fixes may have gone
    // to an assignment still in progress: that is data).
    const bool silent = !vehicle_last || vehicle_last->time < window_start();
    if (!no_data_ && silent && now >= a.planned_start + t_.no_data_grace) {
        no_data_ = make(EventKind::no_vehicle_data, a.planned_start,
                        a.depot.value_or(a.trips.front().stops.front().position));
        no_data_->magnitude = seconds_between(a.planned_start, now);
        report(out, *no_data_, now);
    } else if (no_data_) {
        no_data_->magnitude = seconds_between(a.planned_start, now);
        follow(out, *no_data_, now);
    }
}

void ShiftTracker::track_depot(std::vector<Event>& out, const Fix& fix) {
    const Assignment& a = *assignment_;
    if (departed_ || !a.depot) {
        return;
    }
    if (geo::haversine_m(*a.depot, fix.position) <= a.depot_radius_m) {
        seen_at_depot_ = true;
        return;
    }
    if (!seen_at_depot_) {
        return;  // never seen there: it leaves when its first trip begins
    }
    departed_ = true;
    mark_started(fix.time);
    close(out, not_departed_, fix.time);
    if (fix.time > a.planned_start + std::chrono::seconds(60)) {
        delays_.push_back(
            {"late departure from the depot", seconds_between(a.planned_start, fix.time), {}});
    }
}

bool ShiftTracker::chains_to_next() const {
    const auto& trips = assignment_->trips;
    if (trip_ + 1 >= trips.size()) {
        return false;
    }
    const PlannedStop& end = trips[trip_].stops.back();
    const PlannedStop& next = trips[trip_ + 1].stops.front();
    return (end.stop_id != 0 && end.stop_id == next.stop_id) ||
           geo::haversine_m(end.position, next.position) <= std::max(radius_m(end), radius_m(next));
}

void ShiftTracker::track_start(std::vector<Event>& out, const Fix& fix) {
    const auto& trips = assignment_->trips;
    if (trip_done_ && trip_ + 1 < trips.size()) {
        // A plan extended past a finished trip, or the terminal of a trip that does not chain
        // left behind: the next trip.
        if (at_stop_ && chains_to_next()) {
            const Millis arrived = arrived_at_;
            restart_trip(trip_ + 1, TripStart::at_first_stop);
            arrived_at_ = arrived;
        } else if (!at_stop_) {
            restart_trip(trip_ + 1, TripStart::waiting);
        }
    }
    if (trip_done_) {
        return;
    }
    const TripPlan& trip = trips[trip_];
    const PlannedStop& first = trip.stops.front();
    const bool at_first = geo::haversine_m(first.position, fix.position) <= radius_m(first);
    switch (start_) {
        case TripStart::driving:
            return;
        case TripStart::waiting:
            if (at_first) {
                begin_at_first_stop(fix);
                if (trip.stops.size() == 1) {
                    // A single stop is the first and the last: the run is at its end.
                    start_ = TripStart::driving;
                    serve(0, fix.time);
                    end_trip(out, fix);
                }
            } else {
                begin_on_shape(out, fix);
            }
            return;
        case TripStart::at_first_stop:
            if (at_first) {
                return;  // waiting there: track_stops judges the dwell
            }
            if (dwell_) {
                delays_.push_back(
                    {"long dwell at stop '" + first.name + "'", dwell_->magnitude, ref(first)});
                close(out, dwell_, fix.time);
            }
            at_stop_.reset();
            left_first_at_ = fix.time;
            leaving_unmatched_ = 0;
            start_ = TripStart::leaving;
            break;
        case TripStart::leaving:
            if (at_first) {
                start_ = TripStart::at_first_stop;  // back at the stop: the visit goes on
                at_stop_ = 0;
                return;
            }
            break;
    }
    // Leaving the first stop: along the trip's shape it is the trip; anywhere else it is not.
    const double dt_s = last_fix_ ? seconds_between(last_fix_->time, fix.time) : 0;
    const double advance = t_.max_speed_kmh / 3.6 * 1.2 * dt_s + 200;
    const auto match = trip.shape->project_forward(fix.position, first.distance_along_m, advance,
                                                   t_.on_route_m, 0);
    // Gone some way along it, not just out of the stop's circle sideways.
    if (match && match->distance_along_m >= first.distance_along_m + radius_m(first) / 2) {
        confirm_start(out, match->distance_along_m);
        return;
    }
    if (++leaving_unmatched_ >= t_.off_route_fixes) {
        start_ = TripStart::waiting;  // gone elsewhere: that visit was not the trip's start
        along_m_.reset();
        deviation_s_.reset();
    }
}

bool ShiftTracker::begin_at_first_stop(const Fix& fix) {
    const PlannedStop& first = assignment_->trips[trip_].stops.front();
    start_ = TripStart::at_first_stop;
    at_stop_ = 0;
    arrived_at_ = fix.time;
    next_stop_ = 1;
    along_m_ = first.distance_along_m;
    rejoin_ = false;
    return true;
}

void ShiftTracker::confirm_start(std::vector<Event>& out, double along_m) {
    mark_started(arrived_at_);
    start_ = TripStart::driving;
    along_m_ = std::max(along_m_.value_or(0), along_m);
    on_route_now_ = true;
    on_count_ = 1;
    if (!departed_) {
        departed_ = true;
        close(out, not_departed_, left_first_at_);
    }
    serve(0, arrived_at_);
    judge_departure(out, 0, left_first_at_);
}

bool ShiftTracker::begin_on_shape(std::vector<Event>& out, const Fix& fix) {
    const TripPlan& trip = assignment_->trips[trip_];
    const PlannedStop& first = trip.stops.front();
    const Millis due = trip.time_windows ? first.arrival : first.departure;
    if (fix.time < due - t_.early) {
        return false;  // too early for this trip: what it drives now is something else
    }
    const auto match = match_by_schedule(trip, fix);
    if (!match) {
        return false;
    }
    // Seen in this shift before and not replanned mid-work: the stops it went past without a
    // visit are missed (track_stops says so); otherwise they are not judged.
    const bool judge_passed = last_fix_.has_value() && !rejoin_;
    rejoin_ = false;
    start_ = TripStart::driving;
    along_m_ = match->distance_along_m;
    on_route_now_ = true;
    on_count_ = 1;
    mark_started(fix.time);
    if (!departed_) {
        departed_ = true;
        close(out, not_departed_, fix.time);
    }
    next_stop_ = 0;
    if (!judge_passed) {
        while (next_stop_ + 1 < trip.stops.size() &&
               *along_m_ >
                   trip.stops[next_stop_].distance_along_m + radius_m(trip.stops[next_stop_])) {
            ++next_stop_;
        }
    }
    return true;
}

std::optional<geo::Projection> ShiftTracker::match_by_schedule(const TripPlan& trip,
                                                               const Fix& fix) const {
    // Among the passes within the radius (loops, out-and-back streets), the one whose
    // scheduled time is closest to the fix (OneBusAway's rule); never backwards.
    std::optional<geo::Projection> best;
    double best_off = 1e18;
    for (const auto& c : trip.shape->candidates(fix.position, t_.on_route_m)) {
        if (along_m_ && c.distance_along_m + 30 < *along_m_) {
            continue;
        }
        const double off = std::abs(scheduled_offset_s(trip, c.distance_along_m, fix.time, false));
        if (off < best_off) {
            best_off = off;
            best = c;
        }
    }
    return best;
}

void ShiftTracker::track_route(std::vector<Event>& out, const Fix& fix) {
    if (start_ != TripStart::driving || trip_done_ || on_route_now_) {
        return;  // not on a trip, or matched already by the trip's start
    }
    const TripPlan& trip = assignment_->trips[trip_];
    std::optional<geo::Projection> match;
    if (along_m_ && !detour_open_) {
        const double dt_s = last_fix_ ? seconds_between(last_fix_->time, fix.time) : 0;
        const double advance = t_.max_speed_kmh / 3.6 * 1.2 * dt_s + 200;
        match = trip.shape->project_forward(fix.position, *along_m_, advance, t_.on_route_m);
    } else {
        match = match_by_schedule(trip, fix);  // back from a detour
    }
    if (match) {
        on_route_now_ = true;
        off_count_ = 0;
        off_since_.reset();
        ++on_count_;
        along_m_ = std::max(along_m_.value_or(0), match->distance_along_m);
        if (detour_open_ && on_count_ >= t_.back_on_route_fixes) {
            const double lost_s = seconds_between(detour_->started_at, fix.time);
            detour_->details["duration_s"] = lost_s;
            detour_->details["max_offset_m"] = off_max_m_;
            delays_.push_back({"detour", lost_s, {}});
            close_detour(out, fix.time);
        }
        return;
    }
    on_count_ = 0;
    ++off_count_;
    if (!off_since_) {
        off_since_ = fix.time;
        off_path_.clear();
        off_max_m_ = 0;
        if (last_fix_) {
            off_path_.push_back(last_fix_->position);  // where it left the route
        }
    }
    append_path(off_path_, fix.position);
    off_max_m_ = std::max(off_max_m_, std::abs(trip.shape->project(fix.position).offset_m));
    if (!detour_open_ &&
        (off_count_ >= t_.off_route_fixes || fix.time - *off_since_ >= t_.off_route_time)) {
        detour_open_ = true;
        detour_ = make(EventKind::off_route, *off_since_, fix.position);
        detour_->geometry = off_path_;
        detour_->magnitude = off_max_m_;
        report(out, *detour_, fix.time);
    } else if (detour_) {
        // Following the detour: its path so far and its largest offset.
        detour_->geometry = off_path_;
        detour_->magnitude = off_max_m_;
        detour_->details["duration_s"] = seconds_between(detour_->started_at, fix.time);
        detour_->details["max_offset_m"] = off_max_m_;
        follow(out, *detour_, fix.time);
    }
}

std::vector<bool> ShiftTracker::served_on_trip() const {
    std::vector<bool> out;
    for (const auto& at : arrivals_on_trip()) {
        out.push_back(at.has_value());
    }
    return out;
}

void ShiftTracker::serve(std::size_t index, Millis arrived) {
    const TripPlan& trip = assignment_->trips[trip_];
    auto& at = arrived_[trip_][index];
    if (at) {
        return;
    }
    at = arrived;
    ++actual_.stops_served;
    if (trip.time_windows) {
        // A freight run's punctuality: arrivals in their windows (give or take the early and
        // late thresholds).
        const PlannedStop& stop = trip.stops[index];
        ++actual_.timepoints;
        if (seconds_between(arrived, stop.arrival) <= static_cast<double>(t_.early.count()) &&
            seconds_between(stop.departure, arrived) <= static_cast<double>(t_.late.count())) {
            ++actual_.timepoints_on_time;
        }
    }
}

void ShiftTracker::judge_departure(std::vector<Event>& out, std::size_t index, Millis departed) {
    const TripPlan& trip = assignment_->trips[trip_];
    const PlannedStop& stop = trip.stops[index];
    if (index == 0 && departed > stop.departure + std::chrono::seconds(60)) {
        delays_.push_back({"late departure from the first stop '" + stop.name + "'",
                           seconds_between(stop.departure, departed), ref(stop)});
    }
    auto early_departure = [&](double early_s) {
        Event e = make(EventKind::early_departure, departed, stop.position);
        e.ended_at = departed;
        e.magnitude = early_s;
        stamp_stop(e, stop);
        report(out, e, departed);
    };
    if (trip.time_windows) {
        // Gone before the window opened: the delivery cannot have been made in it.
        const double dev = seconds_between(stop.arrival, departed);
        if (dev < -static_cast<double>(t_.early_departure.count())) {
            early_departure(-dev);
        }
    } else if (stop.timepoint && index + 1 < trip.stops.size()) {
        const double dev = seconds_between(stop.departure, departed);
        ++actual_.timepoints;
        if (dev >= -static_cast<double>(t_.early.count()) &&
            dev <= static_cast<double>(t_.late.count())) {
            ++actual_.timepoints_on_time;
        }
        if (dev < -static_cast<double>(t_.early_departure.count())) {
            early_departure(-dev);
        }
    }
}

void ShiftTracker::end_trip(std::vector<Event>& out, const Fix& fix) {
    trip_done_ = true;
    ++actual_.trips_served;
    if (chains_to_next()) {
        // The terminal is where the next trip begins: one visit. This trip's lateness ends
        // here; the next one is judged from its own departure.
        close_trip_events(out, fix.time);
        const Millis arrived = arrived_at_;
        restart_trip(trip_ + 1, TripStart::at_first_stop);
        arrived_at_ = arrived;
    }
}

void ShiftTracker::track_stops(std::vector<Event>& out, const Fix& fix) {
    if (start_ != TripStart::driving && start_ != TripStart::at_first_stop) {
        return;
    }
    const TripPlan& trip = assignment_->trips[trip_];
    if (at_stop_) {
        const PlannedStop& stop = trip.stops[*at_stop_];
        const bool terminal = *at_stop_ == 0 || *at_stop_ + 1 == trip.stops.size();
        if (geo::haversine_m(stop.position, fix.position) <= radius_m(stop)) {
            if (terminal && !trip.time_windows) {
                // A timetabled trip's ends are not dwells: waiting past the time at the first
                // stop is a late departure (the schedule says so, and names it as the cause);
                // at the last the trip is over.
                return;
            }
            double planned_dwell = seconds_between(stop.arrival, stop.departure);
            const double dwell = seconds_between(arrived_at_, fix.time);
            const auto long_dwell = static_cast<double>(t_.long_dwell.count());
            double allowed = planned_dwell + long_dwell;
            if (trip.time_windows) {
                // A delivery may wait for its window to open and work in it until it closes.
                planned_dwell = std::max(0.0, seconds_between(arrived_at_, stop.departure));
                allowed = planned_dwell + long_dwell;
            } else if (stop.timepoint) {
                // Waiting at a timepoint for the departure time.
                allowed = seconds_between(arrived_at_, std::max(stop.departure, arrived_at_)) +
                          long_dwell;
            }
            if (!dwell_ && dwell > allowed) {
                dwell_ = make(EventKind::long_dwell, arrived_at_, stop.position);
                dwell_->magnitude = dwell - planned_dwell;
                stamp_stop(*dwell_, stop);
                report(out, *dwell_, fix.time);
            } else if (dwell_) {
                dwell_->magnitude = dwell - planned_dwell;
                follow(out, *dwell_, fix.time);
            }
            return;
        }
        // Departure (from the first stop: track_start's, once it is sure it is the trip).
        const std::size_t index = *at_stop_;
        at_stop_.reset();
        if (dwell_) {
            delays_.push_back(
                {"long dwell at stop '" + stop.name + "'", dwell_->magnitude, ref(stop)});
            close(out, dwell_, fix.time);
        }
        judge_departure(out, index, fix.time);
    }
    if (start_ != TripStart::driving || !along_m_ || trip_done_) {
        return;
    }
    while (next_stop_ < trip.stops.size()) {
        const PlannedStop& stop = trip.stops[next_stop_];
        if (geo::haversine_m(stop.position, fix.position) <= radius_m(stop)) {
            at_stop_ = next_stop_;
            arrived_at_ = fix.time;
            serve(next_stop_, fix.time);
            ++next_stop_;
            if (next_stop_ == trip.stops.size()) {
                end_trip(out, fix);
            }
            break;
        }
        if (*along_m_ > stop.distance_along_m + radius_m(stop)) {
            Event e = make(EventKind::missed_stop, fix.time, stop.position);
            e.ended_at = fix.time;
            stamp_stop(e, stop);
            if (detour_open_ || off_since_) {
                e.cause = "detour";
            }
            report(out, e, fix.time);
            ++next_stop_;
            if (next_stop_ == trip.stops.size()) {
                end_trip(out, fix);
                break;
            }
            continue;
        }
        break;
    }
}

double ShiftTracker::scheduled_offset_s(const TripPlan& trip, double d, Millis now,
                                        bool at_stop) const {
    if (trip.time_windows) {
        return window_band_offset_s(trip, d, now);
    }
    const auto& stops = trip.stops;
    if (d <= stops.front().distance_along_m) {
        // At or before the first stop: waiting for departure is layover, not lateness.
        return now <= stops.front().departure ? 0 : seconds_between(stops.front().departure, now);
    }
    for (std::size_t k = 0; k + 1 < stops.size(); ++k) {
        const auto& a = stops[k];
        const auto& b = stops[k + 1];
        if (d > b.distance_along_m && k + 2 < stops.size()) {
            continue;
        }
        if (at_stop && d <= a.distance_along_m + radius_m(a) && a.timepoint && now <= a.departure) {
            return 0;  // holding at a timepoint until its time
        }
        const double span_m = std::max(1.0, b.distance_along_m - a.distance_along_m);
        const double f = std::clamp((d - a.distance_along_m) / span_m, 0.0, 1.0);
        const double leg_s = seconds_between(a.departure, b.arrival);
        const Millis scheduled =
            a.departure + std::chrono::milliseconds(static_cast<long long>(f * leg_s * 1000));
        return seconds_between(scheduled, now);
    }
    return seconds_between(stops.back().arrival, now);
}

double ShiftTracker::window_offset_s(const TripPlan& trip, Millis now) const {
    // Freight: the windows are the schedule, and arriving anywhere in a window is on time. At a
    // stop reached after its window closed: late by as much. Waiting at a stop for its window to
    // open: early by the time still to wait. Late, too, once the next stop's window has closed
    // without the vehicle there; never early on the way (ahead of its windows it can wait).
    double late_s = 0;
    if (at_stop_) {
        const PlannedStop& stop = trip.stops[*at_stop_];
        if (arrived_at_ > stop.departure) {
            late_s = seconds_between(stop.departure, arrived_at_);
        } else if (now < stop.arrival) {
            return seconds_between(stop.arrival, now);
        }
    }
    if (next_stop_ < trip.stops.size() && now > trip.stops[next_stop_].departure) {
        late_s = std::max(late_s, seconds_between(trip.stops[next_stop_].departure, now));
    }
    return late_s;
}

void ShiftTracker::track_schedule(std::vector<Event>& out, const Fix& fix) {
    const TripPlan& trip = assignment_->trips[trip_];
    // A freight run is judged at its last stop too (early there, or late) until it leaves.
    if (trip_done_ && !(trip.time_windows && at_stop_)) {
        // Arrived at the terminal: lateness ends there; the next trip is judged afresh.
        deviation_s_.reset();
        close(out, adherence_, fix.time);
        declared_ = candidate_ = Adherence::on_time;
        candidate_since_.reset();
        return;
    }
    if (start_ == TripStart::waiting || start_ == TripStart::leaving || !along_m_ || detour_open_) {
        return;  // not on the trip, or off its route: the schedule position is unknown
    }
    deviation_s_ = trip.time_windows
                       ? window_offset_s(trip, fix.time)
                       : scheduled_offset_s(trip, *along_m_, fix.time, at_stop_.has_value());
    const double deviation = *deviation_s_;
    Adherence now = Adherence::on_time;
    if (deviation > static_cast<double>(t_.late.count())) {
        now = Adherence::late;
    } else if (deviation < -static_cast<double>(t_.early.count())) {
        now = Adherence::early;
    }
    if (now != candidate_) {
        candidate_ = now;
        candidate_since_ = fix.time;
        candidate_peak_s_ = 0;
    }
    candidate_peak_s_ = std::max(candidate_peak_s_, std::abs(deviation));
    if (adherence_) {
        // Following the situation: the worst it got, the latest place and deviation.
        adherence_->magnitude =
            std::max(adherence_->magnitude, declared_ == Adherence::late ? deviation : -deviation);
        adherence_->geometry = {fix.position};
        adherence_->details["deviation_s"] = std::lround(deviation);
    }
    if (candidate_ == declared_ || !candidate_since_ || fix.time - *candidate_since_ < t_.persist) {
        if (adherence_) {
            follow(out, *adherence_, fix.time);
        }
        return;
    }
    close(out, adherence_, *candidate_since_);
    declared_ = candidate_;
    if (declared_ == Adherence::on_time) {
        return;
    }
    adherence_ = make(declared_ == Adherence::late ? EventKind::late : EventKind::early,
                      *candidate_since_, fix.position);
    // The largest deviation since it began (a vehicle waiting for a window is earliest on
    // arrival).
    adherence_->magnitude = candidate_peak_s_;
    adherence_->details["deviation_s"] = std::lround(deviation);
    if (declared_ == Adherence::late) {
        const Cause cause = late_cause();
        adherence_->cause = cause.text;
        if (cause.stop) {
            adherence_->details["cause_stop"] = cause.stop->name;
            adherence_->details["cause_stop_id"] = cause.stop->id;
            if (!cause.stop->code.empty()) {
                adherence_->details["cause_stop_code"] = cause.stop->code;
            }
        }
    }
    report(out, *adherence_, fix.time);
}

ShiftTracker::Cause ShiftTracker::late_cause() const {
    // What is happening now first (still waiting to leave, still standing at a stop), then the
    // largest delay the data shows on this trip; a signal gap explains nothing by itself but is
    // named when nothing else is known; slow driving along the route is what remains.
    const Assignment& a = *assignment_;
    if (a.depot && seen_at_depot_ && !departed_) {
        return {"late departure from the depot (not left yet)", {}};
    }
    if (at_stop_ && trip_ < a.trips.size()) {
        const TripPlan& trip = a.trips[trip_];
        const PlannedStop& stop = trip.stops[*at_stop_];
        if (!trip.time_windows && *at_stop_ == 0) {
            return {"late departure from the first stop '" + stop.name + "' (not left yet)",
                    ref(stop)};
        }
        // At a freight stop reached after its window, the delay happened on the way there.
        if (!trip.time_windows || dwell_) {
            return {"long dwell at stop '" + stop.name + "'", ref(stop)};
        }
    }
    const DelayCause* best = nullptr;
    const DelayCause* gap = nullptr;
    for (const auto& d : delays_) {
        if (d.seconds < 0) {
            gap = &d;
            continue;
        }
        if (d.seconds >= 60 && (!best || d.seconds > best->seconds)) {
            best = &d;
        }
    }
    if (best) {
        return {best->text + " (" + minutes_text(best->seconds) + ")", best->stop};
    }
    if (gap) {
        return {gap->text, {}};
    }
    return {"traffic (slow speed along the route)", {}};
}

std::vector<Event> ShiftTracker::open_events() const {
    std::vector<Event> out;
    for (const auto* open : {&adherence_, &detour_, &dwell_, &not_departed_, &no_data_}) {
        if (*open) {
            out.push_back(**open);
        }
    }
    return out;
}

ShiftSummary ShiftTracker::summary() const {
    ShiftSummary s = actual_;
    s.deviations = history_;
    // Open events as they stand now, not as last reported.
    for (const auto& open : open_events()) {
        const auto it = history_index_.find(open.key);
        if (it != history_index_.end()) {
            s.deviations[it->second] = open;
        }
    }
    return s;
}

}  // namespace fleet::dispatch
