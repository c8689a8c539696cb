#include "dispatch/engine_core.hpp"

#include <algorithm>
#include <cmath>

#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

bool valid_position(geo::LonLat p) {
    return std::isfinite(p.lon_deg) && std::isfinite(p.lat_deg) && std::abs(p.lon_deg) <= 180 &&
           std::abs(p.lat_deg) <= 90;
}

// Retired assignment ids are remembered this long after their window closed, so that a late
// reload of the day does not track them again.
constexpr auto retired_memory = std::chrono::hours(72);

}  // namespace

EngineCore::EngineCore(EngineConfig config) : config_(std::move(config)), eta_(config_.eta) {}

std::optional<std::string> EngineCore::problem(const Assignment& a) {
    const std::string what = "assignment " + std::to_string(a.assignment_id) + ": ";
    if (a.assignment_id == 0) {
        return "an assignment needs its id (stored ones from 1; plans that are not stored below 0)";
    }
    if (a.vehicle_id <= 0) {
        return what + "no vehicle (vehicle_id " + std::to_string(a.vehicle_id) + ")";
    }
    if (a.trips.empty()) {
        return what + "no trips";
    }
    if (a.planned_end < a.planned_start) {
        return what + "planned end before its planned start";
    }
    for (std::size_t i = 0; i < a.trips.size(); ++i) {
        const TripPlan& trip = a.trips[i];
        const std::string where = what + "trip " + std::to_string(i + 1) +
                                  (trip.code.empty() ? "" : " ('" + trip.code + "')") + ": ";
        if (!trip.shape) {
            return where + "no shape";
        }
        if (trip.stops.empty()) {
            return where + "no stops";
        }
        double along = -1;
        for (const auto& stop : trip.stops) {
            if (!valid_position(stop.position) || !std::isfinite(stop.distance_along_m) ||
                stop.distance_along_m < along) {
                return where + "stop '" + stop.name +
                       "' is not a place along the shape, in order (lon/lat within range, "
                       "distance along not decreasing)";
            }
            if (stop.departure < stop.arrival) {
                return where + "stop '" + stop.name + "' departs before it arrives";
            }
            along = stop.distance_along_m;
        }
    }
    return std::nullopt;
}

VehicleTracker& EngineCore::tracker_for(std::int64_t vehicle_id) {
    auto& slot = trackers_[vehicle_id];
    if (!slot) {
        slot = std::make_unique<VehicleTracker>(vehicle_id, config_.thresholds, config_.updates);
        if (limits_) {
            slot->set_class_cap(limits_->class_cap(vehicle_id));
        }
        counters_.vehicles = trackers_.size();
    }
    return *slot;
}

const VehicleTracker* EngineCore::tracker(std::int64_t vehicle_id) const {
    const auto it = trackers_.find(vehicle_id);
    return it == trackers_.end() ? nullptr : it->second.get();
}

void EngineCore::upsert(std::shared_ptr<const Assignment> assignment) {
    if (!assignment) {
        throw InputError("an assignment is required");
    }
    if (const auto p = problem(*assignment)) {
        throw InputError(*p);
    }
    const auto id = assignment->assignment_id;
    if (retired_.contains(id)) {
        ++counters_.assignments_retired_ignored;
        return;
    }
    const auto it = vehicle_of_.find(id);
    if (it != vehicle_of_.end() && it->second != assignment->vehicle_id) {
        cancel(id);  // moved to another vehicle
    }
    const auto vehicle = assignment->vehicle_id;
    vehicle_of_[id] = vehicle;
    auto out = tracker_for(vehicle).upsert(std::move(assignment));
    pending_.insert(pending_.end(), out.begin(), out.end());
    touched_.push_back(vehicle);
    counters_.assignments = vehicle_of_.size();
}

void EngineCore::cancel(std::int64_t assignment_id) {
    const auto it = vehicle_of_.find(assignment_id);
    if (it == vehicle_of_.end()) {
        return;
    }
    const auto vehicle = it->second;
    vehicle_of_.erase(it);
    auto out = tracker_for(vehicle).cancel(assignment_id);
    eta_.forget(vehicle, assignment_id);
    pending_.insert(pending_.end(), out.begin(), out.end());
    touched_.push_back(vehicle);
    counters_.assignments = vehicle_of_.size();
}

void EngineCore::set_speed_limits(std::shared_ptr<const SpeedLimits> limits) {
    limits_ = std::move(limits);
    for (auto& [vehicle, t] : trackers_) {
        t->set_class_cap(limits_ ? limits_->class_cap(vehicle) : std::nullopt);
    }
}

void EngineCore::add(StepOutput& out, std::vector<Event> events,
                     std::chrono::steady_clock::time_point committed, std::int64_t vehicle_id) {
    counters_.event_reports += events.size();
    out.committed.insert(out.committed.end(), events.size(), committed);
    out.events.insert(out.events.end(), std::make_move_iterator(events.begin()),
                      std::make_move_iterator(events.end()));
    out.vehicles.push_back(vehicle_id);
}

StepOutput EngineCore::step(std::span<const VehicleFix> fixes, Millis now) {
    StepOutput out;
    counters_.event_reports += pending_.size();
    out.committed.assign(pending_.size(), {});
    out.events = std::exchange(pending_, {});
    out.vehicles = std::exchange(touched_, {});
    for (const auto& vf : fixes) {
        // A fix without a valid position still says the device is alive; one that claims to
        // be valid must be a place.
        if (vf.vehicle_id <= 0 || (vf.fix.valid && !valid_position(vf.fix.position))) {
            ++counters_.fixes_invalid;
            continue;
        }
        VehicleTracker& t = tracker_for(vf.vehicle_id);
        if (t.stale(vf.fix)) {
            ++counters_.fixes_stale;
            continue;
        }
        Fix fix = vf.fix;
        if (limits_ && !fix.zone_limit_kmh) {
            fix.zone_limit_kmh = limits_->zone_limit(fix.position);
        }
        add(out, t.on_fix(fix), vf.committed_at, vf.vehicle_id);
        eta_.on_fix(t, out.etas, out.arrivals);
        ++counters_.fixes_processed;
    }
    if (!next_tick_ || now >= *next_tick_) {
        tick(out, now);
        next_tick_ = now + config_.tick;
    }
    std::sort(out.vehicles.begin(), out.vehicles.end());
    out.vehicles.erase(std::unique(out.vehicles.begin(), out.vehicles.end()), out.vehicles.end());
    return out;
}

void EngineCore::tick(StepOutput& out, Millis now) {
    for (auto& [vehicle, t] : trackers_) {
        auto events = t->on_tick(now);
        // A shift whose window has closed is over: its planned against actual, once.
        std::vector<std::int64_t> over;
        for (const ShiftTracker* s : t->shifts()) {
            if (now > s->window_end()) {
                over.push_back(s->assignment().assignment_id);
            }
        }
        for (const auto id : over) {
            auto plan = t->shift(id)->plan();
            const Millis end = t->shift(id)->window_end();
            if (auto summary = t->retire(id, events, end)) {
                out.shift_results.push_back({std::move(plan), std::move(*summary)});
                ++counters_.shift_results;
            }
            vehicle_of_.erase(id);
            eta_.forget(vehicle, id);
            retired_[id] = end;
        }
        if (!events.empty() || !over.empty()) {
            add(out, std::move(events), {}, vehicle);
        }
    }
    std::erase_if(retired_, [&](const auto& r) { return r.second + retired_memory < now; });
    counters_.assignments = vehicle_of_.size();
}

std::optional<VehicleState> EngineCore::state(std::int64_t vehicle_id) const {
    const VehicleTracker* t = tracker(vehicle_id);
    if (!t) {
        return std::nullopt;
    }
    VehicleState s;
    s.vehicle_id = vehicle_id;
    if (const auto& f = t->last_fix()) {
        s.last_fix_at = f->time;
        s.position = f->position;
        s.speed_kmh = f->speed_kmh;
    }
    if (const ShiftTracker* shift = t->current()) {
        const Assignment& a = shift->assignment();
        s.assignment_id = a.assignment_id;
        s.service_date = a.service_date;
        s.block = a.block;
        s.trip_index = shift->trip_index();
        if (const TripPlan* trip = shift->current_trip()) {
            if (trip->trip_id > 0) {
                s.trip_id = trip->trip_id;
            }
            s.trip_code = trip->code;
            s.route_code = trip->route_code;
            s.route_short_name = trip->route_short_name;
        }
        s.deviation_s = shift->deviation_s();
        s.along_m = shift->distance_along_m();
        s.on_route = shift->on_route_now();
        s.off_route = shift->off_route();
        s.plan = shift->plan();
        s.next_stop = shift->next_stop();
        s.served = shift->served_on_trip();
        if (const EtaUpdate* u = eta_.latest(vehicle_id);
            u && u->run.assignment_id == a.assignment_id && s.trip_index &&
            u->run.trip_index == *s.trip_index) {
            s.eta = u->stops;
            s.eta_made_at = u->made_at;
        }
    }
    s.open_events = t->open_events();
    return s;
}

std::vector<VehicleState> EngineCore::snapshot() const {
    std::vector<VehicleState> out;
    out.reserve(trackers_.size());
    for (const auto& [vehicle, t] : trackers_) {
        out.push_back(*state(vehicle));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.vehicle_id < b.vehicle_id; });
    return out;
}

std::optional<ShiftSummary> EngineCore::summary(std::int64_t assignment_id) const {
    const auto it = vehicle_of_.find(assignment_id);
    if (it == vehicle_of_.end()) {
        return std::nullopt;
    }
    const VehicleTracker* t = tracker(it->second);
    return t ? t->summary(assignment_id) : std::nullopt;
}

}  // namespace fleet::dispatch
