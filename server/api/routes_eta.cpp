// Arrival times through the API: the engine's current predictions (from memory), their accuracy
// over a period, and the consignees' webhook subscriptions with their deliveries' log.
#include <algorithm>

#include "dispatch/eta_store.hpp"
#include "geo/detail/period_query.hpp"
#include "geo/iso_time.hpp"
#include "server/api/api.hpp"
#include "server/eta_feed.hpp"

namespace fleet::server::api {

namespace {

nlohmann::json run_json(const dispatch::VehicleState& s, const DirectoryVehicle* v,
                        std::optional<std::int64_t> stop_filter) {
    const auto& trip = s.plan->trips.at(*s.trip_index);
    nlohmann::json stops = nlohmann::json::array();
    for (const auto& e : s.eta) {
        const auto& stop = trip.stops.at(e.stop_index);
        if (stop_filter && stop.stop_id != *stop_filter) {
            continue;
        }
        stops.push_back({{"index", e.stop_index},
                         {"stop_id", stop.stop_id > 0 ? nlohmann::json(stop.stop_id) : nullptr},
                         {"code", stop.code},
                         {"name", stop.name},
                         {"scheduled_arrival", geo::iso_utc(stop.arrival)},
                         {"estimated_arrival", geo::iso_utc(e.arrival)},
                         {"horizon_s", std::round(e.horizon_s)},
                         {"method", std::string(dispatch::to_string(e.method))}});
    }
    return {{"vehicle_id", s.vehicle_id},
            {"registration", v ? v->registration : std::string()},
            {"assignment_id", s.assignment_id.value_or(0)},
            {"service_date", s.service_date},
            {"trip_code", s.trip_code},
            {"route_code", s.route_code},
            {"route_short_name", s.route_short_name},
            {"deviation_s", s.deviation_s ? nlohmann::json(*s.deviation_s) : nullptr},
            {"made_at", geo::iso_utc(*s.eta_made_at)},
            {"stops", std::move(stops)}};
}

}  // namespace

void add_eta_routes(Router& router, ApiServices& s) {
    router.add({.method = Method::get,
                .pattern = "/api/eta",
                .roles = all_roles,
                .runs = Runs::in_memory,
                .handler = [&s](Call& call) {
                    const auto& user = call.user();
                    const auto vehicle = call.query_integer("vehicle", 1, INT64_MAX);
                    const auto stop = call.query_integer("stop", 1, INT64_MAX);
                    const auto route = call.query("route");
                    const auto directory = s.directory.vehicles();
                    nlohmann::json runs = nlohmann::json::array();
                    for (const auto& st : s.engine.snapshot()) {
                        if (st.eta.empty() || !st.eta_made_at || !st.plan || !st.trip_index ||
                            !user.sees(st.vehicle_id) || (vehicle && st.vehicle_id != *vehicle) ||
                            (route && st.route_code != *route && st.route_short_name != *route)) {
                            continue;
                        }
                        const auto v = directory->find(st.vehicle_id);
                        auto run = run_json(st, v == directory->end() ? nullptr : &v->second, stop);
                        if (!run["stops"].empty()) {
                            runs.push_back(std::move(run));
                        }
                    }
                    return json_response({{"runs", std::move(runs)}});
                }});
    router.add({.method = Method::get,
                .pattern = "/api/eta/accuracy",
                .roles = all_roles,
                .handler = [](Call& call) {
                    const auto from = call.query_time("from");
                    const auto to = call.query_time("to");
                    if (!from || !to) {
                        throw ApiError(
                            400, "bad_request",
                            "from and to are required (ISO 8601 times with their offset)");
                    }
                    pqxx::read_transaction tx(call.db());
                    nlohmann::json buckets = nlohmann::json::array();
                    for (const auto& b : dispatch::eta_accuracy(tx, *from, *to)) {
                        buckets.push_back({{"from_min", b.from_min},
                                           {"to_min", b.to_min},
                                           {"predictions", b.predictions},
                                           {"ours_in_band", b.ours_in_band},
                                           {"baseline_in_band", b.baseline_in_band},
                                           {"ours_share", b.ours_share},
                                           {"baseline_share", b.baseline_share},
                                           {"ours_mae_s", b.ours_mae_s},
                                           {"baseline_mae_s", b.baseline_mae_s}});
                    }
                    return json_response({{"buckets", std::move(buckets)}});
                }});
    // Punctuality by route and hour, from the arrivals at stops the engine saw, judged with the
    // on-time window of the live state.
    router.add(
        {.method = Method::get,
         .pattern = "/api/reports/punctuality",
         .roles = all_roles,
         .handler = [&s](Call& call) {
             const auto from = call.query_time("from");
             const auto to = call.query_time("to");
             if (!from || !to) {
                 throw ApiError(400, "bad_request",
                                "from and to are required (ISO 8601 times with their offset)");
             }
             const auto zone = call.query("tz").value_or("UTC");
             pqxx::read_transaction tx(call.db());
             try {
                 geo::detail::use_period(tx, geo::iso_utc(*from), geo::iso_utc(*to), zone);
             } catch (const InputError& e) {
                 throw ApiError(400, "bad_request", e.what());
             }
             const auto& user = call.user();
             const std::vector<std::int64_t> seen(user.vehicles.begin(), user.vehicles.end());
             const auto& t = s.settings.thresholds;
             nlohmann::json rows = nlohmann::json::array();
             for (const auto& p : dispatch::punctuality(tx, *from, *to, t.early, t.late,
                                                        user.limited ? &seen : nullptr)) {
                 rows.push_back({{"route_code", p.route_code},
                                 {"route", p.route_name},
                                 {"hour", p.hour},
                                 {"arrivals", p.arrivals},
                                 {"early", p.early},
                                 {"on_time", p.on_time},
                                 {"late", p.late},
                                 {"on_time_share", p.on_time_share}});
             }
             return json_response(
                 {{"time_zone", zone},
                  {"on_time_window_s", {{"early", t.early.count()}, {"late", t.late.count()}}},
                  {"rows", std::move(rows)}});
         }});
    router.add({.method = Method::get,
                .pattern = "/api/eta/subscriptions",
                .roles = dispatchers,
                .handler = [](Call& call) {
                    pqxx::read_transaction tx(call.db());
                    return json_response({{"subscriptions", list_eta_subscriptions(tx)}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/eta/subscriptions",
                .roles = dispatchers,
                .handler = [&s](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"consignee", "stop_id", "assignment_id", "seq", "url", "secret",
                                   "min_change_s"});
                    EtaSubscriptionInput in;
                    in.consignee = body::required_text(b, "consignee", 800);
                    in.stop_id = body::integer(b, "stop_id", 1, INT64_MAX);
                    in.assignment_id = body::integer(b, "assignment_id", 1, INT64_MAX);
                    if (const auto seq = body::integer(b, "seq", 1, INT32_MAX)) {
                        in.seq = static_cast<int>(*seq);
                    }
                    in.url = body::required_text(b, "url", 2048);
                    in.secret = body::required_text(b, "secret", 256);
                    in.min_change_s =
                        static_cast<int>(body::integer(b, "min_change_s", 10, 86400).value_or(120));
                    in.actor = call.actor();
                    pqxx::work tx(call.db());
                    const auto id = create_eta_subscription(tx, in);
                    tx.commit();
                    if (s.eta_subscriptions_changed) {
                        s.eta_subscriptions_changed();
                    }
                    return json_response({{"subscription_id", id}}, 201);
                }});
    router.add({.method = Method::post,
                .pattern = "/api/eta/subscriptions/{id}/deactivate",
                .roles = dispatchers,
                .handler = [&s](Call& call) {
                    const auto id = call.id_param("id");
                    pqxx::work tx(call.db());
                    deactivate_eta_subscription(tx, id, call.actor());
                    tx.commit();
                    if (s.eta_subscriptions_changed) {
                        s.eta_subscriptions_changed();
                    }
                    return json_response({{"subscription_id", id}, {"active", false}});
                }});
    router.add({.method = Method::get,
                .pattern = "/api/eta/subscriptions/{id}/deliveries",
                .roles = dispatchers,
                .handler = [](Call& call) {
                    const auto id = call.id_param("id");
                    const auto limit = page_limit(call, 100, 1000);
                    pqxx::read_transaction tx(call.db());
                    return json_response(
                        {{"subscription_id", id},
                         {"deliveries", eta_subscription_deliveries(tx, id, limit)}});
                }});
}

}  // namespace fleet::server::api
