// Shift assignments through the API: list a date, create, change, cancel, hand over; by the
// same functions as fleetctl assign (journalled; a running engine takes each change within a
// second through the assignment feed's NOTIFY).
#include <algorithm>

#include "dispatch/assignments.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

nlohmann::json assignment_json(const dispatch::AssignmentRow& a) {
    return {{"id", a.assignment_id},
            {"service_date", a.service_date},
            {"status", a.status},
            {"vehicle", a.vehicle},
            {"driver", or_null(a.driver)},
            {"personnel_number", or_null(a.personnel_number)},
            {"kind", a.kind},
            {"feed", a.feed},
            {"block", or_null(a.block)},
            {"trips", a.trips},
            {"route", or_null(a.route)},
            {"stops", a.stops},
            {"start", or_null(a.start)},
            {"end", or_null(a.end)},
            {"time_zone", a.time_zone},
            {"cancel_reason", or_null(a.cancel_reason)}};
}

std::vector<dispatch::StopRequest> stops_field(const nlohmann::json& b) {
    std::vector<dispatch::StopRequest> out;
    const auto it = b.find("stops");
    if (it == b.end() || it->is_null()) {
        return out;
    }
    if (!it->is_array() || it->size() > 500) {
        throw ApiError(400, "bad_request", "stops: an array of at most 500 stops is wanted");
    }
    for (const auto& s : *it) {
        if (!s.is_object()) {
            throw ApiError(400, "bad_request", "stops: each stop is an object");
        }
        body::only(s, {"stop", "lon", "lat", "name", "radius_m", "from", "to"});
        dispatch::StopRequest r;
        r.stop = body::text(s, "stop", 64).value_or("");
        const auto lon = body::number(s, "lon", -180, 180);
        const auto lat = body::number(s, "lat", -90, 90);
        if (lon.has_value() != lat.has_value()) {
            throw ApiError(400, "bad_request", "stops: lon and lat go together");
        }
        if (lon) {
            r.position = geo::LonLat{*lon, *lat};
        }
        r.name = body::text(s, "name", 200).value_or("");
        r.radius_m = body::number(s, "radius_m", 1, 10000);
        r.window_from = body::required_text(s, "from", 40);
        r.window_to = body::required_text(s, "to", 40);
        out.push_back(std::move(r));
    }
    return out;
}

std::string required_date(const Call& call) {
    const auto date = call.query("date");
    if (!date) {
        throw ApiError(400, "bad_request", "date: required (YYYY-MM-DD, the service date)");
    }
    return *date;
}

// An existing assignment the caller may act on.
dispatch::AssignmentRow assignment_of(const Call& call, const FleetDirectory& directory,
                                      std::int64_t id) {
    pqxx::read_transaction tx(call.db());
    const auto r = tx.exec_params(
        "SELECT service_date::text FROM fleet.shift_assignments WHERE "
        "assignment_id = $1",
        id);
    if (r.empty()) {
        throw NotFoundError("no such assignment " + std::to_string(id));
    }
    tx.commit();
    for (auto& a :
         dispatch::list_assignments(call.db(), {.service_date = r[0][0].as<std::string>()})) {
        if (a.assignment_id == id) {
            if (call.user().limited) {
                try {
                    check_vehicle(call, directory, a.vehicle);
                } catch (const ApiError&) {
                    throw NotFoundError("no such assignment " + std::to_string(id));
                }
            }
            return a;
        }
    }
    throw NotFoundError("no such assignment " + std::to_string(id));
}

}  // namespace

void add_assignment_routes(Router& router, ApiServices& s) {
    router.add(
        {.method = Method::get,
         .pattern = "/api/assignments",
         .roles = all_roles,
         .handler = [&s](Call& call) {
             dispatch::AssignmentFilter f{required_date(call), call.query("vehicle").value_or("")};
             nlohmann::json out = nlohmann::json::array();
             const auto& user = call.user();
             const auto directory = s.directory.vehicles();
             for (const auto& a : dispatch::list_assignments(call.db(), f)) {
                 bool visible = !user.limited;
                 for (const auto& [id, v] : *directory) {
                     visible = visible || (v.registration == a.vehicle && user.sees(id));
                 }
                 if (visible) {
                     out.push_back(assignment_json(a));
                 }
             }
             return json_response({{"assignments", out}});
         }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/assignments",
         .roles = dispatchers,
         .handler = [&s](Call& call) {
             const auto& b = call.body();
             body::only(b, {"service_date", "vehicle", "driver", "feed", "block", "trips",
                            "from_trip", "route", "start", "end", "time_zone", "stops", "force"});
             dispatch::AssignmentRequest r;
             r.service_date = body::required_text(b, "service_date", 10);
             r.vehicle = body::required_text(b, "vehicle", 32);
             check_vehicle(call, s.directory, r.vehicle);
             r.driver = body::text(b, "driver", 200).value_or("");
             r.feed = body::text(b, "feed", 64).value_or("local");
             r.block = body::text(b, "block", 200).value_or("");
             r.trips = body::texts(b, "trips", 500).value_or(std::vector<std::string>{});
             r.from_trip = body::text(b, "from_trip", 200).value_or("");
             r.route = body::text(b, "route", 200).value_or("");
             r.start = body::text(b, "start", 40).value_or("");
             r.end = body::text(b, "end", 40).value_or("");
             r.time_zone = body::text(b, "time_zone", 64).value_or("");
             r.stops = stops_field(b);
             r.force = body::boolean(b, "force").value_or(false);
             r.actor = call.actor();
             const auto id = dispatch::save_assignment(call.db(), r);
             return json_response(
                 {{"assignment", assignment_json(assignment_of(call, s.directory, id))}}, 201);
         }});
    router.add({.method = Method::get,
                .pattern = "/api/assignments/{id}",
                .roles = all_roles,
                .handler = [&s](Call& call) {
                    return json_response(
                        {{"assignment",
                          assignment_json(assignment_of(call, s.directory, call.id_param("id")))}});
                }});
    router.add({.method = Method::patch,
                .pattern = "/api/assignments/{id}",
                .roles = dispatchers,
                .handler = [&s](Call& call) {
                    const auto id = call.id_param("id");
                    assignment_of(call, s.directory, id);
                    const auto& b = call.body();
                    body::only(b, {"vehicle", "driver", "block", "trips", "route", "stops", "start",
                                   "end", "time_zone", "reason", "force"});
                    dispatch::ChangeRequest c;
                    c.assignment_id = id;
                    c.vehicle = body::text(b, "vehicle", 32);
                    if (c.vehicle) {
                        check_vehicle(call, s.directory, *c.vehicle);
                    }
                    c.driver = body::text(b, "driver", 200);
                    c.block = body::text(b, "block", 200);
                    c.trips = body::texts(b, "trips", 500);
                    c.route = body::text(b, "route", 200);
                    if (b.contains("stops") && !b["stops"].is_null()) {
                        c.stops = stops_field(b);
                    }
                    c.start = body::text(b, "start", 40);
                    c.end = body::text(b, "end", 40);
                    c.time_zone = body::text(b, "time_zone", 64);
                    c.reason = body::text(b, "reason", 1000).value_or("");
                    c.force = body::boolean(b, "force").value_or(false);
                    c.actor = call.actor();
                    const bool changed = dispatch::change_assignment(call.db(), c);
                    return json_response(
                        {{"changed", changed},
                         {"assignment", assignment_json(assignment_of(call, s.directory, id))}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/assignments/{id}/cancel",
                .roles = dispatchers,
                .handler = [&s](Call& call) {
                    const auto id = call.id_param("id");
                    assignment_of(call, s.directory, id);
                    const auto& b = call.body();
                    body::only(b, {"reason"});
                    dispatch::cancel_assignment(
                        call.db(), id, body::required_text(b, "reason", 1000), call.actor());
                    return json_response(
                        {{"assignment", assignment_json(assignment_of(call, s.directory, id))}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/assignments/{id}/handover",
                .roles = dispatchers,
                .handler = [&s](Call& call) {
                    const auto id = call.id_param("id");
                    assignment_of(call, s.directory, id);
                    const auto& b = call.body();
                    body::only(b, {"from_trip", "vehicle", "driver", "reason", "force"});
                    dispatch::HandoverRequest h;
                    h.assignment_id = id;
                    h.from_trip = body::required_text(b, "from_trip", 200);
                    h.vehicle = body::required_text(b, "vehicle", 32);
                    check_vehicle(call, s.directory, h.vehicle);
                    h.driver = body::text(b, "driver", 200).value_or("");
                    h.reason = body::text(b, "reason", 1000).value_or("");
                    h.force = body::boolean(b, "force").value_or(false);
                    h.actor = call.actor();
                    const auto result = dispatch::hand_over(call.db(), h);
                    return json_response({{"original_id", result.original_id},
                                          {"spare_id", result.spare_id},
                                          {"trips_kept", result.trips_kept},
                                          {"trips_moved", result.trips_moved}},
                                         201);
                }});
}

}  // namespace fleet::server::api
