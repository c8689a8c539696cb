#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dispatch/plan.hpp"

namespace fleet::dispatch {

enum class EventKind {
    late,
    early,
    early_departure,  ///< left a timepoint before its time
    off_route,        ///< a detour; geometry is the path driven off the route
    missed_stop,
    not_departed,    ///< shift start passed, vehicle still at the depot
    unplanned_stop,  ///< standing away from stops ("delayed", then "possibly broken down")
    long_dwell,      ///< at a stop much longer than planned
    overspeed,
    signal_lost,
    moving_unassigned,  ///< moving without an assignment
    no_vehicle_data,    ///< an assignment whose vehicle sends nothing
};

const char* to_string(EventKind kind);

/// A deviation: opened when it is declared, closed (ended set) when it is over. The engine
/// reports both moments with the same `key`.
struct Event {
    EventKind kind{};
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t> assignment_id;
    std::optional<std::int64_t> trip_id;
    Millis started_at;
    std::optional<Millis> ended_at;
    std::vector<geo::LonLat> geometry;  ///< a point, or the path (detour)
    double magnitude = 0;               ///< seconds late/early, metres off route, km/h over, ...
    std::string cause;                  ///< likely cause where the data shows one
    nlohmann::json details = nlohmann::json::object();
    std::uint64_t key = 0;  ///< same for the opening and the closing report
};

}  // namespace fleet::dispatch
