#include "dispatch/tracker.hpp"

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

// The same work: a refreshed plan of the assignment being tracked, not another one.
bool same_work(const Assignment& a, const Assignment& b) {
    if (a.assignment_id != b.assignment_id || a.trips.size() != b.trips.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.trips.size(); ++i) {
        const auto& x = a.trips[i];
        const auto& y = b.trips[i];
        if (x.trip_id != y.trip_id || x.stops.size() != y.stops.size() ||
            x.time_windows != y.time_windows) {
            return false;
        }
        for (std::size_t k = 0; k < x.stops.size(); ++k) {
            if (x.stops[k].distance_along_m != y.stops[k].distance_along_m ||
                x.stops[k].arrival != y.stops[k].arrival ||
                x.stops[k].departure != y.stops[k].departure) {
                return false;
            }
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

int speeding_tier(double excess_kmh) {
    // Fines start above +20 km/h, in tiers +20–40, +40–60, +60–80, >80 (domain.md §5).
    if (excess_kmh <= 20) {
        return 0;
    }
    if (excess_kmh <= 40) {
        return 1;
    }
    if (excess_kmh <= 60) {
        return 2;
    }
    if (excess_kmh <= 80) {
        return 3;
    }
    return 4;
}

}  // namespace

const char* to_string(EventKind kind) {
    switch (kind) {
        case EventKind::late:
            return "late";
        case EventKind::early:
            return "early";
        case EventKind::early_departure:
            return "early_departure";
        case EventKind::off_route:
            return "off_route";
        case EventKind::missed_stop:
            return "missed_stop";
        case EventKind::not_departed:
            return "not_departed";
        case EventKind::unplanned_stop:
            return "unplanned_stop";
        case EventKind::long_dwell:
            return "long_dwell";
        case EventKind::overspeed:
            return "overspeed";
        case EventKind::signal_lost:
            return "signal_lost";
        case EventKind::moving_unassigned:
            return "moving_unassigned";
        case EventKind::no_vehicle_data:
            return "no_vehicle_data";
    }
    return "unknown";
}

VehicleTracker::VehicleTracker(std::int64_t vehicle_id, Thresholds thresholds)
    : vehicle_id_(vehicle_id), base_(thresholds), t_(thresholds) {}

void VehicleTracker::use_route_thresholds() {
    t_ = assignment_ && trip_ < assignment_->trips.size()
             ? with_overrides(base_, assignment_->trips[trip_].thresholds)
             : base_;
}

void VehicleTracker::assign(std::shared_ptr<const Assignment> assignment) {
    if (assignment && assignment_ && assignment->assignment_id > 0 &&
        same_work(*assignment, *assignment_)) {
        assignment_ = std::move(assignment);
        use_route_thresholds();
        return;
    }
    assignment_ = std::move(assignment);
    trip_ = 0;
    along_m_.reset();
    trip_done_ = false;
    deviation_s_.reset();
    next_stop_ = 0;
    at_stop_.reset();
    departed_ = false;
    delays_.clear();
    actual_ = ShiftSummary{};
    use_route_thresholds();
    if (assignment_) {
        actual_.trips_planned = assignment_->trips.size();
        for (const auto& trip : assignment_->trips) {
            actual_.stops_planned += trip.stops.size();
            actual_.km_planned += trip.shape ? trip.shape->length_m() / 1000.0 : 0;
        }
        actual_.hours_planned =
            seconds_between(assignment_->planned_start, assignment_->planned_end) / 3600.0;
        if (!assignment_->trips.empty()) {
            served_.assign(assignment_->trips.front().stops.size(), false);
        }
    }
}

std::optional<double> VehicleTracker::distance_along_m() const {
    return along_m_;
}

std::optional<std::size_t> VehicleTracker::trip_index() const {
    if (!assignment_ || assignment_->trips.empty()) {
        return std::nullopt;
    }
    return trip_;
}

Event VehicleTracker::make(EventKind kind, Millis started, geo::LonLat where) {
    Event e;
    e.kind = kind;
    e.vehicle_id = vehicle_id_;
    e.started_at = started;
    e.geometry = {where};
    e.key = (static_cast<std::uint64_t>(vehicle_id_) << 24) ^ next_key_++;
    if (assignment_ && assignment_->assignment_id > 0) {  // 0: not a stored assignment
        e.assignment_id = assignment_->assignment_id;
    }
    if (assignment_ && trip_ < assignment_->trips.size() && assignment_->trips[trip_].trip_id > 0) {
        e.trip_id = assignment_->trips[trip_].trip_id;
    }
    return e;
}

void VehicleTracker::report(std::vector<Event>& out, const Event& e) {
    out.push_back(e);
    auto it = std::find_if(history_.begin(), history_.end(),
                           [&](const Event& h) { return h.key == e.key; });
    if (it == history_.end()) {
        history_.push_back(e);
    } else {
        *it = e;
    }
}

void VehicleTracker::close(std::vector<Event>& out, std::optional<Event>& open, Millis at) {
    if (!open) {
        return;
    }
    open->ended_at = at;
    report(out, *open);
    open.reset();
}

bool VehicleTracker::active_at(Millis t) const {
    return assignment_ && t >= assignment_->planned_start - std::chrono::hours(1) &&
           t <= assignment_->planned_end + std::chrono::hours(1);
}

double VehicleTracker::radius_m(const PlannedStop& stop) const {
    return stop.radius_m.value_or(t_.stop_radius_m);
}

std::vector<Event> VehicleTracker::on_fix(const Fix& fix) {
    std::vector<Event> out;
    if (last_fix_ && fix.time <= last_fix_->time) {
        return out;  // late or repeated: the state has moved on
    }
    track_signal(out, fix);
    last_received_ = fix.received_at.value_or(fix.time);
    if (!fix.valid) {
        return out;  // no place to judge; the signal is alive though
    }
    if (last_fix_ && last_fix_->valid) {
        actual_.km_driven += geo::haversine_m(last_fix_->position, fix.position) / 1000.0;
    }
    const bool active = active_at(fix.time);
    on_route_now_ = false;
    if (active) {
        close(out, no_data_, fix.time);
        if (!first_fix_in_shift_) {
            first_fix_in_shift_ = fix.time;
        }
        actual_.hours_worked = seconds_between(*first_fix_in_shift_, fix.time) / 3600.0;
    }
    track_unassigned(out, fix);
    if (active && !assignment_->trips.empty()) {
        if (!departed_ && assignment_->depot &&
            geo::haversine_m(*assignment_->depot, fix.position) > assignment_->depot_radius_m) {
            departed_ = true;
            close(out, not_departed_, fix.time);
            if (fix.time > assignment_->planned_start + std::chrono::seconds(60)) {
                delays_.push_back({"late departure from the depot",
                                   seconds_between(assignment_->planned_start, fix.time)});
            }
        }
        track_route(out, fix);
        track_stops(out, fix);
        track_schedule(out, fix);
    }
    track_speed(out, fix);  // after matching: a route segment's limit needs this fix's place
    track_standing(out, fix, at_stop_.has_value());
    last_fix_ = fix;
    return out;
}

std::vector<Event> VehicleTracker::on_tick(Millis now) {
    std::vector<Event> out;
    if (last_fix_ && !signal_ && now - last_received_ >= t_.signal_lost &&
        (active_at(now) || now - last_received_ < std::chrono::hours(24))) {
        signal_ = make(EventKind::signal_lost, last_fix_->time, last_fix_->position);
        signal_->magnitude = seconds_between(last_fix_->time, now);
        report(out, *signal_);
    }
    if (active_at(now) && !assignment_->trips.empty()) {
        const auto& a = *assignment_;
        if (!departed_ && !not_departed_ && now >= a.planned_start + t_.not_departed_grace &&
            last_fix_ && a.depot &&
            geo::haversine_m(*a.depot, last_fix_->position) <= a.depot_radius_m) {
            not_departed_ = make(EventKind::not_departed, a.planned_start, last_fix_->position);
            not_departed_->magnitude = seconds_between(a.planned_start, now);
            report(out, *not_departed_);
        }
        if (!no_data_ && !first_fix_in_shift_ && now >= a.planned_start + t_.no_data_grace) {
            no_data_ = make(EventKind::no_vehicle_data, a.planned_start,
                            a.depot.value_or(a.trips.front().stops.front().position));
            report(out, *no_data_);
        }
    }
    return out;
}

void VehicleTracker::track_signal(std::vector<Event>& out, const Fix& fix) {
    if (!last_fix_) {
        return;
    }
    const auto gap = fix.time - last_fix_->time;
    if (signal_ && gap < t_.signal_lost) {
        close(out, signal_, fix.time);  // a tick declared it; the device is back
        return;
    }
    if (gap >= t_.signal_lost) {
        if (!signal_) {  // no tick saw it: report it now, opened and closed
            signal_ = make(EventKind::signal_lost, last_fix_->time, last_fix_->position);
        }
        signal_->magnitude = seconds_between(last_fix_->time, fix.time);
        close(out, signal_, fix.time);
        if (active_at(fix.time)) {
            // A gap explains nothing by itself (negative: see late_cause()).
            const double gap_s = seconds_between(last_fix_->time, fix.time);
            delays_.push_back(
                {"no signal for " + std::to_string(std::lround(gap_s / 60)) + " min", -gap_s});
        }
    }
}

void VehicleTracker::track_speed(std::vector<Event>& out, const Fix& fix) {
    if (!fix.speed_kmh) {
        return;
    }
    // The route's segment limit and its own default limit hold while the fix is on the route;
    // off it (a detour, after the block) only zones, the configured default and the class cap.
    LimitSources sources{.zone_kmh = fix.zone_limit_kmh,
                         .segment_kmh = std::nullopt,
                         .class_cap_kmh = class_cap_kmh_,
                         .default_kmh = base_.default_limit_kmh};
    if (on_route_now_ && along_m_) {
        sources.segment_kmh = segment_limit(assignment_->trips[trip_].speed_segments, *along_m_);
        sources.default_kmh = t_.default_limit_kmh;
    }
    const double limit = effective_limit_kmh(sources);
    const double speed = *fix.speed_kmh;
    const double start_above = limit * (1 + t_.hysteresis_pct / 100);
    const double end_below = limit * (1 - t_.hysteresis_pct / 100);
    if (!speeding_since_) {
        if (speed > start_above) {
            speeding_since_ = fix.time;
            speeding_max_kmh_ = speed;
            speeding_limit_kmh_ = limit;
        }
        return;
    }
    speeding_max_kmh_ = std::max(speeding_max_kmh_, speed);
    if (!speeding_ && fix.time - *speeding_since_ >= t_.overspeed_min) {
        speeding_ = make(EventKind::overspeed, *speeding_since_, fix.position);
    }
    if (speeding_) {
        speeding_->magnitude = speeding_max_kmh_ - speeding_limit_kmh_;
        speeding_->geometry.push_back(fix.position);
        speeding_->details = {{"limit_kmh", speeding_limit_kmh_},
                              {"max_kmh", speeding_max_kmh_},
                              {"tier", speeding_tier(speeding_max_kmh_ - speeding_limit_kmh_)}};
    }
    if (speed < end_below) {
        if (speeding_) {
            close(out, speeding_, fix.time);
        }
        speeding_since_.reset();
    } else if (speeding_ && speeding_->geometry.size() == 2) {
        report(out, *speeding_);  // declared: report it open once
    }
}

void VehicleTracker::track_standing(std::vector<Event>& out, const Fix& fix, bool at_stop) {
    if (!last_fix_ || geo::haversine_m(anchor_, fix.position) > t_.not_moving_m) {
        anchor_ = fix.position;
        anchor_at_ = fix.time;
        close(out, standing_, fix.time);
        return;
    }
    if (!active_at(fix.time) || at_stop || (!departed_ && assignment_ && assignment_->depot)) {
        return;  // standing at a stop or at the depot before leaving is not a deviation
    }
    const auto standing = fix.time - anchor_at_;
    if (!standing_ && standing >= t_.delayed) {
        standing_ = make(EventKind::unplanned_stop, anchor_at_, anchor_);
        standing_->cause = "delayed";
        report(out, *standing_);
    }
    if (standing_) {
        standing_->magnitude = seconds_between(anchor_at_, fix.time);
        if (standing >= t_.broken_down && standing_->cause != "possibly broken down") {
            standing_->cause = "possibly broken down";
            report(out, *standing_);
        }
    }
}

void VehicleTracker::track_unassigned(std::vector<Event>& out, const Fix& fix) {
    const bool moving =
        fix.speed_kmh
            ? *fix.speed_kmh > t_.moving_kmh
            : last_fix_ && geo::haversine_m(last_fix_->position, fix.position) > t_.not_moving_m;
    if (active_at(fix.time) || !moving) {
        moving_since_.reset();
        close(out, unassigned_, fix.time);
        return;
    }
    if (!moving_since_) {
        moving_since_ = fix.time;
    }
    if (!unassigned_ && fix.time - *moving_since_ >= t_.moving_unassigned) {
        unassigned_ = make(EventKind::moving_unassigned, *moving_since_, fix.position);
        report(out, *unassigned_);
    }
    if (unassigned_) {
        unassigned_->geometry.push_back(fix.position);
    }
}

void VehicleTracker::track_route(std::vector<Event>& out, const Fix& fix) {
    const auto& trips = assignment_->trips;
    if (trip_done_ && trip_ + 1 == trips.size()) {
        return;  // the block is done: what the vehicle does now is not on a trip
    }
    // A finished trip hands over to the next one once the vehicle leaves the terminal.
    if (trip_done_ && trip_ + 1 < trips.size() && !at_stop_) {
        ++trip_;
        trip_done_ = false;
        along_m_.reset();
        next_stop_ = 0;
        served_.assign(trips[trip_].stops.size(), false);
        candidate_since_.reset();
        use_route_thresholds();
    }
    const TripPlan& trip = trips[trip_];
    if (!trip.shape) {
        return;
    }
    const double radius = t_.on_route_m;
    std::optional<geo::Projection> match;
    if (along_m_ && !detour_open_) {
        const double dt_s = last_fix_ ? seconds_between(last_fix_->time, fix.time) : 0;
        const double advance = t_.max_speed_kmh / 3.6 * 1.2 * dt_s + 200;
        match = trip.shape->project_forward(fix.position, *along_m_, advance, radius);
    } else {
        // First match, or back from a detour: among the passes within the radius (loops,
        // out-and-back streets), the one whose scheduled time is closest to now.
        double best = 1e18;
        for (const auto& c : trip.shape->candidates(fix.position, radius)) {
            if (along_m_ && c.distance_along_m + 30 < *along_m_) {
                continue;  // never backwards
            }
            const double off =
                std::abs(scheduled_offset_s(trip, c.distance_along_m, fix.time, false));
            if (off < best) {
                best = off;
                match = c;
            }
        }
    }
    if (match) {
        on_route_now_ = true;
        off_count_ = 0;
        off_since_.reset();
        ++on_count_;
        along_m_ = std::max(along_m_.value_or(0), match->distance_along_m);
        if (detour_open_ && on_count_ >= t_.back_on_route_fixes) {
            detour_->geometry = off_path_;
            detour_->magnitude = off_max_m_;
            const double lost_s = seconds_between(detour_->started_at, fix.time);
            detour_->details = {{"duration_s", lost_s}, {"max_offset_m", off_max_m_}};
            delays_.push_back({"detour", lost_s});
            close(out, detour_, fix.time);
            detour_open_ = false;
            off_path_.clear();
        }
        return;
    }
    if (!along_m_ && !departed_) {
        return;  // not yet on its way: off the route is the depot, not a detour
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
    off_path_.push_back(fix.position);
    off_max_m_ = std::max(off_max_m_, std::abs(trip.shape->project(fix.position).offset_m));
    if (!detour_open_ &&
        (off_count_ >= t_.off_route_fixes || fix.time - *off_since_ >= t_.off_route_time)) {
        detour_open_ = true;
        detour_ = make(EventKind::off_route, *off_since_, fix.position);
        detour_->geometry = off_path_;
        detour_->magnitude = off_max_m_;
        report(out, *detour_);
    }
}

void VehicleTracker::track_stops(std::vector<Event>& out, const Fix& fix) {
    const TripPlan& trip = assignment_->trips[trip_];
    if (at_stop_) {
        const PlannedStop& stop = trip.stops[*at_stop_];
        if (geo::haversine_m(stop.position, fix.position) <= radius_m(stop)) {
            double planned_dwell = seconds_between(stop.arrival, stop.departure);
            const double dwell = seconds_between(arrived_at_, fix.time);
            const auto long_dwell = static_cast<double>(t_.long_dwell.count());
            double allowed = planned_dwell + long_dwell;
            if (trip.time_windows) {
                // A delivery may wait for its window to open and work in it until it closes.
                planned_dwell = std::max(0.0, seconds_between(arrived_at_, stop.departure));
                allowed = planned_dwell + long_dwell;
            } else if (*at_stop_ == 0 || stop.timepoint) {
                // Waiting at the terminal or a timepoint for the departure time.
                allowed = seconds_between(arrived_at_, std::max(stop.departure, arrived_at_)) +
                          long_dwell;
            }
            if (!dwell_ && dwell > allowed) {
                dwell_ = make(EventKind::long_dwell, arrived_at_, stop.position);
                dwell_->details = {{"stop_id", stop.stop_id}, {"stop", stop.name}};
                report(out, *dwell_);
            }
            if (dwell_) {
                dwell_->magnitude = dwell - planned_dwell;
            }
            return;
        }
        // Departure.
        const std::size_t index = *at_stop_;
        at_stop_.reset();
        const Millis departed = fix.time;
        if (dwell_) {
            delays_.push_back({"long dwell at stop '" + stop.name + "'", dwell_->magnitude});
            close(out, dwell_, departed);
        }
        if (index == 0 && departed > stop.departure + std::chrono::seconds(60)) {
            delays_.push_back(
                {"late departure from the first stop", seconds_between(stop.departure, departed)});
        }
        if (trip.time_windows) {
            // Gone before the window opened: the delivery cannot have been made in it.
            const double dev = seconds_between(stop.arrival, departed);
            if (dev < -static_cast<double>(t_.early_departure.count())) {
                Event e = make(EventKind::early_departure, departed, stop.position);
                e.ended_at = departed;
                e.magnitude = -dev;
                e.details = {{"stop_id", stop.stop_id}, {"stop", stop.name}};
                report(out, e);
            }
        } else if (stop.timepoint && index + 1 < trip.stops.size()) {
            const double dev = seconds_between(stop.departure, departed);
            ++actual_.timepoints;
            if (dev >= -static_cast<double>(t_.early.count()) &&
                dev <= static_cast<double>(t_.late.count())) {
                ++actual_.timepoints_on_time;
            }
            if (dev < -static_cast<double>(t_.early_departure.count())) {
                Event e = make(EventKind::early_departure, departed, stop.position);
                e.ended_at = departed;
                e.magnitude = -dev;
                e.details = {{"stop_id", stop.stop_id}, {"stop", stop.name}};
                report(out, e);
            }
        }
    }
    if (!along_m_) {
        return;
    }
    while (next_stop_ < trip.stops.size()) {
        const PlannedStop& stop = trip.stops[next_stop_];
        if (geo::haversine_m(stop.position, fix.position) <= radius_m(stop)) {
            at_stop_ = next_stop_;
            arrived_at_ = fix.time;
            served_[next_stop_] = true;
            ++actual_.stops_served;
            ++next_stop_;
            if (trip.time_windows) {
                // A freight run's punctuality: arrivals in their windows (give or take the
                // early and late thresholds).
                ++actual_.timepoints;
                if (seconds_between(fix.time, stop.arrival) <=
                        static_cast<double>(t_.early.count()) &&
                    seconds_between(stop.departure, fix.time) <=
                        static_cast<double>(t_.late.count())) {
                    ++actual_.timepoints_on_time;
                }
            }
            if (next_stop_ == trip.stops.size()) {
                trip_done_ = true;
                ++actual_.trips_served;
            }
            break;
        }
        if (*along_m_ > stop.distance_along_m + radius_m(stop)) {
            Event e = make(EventKind::missed_stop, fix.time, stop.position);
            e.ended_at = fix.time;
            e.details = {{"stop_id", stop.stop_id}, {"stop", stop.name}};
            if (detour_open_ || off_since_) {
                e.cause = "detour";
            }
            report(out, e);
            ++next_stop_;
            if (next_stop_ == trip.stops.size()) {
                trip_done_ = true;
            }
            continue;
        }
        break;
    }
}

double VehicleTracker::scheduled_offset_s(const TripPlan& trip, double d, Millis now,
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

double VehicleTracker::window_offset_s(const TripPlan& trip, Millis now) const {
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

void VehicleTracker::track_schedule(std::vector<Event>& out, const Fix& fix) {
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
    if (!along_m_ || detour_open_) {
        return;  // off the route the schedule position is unknown; the detour is the event
    }
    deviation_s_ = trip.time_windows
                       ? window_offset_s(trip, fix.time)
                       : scheduled_offset_s(trip, *along_m_, fix.time, at_stop_.has_value());
    Adherence now = Adherence::on_time;
    if (deviation_s_ && *deviation_s_ > static_cast<double>(t_.late.count())) {
        now = Adherence::late;
    } else if (deviation_s_ && *deviation_s_ < -static_cast<double>(t_.early.count())) {
        now = Adherence::early;
    }
    if (now != candidate_) {
        candidate_ = now;
        candidate_since_ = fix.time;
        candidate_peak_s_ = 0;
    }
    candidate_peak_s_ = std::max(candidate_peak_s_, std::abs(deviation_s_.value_or(0)));
    if (adherence_) {
        adherence_->magnitude = declared_ == Adherence::late
                                    ? std::max(adherence_->magnitude, deviation_s_.value_or(0))
                                    : std::max(adherence_->magnitude, -deviation_s_.value_or(0));
    }
    if (candidate_ == declared_ || !candidate_since_ || fix.time - *candidate_since_ < t_.persist) {
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
    if (declared_ == Adherence::late) {
        adherence_->cause = late_cause();
    }
    report(out, *adherence_);
}

std::string VehicleTracker::late_cause() const {
    // What is happening now first (still waiting to leave, still standing at a stop), then the
    // largest delay the data shows since the shift started; a signal gap explains nothing by
    // itself but is named when nothing else is known; slow driving along the route is what
    // remains.
    if (assignment_ && assignment_->depot && !departed_) {
        return "late departure from the depot (not left yet)";
    }
    if (at_stop_ && assignment_ && trip_ < assignment_->trips.size()) {
        const TripPlan& trip = assignment_->trips[trip_];
        const PlannedStop& stop = trip.stops[*at_stop_];
        if (!trip.time_windows && *at_stop_ == 0) {
            return "late departure from the first stop (not left yet)";
        }
        // At a freight stop reached after its window, the delay happened on the way there.
        if (!trip.time_windows || dwell_) {
            return "long dwell at stop '" + stop.name + "'";
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
        return best->text + " (" + minutes_text(best->seconds) + ")";
    }
    if (gap) {
        return gap->text;
    }
    return "traffic (slow speed along the route)";
}

ShiftSummary VehicleTracker::summary() const {
    ShiftSummary s = actual_;
    s.deviations = history_;
    // Open events as they stand now, not as first reported.
    for (const auto* open : {&adherence_, &detour_, &dwell_, &standing_, &speeding_, &signal_,
                             &not_departed_, &no_data_, &unassigned_}) {
        if (!*open) {
            continue;
        }
        for (auto& e : s.deviations) {
            if (e.key == (*open)->key) {
                e = **open;
            }
        }
    }
    return s;
}

}  // namespace fleet::dispatch
