#include "ingest/validate.hpp"

#include <cmath>

#include "geo/geodesy.hpp"

namespace fleet::ingest {

bool Validator::plausible(const Last& from, const Position& p) const {
    const double dt_s = std::abs(std::chrono::duration<double>(p.device_time - from.time).count());
    const double d_m = geo::haversine_m({from.lon, from.lat}, {p.longitude_deg, p.latitude_deg});
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
