// Transport-process records through the API: the stays of vehicles in loading zones for a
// period (JSON or CSV), per vehicle or waybill, and the cargo an operator records on one.
#include <sstream>

#include "dispatch/transport.hpp"
#include "geo/iso_time.hpp"
#include "server/api/api.hpp"
#include "server/transport_sheet.hpp"

namespace fleet::server::api {

void add_transport_routes(Router& router, ApiServices& /*services*/) {
    router.add(
        {.method = Method::get,
         .pattern = "/api/transport",
         .roles = all_roles,
         .handler = [](Call& call) {
             const auto from = call.query_time("from");
             const auto to = call.query_time("to");
             if (!from || !to) {
                 throw ApiError(400, "bad_request",
                                "from and to are required (ISO 8601 times with their offset)");
             }
             if (*to <= *from || *to - *from > std::chrono::days(367)) {
                 throw ApiError(400, "bad_request",
                                "to must be after from, at most 367 days later");
             }
             const auto format = call.query("format").value_or("json");
             if (format != "json" && format != "csv") {
                 throw ApiError(400, "bad_request", "format: json or csv is wanted");
             }
             dispatch::TransportQuery q{.from = *from, .to = *to};
             q.vehicle_id = call.query_integer("vehicle", 1, INT64_MAX);
             q.waybill_id = call.query_integer("waybill", 1, INT64_MAX);
             const auto& user = call.user();
             if (user.limited && (!q.vehicle_id || !user.sees(*q.vehicle_id))) {
                 throw ApiError(403, "forbidden",
                                "a dispatcher limited to groups reads the records of one of their "
                                "vehicles: give vehicle=ID");
             }
             pqxx::read_transaction tx(call.db());
             const auto records = dispatch::transport_records(tx, q);
             if (format == "csv") {
                 std::ostringstream out;
                 waybills::write_csv(out, transport_sheet(records));
                 Response r{200, "text/csv; charset=utf-8", out.str()};
                 r.headers.emplace_back("Content-Disposition",
                                        "attachment; filename=\"transport.csv\"");
                 return r;
             }
             nlohmann::json out = nlohmann::json::array();
             const auto number = [](const auto& v) {
                 return v ? nlohmann::json(*v) : nlohmann::json();
             };
             for (const auto& r : records) {
                 out.push_back({{"id", r.visit_id},
                                {"vehicle_id", r.vehicle_id},
                                {"vehicle", r.registration},
                                {"zone", r.zone_code},
                                {"zone_name", r.zone_name},
                                {"arrived_at", r.arrived_at},
                                {"departed_at", or_null(r.departed_at)},
                                {"dwell_s", number(r.dwell_s)},
                                {"waybill_id", number(r.waybill_id)},
                                {"waybill_number", number(r.waybill_number)},
                                {"operation", or_null(r.operation)},
                                {"cargo", or_null(r.cargo)},
                                {"quantity", number(r.quantity)},
                                {"unit", or_null(r.unit)},
                                {"documents", or_null(r.documents)},
                                {"noted_by", or_null(r.noted_by)},
                                {"noted_at", or_null(r.noted_at)}});
             }
             return json_response({{"records", out}});
         }});
    router.add({.method = Method::post,
                .pattern = "/api/transport/{id}/cargo",
                .roles = dispatchers,
                .handler = [](Call& call) {
                    const auto id = call.id_param("id");
                    const auto& b = call.body();
                    body::only(b, {"operation", "cargo", "quantity", "unit", "documents"});
                    dispatch::CargoDetails d;
                    d.operation = body::required_text(b, "operation", 20);
                    d.cargo = body::required_text(b, "cargo", 800);
                    d.quantity = body::number(b, "quantity", 0, 1e9);
                    d.unit = body::text(b, "unit", 80).value_or("");
                    d.documents = body::text(b, "documents", 2000).value_or("");
                    d.actor = call.actor();
                    pqxx::work tx(call.db());
                    const auto r = tx.exec_params(
                        "SELECT vehicle_id FROM fleet.zone_visits WHERE visit_id = $1", id);
                    if (!r.empty() && !call.user().sees(r[0][0].as<std::int64_t>())) {
                        throw NotFoundError("no stay " + std::to_string(id));
                    }
                    dispatch::record_cargo(tx, id, d);
                    tx.commit();
                    return json_response({{"id", id}});
                }});
}

}  // namespace fleet::server::api
