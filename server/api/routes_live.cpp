// The live state, answered from memory: every vehicle's latest position (LatestPositions), its
// dispatch state (the engine's snapshot) and its name and groups (FleetDirectory).
#include <algorithm>

#include "dispatch/events.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

// Where a deviation stands against the on-time window.
std::string adherence(const dispatch::VehicleState* state, const dispatch::Thresholds& t) {
    if (state == nullptr || !state->assignment_id) {
        return "unassigned";
    }
    if (state->off_route) {
        return "off_route";
    }
    if (!state->deviation_s) {
        return "unknown";
    }
    if (*state->deviation_s > static_cast<double>(t.late.count())) {
        return "late";
    }
    if (*state->deviation_s < -static_cast<double>(t.early.count())) {
        return "early";
    }
    return "on_time";
}

template <typename T>
nlohmann::json maybe(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json vehicle_live_json(std::int64_t id, const DirectoryVehicle& v,
                                 const std::optional<LatestFix>& fix,
                                 const dispatch::VehicleState* state, const std::string& adh) {
    nlohmann::json j = {{"id", id},
                        {"registration", v.registration},
                        {"class", v.vehicle_class},
                        {"active", v.active},
                        {"groups", v.groups}};
    if (fix) {
        j["position"] = {{"time", geo::iso_utc(fix->device_time)},
                         {"lon", fix->longitude_deg},
                         {"lat", fix->latitude_deg},
                         {"speed_kmh", maybe(fix->speed_kmh)},
                         {"course_deg", maybe(fix->course_deg)},
                         {"ignition", maybe(fix->ignition)},
                         {"valid", fix->valid}};
    } else {
        j["position"] = nullptr;
    }
    nlohmann::json events = nlohmann::json::array();
    if (state != nullptr && state->assignment_id) {
        j["dispatch"] = {{"assignment_id", *state->assignment_id},
                         {"service_date", state->service_date},
                         {"block", state->block},
                         {"route_code", state->route_code},
                         {"route_short_name", state->route_short_name},
                         {"trip_id", maybe(state->trip_id)},
                         {"trip_code", state->trip_code},
                         {"deviation_s", maybe(state->deviation_s)},
                         {"along_m", maybe(state->along_m)},
                         {"on_route", state->on_route},
                         {"off_route", state->off_route}};
    } else {
        j["dispatch"] = nullptr;
    }
    if (state != nullptr) {
        for (const auto& e : state->open_events) {
            events.push_back({{"kind", dispatch::to_string(e.kind)},
                              {"started_at", geo::iso_utc(e.started_at)},
                              {"magnitude", e.magnitude},
                              {"cause", e.cause}});
        }
    }
    j["adherence"] = adh;
    j["open_events"] = std::move(events);
    return j;
}

}  // namespace

void add_live_routes(Router& router, ApiServices& s) {
    router.add(
        {.method = Method::get,
         .pattern = "/api/vehicles",
         .roles = all_roles,
         .runs = Runs::in_memory,
         .handler = [&s](Call& call) {
             const auto& user = call.user();
             const auto limit = page_limit(call, 10000, 10000);
             const auto after = call.query_integer("after", 0, INT64_MAX).value_or(0);
             const auto group = call.query("group");
             const auto route = call.query("route");
             const auto wanted = call.query("adherence");
             static const std::vector<std::string> adherences = {
                 "on_time", "late", "early", "off_route", "unknown", "unassigned"};
             if (wanted &&
                 std::find(adherences.begin(), adherences.end(), *wanted) == adherences.end()) {
                 throw ApiError(400, "bad_request",
                                "adherence: one of on_time, late, early, off_route, unknown, "
                                "unassigned is wanted");
             }
             const auto active = call.query_bool("active");

             const auto directory = s.directory.vehicles();
             std::unordered_map<std::int64_t, dispatch::VehicleState> states;
             for (auto& st : s.engine.snapshot()) {
                 const auto id = st.vehicle_id;
                 states.emplace(id, std::move(st));
             }
             const auto fixes = s.positions.all();
             std::vector<std::int64_t> ids;
             ids.reserve(directory->size());
             for (const auto& [id, v] : *directory) {
                 if (id > after && user.sees(id)) {
                     ids.push_back(id);
                 }
             }
             // A vehicle registered by ingest since the register was last read has a position
             // but no name yet: listed, named at the next reload.
             for (const auto& [id, f] : fixes) {
                 if (id > after && user.sees(id) && !directory->count(id)) {
                     ids.push_back(id);
                 }
             }
             std::sort(ids.begin(), ids.end());
             const DirectoryVehicle unnamed{};
             nlohmann::json out = nlohmann::json::array();
             std::optional<std::int64_t> next;
             for (const auto id : ids) {
                 const auto found = directory->find(id);
                 const DirectoryVehicle& v = found == directory->end() ? unnamed : found->second;
                 if (group &&
                     std::find(v.groups.begin(), v.groups.end(), *group) == v.groups.end()) {
                     continue;
                 }
                 if (active && v.active != *active) {
                     continue;
                 }
                 const auto st = states.find(id);
                 const dispatch::VehicleState* state = st == states.end() ? nullptr : &st->second;
                 if (route && (state == nullptr || (state->route_code != *route &&
                                                    state->route_short_name != *route))) {
                     continue;
                 }
                 const auto adh = adherence(state, s.settings.thresholds);
                 if (wanted && adh != *wanted) {
                     continue;
                 }
                 if (out.size() == limit) {
                     next = out.back()["id"].get<std::int64_t>();
                     break;
                 }
                 const auto fix = fixes.find(id);
                 out.push_back(vehicle_live_json(
                     id, v,
                     fix == fixes.end() ? std::nullopt : std::optional<LatestFix>(fix->second),
                     state, adh));
             }
             return json_response({{"vehicles", std::move(out)},
                                   {"next_after", next ? nlohmann::json(*next) : nlohmann::json()},
                                   {"on_time_window_s",
                                    {{"early", s.settings.thresholds.early.count()},
                                     {"late", s.settings.thresholds.late.count()}}}});
         }});
}

}  // namespace fleet::server::api
