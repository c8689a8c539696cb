#include "dispatch/detail/reports.hpp"

#include <cmath>

namespace fleet::dispatch::detail {

Event Reports::make(EventKind kind, Millis started, geo::LonLat where) {
    Event e;
    e.kind = kind;
    e.vehicle_id = vehicle_id_;
    e.started_at = started;
    e.geometry = {where};
    // Unique per vehicle for 2^32 events, and across vehicles by the high half.
    e.key = (static_cast<std::uint64_t>(vehicle_id_) << 32) | next_key_++;
    return e;
}

Reports::Reported Reports::reported(const Event& e, Millis at) {
    return {.magnitude = e.magnitude,
            .at = at,
            .points = e.geometry.size(),
            .last = e.geometry.empty() ? geo::LonLat{} : e.geometry.back(),
            .details = e.details.dump()};
}

void Reports::report(std::vector<Event>& out, Event& e, Millis at) {
    out.push_back(e);
    ++e.revision;
    if (e.ended_at) {
        open_.erase(e.key);
    } else {
        open_[e.key] = reported(e, at);
    }
}

double Reports::step(EventKind kind) const {
    switch (kind) {
        case EventKind::off_route:
            return rule_.metres_step;
        case EventKind::overspeed:
            return rule_.kmh_step;
        default:
            return rule_.seconds_step;
    }
}

bool Reports::follow(std::vector<Event>& out, Event& e, Millis at) {
    const auto it = open_.find(e.key);
    if (it == open_.end()) {
        report(out, e, at);  // never reported: this is its opening
        return true;
    }
    const Reported& last = it->second;
    if (std::abs(e.magnitude - last.magnitude) >= step(e.kind)) {
        report(out, e, at);
        return true;
    }
    if (at - last.at < rule_.interval) {
        return false;
    }
    const bool changed = e.magnitude != last.magnitude || e.geometry.size() != last.points ||
                         (!e.geometry.empty() && (e.geometry.back().lon_deg != last.last.lon_deg ||
                                                  e.geometry.back().lat_deg != last.last.lat_deg));
    if (!changed && e.details.dump() == last.details) {
        return false;
    }
    report(out, e, at);
    return true;
}

void Reports::close(std::vector<Event>& out, std::optional<Event>& open, Millis at) {
    if (!open) {
        return;
    }
    open->ended_at = at;
    report(out, *open, at);
    open.reset();
}

}  // namespace fleet::dispatch::detail
