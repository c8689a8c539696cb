#include "server/api/api.hpp"

namespace fleet::server::api {

std::size_t page_limit(const Call& call, std::size_t def, std::size_t max) {
    return static_cast<std::size_t>(call.query_integer("limit", 1, static_cast<std::int64_t>(max))
                                        .value_or(static_cast<std::int64_t>(def)));
}

void check_vehicle(const Call& call, const FleetDirectory& directory, const std::string& reg) {
    const auto& user = call.user();
    if (!user.limited) {
        return;
    }
    const auto vehicles = directory.vehicles();
    for (const auto& [id, v] : *vehicles) {
        if (v.registration == reg && user.sees(id)) {
            return;
        }
    }
    throw ApiError(
        403, "forbidden",
        "vehicle '" + reg.substr(0, 32) + "' is not in the groups this dispatcher works with");
}

Router make_router(ApiServices& services) {
    Router router;
    add_session_routes(router, services);
    add_live_routes(router, services);
    add_fleet_routes(router, services);
    add_event_routes(router, services);
    add_system_routes(router, services);
    add_stream_routes(router, services);
    add_feed_routes(router, services);
    add_assignment_routes(router, services);
    add_timetable_routes(router, services);
    add_track_routes(router, services);
    add_waybill_routes(router, services);
    add_notice_routes(router, services);
    add_transport_routes(router, services);
    add_eta_routes(router, services);
    add_map_routes(router, services);
    return router;
}

}  // namespace fleet::server::api
