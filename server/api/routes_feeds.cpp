// GTFS-realtime feeds: /gtfs-rt/vehicle-positions and /trip-updates from memory, /alerts from
// the notices in force.
#include "dispatch/notices.hpp"
#include "server/api/api.hpp"
#include "server/api/gtfs_rt.hpp"

namespace fleet::server::api {

namespace {

using Builder = std::string (*)(const FeedInput&, bool);

Route feed_route(const std::string& path, Builder build, ApiServices& s) {
    return {.method = Method::get,
            .pattern = path,
            .roles = all_roles,
            .runs = Runs::in_memory,
            .handler = [&s, build](Call& call) {
                const auto& user = call.user();
                const auto format = call.query("format").value_or("protobuf");
                if (format != "protobuf" && format != "json") {
                    throw ApiError(400, "bad_request", "format: protobuf or json is wanted");
                }
                const auto states = s.engine.snapshot();
                const auto fixes = s.positions.all();
                const auto vehicles = s.directory.vehicles();
                const FeedInput input{states, fixes, *vehicles,
                                      std::chrono::time_point_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now()),
                                      user.limited ? &user.vehicles : nullptr};
                const bool json = format == "json";
                return Response{200, json ? "application/json" : "application/x-protobuf",
                                build(input, json)};
            }};
}

}  // namespace

void add_feed_routes(Router& router, ApiServices& s) {
    router.add(feed_route("/gtfs-rt/vehicle-positions", &vehicle_positions, s));
    router.add(feed_route("/gtfs-rt/trip-updates", &trip_updates, s));
    // Alerts: the notices in force, from the database.
    router.add({.method = Method::get,
                .pattern = "/gtfs-rt/alerts",
                .roles = all_roles,
                .handler = [](Call& call) {
                    const auto format = call.query("format").value_or("protobuf");
                    if (format != "protobuf" && format != "json") {
                        throw ApiError(400, "bad_request", "format: protobuf or json is wanted");
                    }
                    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now());
                    pqxx::read_transaction tx(call.db());
                    const auto notices = dispatch::list_notices(tx, {.in_force_at = now});
                    std::vector<std::int64_t> ids;
                    for (const auto& n : notices) {
                        ids.push_back(n.notice_id);
                    }
                    auto entities = dispatch::notice_entities(tx, ids);
                    std::vector<AlertInput> in;
                    for (const auto& n : notices) {
                        auto& e = entities[n.notice_id];
                        in.push_back({n.notice_id, dispatch::gtfs_cause(n.category),
                                      dispatch::gtfs_effect(n.category), n.severity, n.title,
                                      n.full_text.empty() ? n.short_text : n.full_text,
                                      n.valid_from, n.valid_until, std::move(e.routes),
                                      std::move(e.stops)});
                    }
                    const bool json = format == "json";
                    return Response{200, json ? "application/json" : "application/x-protobuf",
                                    alerts(in, now, json)};
                }});
}

}  // namespace fleet::server::api
