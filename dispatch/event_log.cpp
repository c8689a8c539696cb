#include "dispatch/event_log.hpp"

#include <algorithm>

#include "dispatch/events.hpp"
#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "geo/utf8.hpp"

namespace fleet::dispatch {

namespace {

constexpr EventKind all_kinds[] = {EventKind::late,
                                   EventKind::early,
                                   EventKind::early_departure,
                                   EventKind::off_route,
                                   EventKind::missed_stop,
                                   EventKind::not_departed,
                                   EventKind::unplanned_stop,
                                   EventKind::long_dwell,
                                   EventKind::overspeed,
                                   EventKind::signal_lost,
                                   EventKind::moving_unassigned,
                                   EventKind::no_vehicle_data};

// The columns every read selects, in the order `from_row` reads them.
constexpr const char* columns =
    "e.event_id, e.vehicle_id, v.registration, e.kind,"
    " to_char(e.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(to_char(e.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"
    " e.magnitude, coalesce(e.cause, ''), e.details::text, e.assignment_id, e.trip_id,"
    " ST_AsGeoJSON(e.geom, 6),"
    " coalesce(to_char(e.acknowledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "''),"
    " coalesce(e.acknowledged_by, ''), coalesce(e.acknowledgement, '')";

StoredEvent from_row(const pqxx::row& r) {
    StoredEvent e;
    e.event_id = r[0].as<std::int64_t>();
    e.vehicle_id = r[1].as<std::int64_t>();
    e.registration = r[2].as<std::string>();
    e.kind = r[3].as<std::string>();
    e.started_at = r[4].as<std::string>();
    e.ended_at = r[5].as<std::string>();
    if (!r[6].is_null()) {
        e.magnitude = r[6].as<double>();
    }
    e.cause = r[7].as<std::string>();
    e.details = nlohmann::json::parse(r[8].as<std::string>(), nullptr, false);
    if (e.details.is_discarded()) {
        e.details = nlohmann::json::object();
    }
    if (!r[9].is_null()) {
        e.assignment_id = r[9].as<std::int64_t>();
    }
    if (!r[10].is_null()) {
        e.trip_id = r[10].as<std::int64_t>();
    }
    e.geometry = r[11].is_null() ? nlohmann::json()
                                 : nlohmann::json::parse(r[11].as<std::string>(), nullptr, false);
    if (e.geometry.is_discarded()) {
        e.geometry = nlohmann::json();
    }
    e.acknowledged_at = r[12].as<std::string>();
    e.acknowledged_by = r[13].as<std::string>();
    e.acknowledgement = r[14].as<std::string>();
    return e;
}

std::optional<std::string> id_array(const std::optional<std::set<std::int64_t>>& ids) {
    if (!ids) {
        return std::nullopt;
    }
    std::string out = "{";
    for (const auto id : *ids) {
        out += (out.size() > 1 ? "," : "") + std::to_string(id);
    }
    return out + "}";
}

std::optional<std::string> iso(const std::optional<geo::Millis>& t) {
    return t ? std::optional<std::string>(geo::iso_utc(*t)) : std::nullopt;
}

}  // namespace

std::vector<std::string> event_kinds() {
    std::vector<std::string> out;
    for (const auto k : all_kinds) {
        out.emplace_back(to_string(k));
    }
    return out;
}

std::vector<StoredEvent> list_events(pqxx::connection& conn, const EventFilter& filter) {
    if (!filter.kind.empty()) {
        const auto kinds = event_kinds();
        if (std::find(kinds.begin(), kinds.end(), filter.kind) == kinds.end()) {
            std::string list;
            for (const auto& k : kinds) {
                list += (list.empty() ? "" : ", ") + k;
            }
            throw InputError("kind: not one of " + list);
        }
    }
    if (filter.from && filter.to && !(*filter.from < *filter.to)) {
        throw InputError("from: must be before to");
    }
    pqxx::read_transaction tx(conn);
    std::vector<StoredEvent> out;
    const auto rows =
        tx.exec_params(std::string("SELECT ") + columns +
                           " FROM fleet.events e JOIN fleet.vehicles v USING (vehicle_id)"
                           " WHERE ($1::timestamptz IS NULL OR e.started_at >= $1)"
                           " AND ($2::timestamptz IS NULL OR e.started_at < $2)"
                           " AND ($3::bigint IS NULL OR e.vehicle_id = $3)"
                           " AND ($4 = '' OR e.kind = $4)"
                           " AND ($5::boolean IS NULL OR (e.ended_at IS NULL) = $5)"
                           " AND ($6::boolean IS NULL OR (e.acknowledged_at IS NOT NULL) = $6)"
                           " AND ($7::bigint[] IS NULL OR e.vehicle_id = ANY($7::bigint[]))"
                           " AND ($8::bigint IS NULL OR e.event_id < $8)"
                           " ORDER BY e.event_id DESC LIMIT $9",
                       iso(filter.from), iso(filter.to), filter.vehicle_id, filter.kind,
                       filter.open, filter.acknowledged, id_array(filter.vehicles),
                       filter.before_id, static_cast<std::int64_t>(filter.limit));
    out.reserve(rows.size());
    for (const auto& r : rows) {
        out.push_back(from_row(r));
    }
    return out;
}

StoredEvent event(pqxx::connection& conn, std::int64_t event_id,
                  const std::optional<std::set<std::int64_t>>& vehicles) {
    pqxx::read_transaction tx(conn);
    const auto rows = tx.exec_params(
        std::string("SELECT ") + columns +
            " FROM fleet.events e JOIN fleet.vehicles v USING (vehicle_id) WHERE e.event_id = $1"
            " AND ($2::bigint[] IS NULL OR e.vehicle_id = ANY($2::bigint[]))",
        event_id, id_array(vehicles));
    if (rows.empty()) {
        throw NotFoundError("no such event " + std::to_string(event_id));
    }
    return from_row(rows[0]);
}

StoredEvent acknowledge_event(pqxx::connection& conn, std::int64_t event_id,
                              const std::string& comment, const std::string& actor,
                              const std::optional<std::set<std::int64_t>>& vehicles) {
    if (comment.empty() || comment.size() > 2000 || !geo::is_valid_utf8(comment) ||
        comment.find('\0') != std::string::npos) {
        throw InputError("comment: 1 to 2000 bytes of text are wanted");
    }
    {
        pqxx::work tx(conn);
        const auto rows = tx.exec_params(
            "SELECT e.vehicle_id, e.kind, e.acknowledged_at IS NOT NULL, e.assignment_id,"
            " v.registration FROM fleet.events e JOIN fleet.vehicles v USING (vehicle_id)"
            " WHERE e.event_id = $1 AND ($2::bigint[] IS NULL OR e.vehicle_id = ANY($2::bigint[]))"
            " FOR UPDATE OF e",
            event_id, id_array(vehicles));
        if (rows.empty()) {
            throw NotFoundError("no such event " + std::to_string(event_id));
        }
        if (rows[0][2].as<bool>()) {
            throw ConflictError("event " + std::to_string(event_id) + " is acknowledged already");
        }
        tx.exec_params(
            "UPDATE fleet.events SET acknowledged_at = now(), acknowledged_by = $2,"
            " acknowledgement = $3 WHERE event_id = $1",
            event_id, actor, comment);
        geo::JournalEntry entry{
            .actor = actor,
            .action = "event acknowledged",
            .subject = rows[0][4].as<std::string>() + " " + rows[0][1].as<std::string>(),
            .details = {{"event_id", event_id}, {"comment", comment}},
            .kind = "event",
            .vehicle_id = rows[0][0].as<std::int64_t>()};
        if (!rows[0][3].is_null()) {
            entry.assignment_id = rows[0][3].as<std::int64_t>();
        }
        geo::record(tx, entry);
        tx.commit();
    }
    return event(conn, event_id);
}

}  // namespace fleet::dispatch
