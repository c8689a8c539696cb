#include "ingest/validate.hpp"

#include <cmath>

namespace fleet::ingest {

double haversine_m(double lat1_deg, double lon1_deg, double lat2_deg, double lon2_deg) {
    constexpr double earth_radius_m = 6371008.8;
    constexpr double rad = M_PI / 180.0;
    const double dlat = (lat2_deg - lat1_deg) * rad;
    const double dlon = (lon2_deg - lon1_deg) * rad;
    const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                     std::cos(lat1_deg * rad) * std::cos(lat2_deg * rad) * std::sin(dlon / 2) *
                         std::sin(dlon / 2);
    return 2 * earth_radius_m * std::asin(std::min(1.0, std::sqrt(a)));
}

bool Validator::plausible(const Last& from, const Position& p) const {
    const double dt_s = std::abs(std::chrono::duration<double>(p.device_time - from.time).count());
    const double d_m = haversine_m(from.lat, from.lon, p.latitude_deg, p.longitude_deg);
    // Below one second apart, jitter dominates; only a jump of over a kilometre counts.
    return dt_s >= 1 ? d_m / dt_s * 3.6 <= config_.max_plausible_speed_kmh : d_m <= 1000;
}

Verdict Validator::check(std::int64_t vehicle_id, Position& p, Millis server_now) {
    Verdict v;
    if (!std::isfinite(p.latitude_deg) || !std::isfinite(p.longitude_deg) ||
        std::abs(p.latitude_deg) > 90 || std::abs(p.longitude_deg) > 180) {
        v.rejected = Rejection::bad_coordinates;
        return v;
    }
    if (p.device_time > server_now + config_.max_future) {
        v.rejected = Rejection::future_time;
        return v;
    }
    auto flag = [&](const char* reason) {
        if (p.valid || !p.attributes.contains("invalid")) {
            p.attributes["invalid"] = reason;
        }
        p.valid = false;
        v.flagged = true;
    };
    if (p.latitude_deg == 0 && p.longitude_deg == 0) {
        // (0,0) is what many trackers report before their first fix: keep the record for its
        // other data (odometer, fuel, ignition), but it is no place.
        flag("null_island");
        return v;
    }
    if (p.satellites && *p.satellites == 0) {
        flag("no_satellites");
    }
    if (!p.valid) {
        v.flagged = true;
        return v;
    }
    const Last here{p.device_time, p.latitude_deg, p.longitude_deg};
    auto it = tracks_.find(vehicle_id);
    if (it == tracks_.end()) {
        tracks_.emplace(vehicle_id, Track{here, std::nullopt});
        return v;
    }
    Track& track = it->second;
    if (!plausible(track.last, p)) {
        // Two consecutive outliers that agree with each other mean the earlier anchor was the
        // glitch (or the vehicle was carried): re-anchor instead of flagging for ever.
        if (track.outlier && plausible(*track.outlier, p)) {
            track = Track{here, std::nullopt};
            return v;
        }
        track.outlier = here;
        flag("implausible_speed");
        return v;
    }
    track.outlier.reset();
    if (p.device_time > track.last.time) {
        track.last = here;
    }
    return v;
}

}  // namespace fleet::ingest
