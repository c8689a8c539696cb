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

PostgisEventStore::PostgisEventStore(geo::ConnectionFactory connections)
    : connections_(std::move(connections)) {}

pqxx::connection& PostgisEventStore::connection() {
    if (!conn_ || !conn_->is_open()) {
        conn_.reset();
        conn_ = connections_.connect("fleetd events");
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

void PostgisEventStore::save_summary(const Assignment& a, const ShiftSummary& s) {
    if (a.assignment_id <= 0) {
        return;  // a plan that is not stored (tests, benchmarks) has no row to refer to
    }
    nlohmann::json deviations = nlohmann::json::array();
    for (const auto& e : s.deviations) {
        deviations.push_back(
            {{"kind", to_string(e.kind)},
             {"started_at", timestamp(e.started_at)},
             {"ended_at", e.ended_at ? nlohmann::json(timestamp(*e.ended_at)) : nlohmann::json()},
             {"magnitude", e.magnitude},
             {"cause", e.cause},
             {"details", e.details}});
    }
    try {
        pqxx::work tx(connection());
        tx.exec_params(
            "INSERT INTO fleet.shift_results (assignment_id, vehicle_id, driver_id, trips_planned,"
            " trips_served, stops_planned, stops_served, km_planned, km_driven, hours_planned,"
            " hours_worked, timepoints, timepoints_on_time, punctuality, deviations)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb)"
            " ON CONFLICT (assignment_id) DO UPDATE SET trips_served = EXCLUDED.trips_served,"
            " stops_served = EXCLUDED.stops_served, km_driven = EXCLUDED.km_driven,"
            " hours_worked = EXCLUDED.hours_worked, timepoints = EXCLUDED.timepoints,"
            " timepoints_on_time = EXCLUDED.timepoints_on_time,"
            " punctuality = EXCLUDED.punctuality, deviations = EXCLUDED.deviations,"
            " computed_at = now()",
            a.assignment_id, a.vehicle_id, a.driver_id, static_cast<int>(s.trips_planned),
            static_cast<int>(s.trips_served), static_cast<int>(s.stops_planned),
            static_cast<int>(s.stops_served), s.km_planned, s.km_driven, s.hours_planned,
            s.hours_worked, static_cast<int>(s.timepoints), static_cast<int>(s.timepoints_on_time),
            s.timepoints == 0 ? std::nullopt : std::optional(s.punctuality()), deviations.dump());
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        conn_.reset();
        throw DatabaseError(std::string("shift results: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("shift results: ") + e.what());
    }
}

}  // namespace fleet::dispatch
