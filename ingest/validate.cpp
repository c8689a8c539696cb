#include "ingest/validate.hpp"

#include <cmath>
#include <limits>

#include "geo/geodesy.hpp"

namespace fleet::ingest {

namespace {

// A value for a real (float4) column: finite and no larger than FLT_MAX.
bool storable_real(const std::optional<double>& v) {
    return !v || (std::isfinite(*v) &&
                  std::abs(*v) <= static_cast<double>(std::numeric_limits<float>::max()));
}

bool storable_smallint(const std::optional<int>& v) {
    return !v || (*v >= std::numeric_limits<std::int16_t>::min() &&
                  *v <= std::numeric_limits<std::int16_t>::max());
}

bool has_nul(const std::string& s) {
    return s.find('\0') != std::string::npos;
}

// jsonb holds no NUL character (\u0000) in a key or a string; the recursion stops at
// `depth_left`, so a hostile nesting cannot exhaust the stack here either.
bool storable_json_value(const nlohmann::json& v, std::size_t depth_left) {
    if (v.is_string()) {
        return !has_nul(v.get_ref<const std::string&>());
    }
    if (!v.is_structured()) {
        return true;
    }
    if (depth_left == 0) {
        return false;
    }
    for (const auto& [key, value] : v.items()) {
        if ((v.is_object() && has_nul(key)) || !storable_json_value(value, depth_left - 1)) {
            return false;
        }
    }
    return true;
}

bool storable_attributes(const nlohmann::json& attributes, std::size_t max_depth) {
    return attributes.is_object() && storable_json_value(attributes, max_depth);
}

}  // namespace

std::optional<Rejection> Validator::storable_time(Millis t, Millis server_now) const {
    if (t < earliest_device_time) {
        return Rejection::past_time;
    }
    if (t > server_now + config_.max_future) {
        return Rejection::future_time;
    }
    return std::nullopt;
}

std::optional<Rejection> Validator::storable(const Position& p, Millis server_now) const {
    if (!std::isfinite(p.latitude_deg) || !std::isfinite(p.longitude_deg) ||
        std::abs(p.latitude_deg) > 90 || std::abs(p.longitude_deg) > 180) {
        return Rejection::bad_coordinates;
    }
    if (auto why = storable_time(p.device_time, server_now)) {
        return why;
    }
    if (!storable_real(p.speed_kmh) || !storable_real(p.course_deg) ||
        !storable_real(p.altitude_m) || !storable_real(p.fuel_l) ||
        !storable_smallint(p.satellites) || (p.odometer_m && !std::isfinite(*p.odometer_m))) {
        return Rejection::bad_number;
    }
    if (!storable_attributes(p.attributes, config_.max_attributes_depth)) {
        return Rejection::bad_attributes;
    }
    return std::nullopt;
}

std::optional<Rejection> Validator::check_status(const DeviceStatus& status,
                                                 Millis server_now) const {
    if (auto why = storable_time(status.reported_at, server_now)) {
        return why;
    }
    if (!storable_attributes(status.values, config_.max_attributes_depth)) {
        return Rejection::bad_attributes;
    }
    return std::nullopt;
}

bool Validator::plausible(const Last& from, const Position& p) const {
    const double dt_s = std::abs(std::chrono::duration<double>(p.device_time - from.time).count());
    const double d_m = geo::haversine_m({from.lon, from.lat}, {p.longitude_deg, p.latitude_deg});
    // Below one second apart, jitter dominates; only a jump of over a kilometre counts.
    return dt_s >= 1 ? d_m / dt_s * 3.6 <= config_.max_plausible_speed_kmh : d_m <= 1000;
}

Verdict Validator::check(std::int64_t vehicle_id, Position& p, Millis server_now) {
    Verdict v;
    if (auto why = storable(p, server_now)) {
        v.rejected = why;
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
