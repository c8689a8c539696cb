#include "dispatch/transport.hpp"

#include <cmath>

#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "geo/journal.hpp"
#include "geo/utf8.hpp"

namespace fleet::dispatch {

namespace {

std::string text_of(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

template <typename T>
std::optional<T> optional_of(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

}  // namespace

int detect_zone_visits(pqxx::transaction_base& tx, Millis from, Millis to) {
    if (to <= from) {
        throw InputError("from " + geo::iso_utc(from) + " is not before to " + geo::iso_utc(to));
    }
    if (to - from > std::chrono::days(31)) {
        throw InputError("stays are found for at most 31 days at once");
    }
    return tx
        .exec_params1("SELECT fleet.detect_zone_visits($1::timestamptz, $2::timestamptz)",
                      geo::iso_utc(from), geo::iso_utc(to))[0]
        .as<int>();
}

std::vector<TransportRecord> transport_records(pqxx::transaction_base& tx,
                                               const TransportQuery& q) {
    if (q.to <= q.from) {
        throw InputError("from " + geo::iso_utc(q.from) + " is not before to " +
                         geo::iso_utc(q.to));
    }
    std::vector<TransportRecord> out;
    const char* const utc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";
    for (const auto& r : tx.exec_params(
             std::string("SELECT visit_id, vehicle_id, registration, zone_code, zone_name,"
                         " to_char(arrived_at AT TIME ZONE 'UTC', ") +
                 utc + ") AS arrived_at, to_char(departed_at AT TIME ZONE 'UTC', " + utc +
                 ") AS departed_at, dwell_s, waybill_id, waybill_number, operation, cargo,"
                 " quantity::float8 AS quantity, unit, documents, noted_by,"
                 " to_char(noted_at AT TIME ZONE 'UTC', " +
                 utc +
                 ") AS noted_at FROM fleet.transport_records"
                 " WHERE arrived_at >= $1::timestamptz AND arrived_at < $2::timestamptz"
                 " AND ($3::bigint IS NULL OR vehicle_id = $3)"
                 " AND ($4::bigint IS NULL OR waybill_id = $4)"
                 " ORDER BY arrived_at, visit_id LIMIT $5",
             geo::iso_utc(q.from), geo::iso_utc(q.to), q.vehicle_id, q.waybill_id,
             static_cast<std::int64_t>(q.limit))) {
        TransportRecord t;
        t.visit_id = r["visit_id"].as<std::int64_t>();
        t.vehicle_id = r["vehicle_id"].as<std::int64_t>();
        t.registration = r["registration"].as<std::string>();
        t.zone_code = r["zone_code"].as<std::string>();
        t.zone_name = r["zone_name"].as<std::string>();
        t.arrived_at = r["arrived_at"].as<std::string>();
        t.departed_at = text_of(r["departed_at"]);
        t.dwell_s = optional_of<double>(r["dwell_s"]);
        t.waybill_id = optional_of<std::int64_t>(r["waybill_id"]);
        t.waybill_number = optional_of<std::int64_t>(r["waybill_number"]);
        t.operation = text_of(r["operation"]);
        t.cargo = text_of(r["cargo"]);
        t.quantity = optional_of<double>(r["quantity"]);
        t.unit = text_of(r["unit"]);
        t.documents = text_of(r["documents"]);
        t.noted_by = text_of(r["noted_by"]);
        t.noted_at = text_of(r["noted_at"]);
        out.push_back(std::move(t));
    }
    return out;
}

void record_cargo(pqxx::transaction_base& tx, std::int64_t visit_id, const CargoDetails& d) {
    if (d.actor.empty()) {
        throw InputError("cargo needs an actor (who records it)");
    }
    if (d.operation != "loading" && d.operation != "unloading") {
        throw InputError("operation must be loading or unloading, not '" + d.operation + "'");
    }
    geo::check_text("cargo", d.cargo, 200, true, false);
    geo::check_text("unit", d.unit, 20, false, false);
    geo::check_text("documents", d.documents, 500, false, true);
    if (d.quantity && (!std::isfinite(*d.quantity) || *d.quantity < 0 || *d.quantity > 1e9)) {
        throw InputError("quantity must be a number from 0 to 1e9");
    }
    if (!d.unit.empty() && !d.quantity) {
        throw InputError("unit given without a quantity");
    }
    const auto before = tx.exec_params(
        "SELECT v.vehicle_id, z.code, coalesce(v.operation, ''), coalesce(v.cargo, ''),"
        " v.quantity::text FROM fleet.zone_visits v JOIN fleet.zones z USING (zone_id)"
        " WHERE v.visit_id = $1 FOR UPDATE OF v",
        visit_id);
    if (before.empty()) {
        throw NotFoundError("no stay " + std::to_string(visit_id) + " in a loading zone");
    }
    tx.exec_params(
        "UPDATE fleet.zone_visits SET operation = $2, cargo = $3, quantity = $4::numeric,"
        " unit = NULLIF($5, ''), documents = NULLIF($6, ''), noted_by = $7, noted_at = now()"
        " WHERE visit_id = $1",
        visit_id, d.operation, d.cargo, d.quantity, d.unit, d.documents, d.actor);
    nlohmann::json details = {{"visit_id", visit_id},
                              {"operation", d.operation},
                              {"cargo", d.cargo},
                              {"quantity", nullptr},
                              {"unit", d.unit},
                              {"documents", d.documents},
                              {"zone", before[0][1].as<std::string>()}};
    if (d.quantity) {
        details["quantity"] = *d.quantity;
    }
    if (!before[0][3].as<std::string>().empty()) {
        details["before"] = {{"operation", before[0][2].as<std::string>()},
                             {"cargo", before[0][3].as<std::string>()},
                             {"quantity", text_of(before[0][4])}};
    }
    geo::record(tx, {.actor = d.actor,
                     .action = "cargo recorded",
                     .subject = before[0][1].as<std::string>(),
                     .details = details,
                     .kind = "transport",
                     .vehicle_id = before[0][0].as<std::int64_t>()});
}

}  // namespace fleet::dispatch
