// Deviation events (list, acknowledge) and the operations journal (read, add a note).
#include "dispatch/event_log.hpp"
#include "geo/journal.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

nlohmann::json event_json(const dispatch::StoredEvent& e) {
    return {{"id", e.event_id},
            {"vehicle_id", e.vehicle_id},
            {"registration", e.registration},
            {"kind", e.kind},
            {"started_at", e.started_at},
            {"ended_at", or_null(e.ended_at)},
            {"open", e.ended_at.empty()},
            {"magnitude", or_null(e.magnitude)},
            {"cause", or_null(e.cause)},
            {"details", e.details},
            {"assignment_id", or_null(e.assignment_id)},
            {"trip_id", or_null(e.trip_id)},
            {"geometry", e.geometry},
            {"acknowledgement", e.acknowledged_at.empty()
                                    ? nlohmann::json()
                                    : nlohmann::json{{"at", e.acknowledged_at},
                                                     {"by", e.acknowledged_by},
                                                     {"comment", e.acknowledgement}}}};
}

std::optional<std::set<std::int64_t>> visible(const Principal& user) {
    return user.limited ? std::optional<std::set<std::int64_t>>(user.vehicles) : std::nullopt;
}

}  // namespace

void add_event_routes(Router& router, ApiServices&) {
    router.add({.method = Method::get,
                .pattern = "/api/events",
                .roles = all_roles,
                .handler = [](Call& call) {
                    dispatch::EventFilter f;
                    f.from = call.query_time("from");
                    f.to = call.query_time("to");
                    f.vehicle_id = call.query_integer("vehicle", 1, INT64_MAX);
                    f.kind = call.query("kind").value_or("");
                    if (const auto state = call.query("state")) {
                        if (*state != "open" && *state != "closed") {
                            throw ApiError(400, "bad_request", "state: open or closed is wanted");
                        }
                        f.open = *state == "open";
                    }
                    f.acknowledged = call.query_bool("acknowledged");
                    f.vehicles = visible(call.user());
                    f.before_id = call.query_integer("before", 1, INT64_MAX);
                    f.limit = page_limit(call, 100, 1000);
                    try {
                        const auto events = dispatch::list_events(call.db(), f);
                        nlohmann::json out = nlohmann::json::array();
                        for (const auto& e : events) {
                            out.push_back(event_json(e));
                        }
                        return json_response(
                            {{"events", out},
                             {"next_before", events.size() == f.limit
                                                 ? nlohmann::json(events.back().event_id)
                                                 : nlohmann::json()}});
                    } catch (const NotFoundError&) {
                        throw;
                    } catch (const InputError& e) {
                        throw ApiError(400, "bad_request", e.what());
                    }
                }});
    router.add({.method = Method::get,
                .pattern = "/api/events/{id}",
                .roles = all_roles,
                .handler = [](Call& call) {
                    return json_response(
                        {{"event", event_json(dispatch::event(call.db(), call.id_param("id"),
                                                              visible(call.user())))}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/events/{id}/acknowledge",
                .roles = dispatchers,
                .handler = [](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"comment"});
                    const auto e = dispatch::acknowledge_event(
                        call.db(), call.id_param("id"), body::required_text(b, "comment", 2000),
                        call.actor(), visible(call.user()));
                    return json_response({{"event", event_json(e)}});
                }});

    router.add({.method = Method::get,
                .pattern = "/api/journal",
                .roles = all_roles,
                .handler = [](Call& call) {
                    const auto& user = call.user();
                    geo::JournalQuery q;
                    const auto from = call.query_time("from");
                    const auto to = call.query_time("to");
                    if (!from || !to) {
                        throw ApiError(
                            400, "bad_request",
                            "from and to are required (ISO 8601 times with their offset)");
                    }
                    q.from = geo::iso_utc(*from);
                    q.to = geo::iso_utc(*to);
                    q.vehicle_id = call.query_integer("vehicle", 1, INT64_MAX);
                    q.driver_id = call.query_integer("driver", 1, INT64_MAX);
                    q.notice_id = call.query_integer("notice", 1, INT64_MAX);
                    q.kind = call.query("kind").value_or("");
                    q.time_zone = call.query("tz").value_or("UTC");
                    q.limit = page_limit(call, 1000, 10000);
                    if (user.limited && (!q.vehicle_id || !user.sees(*q.vehicle_id))) {
                        throw ApiError(403, "forbidden",
                                       "a dispatcher limited to groups reads the journal of one of "
                                       "their vehicles: give vehicle=ID");
                    }
                    std::vector<geo::JournalRecord> entries;
                    try {
                        pqxx::read_transaction tx(call.db());
                        entries = geo::read(tx, q);
                    } catch (const InputError& e) {
                        throw ApiError(400, "bad_request", e.what());
                    }
                    nlohmann::json out = nlohmann::json::array();
                    for (const auto& e : entries) {
                        out.push_back({{"id", e.entry_id},
                                       {"recorded_at", e.recorded_at},
                                       {"kind", e.kind},
                                       {"actor", e.actor},
                                       {"action", e.action},
                                       {"subject", e.subject},
                                       {"details", e.details},
                                       {"vehicle_id", or_null(e.vehicle_id)},
                                       {"registration", e.registration},
                                       {"driver_id", or_null(e.driver_id)},
                                       {"personnel_number", e.personnel_number},
                                       {"waybill_id", or_null(e.waybill_id)},
                                       {"assignment_id", or_null(e.assignment_id)},
                                       {"notice_id", or_null(e.notice_id)},
                                       {"counterpart", or_null(e.counterpart)},
                                       {"corrects", or_null(e.corrects)}});
                    }
                    return json_response({{"entries", out}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/journal",
                .roles = dispatchers,
                .handler = [](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"text", "vehicle", "counterpart", "corrects"});
                    const auto text = body::required_text(b, "text", 4000);
                    const auto vehicle = body::integer(b, "vehicle", 1, INT64_MAX);
                    // A note of a communication names who was on the other end (a customer, a
                    // loading point, a depot, a station); a correction names the entry it
                    // corrects (the journal is append-only).
                    const auto counterpart = body::text(b, "counterpart", 400).value_or("");
                    const auto corrects = body::integer(b, "corrects", 1, INT64_MAX);
                    const auto& user = call.user();
                    if (user.limited && (!vehicle || !user.sees(*vehicle))) {
                        throw ApiError(403, "forbidden",
                                       "a dispatcher limited to groups notes on one of their "
                                       "vehicles: give vehicle");
                    }
                    pqxx::work tx(call.db());
                    std::string subject = counterpart;
                    if (vehicle) {
                        const auto r = tx.exec_params(
                            "SELECT registration FROM fleet.vehicles WHERE vehicle_id = $1",
                            *vehicle);
                        if (r.empty()) {
                            throw ApiError(422, "invalid",
                                           "vehicle: no such vehicle " + std::to_string(*vehicle));
                        }
                        subject = r[0][0].as<std::string>();
                    }
                    std::int64_t id = 0;
                    try {
                        id = geo::record(tx, {.actor = call.actor(),
                                              .action = corrects ? "note corrected" : "note",
                                              .subject = subject,
                                              .details = {{"text", text}},
                                              .kind = "note",
                                              .vehicle_id = vehicle,
                                              .counterpart = counterpart,
                                              .corrects = corrects});
                    } catch (const NotFoundError& e) {
                        throw ApiError(422, "invalid", std::string("corrects: ") + e.what());
                    }
                    tx.commit();
                    return json_response({{"id", id}}, 201);
                }});
}

}  // namespace fleet::server::api
