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

void append_path(std::vector<geo::LonLat>& path, geo::LonLat point) {
    path.push_back(point);
    if (path.size() <= max_path_points) {
        return;
    }
    std::vector<geo::LonLat> kept;
    kept.reserve(path.size() / 2 + 1);
    for (std::size_t i = 0; i + 1 < path.size(); i += 2) {
        kept.push_back(path[i]);
    }
    kept.push_back(path.back());
    path = std::move(kept);
}

VehicleTracker::VehicleTracker(std::int64_t vehicle_id, Thresholds thresholds, ReportRule rule)
    : base_(thresholds), reports_(vehicle_id, rule) {}

ShiftTracker* VehicleTracker::find(std::int64_t assignment_id) const {
    for (const auto& s : shifts_) {
        if (s->assignment().assignment_id == assignment_id) {
            return s.get();
        }
    }
    return nullptr;
}

std::vector<const ShiftTracker*> VehicleTracker::shifts() const {
    std::vector<const ShiftTracker*> out;
    for (const auto& s : shifts_) {
        out.push_back(s.get());
    }
    return out;
}

const ShiftTracker* VehicleTracker::shift(std::int64_t assignment_id) const {
    return find(assignment_id);
}

const ShiftTracker* VehicleTracker::current() const {
    return current_ ? find(*current_) : nullptr;
}

ShiftTracker* VehicleTracker::shift_for(Millis t) const {
    ShiftTracker* in_progress = nullptr;
    ShiftTracker* nearest = nullptr;
    ShiftTracker* finished = nullptr;
    for (const auto& s : shifts_) {
        if (!s->in_window(t)) {
            continue;
        }
        const Assignment& a = s->assignment();
        if (s->in_progress_at(t)) {
            if (!in_progress || *s->started_at() > *in_progress->started_at()) {
                in_progress = s.get();
            }
        } else if (!s->finished()) {
            if (!nearest) {
                nearest = s.get();
                continue;
            }
            const auto d = s->planned_distance(t);
            const auto best = nearest->planned_distance(t);
            if (d < best || (d == best && a.planned_start < nearest->assignment().planned_start)) {
                nearest = s.get();
            }
        } else if (!finished || a.planned_end > finished->assignment().planned_end) {
            finished = s.get();
        }
    }
    return in_progress ? in_progress : nearest ? nearest : finished;
}

std::vector<Event> VehicleTracker::upsert(std::shared_ptr<const Assignment> assignment) {
    std::vector<Event> out;
    if (ShiftTracker* s = find(assignment->assignment_id)) {
        s->replace(out, std::move(assignment), now_.value_or(Millis{}));
    } else {
        shifts_.push_back(std::make_unique<ShiftTracker>(std::move(assignment), base_, reports_));
    }
    return out;
}

std::vector<Event> VehicleTracker::cancel(std::int64_t assignment_id) {
    std::vector<Event> out;
    const auto it = std::find_if(shifts_.begin(), shifts_.end(), [&](const auto& s) {
        return s->assignment().assignment_id == assignment_id;
    });
    if (it == shifts_.end()) {
        return out;
    }
    (*it)->close_all(out, now_.value_or(Millis{}));
    shifts_.erase(it);
    if (current_ == assignment_id) {
        current_.reset();
    }
    return out;
}

std::optional<ShiftSummary> VehicleTracker::retire(std::int64_t assignment_id,
                                                   std::vector<Event>& out, Millis at) {
    ShiftTracker* s = find(assignment_id);
    if (!s) {
        return std::nullopt;
    }
    s->close_all(out, at);
    auto summary = this->summary(assignment_id);
    cancel(assignment_id);
    return summary;
}

std::optional<double> VehicleTracker::deviation_s() const {
    const ShiftTracker* s = current();
    return s ? s->deviation_s() : std::nullopt;
}

std::optional<double> VehicleTracker::distance_along_m() const {
    const ShiftTracker* s = current();
    return s ? s->distance_along_m() : std::nullopt;
}

std::optional<std::size_t> VehicleTracker::trip_index() const {
    const ShiftTracker* s = current();
    return s ? s->trip_index() : std::nullopt;
}

bool VehicleTracker::off_route() const {
    const ShiftTracker* s = current();
    return s && s->off_route();
}

const Thresholds& VehicleTracker::thresholds() const {
    const ShiftTracker* s = current();
    return s ? s->thresholds() : base_;
}

std::optional<ShiftSummary> VehicleTracker::summary(std::int64_t assignment_id) const {
    const ShiftTracker* s = find(assignment_id);
    if (!s) {
        return std::nullopt;
    }
    ShiftSummary summary = s->summary();
    // The vehicle's own open events raised in this assignment, as they stand now.
    for (const auto* open : {&standing_, &unassigned_, &speeding_, &signal_}) {
        if (!*open) {
            continue;
        }
        const auto owner = owner_.find((*open)->key);
        if (owner == owner_.end() || owner->second != assignment_id) {
            continue;
        }
        for (auto& e : summary.deviations) {
            if (e.key == (*open)->key) {
                e = **open;
            }
        }
    }
    return summary;
}

std::vector<Event> VehicleTracker::open_events() const {
    std::vector<Event> out;
    for (const auto* open : {&standing_, &unassigned_, &speeding_, &signal_}) {
        if (*open) {
            out.push_back(**open);
        }
    }
    for (const auto& s : shifts_) {
        const auto own = s->open_events();
        out.insert(out.end(), own.begin(), own.end());
    }
    return out;
}

Event VehicleTracker::make(EventKind kind, Millis started, geo::LonLat where, ShiftTracker* owner) {
    Event e = reports_.make(kind, started, where);
    if (owner) {
        owner->stamp(e);
        owner_[e.key] = owner->assignment().assignment_id;
    }
    return e;
}

void VehicleTracker::report(std::vector<Event>& out, Event& e, Millis at) {
    reports_.report(out, e, at);
    const auto owner = owner_.find(e.key);
    if (owner == owner_.end()) {
        return;
    }
    if (ShiftTracker* s = find(owner->second)) {
        s->record(out.back());
    }
    if (e.ended_at) {
        owner_.erase(owner);
    }
}

void VehicleTracker::follow(std::vector<Event>& out, Event& e, Millis at) {
    const std::size_t before = out.size();
    if (!reports_.follow(out, e, at) || out.size() == before) {
        return;
    }
    const auto owner = owner_.find(e.key);
    if (owner != owner_.end()) {
        if (ShiftTracker* s = find(owner->second)) {
            s->record(out.back());
        }
    }
}

void VehicleTracker::close(std::vector<Event>& out, std::optional<Event>& open, Millis at) {
    if (!open) {
        return;
    }
    open->ended_at = at;
    report(out, *open, at);
    open.reset();
}

void VehicleTracker::advance(Millis t) {
    if (!now_ || t > *now_) {
        now_ = t;
    }
}

std::vector<Event> VehicleTracker::on_fix(const Fix& fix) {
    std::vector<Event> out;
    if (stale(fix)) {
        return out;  // late or repeated: the state has moved on
    }
    advance(fix.time);
    ShiftTracker* shift = shift_for(fix.time);
    track_signal(out, fix, shift);
    last_received_ = fix.received_at.value_or(fix.time);
    if (!fix.valid) {
        return out;  // no place to judge; the signal is alive though
    }
    for (const auto& s : shifts_) {
        if (s->in_window(fix.time)) {
            s->vehicle_seen(out, fix.time);
        }
    }
    current_ = shift ? std::optional(shift->assignment().assignment_id) : std::nullopt;
    track_unassigned(out, fix, shift);
    if (shift) {
        shift->on_fix(out, fix);
    }
    track_speed(out, fix, shift);  // after matching: a route segment's limit needs this place
    track_standing(out, fix, shift);
    last_fix_ = fix;
    return out;
}

std::vector<Event> VehicleTracker::on_tick(Millis now) {
    std::vector<Event> out;
    advance(now);
    ShiftTracker* shift = shift_for(now);
    const Thresholds& t = shift ? shift->thresholds() : base_;
    if (last_fix_ && !signal_ && now - last_received_ >= t.signal_lost &&
        (shift || now - last_received_ < std::chrono::hours(24))) {
        signal_ = make(EventKind::signal_lost, last_fix_->time, last_fix_->position, shift);
        signal_->magnitude = seconds_between(last_fix_->time, now);
        report(out, *signal_, now);
    } else if (signal_) {
        signal_->magnitude = seconds_between(signal_->started_at, now);
        follow(out, *signal_, now);
    }
    for (const auto& s : shifts_) {
        s->on_tick(out, now, last_fix_);
    }
    return out;
}

void VehicleTracker::track_signal(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift) {
    if (!last_fix_) {
        return;
    }
    const Thresholds& t = shift ? shift->thresholds() : base_;
    const auto gap = fix.time - last_fix_->time;
    if (signal_ && gap < t.signal_lost) {
        close(out, signal_, fix.time);  // a tick declared it; the device is back
        return;
    }
    if (gap >= t.signal_lost) {
        if (!signal_) {  // no tick saw it: report it now, opened and closed
            signal_ = make(EventKind::signal_lost, last_fix_->time, last_fix_->position, shift);
        }
        signal_->magnitude = seconds_between(last_fix_->time, fix.time);
        close(out, signal_, fix.time);
        if (shift) {
            shift->note_signal_gap(seconds_between(last_fix_->time, fix.time));
        }
    }
}

void VehicleTracker::track_speed(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift) {
    if (!fix.speed_kmh) {
        return;
    }
    const Thresholds& t = shift ? shift->thresholds() : base_;
    // The route's segment limit and its own default limit hold while the fix is on the route;
    // off it (a detour, after the block) only zones, the configured default and the class cap.
    const bool on_route = shift && shift->on_route_now();
    LimitSources sources{.zone_kmh = fix.zone_limit_kmh,
                         .segment_kmh = on_route ? shift->segment_limit_kmh() : std::nullopt,
                         .class_cap_kmh = class_cap_kmh_,
                         .default_kmh = on_route ? t.default_limit_kmh : base_.default_limit_kmh};
    const double limit = effective_limit_kmh(sources);
    const double speed = *fix.speed_kmh;
    const double start_above = limit * (1 + t.hysteresis_pct / 100);
    const double end_below = limit * (1 - t.hysteresis_pct / 100);
    if (!speeding_since_) {
        if (speed > start_above) {
            speeding_since_ = fix.time;
            speeding_max_kmh_ = speed;
            speeding_limit_kmh_ = limit;
        }
        return;
    }
    speeding_max_kmh_ = std::max(speeding_max_kmh_, speed);
    bool declared = false;
    if (!speeding_ && fix.time - *speeding_since_ >= t.overspeed_min) {
        speeding_ = make(EventKind::overspeed, *speeding_since_, fix.position, shift);
        declared = true;
    }
    if (speeding_) {
        const double excess = speeding_max_kmh_ - speeding_limit_kmh_;
        speeding_->magnitude = excess;
        append_path(speeding_->geometry, fix.position);
        speeding_->details["limit_kmh"] = speeding_limit_kmh_;
        speeding_->details["max_kmh"] = speeding_max_kmh_;
        speeding_->details["tier"] = speeding_tier(excess);
    }
    if (speed < end_below) {
        close(out, speeding_, fix.time);
        speeding_since_.reset();
    } else if (declared) {
        report(out, *speeding_, fix.time);
    } else if (speeding_) {
        follow(out, *speeding_, fix.time);
    }
}

void VehicleTracker::track_standing(std::vector<Event>& out, const Fix& fix, ShiftTracker* shift) {
    const Thresholds& t = shift ? shift->thresholds() : base_;
    if (!last_fix_ || geo::haversine_m(anchor_, fix.position) > t.not_moving_m) {
        anchor_ = fix.position;
        anchor_at_ = fix.time;
        close(out, standing_, fix.time);
        return;
    }
    // Standing is judged on work under way: not before it (in the depot, waiting to begin),
    // not at a stop, not after the work is done.
    if (!shift || !shift->started() || shift->finished() || shift->at_stop()) {
        return;
    }
    const auto standing = fix.time - anchor_at_;
    if (!standing_ && standing >= t.delayed) {
        standing_ = make(EventKind::unplanned_stop, anchor_at_, anchor_, shift);
        standing_->cause = "delayed";
        standing_->magnitude = seconds_between(anchor_at_, fix.time);
        report(out, *standing_, fix.time);
        return;
    }
    if (!standing_) {
        return;
    }
    standing_->magnitude = seconds_between(anchor_at_, fix.time);
    if (standing >= t.broken_down && standing_->cause != "possibly broken down") {
        standing_->cause = "possibly broken down";
        report(out, *standing_, fix.time);
    } else {
        follow(out, *standing_, fix.time);
    }
}

void VehicleTracker::track_unassigned(std::vector<Event>& out, const Fix& fix,
                                      ShiftTracker* shift) {
    const bool moving =
        fix.speed_kmh
            ? *fix.speed_kmh > base_.moving_kmh
            : last_fix_ && geo::haversine_m(last_fix_->position, fix.position) > base_.not_moving_m;
    if (shift || !moving) {
        moving_since_.reset();
        close(out, unassigned_, fix.time);
        return;
    }
    if (!moving_since_) {
        moving_since_ = fix.time;
    }
    if (!unassigned_ && fix.time - *moving_since_ >= base_.moving_unassigned) {
        unassigned_ = make(EventKind::moving_unassigned, *moving_since_, fix.position, nullptr);
        report(out, *unassigned_, fix.time);
        return;
    }
    if (unassigned_) {
        append_path(unassigned_->geometry, fix.position);
        follow(out, *unassigned_, fix.time);
    }
}

}  // namespace fleet::dispatch
