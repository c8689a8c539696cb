#include "dispatch/eta_book.hpp"

#include <span>

#include "geo/error.hpp"

namespace fleet::dispatch {

TripPlan eta_plan(const TripPlan& trip) {
    TripPlan plan = trip;
    for (std::size_t i = 0; i < plan.stops.size(); ++i) {
        PlannedStop& s = plan.stops[i];
        if (s.stop_id == 0) {
            s.stop_id = -static_cast<std::int64_t>(i + 1);
        }
        if (trip.time_windows) {
            s.departure = s.arrival;
            s.timepoint = false;
        }
    }
    return plan;
}

EtaBook::EtaBook(EtaOptions options) : options_(options) {}

RouteHistory& EtaBook::history(const TripPlan& trip) {
    return histories_.try_emplace(trip.route_id, options_).first->second;
}

void EtaBook::on_fix(const VehicleTracker& tracker, std::vector<EtaUpdate>& updates,
                     std::vector<StopArrival>& arrivals) {
    const ShiftTracker* shift = tracker.current();
    const TripPlan* trip = shift ? shift->current_trip() : nullptr;
    const auto& fix = tracker.last_fix();
    if (trip == nullptr || !fix || !shift->trip_index()) {
        return;
    }
    const Assignment& a = shift->assignment();
    EtaRun run{.vehicle_id = tracker.vehicle_id(),
               .assignment_id = a.assignment_id,
               .service_date = a.service_date,
               .trip_index = *shift->trip_index(),
               .trip_id = trip->trip_id,
               .trip_code = trip->code,
               .route_code = trip->route_code,
               .freight = trip->time_windows,
               .plan = shift->plan()};
    auto [it, fresh] = vehicles_.try_emplace(run.vehicle_id);
    Vehicle& v = it->second;
    // The arrivals the tracker saw on a run, each once.
    auto report = [&](std::span<const std::optional<Millis>> seen) {
        for (std::size_t i = 0; i < seen.size() && i < v.reported.size(); ++i) {
            if (seen[i] && !v.reported[i]) {
                v.reported[i] = true;
                arrivals.push_back({v.run, i, *seen[i]});
            }
        }
    };
    if (!fresh && !v.run.same_run(run) && v.run.assignment_id == run.assignment_id) {
        report(shift->arrivals(v.run.trip_index));  // the trip just ended: its last stop
    }
    if (fresh || !v.run.same_run(run)) {
        // Another trip: a predictor of its own.
        v = Vehicle{};
        v.run = run;
        v.plan = eta_plan(*trip);
        v.reported.assign(trip->stops.size(), false);
        try {
            v.predictor.emplace(v.plan, options_);
        } catch (const InputError&) {
            ++refused_;
        }
    }
    v.run.plan = run.plan;
    if (!v.predictor) {
        return;
    }

    report(shift->arrivals_on_trip());

    // Where the fix puts the vehicle on its trip: matched to the shape, or standing at the first
    // stop waiting to leave.
    std::optional<EtaFix> at;
    if (const auto along = shift->distance_along_m(); along && shift->on_route_now()) {
        at = EtaFix{fix->time, *along, fix->speed_kmh, shift->at_stop()};
    } else if (shift->trip_start() == TripStart::at_first_stop) {
        at = EtaFix{fix->time, trip->stops.front().distance_along_m, fix->speed_kmh, true};
    }
    if (!at) {
        return;
    }
    RouteHistory& h = history(*trip);
    h.observe(v.predictor->on_fix(*at));

    EtaUpdate& u = v.latest;
    u.run = v.run;
    u.made_at = fix->time;
    u.stops = v.predictor->predict(fix->time, h);
    // The baseline for the same stops, from the same fix.
    std::vector<Millis> base(v.plan.stops.size());
    for (std::size_t i = 0; i < base.size(); ++i) {
        base[i] = v.plan.stops[i].arrival;
    }
    for (const auto& e :
         baseline_eta(v.plan, v.predictor->latest(), fix->time, options_.stop_radius_m)) {
        base[e.stop_index] = e.arrival;
    }
    u.baseline.clear();
    for (const auto& s : u.stops) {
        u.baseline.push_back(base[s.stop_index]);
    }
    updates.push_back(u);
}

void EtaBook::forget(std::int64_t vehicle_id, std::int64_t assignment_id) {
    const auto it = vehicles_.find(vehicle_id);
    if (it != vehicles_.end() && it->second.run.assignment_id == assignment_id) {
        vehicles_.erase(it);
    }
}

const EtaUpdate* EtaBook::latest(std::int64_t vehicle_id) const {
    const auto it = vehicles_.find(vehicle_id);
    if (it == vehicles_.end() || it->second.latest.run.plan == nullptr) {
        return nullptr;
    }
    return &it->second.latest;
}

}  // namespace fleet::dispatch
