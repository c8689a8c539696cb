#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "dispatch/engine.hpp"
#include "dispatch/notices.hpp"
#include "dispatch/thresholds.hpp"
#include "geo/metrics.hpp"
#include "server/api/accounts.hpp"
#include "server/api/live.hpp"
#include "server/api/router.hpp"
#include "server/api/stream.hpp"

/// The operator API's routes, built over the services fleetd runs. Every route states its
/// roles and where it runs (router.hpp); server/api/openapi.json describes each of them (a test
/// holds the two together).
namespace fleet::server::api {

struct ApiSettings {
    std::chrono::seconds session_lifetime{12 * 3600};
    /// The session cookie is sent with Secure (the API speaks HTTPS, or sits behind a proxy
    /// that does).
    bool secure_cookie = false;
    /// The on-time window the live state classifies deviations with.
    dispatch::Thresholds thresholds{};
    /// The canned replies a message offers unless it names its own (`message-replies`).
    std::vector<std::string> message_replies = dispatch::default_replies();
    /// The dashboard's base map (`map-tiles`, `map-attribution`); empty: a plain background.
    std::string map_tiles{}, map_attribution{};
};

/// What the routes use; all outlive the router.
struct ApiServices {
    dispatch::Engine& engine;
    LatestPositions& positions;
    FleetDirectory& directory;
    const geo::MetricsRegistry& metrics;
    LoginThrottle& throttle;
    LiveStream& stream;
    ApiSettings settings{};
    /// Where the waybill routes connect for what opens its own connections (acceptance, the
    /// reconciliation's workers): conninfo with the API's timeouts.
    std::string database{};
    /// A consignee's subscription was made or ended (the ETA feed reloads them).
    std::function<void()> eta_subscriptions_changed{};
    /// Set while a timetable upload is unpacked and imported: one at a time, so that what it
    /// holds in memory (up to 1 GiB unpacked) is held once, and two imports never interleave.
    std::shared_ptr<std::atomic<bool>> timetable_import =
        std::make_shared<std::atomic<bool>>(false);
};

/// A WebSocket subscriber's filter: what `user` may see, narrowed by its subscription message
/// ({"vehicles": [ids], "groups": [names], "kinds": [event kinds], "positions": bool,
/// "events": bool, "assignments": bool}; every field optional). ApiError (400) naming the field it
/// cannot use.
StreamFilter stream_filter(const ApiServices& services, const Principal& user,
                           const nlohmann::json& subscription);

/// Checks that the caller may name the vehicle registered as `registration` in a request: a
/// dispatcher limited to groups only theirs (403 otherwise).
void check_vehicle(const Call& call, const FleetDirectory& directory,
                   const std::string& registration);

/// Where a vehicle's deviation stands against the on-time window: on_time, late, early,
/// off_route, unknown (no deviation yet) or unassigned.
std::string adherence(const dispatch::VehicleState* state, const dispatch::Thresholds& t);

/// Every route of the API.
Router make_router(ApiServices& services);

/// The OpenAPI 3 description (server/api/openapi.json, compiled in).
std::string_view openapi_text();

// The route groups (one file each), added by make_router.
void add_session_routes(Router& router, ApiServices& services);
void add_fleet_routes(Router& router, ApiServices& services);
void add_live_routes(Router& router, ApiServices& services);
void add_event_routes(Router& router, ApiServices& services);
void add_system_routes(Router& router, ApiServices& services);
void add_map_routes(Router& router, ApiServices& services);
void add_stream_routes(Router& router, ApiServices& services);
void add_feed_routes(Router& router, ApiServices& services);
void add_assignment_routes(Router& router, ApiServices& services);
void add_timetable_routes(Router& router, ApiServices& services);
void add_track_routes(Router& router, ApiServices& services);
void add_waybill_routes(Router& router, ApiServices& services);
void add_notice_routes(Router& router, ApiServices& services);
void add_transport_routes(Router& router, ApiServices& services);
void add_eta_routes(Router& router, ApiServices& services);

/// A list's paging: `limit` (1–max, default def) and the cursor the next page starts after.
std::size_t page_limit(const Call& call, std::size_t def, std::size_t max);

}  // namespace fleet::server::api
