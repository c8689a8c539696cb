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
    if (!anchor_) {
        if (fix.time_ms - from_ms_ > rules_.gap_s * 1000) {
            summary_.gaps.push_back({.from_ms = from_ms_, .to_ms = fix.time_ms, .straight_m = 0});
        }
        anchor_ = fix;
        last_ = fix;
        ++summary_.used;
        on_fuel(fix);
        return;
    }
    const double dt_s = static_cast<double>(fix.time_ms - last_->time_ms) / 1000.0;
    if (dt_s > rules_.gap_s) {
        close_stop();
        summary_.gaps.push_back({.from_ms = last_->time_ms,
                                 .to_ms = fix.time_ms,
                                 .straight_m = geo::haversine_m(last_->position, fix.position)});
        anchor_ = fix;
        last_ = fix;
        ++summary_.used;
        on_fuel(fix);
        return;
    }
    // A jump: farther from the last good fix than the vehicle could have gone.
    const double step_m = geo::haversine_m(last_->position, fix.position);
    if (step_m > rules_.max_speed_kmh / 3.6 * std::max(dt_s, 1.0) + rules_.jitter_m) {
        ++summary_.jumps;
        return;
    }
    const double from_anchor_m = geo::haversine_m(anchor_->position, fix.position);
    last_ = fix;
    ++summary_.used;
    on_fuel(fix);
    const bool still = fix.speed_kmh < rules_.moving_kmh && anchor_->speed_kmh < rules_.moving_kmh;
    if (still && from_anchor_m < rules_.jitter_m) {
        return;  // parked jitter: the anchor stays where the vehicle stands
    }
    summary_.distance_m += from_anchor_m;
    anchor_ = fix;
}

void TrackSummariser::on_fuel(const Fix& fix) {
    if (fix.speed_kmh >= rules_.moving_kmh) {
        close_stop();
        return;
    }
    if (!stop_first_) {
        stop_first_ = fix;
        stop_levels_.clear();
    }
    stop_last_ms_ = fix.time_ms;
    if (fix.fuel_l) {
        stop_levels_.push_back(*fix.fuel_l);
    }
}

void TrackSummariser::close_stop() {
    if (!stop_first_) {
        return;
    }
    const Fix first = *stop_first_;
    stop_first_.reset();
    const double stop_s = static_cast<double>(stop_last_ms_ - first.time_ms) / 1000.0;
    if (stop_s < rules_.fuel_stop_min_s || stop_levels_.size() < 2) {
        return;
    }
    const std::size_t n = std::min(level_window, stop_levels_.size() / 2);
    const double before = median({stop_levels_.begin(), stop_levels_.begin() + n});
    const double after = median({stop_levels_.end() - n, stop_levels_.end()});
    if (std::abs(after - before) < rules_.fuel_min_l) {
        return;
    }
    summary_.fuel_events.push_back(
        {.kind = after > before ? FuelEvent::Kind::fill : FuelEvent::Kind::drain,
         .from_ms = first.time_ms,
         .to_ms = stop_last_ms_,
         .position = first.position,
         .before_l = before,
         .after_l = after});
}

TrackSummary TrackSummariser::finish() {
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
