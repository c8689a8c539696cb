#include "dispatch/event_store.hpp"

#include <charconv>

#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

void append_coordinate(std::string& out, double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

std::string timestamp(Millis t) {
    // Unix time with milliseconds; converted by to_timestamp() in SQL.
    const auto ms = t.time_since_epoch().count();
    return std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
}

std::string discriminator(const Event& e) {
    if (e.details.contains("stop_id")) {
        return "stop:" + e.details["stop_id"].dump();
    }
    return "";
}

}  // namespace

std::string event_wkt(const Event& event) {
    if (event.geometry.empty()) {
        return "";
    }
    std::string out = event.geometry.size() == 1 ? "POINT(" : "LINESTRING(";
    for (std::size_t i = 0; i < event.geometry.size(); ++i) {
        if (i > 0) {
            out += ",";
        }
        append_coordinate(out, event.geometry[i].lon_deg);
        out += ' ';
        append_coordinate(out, event.geometry[i].lat_deg);
    }
    return out + ")";
}

PostgisEventStore::PostgisEventStore(std::string database_url) : url_(std::move(database_url)) {}

pqxx::connection& PostgisEventStore::connection() {
    if (!conn_ || !conn_->is_open()) {
        conn_.reset();
        conn_ = std::make_unique<pqxx::connection>(url_);
        conn_->prepare("save_event",
                       "INSERT INTO fleet.events (vehicle_id, assignment_id, trip_id, kind,"
                       " started_at, ended_at, geom, magnitude, cause, details, discriminator)"
                       " VALUES ($1, $2, $3, $4, to_timestamp($5::double precision),"
                       " to_timestamp($6::double precision), ST_GeomFromText(NULLIF($7, ''), 4326),"
                       " $8, NULLIF($9, ''), $10::jsonb, $11)"
                       " ON CONFLICT (vehicle_id, kind, started_at, discriminator) DO UPDATE SET"
                       " ended_at = EXCLUDED.ended_at, geom = EXCLUDED.geom,"
                       " magnitude = EXCLUDED.magnitude, cause = EXCLUDED.cause,"
                       " details = EXCLUDED.details, updated_at = now()");
    }
    return *conn_;
}

void PostgisEventStore::save(const std::vector<Event>& events) {
    if (events.empty()) {
        return;
    }
    try {
        pqxx::work tx(connection());
        for (const auto& e : events) {
            const std::optional<std::string> ended =
                e.ended_at ? std::optional(timestamp(*e.ended_at)) : std::nullopt;
            tx.exec_prepared("save_event", e.vehicle_id, e.assignment_id, e.trip_id,
                             std::string(to_string(e.kind)), timestamp(e.started_at), ended,
                             event_wkt(e), e.magnitude, e.cause, e.details.dump(),
                             discriminator(e));
        }
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        conn_.reset();
        throw DatabaseError(std::string("events: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("events: ") + e.what());
    }
}

}  // namespace fleet::dispatch
