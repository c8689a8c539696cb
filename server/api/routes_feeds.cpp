// GTFS-realtime feeds, from memory: /gtfs-rt/vehicle-positions, /trip-updates, /alerts.
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
    router.add(feed_route("/gtfs-rt/alerts", &alerts, s));
}

}  // namespace fleet::server::api
