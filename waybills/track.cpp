#include "waybills/track.hpp"

#include <algorithm>
#include <cmath>

namespace fleet::waybills {

namespace {

// Readings averaged at each end of a stop: the median of a few is robust to one spike.
constexpr std::size_t level_window = 3;

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

bool null_island(const geo::LonLat& p) {
    return p.lon_deg == 0 && p.lat_deg == 0;
}

double seconds_between(const Fix& from, const Fix& to) {
    return static_cast<double>(to.time_ms - from.time_ms) / 1000.0;
}

}  // namespace

TrackSummariser::TrackSummariser(TrackRules rules, std::int64_t period_from_ms,
                                 std::int64_t period_to_ms)
    : rules_(rules), from_ms_(period_from_ms), to_ms_(period_to_ms) {}

void TrackSummariser::add(const Fix& fix) {
    ++summary_.fixes;
    if (fix.fuel_l) {
        ++summary_.fuel_readings;
    }
    if (!fix.valid || null_island(fix.position) || !geo::is_valid(fix.position)) {
        ++summary_.invalid;
        return;
    }
    place(fix);
}

bool TrackSummariser::plausible(const Fix& from, const Fix& to) const {
    // Farther than the vehicle could have gone is a jump; the receiver's own wander is allowed
    // on top, and fixes less than a second apart are judged as if a second apart.
    const double reach_m =
        rules_.max_speed_kmh / 3.6 * std::max(seconds_between(from, to), 1.0) + rules_.jitter_m;
    return geo::haversine_m(from.position, to.position) <= reach_m;
}

void TrackSummariser::place(const Fix& read) {
    Fix fix = read;
    if (!last_) {
        fix.speed_kmh = fix.speed_kmh.value_or(0);
        std::optional<Gap> edge;
        if (fix.time_ms - from_ms_ > rules_.gap_s * 1000) {
            edge = Gap{.from_ms = from_ms_, .to_ms = fix.time_ms, .straight_m = 0};
        }
        seed(fix, edge, false);
        return;
    }
    const double dt_s = seconds_between(*last_, fix);
    const double step_m = geo::haversine_m(last_->position, fix.position);
    if (!fix.speed_kmh) {
        // A step within the receiver's wander is no sign of motion: without this a parked
        // vehicle's jitter, over fixes a few seconds apart, would read as crawling.
        fix.speed_kmh = step_m > rules_.jitter_m ? step_m / std::max(dt_s, 1.0) * 3.6 : 0.0;
    }
    if (dt_s > rules_.gap_s) {
        drop_candidates();
        // The device slept where the vehicle stood: the stop goes on, so a drain while asleep
        // is judged on the levels either side.
        const bool parked = still(*last_) && still(fix) && step_m <= rules_.jitter_m;
        seed(fix, Gap{.from_ms = last_->time_ms, .to_ms = fix.time_ms, .straight_m = step_m},
             parked);
        return;
    }
    if (!plausible(*last_, fix)) {
        on_candidate(read);
        return;
    }
    drop_candidates();
    unconfirmed_seed_.reset();
    const double from_anchor_m = geo::haversine_m(anchor_->position, fix.position);
    last_ = fix;
    ++summary_.used;
    on_fuel(fix);
    if (still(fix) && still(*anchor_) && from_anchor_m < rules_.jitter_m) {
        return;  // parked jitter: the anchor stays where the vehicle stands
    }
    summary_.distance_m += from_anchor_m;
    anchor_ = fix;
}

void TrackSummariser::seed(const Fix& fix, std::optional<Gap> gap, bool keep_stop) {
    unconfirmed_seed_ = BeforeSeed{.anchor = anchor_,
                                   .last = last_,
                                   .gaps = summary_.gaps.size(),
                                   .fuel_events = summary_.fuel_events.size(),
                                   .stop = stop_};
    if (!keep_stop) {
        close_stop();
    }
    if (gap) {
        summary_.gaps.push_back(*gap);
    }
    anchor_ = fix;
    last_ = fix;
    ++summary_.used;
    on_fuel(fix);
}

void TrackSummariser::on_candidate(const Fix& read) {
    if (rules_.relocate_fixes <= 0) {
        ++summary_.jumps;
        return;
    }
    if (!candidates_.empty() && !plausible(candidates_.back(), read)) {
        drop_candidates();
    }
    candidates_.push_back(read);
    if (candidates_.size() >= static_cast<std::size_t>(rules_.relocate_fixes)) {
        relocate();
    }
}

void TrackSummariser::relocate() {
    const std::vector<Fix> taken = std::move(candidates_);
    candidates_.clear();
    if (unconfirmed_seed_) {
        // The seed, not the candidates, was off: take it back and replay them from before it.
        BeforeSeed before = std::move(*unconfirmed_seed_);
        unconfirmed_seed_.reset();
        anchor_ = std::move(before.anchor);
        last_ = std::move(before.last);
        summary_.gaps.resize(before.gaps);
        summary_.fuel_events.resize(before.fuel_events);
        stop_ = std::move(before.stop);
        --summary_.used;
        ++summary_.jumps;
        for (const auto& f : taken) {
            place(f);
        }
        return;
    }
    // Each candidate is a jump from the last accepted fix, so no speed can be derived for the
    // first one: it starts afresh, like the first fix of a period.
    Fix first = taken.front();
    first.speed_kmh = first.speed_kmh.value_or(0);
    seed(first,
         Gap{.from_ms = last_->time_ms,
             .to_ms = first.time_ms,
             .straight_m = geo::haversine_m(last_->position, first.position)},
         false);
    for (std::size_t i = 1; i < taken.size(); ++i) {
        place(taken[i]);
    }
}

void TrackSummariser::drop_candidates() {
    summary_.jumps += static_cast<int>(candidates_.size());
    candidates_.clear();
}

bool TrackSummariser::still(const Fix& fix) const {
    return fix.speed_kmh.value_or(0) < rules_.moving_kmh;
}

void TrackSummariser::on_fuel(const Fix& fix) {
    if (!still(fix)) {
        close_stop();
        return;
    }
    // A device reporting speed 0 while driving (or none, in slow traffic) must not make the
    // whole drive one stop, whose consumption would read as a drain.
    if (stop_.first && geo::haversine_m(stop_.first->position, fix.position) > rules_.jitter_m) {
        close_stop();
    }
    if (!stop_.first) {
        stop_.first = fix;
        stop_.levels.clear();
    }
    stop_.last_ms = fix.time_ms;
    if (fix.fuel_l) {
        stop_.levels.push_back(*fix.fuel_l);
    }
}

void TrackSummariser::close_stop() {
    if (!stop_.first) {
        return;
    }
    const Fix first = *stop_.first;
    stop_.first.reset();
    const double stop_s = static_cast<double>(stop_.last_ms - first.time_ms) / 1000.0;
    const auto& levels = stop_.levels;
    if (stop_s < rules_.fuel_stop_min_s || levels.size() < 2) {
        return;
    }
    const std::size_t n = std::min(level_window, levels.size() / 2);
    const double before = median({levels.begin(), levels.begin() + n});
    const double after = median({levels.end() - n, levels.end()});
    if (std::abs(after - before) < rules_.fuel_min_l) {
        return;
    }
    summary_.fuel_events.push_back(
        {.kind = after > before ? FuelEvent::Kind::fill : FuelEvent::Kind::drain,
         .from_ms = first.time_ms,
         .to_ms = stop_.last_ms,
         .position = first.position,
         .before_l = before,
         .after_l = after});
}

TrackSummary TrackSummariser::finish() {
    drop_candidates();
    close_stop();
    const std::int64_t last_ms = last_ ? last_->time_ms : from_ms_;
    if (to_ms_ - last_ms > rules_.gap_s * 1000) {
        summary_.gaps.push_back({.from_ms = last_ms, .to_ms = to_ms_, .straight_m = 0});
    }
    return std::move(summary_);
}

TrackSummary summarise_track(const std::vector<Fix>& fixes, const TrackRules& rules,
                             std::int64_t period_from_ms, std::int64_t period_to_ms) {
    TrackSummariser s(rules, period_from_ms, period_to_ms);
    for (const auto& f : fixes) {
        s.add(f);
    }
    return s.finish();
}

}  // namespace fleet::waybills
