#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

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
    double odometer_m = 0;         ///< total distance driven
    double power_v = 12.6;         ///< external (vehicle) voltage
    std::optional<double> fuel_l;  ///< fuel in the tank, when the vehicle has a level sensor
};

/// What one packet of a protocol carries of a Fix, as the server decodes it: the fix's values
/// rounded to the protocol's precision and units (GT06 degrees in 1/1 800 000, whole km/h;
/// OsmAnd speed in knots with 2 decimals, ...), and only the fields the protocol has (the
/// others empty). A server that stored the packet holds exactly these values, within the
/// precision of its columns.
struct SentFix {
    Millis device_time{};
    double latitude_deg = 0;
    double longitude_deg = 0;
    std::optional<double> speed_kmh;
    std::optional<double> course_deg;
    std::optional<double> altitude_m;
    std::optional<int> satellites;
    std::optional<double> odometer_m;
    std::optional<double> fuel_l;
    std::optional<bool> ignition;
};

}  // namespace fleet::tools::fleetsim::devices
