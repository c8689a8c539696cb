#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "geo/iso_time.hpp"

#include "dispatch/engine_core.hpp"
#include "server/api/live.hpp"

/// GTFS-realtime feeds from the live state (proto/gtfs-realtime.proto): vehicle positions,
/// trip updates (the engine's predicted arrival at each stop ahead, dispatch/eta.hpp; without
/// one, the current delay carried forward; a stop passed without stopping, as on a detour,
/// SKIPPED) and alerts. Pure: the state and the time in, the feed
/// out; each FULL_DATASET, dated `now`.
namespace fleet::server::api {

struct FeedInput {
    const std::vector<dispatch::VehicleState>& states;  ///< by vehicle id
    const std::unordered_map<std::int64_t, LatestFix>& fixes;
    const FleetDirectory::Vehicles& vehicles;
    geo::Millis now;
    /// Only these vehicles (a dispatcher limited to groups); nothing: all.
    const std::set<std::int64_t>* visible = nullptr;
};

/// A feed as bytes: the Protobuf encoding, or its JSON form (for debugging).
std::string vehicle_positions(const FeedInput& input, bool json);
std::string trip_updates(const FeedInput& input, bool json);
/// A road or weather notice as an Alert (dispatch/notices.hpp): the category's cause and
/// effect, its severity, the validity as the active period, the routes and stops it concerns
/// as informed entities.
struct AlertInput {
    std::int64_t notice_id = 0;
    std::string cause, effect;  ///< GTFS-realtime enum names ("WEATHER", "DETOUR")
    int severity = 1;           ///< 1 info, 2 warning, 3 danger
    std::string header, description;
    geo::Millis valid_from{}, valid_until{};
    std::vector<std::string> routes, stops;
};
/// Alerts: the notices in force, each an entity "notice-ID".
std::string alerts(const std::vector<AlertInput>& notices, geo::Millis now, bool json);

}  // namespace fleet::server::api
