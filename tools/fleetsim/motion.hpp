#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "geo/ogr_lines.hpp"
#include "tools/fleetsim/devices/fix.hpp"

/// How simulated vehicles move: along a route line (back and forth) or on a random walk. Pure
/// logic: time is passed in, never read from a clock.
namespace fleet::tools::fleetsim {

/// A polyline with its cumulative lengths, for positions by distance along it.
class Path {
  public:
    /// Throws InputError when the line has less than 2 points or zero length.
    explicit Path(std::vector<geo::LonLat> points);

    double length_m() const { return cumulative_m_.back(); }

    /// Where a point `distance_m` along the line is (clamped to the line), and the bearing of
    /// the segment it is on.
    struct Place {
        geo::LonLat at;
        double bearing_deg = 0;
    };
    Place at(double distance_m) const;

  private:
    std::vector<geo::LonLat> points_;
    std::vector<double> cumulative_m_;
};

/// One simulated vehicle: where it is, and how it moves on. Its fuel level sensor reads a tank
/// of tank_l that burns consumption_l_per_km and is filled up again below refill_below_l.
class Vehicle {
  public:
    /// Drives along `path` from `start_m`, turning round at each end.
    Vehicle(std::shared_ptr<const Path> path, double start_m, double speed_kmh);
    /// Random walk from `origin`: every step turns by up to ±30° (seeded, reproducible).
    Vehicle(geo::LonLat origin, std::uint32_t seed, double speed_kmh);

    /// The fix the vehicle reports now, stamped `device_time`.
    devices::Fix fix(devices::Millis device_time) const;
    /// Drives on for `elapsed` at the vehicle's speed.
    void advance(std::chrono::milliseconds elapsed);

    static constexpr double tank_l = 200;
    static constexpr double consumption_l_per_km = 0.3;
    static constexpr double refill_below_l = 20;

  private:
    std::shared_ptr<const Path> path_;
    double along_m_ = 0;
    bool forward_ = true;
    geo::LonLat at_;
    double course_deg_ = 0;
    double speed_kmh_ = 0;
    double odometer_m_ = 0;
    double fuel_l_ = tank_l * 0.75;
    std::mt19937 random_;
};

}  // namespace fleet::tools::fleetsim
