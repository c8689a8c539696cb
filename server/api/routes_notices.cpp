// Road and weather notices through the API: made from a GeoJSON area (or routes and stops),
// listed, read with their deliveries per driver, withdrawn; by the same functions as fleetctl
// notice (journalled; fleetd's notice service sends each within a second of its commit).
#include "dispatch/notices.hpp"
#include "geo/iso_time.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

geo::Millis now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

nlohmann::json delivery_json(const dispatch::Delivery& d) {
    return {
        {"driver_id", d.driver_id},
        {"driver", d.driver},
        {"vehicle_id", d.vehicle_id == 0 ? nlohmann::json() : nlohmann::json(d.vehicle_id)},
        {"vehicle", or_null(d.registration)},
        {"assignment_id", d.assignment_id ? nlohmann::json(*d.assignment_id) : nlohmann::json()},
        {"rule", d.rule},
        {"state", d.state},
        {"withdrawal_state", or_null(d.withdrawal_state)},
        {"attempts", d.attempts},
        {"queued_at", or_null(d.queued_at)},
        {"sent_at", or_null(d.sent_at)},
        {"delivered_at", or_null(d.delivered_at)},
        {"read_at", or_null(d.read_at)},
        {"expired_at", or_null(d.expired_at)},
        {"failed_at", or_null(d.failed_at)},
        {"failure", or_null(d.failure)},
        {"accepted", d.accepted ? nlohmann::json(*d.accepted) : nlohmann::json()},
        {"reply", or_null(d.reply_kind)},
        {"reply_text", or_null(d.reply_text)},
        {"replied_at", or_null(d.replied_at)}};
}

nlohmann::json notice_json(const dispatch::NoticeRecord& n) {
    return {{"id", n.notice_id},
            {"kind", n.kind},
            {"replies", n.replies},
            {"category", dispatch::to_string(n.category)},
            {"severity", n.severity},
            {"title", n.title},
            {"short_text", n.short_text},
            {"text", n.full_text},
            {"valid_from", geo::iso_utc(n.valid_from)},
            {"valid_until", geo::iso_utc(n.valid_until)},
            {"area", n.area},
            {"line", n.line},
            {"buffer_m", n.buffer_m ? nlohmann::json(*n.buffer_m) : nlohmann::json()},
            {"routes", n.routes},
            {"stops", n.stops},
            {"created_by", n.created_by},
            {"created_at", geo::iso_utc(n.created_at)},
            {"withdrawn_at",
             n.withdrawn_at ? nlohmann::json(geo::iso_utc(*n.withdrawn_at)) : nlohmann::json()},
            {"withdrawn_by", or_null(n.withdrawn_by)},
            {"deliveries", n.deliveries}};
}

// A limited dispatcher sees the deliveries to the vehicles of their groups only.
nlohmann::json visible_deliveries(const Call& call,
                                  const std::vector<dispatch::Delivery>& deliveries) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : deliveries) {
        if (call.user().sees(d.vehicle_id)) {
            out.push_back(delivery_json(d));
        }
    }
    return out;
}

dispatch::NoticeRecord notice_of(const Call& call, std::int64_t id) {
    pqxx::read_transaction tx(call.db());
    auto n = dispatch::load_notice(tx, id);
    if (!n) {
        throw NotFoundError("no notice " + std::to_string(id));
    }
    return std::move(*n);
}

// The notices (or messages) in force now, or valid at some time of [from, to).
Response list(const Call& call, const std::string& kind) {
    dispatch::NoticeQuery q;
    q.kind = kind;
    const auto from = call.query_time("from");
    const auto to = call.query_time("to");
    if (from.has_value() != to.has_value()) {
        throw ApiError(400, "bad_request", "from and to go together");
    }
    if (from) {
        if (*to <= *from || *to - *from > std::chrono::days(367)) {
            throw ApiError(400, "bad_request", "to must be after from, at most 367 days later");
        }
        q.from = geo::iso_utc(*from);
        q.to = geo::iso_utc(*to);
    } else {
        q.in_force_at = now();
    }
    q.limit = static_cast<std::size_t>(call.query_integer("limit", 1, 1000).value_or(500));
    pqxx::read_transaction tx(call.db());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : dispatch::list_notices(tx, q)) {
        out.push_back(notice_json(n));
    }
    return json_response({{kind == "message" ? "messages" : "notices", out}});
}

}  // namespace

void add_notice_routes(Router& router, ApiServices& services) {
    router.add({.method = Method::get,
                .pattern = "/api/notices",
                .roles = all_roles,
                .handler = [](Call& call) { return list(call, "notice"); }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/notices",
         .roles = dispatchers,
         .handler = [](Call& call) {
             const auto& b = call.body();
             body::only(b, {"category", "severity", "title", "short_text", "text", "valid_from",
                            "valid_until", "area", "buffer_m", "routes", "stops", "feed"});
             dispatch::NoticeDraft d;
             d.category = dispatch::parse_category(body::required_text(b, "category", 40));
             d.severity = static_cast<int>(body::integer(b, "severity", 1, 3).value_or(1));
             // Byte limits well above the character limits: those are checked by the module,
             // in characters, with their numbers in the message.
             d.title = body::required_text(b, "title", 4 * dispatch::notice_title_max);
             d.short_text =
                 body::required_text(b, "short_text", 4 * dispatch::notice_short_text_max);
             d.full_text = body::text(b, "text", 4 * dispatch::notice_full_text_max).value_or("");
             const auto at = now();
             d.valid_from = body::time(b, "valid_from").value_or(geo::iso_utc(at));
             const auto until = body::time(b, "valid_until");
             if (!until) {
                 throw ApiError(400, "bad_request",
                                "valid_until: required (an ISO 8601 time with its offset)");
             }
             d.valid_until = *until;
             if (const auto it = b.find("area"); it != b.end() && !it->is_null()) {
                 if (!it->is_object()) {
                     throw ApiError(400, "bad_request",
                                    "area: a GeoJSON geometry (or Feature) object is wanted");
                 }
                 d.area_geojson = it->dump();
             }
             d.buffer_m = body::number(b, "buffer_m", 0, dispatch::notice_buffer_max_m).value_or(0);
             d.routes = body::texts(b, "routes", 200).value_or(std::vector<std::string>{});
             d.stops = body::texts(b, "stops", 1000).value_or(std::vector<std::string>{});
             d.feed = body::text(b, "feed", 64).value_or("local");
             d.actor = call.actor();
             pqxx::work tx(call.db());
             const auto made = dispatch::create_notice(tx, d, at);
             tx.commit();
             auto n = notice_of(call, made.notice_id);
             return json_response({{"notice", notice_json(n)},
                                   {"deliveries", visible_deliveries(call, made.deliveries)}},
                                  201);
         }});
    router.add(
        {.method = Method::get,
         .pattern = "/api/notices/{id}",
         .roles = all_roles,
         .handler = [](Call& call) {
             return json_response({{"notice", notice_json(notice_of(call, call.id_param("id")))}});
         }});
    router.add(
        {.method = Method::get,
         .pattern = "/api/notices/{id}/deliveries",
         .roles = all_roles,
         .handler = [](Call& call) {
             const auto id = call.id_param("id");
             notice_of(call, id);
             pqxx::read_transaction tx(call.db());
             return json_response(
                 {{"notice_id", id},
                  {"deliveries", visible_deliveries(call, dispatch::notice_deliveries(tx, id))}});
         }});
    router.add({.method = Method::post,
                .pattern = "/api/notices/{id}/withdraw",
                .roles = dispatchers,
                .handler = [](Call& call) {
                    const auto id = call.id_param("id");
                    const auto& b = call.body();
                    body::only(b, {"reason"});
                    const auto reason = body::text(b, "reason", 2000).value_or("");
                    {
                        pqxx::work tx(call.db());
                        dispatch::withdraw_notice(tx, id, call.actor(), reason, now());
                        tx.commit();
                    }
                    return json_response({{"notice", notice_json(notice_of(call, id))}});
                }});
    // Messages to drivers: to a driver, a vehicle, a group or everyone on a route; the native
    // terminal offers the canned replies, and the driver's answer comes back on the delivery,
    // the stream and the journal.
    router.add({.method = Method::get,
                .pattern = "/api/messages",
                .roles = all_roles,
                .handler = [](Call& call) { return list(call, "message"); }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/messages",
         .roles = dispatchers,
         .handler = [&services](Call& call) {
             const auto& b = call.body();
             body::only(b, {"text", "severity", "drivers", "vehicles", "groups", "routes", "feed",
                            "replies", "valid_minutes"});
             dispatch::MessageDraft d;
             d.text = body::required_text(b, "text", 4 * dispatch::notice_short_text_max);
             d.severity = static_cast<int>(body::integer(b, "severity", 1, 3).value_or(1));
             d.drivers = body::texts(b, "drivers", 200).value_or(std::vector<std::string>{});
             d.vehicles = body::texts(b, "vehicles", 200).value_or(std::vector<std::string>{});
             d.groups = body::texts(b, "groups", 50).value_or(std::vector<std::string>{});
             d.routes = body::texts(b, "routes", 50).value_or(std::vector<std::string>{});
             d.feed = body::text(b, "feed", 64).value_or("local");
             d.replies = body::texts(b, "replies", dispatch::message_replies_max)
                             .value_or(services.settings.message_replies);
             d.validity = std::chrono::minutes(
                 body::integer(b, "valid_minutes", 1, 7 * 24 * 60).value_or(12 * 60));
             d.actor = call.actor();
             const auto& user = call.user();
             if (user.limited && (!d.groups.empty() || !d.routes.empty() || !d.drivers.empty())) {
                 throw ApiError(403, "forbidden",
                                "a dispatcher limited to groups sends to their vehicles: "
                                "give vehicles");
             }
             for (const auto& v : d.vehicles) {
                 check_vehicle(call, services.directory, v);
             }
             pqxx::work tx(call.db());
             const auto made = dispatch::create_message(tx, d, now());
             tx.commit();
             auto n = notice_of(call, made.notice_id);
             return json_response({{"message", notice_json(n)},
                                   {"deliveries", visible_deliveries(call, made.deliveries)}},
                                  201);
         }});
}

}  // namespace fleet::server::api
