#include "tools/fleetsim/motion.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "geo/error.hpp"
#include "geo/geodesy.hpp"

namespace fleet::tools::fleetsim {

namespace {
double normalized_deg(double d) {
    d = std::fmod(d, 360.0);
    return d < 0 ? d + 360 : d;
}
}  // namespace

Path::Path(std::vector<geo::LonLat> points) : points_(std::move(points)) {
    if (points_.size() < 2) {
        throw InputError("route has " + std::to_string(points_.size()) + " point(s), needs 2");
    }
    cumulative_m_.reserve(points_.size());
    cumulative_m_.push_back(0);
    for (std::size_t i = 1; i < points_.size(); ++i) {
        cumulative_m_.push_back(cumulative_m_.back() + geo::geodesic_m(points_[i - 1], points_[i]));
    }
    if (!(length_m() > 0)) {
        throw InputError("route has zero length");
    }
}

Path::Place Path::at(double distance_m) const {
    distance_m = std::clamp(distance_m, 0.0, length_m());
    // First vertex at or beyond the distance; the segment ends there.
    auto it = std::lower_bound(cumulative_m_.begin() + 1, cumulative_m_.end(), distance_m);
    if (it == cumulative_m_.end()) {
        --it;
    }
    const auto i = static_cast<std::size_t>(it - cumulative_m_.begin());
    const geo::LonLat a = points_[i - 1];
    const geo::LonLat b = points_[i];
    const double segment_m = cumulative_m_[i] - cumulative_m_[i - 1];
    const double f = segment_m > 0 ? (distance_m - cumulative_m_[i - 1]) / segment_m : 0;
    // Linear interpolation in degrees: route vertices are close together, so the error is far
    // below GPS noise.
    return {{a.lon_deg + f * (b.lon_deg - a.lon_deg), a.lat_deg + f * (b.lat_deg - a.lat_deg)},
            geo::initial_bearing_deg(a, b)};
}

Vehicle::Vehicle(std::shared_ptr<const Path> path, double start_m, double speed_kmh)
    : path_(std::move(path)), speed_kmh_(speed_kmh) {
    const double length = path_->length_m();
    // Start positions beyond one length wrap round the line (out and back = 2 lengths).
    double s = std::fmod(std::max(0.0, start_m), 2 * length);
    forward_ = s <= length;
    along_m_ = forward_ ? s : 2 * length - s;
    const auto place = path_->at(along_m_);
    at_ = place.at;
    course_deg_ = forward_ ? place.bearing_deg : normalized_deg(place.bearing_deg + 180);
}

Vehicle::Vehicle(geo::LonLat origin, std::uint32_t seed, double speed_kmh)
    : at_(origin), speed_kmh_(speed_kmh), random_(seed) {
    course_deg_ = std::uniform_real_distribution<double>(0, 360)(random_);
}

devices::Fix Vehicle::fix(devices::Millis device_time) const {
    devices::Fix f;
    f.device_time = device_time;
    f.latitude_deg = at_.lat_deg;
    f.longitude_deg = at_.lon_deg;
    f.speed_kmh = speed_kmh_;
    f.course_deg = course_deg_;
    f.altitude_m = 0;
    f.satellites = 10;
    f.ignition = true;
    f.moving = speed_kmh_ > 0;
    f.odometer_m = odometer_m_;
    f.fuel_l = fuel_l_;
    return f;
}

void Vehicle::advance(std::chrono::milliseconds elapsed) {
    double remaining_m = speed_kmh_ / 3.6 * static_cast<double>(elapsed.count()) / 1000.0;
    odometer_m_ += remaining_m;
    fuel_l_ -= remaining_m / 1000 * consumption_l_per_km;
    if (fuel_l_ < refill_below_l) {
        fuel_l_ = tank_l;
    }
    if (!path_) {
        course_deg_ =
            normalized_deg(course_deg_ + std::uniform_real_distribution<double>(-30, 30)(random_));
        at_ = geo::destination(at_, course_deg_, remaining_m);
        return;
    }
    const double length = path_->length_m();
    remaining_m = std::fmod(remaining_m, 2 * length);
    while (remaining_m > 0) {
        const double room_m = forward_ ? length - along_m_ : along_m_;
        if (remaining_m < room_m) {
            along_m_ += forward_ ? remaining_m : -remaining_m;
            remaining_m = 0;
        } else {
            along_m_ = forward_ ? length : 0;
            remaining_m -= room_m;
            forward_ = !forward_;
        }
    }
    const auto place = path_->at(along_m_);
    at_ = place.at;
    course_deg_ = forward_ ? place.bearing_deg : normalized_deg(place.bearing_deg + 180);
}

}  // namespace fleet::tools::fleetsim
