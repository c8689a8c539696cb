#pragma once

#include <chrono>
#include <cstdint>

/// What a simulated device knows at one moment; every device encoder turns these into bytes.
namespace fleet::tools::fleetsim::devices {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

/// One fix of a simulated vehicle, in the units the names say.
struct Fix {
    Millis device_time{};  ///< UTC
    double latitude_deg = 0;
    double longitude_deg = 0;
    double speed_kmh = 0;
    double course_deg = 0;  ///< 0-360, clockwise from north
    double altitude_m = 0;
    int satellites = 10;
    bool ignition = true;
    bool moving = false;
    double odometer_m = 0;  ///< total distance driven
    double power_v = 12.6;  ///< external (vehicle) voltage
};

}  // namespace fleet::tools::fleetsim::devices
