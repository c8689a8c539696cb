// The live state, answered from memory: every vehicle's latest position (LatestPositions), its
// dispatch state (the engine's snapshot) and its name and groups (FleetDirectory).
#include <algorithm>

#include "dispatch/events.hpp"
#include "server/api/api.hpp"
#include "server/api/json_writer.hpp"

namespace fleet::server::api {

namespace {

void write_vehicle(JsonWriter& w, std::int64_t id, const DirectoryVehicle& v, const LatestFix* fix,
                   const dispatch::VehicleState* state, const std::string& adh) {
    w.begin_object();
    w.key("id");
    w.integer(id);
    w.key("registration");
    w.text(v.registration);
    w.key("class");
    w.text(v.vehicle_class);
    w.key("active");
    w.boolean(v.active);
    w.key("groups");
    w.begin_array();
    for (const auto& g : v.groups) {
        w.text(g);
    }
    w.end_array();
    w.key("position");
    if (fix != nullptr) {
        w.begin_object();
        w.key("time");
        w.text(geo::iso_utc(fix->device_time));
        w.key("lon");
        w.number(fix->longitude_deg);
        w.key("lat");
        w.number(fix->latitude_deg);
        w.key("speed_kmh");
        w.maybe(fix->speed_kmh);
        w.key("course_deg");
        w.maybe(fix->course_deg);
        w.key("ignition");
        w.maybe(fix->ignition);
        w.key("valid");
        w.boolean(fix->valid);
        w.end_object();
    } else {
        w.null();
    }
    w.key("dispatch");
    if (state != nullptr && state->assignment_id) {
        w.begin_object();
        w.key("assignment_id");
        w.integer(*state->assignment_id);
        w.key("service_date");
        w.text(state->service_date);
        w.key("block");
        w.text(state->block);
        w.key("route_code");
        w.text(state->route_code);
        w.key("route_short_name");
        w.text(state->route_short_name);
        w.key("trip_id");
        w.maybe(state->trip_id);
        w.key("trip_code");
        w.text(state->trip_code);
        w.key("deviation_s");
        w.maybe(state->deviation_s);
        w.key("along_m");
        w.maybe(state->along_m);
        w.key("on_route");
        w.boolean(state->on_route);
        w.key("off_route");
        w.boolean(state->off_route);
        w.end_object();
    } else {
        w.null();
    }
    w.key("adherence");
    w.text(adh);
    w.key("open_events");
    w.begin_array();
    if (state != nullptr) {
        for (const auto& e : state->open_events) {
            w.begin_object();
            w.key("kind");
            w.text(dispatch::to_string(e.kind));
            w.key("started_at");
            w.text(geo::iso_utc(e.started_at));
            w.key("magnitude");
            w.number(e.magnitude);
            w.key("cause");
            w.text(e.cause);
            w.end_object();
        }
    }
    w.end_array();
    w.end_object();
}

}  // namespace

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
             std::string body;
             body.reserve(ids.size() * 300 + 200);
             JsonWriter w(body);
             w.begin_object();
             w.key("vehicles");
             w.begin_array();
             std::size_t written = 0;
             std::int64_t last = 0;
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
                 if (written == limit) {
                     next = last;
                     break;
                 }
                 const auto fix = fixes.find(id);
                 write_vehicle(w, id, v, fix == fixes.end() ? nullptr : &fix->second, state, adh);
                 ++written;
                 last = id;
             }
             w.end_array();
             w.key("next_after");
             w.maybe(next);
             w.key("on_time_window_s");
             w.begin_object();
             w.key("early");
             w.integer(s.settings.thresholds.early.count());
             w.key("late");
             w.integer(s.settings.thresholds.late.count());
             w.end_object();
             w.end_object();
             return Response{200, "application/json", std::move(body)};
         }});
}

}  // namespace fleet::server::api
