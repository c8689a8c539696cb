#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "dispatch/engine_core.hpp"
#include "server/api/live.hpp"

/// GTFS-realtime feeds from the live state (proto/gtfs-realtime.proto): vehicle positions,
/// trip updates (the current delay carried to every stop ahead; a stop passed without
/// stopping, as on a detour, SKIPPED) and alerts. Pure: the state and the time in, the feed
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
/// Alerts: none until notices are published (the notices' issue fills it).
std::string alerts(const FeedInput& input, bool json);

}  // namespace fleet::server::api
