#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

/// The record every device protocol decodes into, and the ingest pipeline stores.
namespace fleet::ingest {

using Millis = std::chrono::sys_time<std::chrono::milliseconds>;

/// One fix as the device reported it. Units are in the names; optional fields are absent when
/// the protocol or the device did not send them.
struct Position {
    Millis device_time{};     ///< UTC, millisecond precision
    double latitude_deg = 0;  ///< WGS 84
    double longitude_deg = 0;
    std::optional<double> speed_kmh;
    std::optional<double> course_deg;  ///< 0-360, clockwise from north
    std::optional<double> altitude_m;
    std::optional<int> satellites;
    bool valid = true;                 ///< the device's own fix-validity flag
    std::optional<double> odometer_m;  ///< total odometer
    std::optional<double> fuel_l;
    std::optional<bool> ignition;
    nlohmann::json attributes = nlohmann::json::object();  ///< everything else, by name
};

/// A device's report of its own state that is not a fix (a GT06 heartbeat: power, GSM level,
/// ignition, charging), kept as the vehicle's latest status.
struct DeviceStatus {
    Millis reported_at{};
    nlohmann::json values = nlohmann::json::object();
};

}  // namespace fleet::ingest
