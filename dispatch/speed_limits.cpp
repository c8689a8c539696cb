#include "dispatch/speed_limits.hpp"

#include <algorithm>
#include <sstream>

#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

bool in_ring(const geo::Ring& ring, geo::LonLat p) {
    bool inside = false;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
        const auto& a = ring[i];
        const auto& b = ring[j];
        if ((a.lat_deg > p.lat_deg) != (b.lat_deg > p.lat_deg) &&
            p.lon_deg <
                (b.lon_deg - a.lon_deg) * (p.lat_deg - a.lat_deg) / (b.lat_deg - a.lat_deg) +
                    a.lon_deg) {
            inside = !inside;
        }
    }
    return inside;
}

}  // namespace

double effective_limit_kmh(const LimitSources& s) {
    double limit = s.default_kmh;
    if (s.zone_kmh || s.segment_kmh) {
        limit = std::min(s.zone_kmh.value_or(*s.segment_kmh), s.segment_kmh.value_or(*s.zone_kmh));
    }
    return s.class_cap_kmh ? std::min(limit, *s.class_cap_kmh) : limit;
}

std::optional<double> segment_limit(const std::vector<SpeedSegment>& segments, double along_m) {
    std::optional<double> lowest;
    for (const auto& s : segments) {
        if (along_m >= s.from_m && along_m < s.to_m) {
            lowest = std::min(lowest.value_or(s.limit_kmh), s.limit_kmh);
        }
    }
    return lowest;
}

bool contains(const geo::Polygon& polygon, geo::LonLat p) {
    if (polygon.empty() || polygon.front().size() < 3 || !in_ring(polygon.front(), p)) {
        return false;
    }
    for (std::size_t h = 1; h < polygon.size(); ++h) {
        if (polygon[h].size() >= 3 && in_ring(polygon[h], p)) {
            return false;
        }
    }
    return true;
}

void SpeedLimits::add_zone(std::int64_t zone_id, geo::MultiPolygon area, double limit_kmh) {
    Zone z{zone_id, std::move(area), limit_kmh, 180, 90, -180, -90};
    for (const auto& polygon : z.area) {
        for (const auto& p : polygon.empty() ? geo::Ring{} : polygon.front()) {
            z.min_lon = std::min(z.min_lon, p.lon_deg);
            z.max_lon = std::max(z.max_lon, p.lon_deg);
            z.min_lat = std::min(z.min_lat, p.lat_deg);
            z.max_lat = std::max(z.max_lat, p.lat_deg);
        }
    }
    zones_.push_back(std::move(z));
}

void SpeedLimits::set_class_cap(const std::string& vehicle_class, double limit_kmh) {
    caps_[vehicle_class] = limit_kmh;
}

void SpeedLimits::set_vehicle_class(std::int64_t vehicle_id, const std::string& vehicle_class) {
    classes_[vehicle_id] = vehicle_class;
}

std::optional<double> SpeedLimits::zone_limit(geo::LonLat p) const {
    std::optional<double> lowest;
    for (const auto& z : zones_) {
        if (p.lon_deg < z.min_lon || p.lon_deg > z.max_lon || p.lat_deg < z.min_lat ||
            p.lat_deg > z.max_lat) {
            continue;
        }
        for (const auto& polygon : z.area) {
            if (contains(polygon, p)) {
                lowest = std::min(lowest.value_or(z.limit_kmh), z.limit_kmh);
                break;
            }
        }
    }
    return lowest;
}

std::optional<double> SpeedLimits::class_cap(std::int64_t vehicle_id) const {
    const auto c = classes_.find(vehicle_id);
    if (c == classes_.end()) {
        return std::nullopt;
    }
    const auto cap = caps_.find(c->second);
    return cap == caps_.end() ? std::nullopt : std::optional(cap->second);
}

std::map<std::string, double> parse_class_caps(const std::string& text, const std::string& key) {
    std::map<std::string, double> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        if (item.empty()) {
            continue;
        }
        const auto colon = item.find(':');
        double limit = 0;
        try {
            limit = colon == std::string::npos ? 0 : std::stod(item.substr(colon + 1));
        } catch (const std::exception&) {
            limit = 0;
        }
        if (colon == std::string::npos || colon == 0 || !(limit >= 5 && limit <= 300)) {
            throw ConfigError(key, "'" + item + "' is not CLASS:KMH with 5 <= KMH <= 300");
        }
        out[item.substr(0, colon)] = limit;
    }
    return out;
}

}  // namespace fleet::dispatch
