#include "dispatch/notices.hpp"

#include <cmath>

#include "dispatch/detail/assignments.hpp"
#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "geo/journal.hpp"
#include "geo/utf8.hpp"

namespace fleet::dispatch {

namespace {

struct CategoryRow {
    NoticeCategory category;
    const char* name;
    const char* cause;   // GTFS-realtime Alert.Cause
    const char* effect;  // GTFS-realtime Alert.Effect
};

// One table drives the names, parsing and the GTFS-realtime mapping.
constexpr CategoryRow category_rows[] = {
    {NoticeCategory::closure, "closure", "OTHER_CAUSE", "DETOUR"},
    {NoticeCategory::road_works, "road_works", "CONSTRUCTION", "DETOUR"},
    {NoticeCategory::accident, "accident", "ACCIDENT", "SIGNIFICANT_DELAYS"},
    {NoticeCategory::congestion, "congestion", "OTHER_CAUSE", "SIGNIFICANT_DELAYS"},
    {NoticeCategory::ice, "ice", "WEATHER", "OTHER_EFFECT"},
    {NoticeCategory::snow, "snow", "WEATHER", "SIGNIFICANT_DELAYS"},
    {NoticeCategory::fog, "fog", "WEATHER", "OTHER_EFFECT"},
    {NoticeCategory::storm, "storm", "WEATHER", "SIGNIFICANT_DELAYS"},
    {NoticeCategory::flooding, "flooding", "WEATHER", "DETOUR"},
    {NoticeCategory::other, "other", "UNKNOWN_CAUSE", "UNKNOWN_EFFECT"},
};

const CategoryRow& row_of(NoticeCategory category) {
    for (const auto& r : category_rows) {
        if (r.category == category) {
            return r;
        }
    }
    return category_rows[std::size(category_rows) - 1];
}

std::string utc(Millis t) {
    return geo::iso_utc(t);
}

Millis millis_of(const pqxx::field& f) {
    return Millis(std::chrono::milliseconds(std::llround(f.as<double>())));
}

std::string text_of(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

Millis parse_time(const std::string& field, const std::string& text) {
    const auto t = geo::parse_iso_time(text);
    if (!t) {
        throw InputError(field + ": '" + text +
                         "' is not an ISO 8601 time with its offset (2026-12-02T08:00+03:00)");
    }
    return *t;
}

// The area as GeoJSON text PostGIS reads, and whether it is a line to buffer. A Feature is
// taken for its geometry.
struct AreaInput {
    std::string geometry;
    bool line = false;
};

AreaInput parse_area(const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw InputError("area: not GeoJSON (not valid JSON)");
    }
    if (j.is_object() && j.value("type", "") == "Feature") {
        j = j.contains("geometry") ? j["geometry"] : nlohmann::json();
    }
    if (!j.is_object() || !j.contains("type") || !j["type"].is_string() ||
        !j.contains("coordinates") || !j["coordinates"].is_array()) {
        throw InputError("area: a GeoJSON geometry (or Feature) with type and coordinates");
    }
    const std::string type = j["type"].get<std::string>();
    if (type != "Polygon" && type != "MultiPolygon" && type != "LineString" &&
        type != "MultiLineString") {
        throw InputError("area: a " + type +
                         " is neither a polygon nor a line (Polygon, MultiPolygon, LineString or "
                         "MultiLineString)");
    }
    return {j.dump(), type == "LineString" || type == "MultiLineString"};
}

void check_draft(const NoticeDraft& d, Millis now) {
    if (d.actor.empty()) {
        throw InputError("a notice needs an actor (who makes it)");
    }
    if (d.severity < 1 || d.severity > 3) {
        throw InputError("severity must be 1 (info), 2 (warning) or 3 (danger), not " +
                         std::to_string(d.severity));
    }
    geo::check_text("title", d.title, notice_title_max, true, false);
    geo::check_text("short text", d.short_text, notice_short_text_max, true, false);
    geo::check_text("full text", d.full_text, notice_full_text_max, false, true);
    const Millis from = parse_time("valid from", d.valid_from);
    const Millis until = parse_time("valid until", d.valid_until);
    if (until <= from) {
        throw InputError("valid until (" + d.valid_until + ") is not after valid from (" +
                         d.valid_from + ")");
    }
    if (until - from > notice_validity_max) {
        throw InputError("the validity is longer than " +
                         std::to_string(notice_validity_max.count() / 24) + " days");
    }
    if (until <= now) {
        throw InputError("the validity ended already (valid until " + d.valid_until + ")");
    }
    if (d.area_geojson.empty() && d.routes.empty() && d.stops.empty()) {
        throw InputError("a notice needs an area, routes or stops: where it applies");
    }
    if (!std::isfinite(d.buffer_m) || d.buffer_m < 0 || d.buffer_m > notice_buffer_max_m) {
        throw InputError("buffer must be between 0 and " +
                         std::to_string(static_cast<int>(notice_buffer_max_m)) + " m");
    }
}

// Checks the area in PostGIS and returns it as the geometry to store (a line buffered).
void check_area(pqxx::transaction_base& tx, const AreaInput& area, double buffer_m) {
    if (area.line && buffer_m <= 0) {
        throw InputError("area: a line needs a buffer (the metres either side of it)");
    }
    if (!area.line && buffer_m > 0) {
        throw InputError("area: a polygon takes no buffer");
    }
    pqxx::result r;
    try {
        tx.exec0("SAVEPOINT notice_area");
        r = tx.exec_params(
            "SELECT ST_IsValid(g), ST_IsValidReason(g), ST_XMin(g), ST_XMax(g), ST_YMin(g),"
            " ST_YMax(g), ST_IsEmpty(g) FROM (SELECT ST_GeomFromGeoJSON($1) AS g) s",
            area.geometry);
        tx.exec0("RELEASE SAVEPOINT notice_area");
    } catch (const pqxx::sql_error& e) {
        tx.exec0("ROLLBACK TO SAVEPOINT notice_area");
        const std::string what = e.what();
        throw InputError("area: not a GeoJSON geometry PostGIS reads: " +
                         what.substr(0, what.find('\n')));
    }
    const auto row = r[0];
    if (row[6].as<bool>()) {
        throw InputError("area: the geometry is empty");
    }
    if (row[2].as<double>() < -180 || row[3].as<double>() > 180 || row[4].as<double>() < -90 ||
        row[5].as<double>() > 90) {
        throw InputError(
            "area: coordinates outside WGS 84 (longitude −180..180, latitude −90..90)");
    }
    if (!row[0].as<bool>()) {
        throw InputError("area: invalid geometry: " + row[1].as<std::string>());
    }
}

// SQL that resolves the driver of vehicle `V` at time `T` (placeholders replaced below): the
// driver of its assignment under way or about to start (the one nearest in time among those
// whose work spans T within an hour), else the driver whose terminal is the vehicle's device.
std::string driver_at(const std::string& vehicle, const std::string& at) {
    return "LEFT JOIN LATERAL (SELECT w.driver_id, w.assignment_id FROM fleet.assignment_work w"
           " WHERE w.vehicle_id = " +
           vehicle + " AND w.status = 'planned' AND w.driver_id IS NOT NULL" +
           " AND w.service_date BETWEEN (" + at + " AT TIME ZONE 'UTC')::date - 1 AND (" + at +
           " AT TIME ZONE 'UTC')::date + 1 AND " + at +
           " BETWEEN w.work_start - interval '1 hour' AND w.work_end + interval '1 hour'"
           " ORDER BY abs(extract(epoch FROM " +
           at +
           " - w.work_start)) LIMIT 1) cur ON true"
           " LEFT JOIN LATERAL (SELECT d.driver_id FROM fleet.drivers d"
           " JOIN fleet.devices dv ON dv.device_id = d.terminal_device_id WHERE dv.vehicle_id = " +
           vehicle + " AND d.active ORDER BY d.driver_id LIMIT 1) term ON true";
}

const char* const delivery_columns =
    "d.notice_id, d.driver_id, d.vehicle_id, d.assignment_id, d.rule, d.state,"
    " coalesce(d.withdrawal_state, '') AS withdrawal_state,"
    " coalesce(dr.personnel_number, dr.full_name, '') AS driver,"
    " coalesce(v.registration, '') AS registration, d.attempts, coalesce(d.failure, '') AS failure,"
    " to_char(d.queued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS queued_at,"
    " to_char(d.sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS sent_at,"
    " to_char(d.delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS "
    "delivered_at,"
    " to_char(d.read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS read_at,"
    " to_char(d.expired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS expired_at,"
    " to_char(d.failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS failed_at,"
    " d.accepted, coalesce(d.reply_kind, '') AS reply_kind, coalesce(d.reply_text, '') AS"
    " reply_text,"
    " to_char(d.replied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS replied_at";

Delivery delivery_of(const pqxx::row& r) {
    Delivery d;
    d.notice_id = r["notice_id"].as<std::int64_t>();
    d.driver_id = r["driver_id"].as<std::int64_t>();
    d.vehicle_id = r["vehicle_id"].is_null() ? 0 : r["vehicle_id"].as<std::int64_t>();
    if (!r["assignment_id"].is_null()) {
        d.assignment_id = r["assignment_id"].as<std::int64_t>();
    }
    d.rule = r["rule"].as<std::string>();
    d.state = r["state"].as<std::string>();
    d.withdrawal_state = r["withdrawal_state"].as<std::string>();
    d.driver = r["driver"].as<std::string>();
    d.registration = r["registration"].as<std::string>();
    d.attempts = r["attempts"].as<int>();
    d.failure = r["failure"].as<std::string>();
    d.queued_at = text_of(r["queued_at"]);
    d.sent_at = text_of(r["sent_at"]);
    d.delivered_at = text_of(r["delivered_at"]);
    d.read_at = text_of(r["read_at"]);
    d.expired_at = text_of(r["expired_at"]);
    d.failed_at = text_of(r["failed_at"]);
    if (!r["accepted"].is_null()) {
        d.accepted = r["accepted"].as<bool>();
    }
    d.reply_kind = r["reply_kind"].as<std::string>();
    d.reply_text = r["reply_text"].as<std::string>();
    d.replied_at = text_of(r["replied_at"]);
    return d;
}

// The deliveries of `notice_id` to these drivers, read back with their names.
std::vector<Delivery> read_deliveries(pqxx::transaction_base& tx, std::int64_t notice_id,
                                      const std::vector<std::int64_t>* drivers) {
    std::vector<Delivery> out;
    for (const auto& r : tx.exec_params(
             std::string("SELECT ") + delivery_columns +
                 " FROM fleet.notice_deliveries d JOIN fleet.drivers dr USING (driver_id)"
                 " LEFT JOIN fleet.vehicles v ON v.vehicle_id = d.vehicle_id"
                 " WHERE d.notice_id = $1 AND ($2::bigint[] IS NULL OR d.driver_id = ANY($2))"
                 " ORDER BY coalesce(dr.personnel_number, dr.full_name), d.driver_id",
             notice_id,
             drivers ? std::optional<std::string>(detail::array_literal(*drivers))
                     : std::nullopt)) {
        out.push_back(delivery_of(r));
    }
    return out;
}

std::vector<std::int64_t> driver_ids(const pqxx::result& rows) {
    std::vector<std::int64_t> out;
    for (const auto& r : rows) {
        out.push_back(r[0].as<std::int64_t>());
    }
    return out;
}

// The inside and assignment rules for a notice just stored; returns the drivers queued.
std::vector<std::int64_t> target(pqxx::transaction_base& tx, std::int64_t notice_id,
                                 const std::string& now) {
    std::vector<std::int64_t> drivers;
    // Inside: vehicles whose latest fix (fresh, and the notice already in force) is in the area.
    const auto inside = tx.exec_params(
        "WITH n AS (SELECT notice_id, area, valid_from, valid_until FROM fleet.notices"
        "  WHERE notice_id = $1 AND area IS NOT NULL AND valid_from <= $2::timestamptz),"
        " v AS (SELECT lp.vehicle_id, coalesce(cur.driver_id, term.driver_id) AS driver_id,"
        "  cur.assignment_id FROM n JOIN fleet.latest_positions lp ON ST_Intersects(lp.geom, "
        "n.area) " +
            driver_at("lp.vehicle_id", "$2::timestamptz") +
            "  WHERE lp.device_time > $2::timestamptz - interval '15 minutes')"
            " INSERT INTO fleet.notice_deliveries AS d (notice_id, driver_id, vehicle_id,"
            " assignment_id, rule, state, queued_at)"
            " SELECT $1, driver_id, vehicle_id, assignment_id, 'inside', 'queued', $2::timestamptz"
            " FROM v WHERE driver_id IS NOT NULL ORDER BY vehicle_id"
            " ON CONFLICT (notice_id, driver_id) DO NOTHING RETURNING d.driver_id",
        notice_id, now);
    const auto a = driver_ids(inside);
    drivers.insert(drivers.end(), a.begin(), a.end());

    // Assignment: work that passes through the area, runs on its routes or calls at its stops
    // while the notice is valid, and is not over yet.
    const auto planned = tx.exec_params(
        "WITH n AS (SELECT notice_id, area, valid_from, valid_until FROM fleet.notices"
        "  WHERE notice_id = $1),"
        " aw AS (SELECT w.* FROM fleet.assignment_work w, n WHERE w.status = 'planned'"
        "  AND w.driver_id IS NOT NULL"
        "  AND w.service_date BETWEEN (n.valid_from AT TIME ZONE 'UTC')::date - 2"
        "   AND (n.valid_until AT TIME ZONE 'UTC')::date + 1"
        "  AND w.work_end > n.valid_from AND w.work_start < n.valid_until"
        "  AND w.work_end > $2::timestamptz),"
        // Each trip of the timetabled work with its line and time span (seconds of its service
        // day); freight work along its route's line over the shift.
        " tr AS (SELECT aw.assignment_id, aw.vehicle_id, aw.driver_id, t.route_id,"
        // A trip without a shape (and a route without one) follows its stops.
        "   coalesce(s.geom, r.geom, tt.by_stops) AS geom, tt.first_s, tt.last_s,"
        "   fleet.service_day_start(aw.service_date, aw.time_zone) AS day0"
        "  FROM aw JOIN fleet.assignment_trips x ON x.assignment_id = aw.assignment_id"
        "  JOIN fleet.trips t ON t.trip_id = x.trip_id JOIN fleet.routes r ON r.route_id = "
        "t.route_id"
        "  LEFT JOIN fleet.shapes s ON s.shape_id = t.shape_id"
        "  CROSS JOIN LATERAL (SELECT min(coalesce(st.departure_s, st.arrival_s)) AS first_s,"
        "   max(coalesce(st.arrival_s, st.departure_s)) AS last_s,"
        "   ST_MakeLine(sp.geom ORDER BY st.stop_sequence) AS by_stops FROM fleet.stop_times st"
        "   JOIN fleet.stops sp ON sp.stop_id = st.stop_id WHERE st.trip_id = t.trip_id) tt"
        "  WHERE aw.kind = 'timetable' AND tt.first_s IS NOT NULL"
        "  UNION ALL"
        "  SELECT aw.assignment_id, aw.vehicle_id, aw.driver_id, aw.route_id, r.geom, 0,"
        "   extract(epoch FROM aw.work_end - aw.work_start), aw.work_start"
        "  FROM aw JOIN fleet.routes r ON r.route_id = aw.route_id WHERE aw.kind = 'freight'),"
        " hits AS ("
        // Through the area: when it is there, by the share of the line before and after it.
        "  SELECT tr.assignment_id, tr.vehicle_id, tr.driver_id,"
        "   tr.day0 + (tr.first_s + f.lo * (tr.last_s - tr.first_s)) * interval '1 second' AS t_in,"
        "   tr.day0 + (tr.first_s + f.hi * (tr.last_s - tr.first_s)) * interval '1 second' AS t_out"
        "  FROM tr, n, LATERAL (SELECT min(ST_LineLocatePoint(tr.geom, p.geom)) AS lo,"
        "   max(ST_LineLocatePoint(tr.geom, p.geom)) AS hi"
        "   FROM ST_DumpPoints(ST_Intersection(tr.geom, n.area)) p) f"
        "  WHERE n.area IS NOT NULL AND tr.geom IS NOT NULL AND ST_Intersects(tr.geom, n.area)"
        "   AND f.lo IS NOT NULL"
        "  UNION ALL"
        "  SELECT tr.assignment_id, tr.vehicle_id, tr.driver_id,"
        "   tr.day0 + tr.first_s * interval '1 second', tr.day0 + tr.last_s * interval '1 second'"
        "  FROM tr JOIN fleet.notice_routes nr ON nr.notice_id = $1 AND nr.route_id = tr.route_id"
        "  UNION ALL"
        "  SELECT aw.assignment_id, aw.vehicle_id, aw.driver_id, z.t_at, z.t_at"
        "  FROM aw JOIN fleet.assignment_trips x ON x.assignment_id = aw.assignment_id"
        "  JOIN fleet.stop_times st ON st.trip_id = x.trip_id"
        "  JOIN fleet.notice_stops ns ON ns.notice_id = $1 AND ns.stop_id = st.stop_id"
        "  CROSS JOIN LATERAL (SELECT fleet.service_day_start(aw.service_date, aw.time_zone)"
        "   + coalesce(st.arrival_s, st.departure_s) * interval '1 second' AS t_at) z"
        "  WHERE aw.kind = 'timetable')"
        " INSERT INTO fleet.notice_deliveries AS d (notice_id, driver_id, vehicle_id,"
        " assignment_id, rule, state, queued_at)"
        " SELECT DISTINCT ON (h.driver_id) $1, h.driver_id, h.vehicle_id, h.assignment_id,"
        " 'assignment', 'queued', $2::timestamptz"
        " FROM hits h, n WHERE h.t_out >= n.valid_from AND h.t_in <= n.valid_until"
        " AND h.t_out >= $2::timestamptz"
        " ORDER BY h.driver_id, h.t_in"
        " ON CONFLICT (notice_id, driver_id) DO NOTHING RETURNING d.driver_id",
        notice_id, now);
    const auto b = driver_ids(planned);
    drivers.insert(drivers.end(), b.begin(), b.end());
    return drivers;
}

std::vector<std::int64_t> resolve_codes(pqxx::transaction_base& tx, const char* table,
                                        const char* key, const std::string& what,
                                        const std::vector<std::string>& codes,
                                        const std::string& feed) {
    std::vector<std::int64_t> ids;
    for (const auto& code : codes) {
        geo::check_text(what + " code", code, 200, true, false);
        const auto r = tx.exec_params(std::string("SELECT ") + key + " FROM fleet." + table +
                                          " WHERE feed = $1 AND code = $2",
                                      feed, code);
        if (r.empty()) {
            throw NotFoundError("no " + what + " '" + code + "' in feed '" + feed + "'");
        }
        ids.push_back(r[0][0].as<std::int64_t>());
    }
    return ids;
}

}  // namespace

const char* to_string(NoticeCategory category) {
    return row_of(category).name;
}

NoticeCategory parse_category(std::string_view text) {
    for (const auto& r : category_rows) {
        if (text == r.name) {
            return r.category;
        }
    }
    throw InputError("category '" + std::string(text) + "' is not one of " + category_list());
}

std::string category_list() {
    std::string out;
    for (const auto& r : category_rows) {
        out += (out.empty() ? "" : ", ") + std::string(r.name);
    }
    return out;
}

const char* gtfs_cause(NoticeCategory category) {
    return row_of(category).cause;
}

const char* gtfs_effect(NoticeCategory category) {
    return row_of(category).effect;
}

NoticeCreated create_notice(pqxx::transaction_base& tx, const NoticeDraft& d, Millis now) {
    check_draft(d, now);
    std::optional<AreaInput> area;
    if (!d.area_geojson.empty()) {
        area = parse_area(d.area_geojson);
        check_area(tx, *area, d.buffer_m);
    } else if (d.buffer_m > 0) {
        throw InputError("buffer: given without an area");
    }
    const auto routes = resolve_codes(tx, "routes", "route_id", "route", d.routes, d.feed);
    const auto stops = resolve_codes(tx, "stops", "stop_id", "stop", d.stops, d.feed);
    const std::string now_text = utc(now);

    const auto id =
        tx.exec_params1(
              "INSERT INTO fleet.notices (title, body, short_text, category, severity, cause,"
              " effect, area, line, buffer_m, valid_from, valid_until, created_by, created_at)"
              " SELECT $1, $2, $3, $4, $5, $6, $7,"
              "  CASE WHEN $9::boolean THEN ST_Buffer(g::geography, $10::float8)::geometry ELSE g "
              "END,"
              "  CASE WHEN $9::boolean THEN g END, CASE WHEN $9::boolean THEN $10::float8 END,"
              "  $11::timestamptz, $12::timestamptz, $13, $14::timestamptz"
              " FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($8), 4326) AS g) a RETURNING notice_id",
              d.title, d.full_text, d.short_text, to_string(d.category), d.severity,
              gtfs_cause(d.category), gtfs_effect(d.category),
              area ? std::optional<std::string>(area->geometry) : std::nullopt, area && area->line,
              d.buffer_m, d.valid_from, d.valid_until, d.actor, now_text)[0]
            .as<std::int64_t>();
    if (!routes.empty()) {
        tx.exec_params(
            "INSERT INTO fleet.notice_routes (notice_id, route_id)"
            " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
            id, detail::array_literal(routes));
    }
    if (!stops.empty()) {
        tx.exec_params(
            "INSERT INTO fleet.notice_stops (notice_id, stop_id)"
            " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
            id, detail::array_literal(stops));
    }
    const auto drivers = target(tx, id, now_text);
    geo::JournalEntry entry{.actor = d.actor,
                            .action = "notice created",
                            .subject = d.title,
                            .details = {{"category", to_string(d.category)},
                                        {"severity", d.severity},
                                        {"short_text", d.short_text},
                                        {"valid_from", d.valid_from},
                                        {"valid_until", d.valid_until},
                                        {"targeted", drivers.size()}},
                            .kind = "notice",
                            .notice_id = id};
    geo::record(tx, entry);
    return {id, read_deliveries(tx, id, &drivers)};
}

const std::vector<std::string>& default_replies() {
    static const std::vector<std::string> replies = {"OK", "On my way", "Delayed", "Call me"};
    return replies;
}

namespace {

// A driver's vehicle now: that of the assignment under way (or within an hour), else the one
// whose device is the driver's terminal.
std::optional<std::pair<std::int64_t, std::optional<std::int64_t>>> vehicle_of_driver(
    pqxx::transaction_base& tx, std::int64_t driver, const std::string& now) {
    const auto r = tx.exec_params(
        "SELECT coalesce(cur.vehicle_id, term.vehicle_id), cur.assignment_id"
        " FROM (SELECT $1::bigint AS driver_id) d"
        " LEFT JOIN LATERAL (SELECT w.vehicle_id, w.assignment_id FROM fleet.assignment_work w"
        "  WHERE w.driver_id = d.driver_id AND w.status = 'planned'"
        "  AND w.service_date BETWEEN ($2::timestamptz AT TIME ZONE 'UTC')::date - 1"
        "   AND ($2::timestamptz AT TIME ZONE 'UTC')::date + 1"
        "  AND $2::timestamptz BETWEEN w.work_start - interval '1 hour'"
        "   AND w.work_end + interval '1 hour'"
        "  ORDER BY abs(extract(epoch FROM $2::timestamptz - w.work_start)) LIMIT 1) cur ON true"
        " LEFT JOIN LATERAL (SELECT dv.vehicle_id FROM fleet.drivers x"
        "  JOIN fleet.devices dv ON dv.device_id = x.terminal_device_id"
        "  WHERE x.driver_id = d.driver_id) term ON true",
        driver, now);
    if (r[0][0].is_null()) {
        return std::nullopt;
    }
    return std::pair{
        r[0][0].as<std::int64_t>(),
        r[0][1].is_null() ? std::nullopt : std::optional<std::int64_t>(r[0][1].as<std::int64_t>())};
}

// A vehicle's driver now (the rule of the notices' inside rule).
std::optional<std::pair<std::int64_t, std::optional<std::int64_t>>> driver_of_vehicle(
    pqxx::transaction_base& tx, std::int64_t vehicle, const std::string& now) {
    const auto r = tx.exec_params(
        "SELECT coalesce(cur.driver_id, term.driver_id),"
        " cur.assignment_id FROM (SELECT $1::bigint AS vehicle_id) q " +
            driver_at("q.vehicle_id", "$2::timestamptz"),
        vehicle, now);
    if (r[0][0].is_null()) {
        return std::nullopt;
    }
    return std::pair{
        r[0][0].as<std::int64_t>(),
        r[0][1].is_null() ? std::nullopt : std::optional<std::int64_t>(r[0][1].as<std::int64_t>())};
}

}  // namespace

NoticeCreated create_message(pqxx::transaction_base& tx, const MessageDraft& d, Millis now) {
    if (d.actor.empty()) {
        throw InputError("a message needs an actor (who sends it)");
    }
    geo::check_text("text", d.text, notice_short_text_max, true, false);
    if (d.severity < 1 || d.severity > 3) {
        throw InputError("severity must be 1 (info), 2 (warning) or 3 (danger), not " +
                         std::to_string(d.severity));
    }
    if (d.validity < std::chrono::minutes(1) || d.validity > std::chrono::hours(24 * 7)) {
        throw InputError("a message is valid from 1 minute to 7 days");
    }
    const auto& replies = d.replies.empty() ? default_replies() : d.replies;
    if (replies.size() > message_replies_max) {
        throw InputError("at most " + std::to_string(message_replies_max) + " replies");
    }
    for (const auto& r : replies) {
        geo::check_text("reply", r, 40, true, false);
    }
    if (d.drivers.empty() && d.vehicles.empty() && d.groups.empty() && d.routes.empty()) {
        throw InputError("a message needs an addressee: a driver, a vehicle, a group or a route");
    }
    const std::string now_text = utc(now);
    struct To {
        std::int64_t driver, vehicle;
        std::optional<std::int64_t> assignment;
    };
    std::vector<To> to;
    for (const auto& name : d.drivers) {
        geo::check_text("driver", name, 200, true, false);
        const auto driver = driver_id(tx, name);
        const auto v = vehicle_of_driver(tx, driver, now_text);
        if (!v) {
            throw InputError("driver " + name +
                             " is on no vehicle now (no assignment under way, no terminal)");
        }
        to.push_back({driver, v->first, v->second});
    }
    for (const auto& reg : d.vehicles) {
        geo::check_text("vehicle", reg, 200, true, false);
        const auto vehicle = vehicle_id(tx, reg);
        const auto drv = driver_of_vehicle(tx, vehicle, now_text);
        if (!drv) {
            throw InputError("vehicle " + reg +
                             " has no driver now (no assignment under way, no driver's terminal)");
        }
        to.push_back({drv->first, vehicle, drv->second});
    }
    for (const auto& group : d.groups) {
        geo::check_text("group", group, 200, true, false);
        const auto g = tx.exec_params(
            "SELECT m.vehicle_id FROM fleet.vehicle_groups g"
            " LEFT JOIN fleet.vehicle_group_members m ON m.group_id = g.group_id WHERE g.name = $1"
            " ORDER BY m.vehicle_id",
            group);
        if (g.empty()) {
            throw NotFoundError("no group '" + group + "'");
        }
        for (const auto& row : g) {
            if (row[0].is_null()) {
                continue;
            }
            const auto vehicle = row[0].as<std::int64_t>();
            if (const auto drv = driver_of_vehicle(tx, vehicle, now_text)) {
                to.push_back({drv->first, vehicle, drv->second});
            }
        }
    }
    const auto routes = resolve_codes(tx, "routes", "route_id", "route", d.routes, d.feed);
    if (!routes.empty()) {
        for (const auto& row : tx.exec_params(
                 "SELECT w.driver_id, w.vehicle_id, w.assignment_id FROM fleet.assignment_work w"
                 " WHERE w.status = 'planned' AND w.driver_id IS NOT NULL"
                 " AND w.service_date BETWEEN ($2::timestamptz AT TIME ZONE 'UTC')::date - 1"
                 "  AND ($2::timestamptz AT TIME ZONE 'UTC')::date + 1"
                 " AND $2::timestamptz BETWEEN w.work_start - interval '1 hour'"
                 "  AND w.work_end + interval '1 hour'"
                 " AND (w.route_id = ANY($1::bigint[]) OR EXISTS (SELECT 1"
                 "  FROM fleet.assignment_trips x JOIN fleet.trips t ON t.trip_id = x.trip_id"
                 "  WHERE x.assignment_id = w.assignment_id AND t.route_id = ANY($1::bigint[])))"
                 " ORDER BY w.driver_id, w.work_start",
                 detail::array_literal(routes), now_text)) {
            to.push_back(
                {row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::int64_t>()});
        }
    }
    if (to.empty()) {
        throw InputError(
            "no driver to send it to: the vehicles of the groups and routes named "
            "have no driver now");
    }
    const auto id =
        tx.exec_params1(
              "INSERT INTO fleet.notices (kind, title, body, short_text, category, severity,"
              " replies, valid_from, valid_until, created_by, created_at)"
              " VALUES ('message', 'Message', $1, $1, 'other', $2, $3::text[], $4::timestamptz,"
              " $4::timestamptz + $5 * interval '1 minute', $6, $4::timestamptz)"
              " RETURNING notice_id",
              d.text, d.severity, detail::array_literal(replies), now_text,
              static_cast<std::int64_t>(d.validity.count()), d.actor)[0]
            .as<std::int64_t>();
    std::vector<std::int64_t> drivers;
    for (const auto& t : to) {
        const auto r = tx.exec_params(
            "INSERT INTO fleet.notice_deliveries (notice_id, driver_id, vehicle_id, assignment_id,"
            " rule, state, queued_at) VALUES ($1, $2, $3, $4, 'addressed', 'queued',"
            " $5::timestamptz) ON CONFLICT (notice_id, driver_id) DO NOTHING",
            id, t.driver, t.vehicle, t.assignment, now_text);
        if (r.affected_rows() > 0) {
            drivers.push_back(t.driver);
        }
    }
    geo::record(tx, {.actor = d.actor,
                     .action = "message created",
                     .subject = d.text,
                     .details = {{"text", d.text},
                                 {"drivers", d.drivers},
                                 {"vehicles", d.vehicles},
                                 {"groups", d.groups},
                                 {"routes", d.routes},
                                 {"replies", replies},
                                 {"addressees", drivers.size()}},
                     .kind = "notice",
                     .notice_id = id});
    return {id, read_deliveries(tx, id, &drivers)};
}

void withdraw_notice(pqxx::transaction_base& tx, std::int64_t notice_id, const std::string& actor,
                     const std::string& reason, Millis now) {
    if (actor.empty()) {
        throw InputError("a withdrawal needs an actor (who withdraws)");
    }
    geo::check_text("reason", reason, 500, false, false);
    const auto r = tx.exec_params(
        "SELECT title, to_char(withdrawn_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " coalesce(withdrawn_by, '') FROM fleet.notices WHERE notice_id = $1 FOR UPDATE",
        notice_id);
    if (r.empty()) {
        throw NotFoundError("no notice " + std::to_string(notice_id));
    }
    if (!r[0][1].is_null()) {
        throw ConflictError("notice " + std::to_string(notice_id) + " was withdrawn already, at " +
                            r[0][1].as<std::string>() + " by " + r[0][2].as<std::string>());
    }
    const std::string now_text = utc(now);
    tx.exec_params(
        "UPDATE fleet.notices SET withdrawn_at = $2::timestamptz, withdrawn_by = $3,"
        " withdraw_reason = NULLIF($4, '') WHERE notice_id = $1",
        notice_id, now_text, actor, reason);
    const auto never_sent = tx.exec_params(
        "UPDATE fleet.notice_deliveries SET state = 'withdrawn' WHERE notice_id = $1"
        " AND state = 'queued'",
        notice_id);
    const auto recalled = tx.exec_params(
        "UPDATE fleet.notice_deliveries SET withdrawal_state = 'queued' WHERE notice_id = $1"
        " AND state IN ('sent', 'delivered', 'read')",
        notice_id);
    geo::record(tx, {.actor = actor,
                     .action = "notice withdrawn",
                     .subject = r[0][0].as<std::string>(),
                     .details = {{"reason", reason},
                                 {"never_sent", never_sent.affected_rows()},
                                 {"recalled", recalled.affected_rows()}},
                     .kind = "notice",
                     .notice_id = notice_id});
}

namespace {

const char* const notice_columns =
    "n.notice_id, n.kind, n.replies, n.category, n.severity, n.title, n.short_text, n.body,"
    " extract(epoch FROM n.valid_from) * 1000 AS valid_from_ms,"
    " extract(epoch FROM n.valid_until) * 1000 AS valid_until_ms,"
    " ST_AsGeoJSON(n.area, 7) AS area, ST_AsGeoJSON(n.line, 7) AS line, n.buffer_m,"
    " n.created_by, extract(epoch FROM n.created_at) * 1000 AS created_ms,"
    " extract(epoch FROM n.withdrawn_at) * 1000 AS withdrawn_ms,"
    " coalesce(n.withdrawn_by, '') AS withdrawn_by,"
    " (SELECT coalesce(array_agg(r.code ORDER BY r.code), '{}') FROM fleet.notice_routes x"
    "   JOIN fleet.routes r USING (route_id) WHERE x.notice_id = n.notice_id) AS routes,"
    " (SELECT coalesce(array_agg(s.code ORDER BY s.code), '{}') FROM fleet.notice_stops x"
    "   JOIN fleet.stops s USING (stop_id) WHERE x.notice_id = n.notice_id) AS stops,"
    " (SELECT coalesce(jsonb_object_agg(state, c), '{}') FROM (SELECT state, count(*) AS c"
    "   FROM fleet.notice_deliveries WHERE notice_id = n.notice_id GROUP BY state) k)::text"
    "   AS deliveries";

std::vector<std::string> text_array(const pqxx::field& f) {
    std::vector<std::string> out;
    auto parser = f.as_array();
    for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
         std::tie(kind, value) = parser.get_next()) {
        if (kind == pqxx::array_parser::string_value) {
            out.push_back(value);
        }
    }
    return out;
}

NoticeRecord notice_of(const pqxx::row& r) {
    NoticeRecord n;
    n.notice_id = r["notice_id"].as<std::int64_t>();
    n.kind = r["kind"].as<std::string>();
    n.replies = text_array(r["replies"]);
    n.category = parse_category(r["category"].as<std::string>());
    n.severity = r["severity"].as<int>();
    n.title = r["title"].as<std::string>();
    n.short_text = r["short_text"].as<std::string>();
    n.full_text = r["body"].as<std::string>();
    n.valid_from = millis_of(r["valid_from_ms"]);
    n.valid_until = millis_of(r["valid_until_ms"]);
    if (!r["area"].is_null()) {
        n.area = nlohmann::json::parse(r["area"].as<std::string>());
    }
    if (!r["line"].is_null()) {
        n.line = nlohmann::json::parse(r["line"].as<std::string>());
    }
    if (!r["buffer_m"].is_null()) {
        n.buffer_m = r["buffer_m"].as<double>();
    }
    n.created_by = r["created_by"].as<std::string>();
    n.created_at = millis_of(r["created_ms"]);
    if (!r["withdrawn_ms"].is_null()) {
        n.withdrawn_at = millis_of(r["withdrawn_ms"]);
    }
    n.withdrawn_by = r["withdrawn_by"].as<std::string>();
    n.routes = text_array(r["routes"]);
    n.stops = text_array(r["stops"]);
    // Named: a range-for over a member of a temporary would dangle.
    const auto counts = nlohmann::json::parse(r["deliveries"].as<std::string>());
    for (const auto& [state, count] : counts.items()) {
        n.deliveries[state] = count.get<std::int64_t>();
    }
    return n;
}

}  // namespace

std::optional<NoticeRecord> load_notice(pqxx::transaction_base& tx, std::int64_t notice_id) {
    const auto r = tx.exec_params(
        std::string("SELECT ") + notice_columns + " FROM fleet.notices n WHERE n.notice_id = $1",
        notice_id);
    if (r.empty()) {
        return std::nullopt;
    }
    auto n = notice_of(r[0]);
    for (const auto& g : tx.exec_params("SELECT DISTINCT r.feed || ':' || r.code"
                                        " FROM fleet.notice_routes x JOIN fleet.routes r"
                                        " USING (route_id) WHERE x.notice_id = $1",
                                        notice_id)) {
        n.route_gtfs_ids.push_back(g[0].as<std::string>());
    }
    return n;
}

std::vector<NoticeRecord> list_notices(pqxx::transaction_base& tx, const NoticeQuery& q) {
    std::optional<std::string> from, to, at;
    if (q.in_force_at) {
        at = utc(*q.in_force_at);
    } else {
        from = utc(parse_time("from", q.from));
        to = utc(parse_time("to", q.to));
    }
    std::vector<NoticeRecord> out;
    for (const auto& r : tx.exec_params(
             std::string("SELECT ") + notice_columns +
                 " FROM fleet.notices n WHERE n.kind = $6 AND ($1::timestamptz IS NULL OR"
                 " (n.valid_from <= $1 AND n.valid_until > $1 AND n.withdrawn_at IS NULL))"
                 " AND ($2::timestamptz IS NULL OR (n.valid_until > $2 AND n.valid_from < $3))"
                 " AND ($4 OR n.withdrawn_at IS NULL)"
                 " ORDER BY n.created_at DESC, n.notice_id DESC LIMIT $5",
             at, from, to, q.include_withdrawn, static_cast<std::int64_t>(q.limit), q.kind)) {
        out.push_back(notice_of(r));
    }
    return out;
}

std::map<std::int64_t, NoticeEntities> notice_entities(pqxx::transaction_base& tx,
                                                       const std::vector<std::int64_t>& ids) {
    std::map<std::int64_t, NoticeEntities> out;
    for (const auto& r : tx.exec_params(
             "WITH n AS (SELECT notice_id, area FROM fleet.notices WHERE notice_id = ANY($1))"
             " SELECT n.notice_id, 'route' AS kind, r.code FROM n"
             "  JOIN fleet.notice_routes x ON x.notice_id = n.notice_id"
             "  JOIN fleet.routes r ON r.route_id = x.route_id"
             " UNION SELECT n.notice_id, 'route', r.code FROM n JOIN fleet.routes r"
             "  ON n.area IS NOT NULL AND (ST_Intersects(r.geom, n.area) OR EXISTS (SELECT 1"
             "   FROM fleet.trips t JOIN fleet.shapes s ON s.shape_id = t.shape_id"
             "   WHERE t.route_id = r.route_id AND ST_Intersects(s.geom, n.area)))"
             " UNION SELECT n.notice_id, 'stop', s.code FROM n"
             "  JOIN fleet.notice_stops x ON x.notice_id = n.notice_id"
             "  JOIN fleet.stops s ON s.stop_id = x.stop_id"
             " UNION SELECT n.notice_id, 'stop', s.code FROM n JOIN fleet.stops s"
             "  ON n.area IS NOT NULL AND ST_Intersects(s.geom, n.area)"
             " ORDER BY 1, 2, 3",
             detail::array_literal(ids))) {
        auto& e = out[r[0].as<std::int64_t>()];
        (r[1].as<std::string>() == "route" ? e.routes : e.stops).push_back(r[2].as<std::string>());
    }
    return out;
}

std::vector<Delivery> notice_deliveries(pqxx::transaction_base& tx, std::int64_t notice_id) {
    return read_deliveries(tx, notice_id, nullptr);
}

std::vector<NoticeArea> notice_areas_in_force(pqxx::transaction_base& tx, Millis now) {
    std::vector<NoticeArea> out;
    for (const auto& r :
         tx.exec_params("SELECT notice_id, extract(epoch FROM valid_from) * 1000,"
                        " extract(epoch FROM valid_until) * 1000, ST_AsGeoJSON(ST_Multi(area))"
                        " FROM fleet.notices WHERE area IS NOT NULL AND withdrawn_at IS NULL"
                        " AND valid_until > $1::timestamptz ORDER BY notice_id",
                        utc(now))) {
        out.push_back({r[0].as<std::int64_t>(), millis_of(r[1]), millis_of(r[2]),
                       nlohmann::json::parse(r[3].as<std::string>())});
    }
    return out;
}

std::optional<Delivery> target_vehicle(pqxx::transaction_base& tx, std::int64_t notice_id,
                                       std::int64_t vehicle_id, Millis at) {
    const auto r = tx.exec_params(
        "WITH n AS (SELECT notice_id FROM fleet.notices WHERE notice_id = $1"
        "  AND withdrawn_at IS NULL AND valid_from <= $3::timestamptz"
        "  AND valid_until > $3::timestamptz),"
        " v AS (SELECT coalesce(cur.driver_id, term.driver_id) AS driver_id, cur.assignment_id"
        "  FROM n, (SELECT $2::bigint AS vehicle_id) q " +
            driver_at("q.vehicle_id", "$3::timestamptz") +
            ")"
            " INSERT INTO fleet.notice_deliveries AS d (notice_id, driver_id, vehicle_id,"
            " assignment_id, rule, state, queued_at)"
            " SELECT $1, driver_id, $2, assignment_id, 'entered', 'queued', $3::timestamptz"
            " FROM v WHERE driver_id IS NOT NULL"
            " ON CONFLICT (notice_id, driver_id) DO NOTHING RETURNING d.driver_id",
        notice_id, vehicle_id, utc(at));
    if (r.empty()) {
        return std::nullopt;
    }
    const std::vector<std::int64_t> driver{r[0][0].as<std::int64_t>()};
    auto found = read_deliveries(tx, notice_id, &driver);
    return found.empty() ? std::nullopt : std::optional<Delivery>(std::move(found.front()));
}

std::vector<Outgoing> outgoing(pqxx::transaction_base& tx, std::optional<std::int64_t> notice_id,
                               std::optional<std::int64_t> vehicle_id, Millis now,
                               bool include_sent) {
    std::vector<Outgoing> out;
    for (const auto& r : tx.exec_params(
             "SELECT d.notice_id, d.driver_id, d.vehicle_id,"
             " d.withdrawal_state IS NOT NULL AS withdrawal, n.severity, n.title,"
             " n.short_text, extract(epoch FROM n.valid_from) * 1000,"
             " extract(epoch FROM n.valid_until) * 1000, n.kind = 'message', n.replies"
             " FROM fleet.notice_deliveries d JOIN fleet.notices n ON n.notice_id = d.notice_id"
             " WHERE ($1::bigint IS NULL OR d.notice_id = $1)"
             " AND ($2::bigint IS NULL OR d.vehicle_id = $2) AND d.vehicle_id IS NOT NULL"
             " AND n.valid_until > $3::timestamptz"
             " AND ((n.withdrawn_at IS NULL AND (d.state = 'queued' OR ($4 AND d.state = 'sent')))"
             "  OR d.withdrawal_state = 'queued' OR ($4 AND d.withdrawal_state = 'sent'))"
             " ORDER BY d.vehicle_id, d.notice_id",
             notice_id, vehicle_id, utc(now), include_sent)) {
        out.push_back({.notice_id = r[0].as<std::int64_t>(),
                       .driver_id = r[1].as<std::int64_t>(),
                       .vehicle_id = r[2].as<std::int64_t>(),
                       .withdrawal = r[3].as<bool>(),
                       .message = r[9].as<bool>(),
                       .replies = text_array(r[10]),
                       .severity = r[4].as<int>(),
                       .title = r[5].as<std::string>(),
                       .short_text = r[6].as<std::string>(),
                       .valid_from = millis_of(r[7]),
                       .valid_until = millis_of(r[8])});
    }
    return out;
}

namespace {

const char* step_name(DeliveryStep::Kind kind) {
    switch (kind) {
        case DeliveryStep::Kind::sent:
            return "sent";
        case DeliveryStep::Kind::delivered:
            return "delivered";
        case DeliveryStep::Kind::read:
            return "read";
        case DeliveryStep::Kind::failed:
            return "failed";
        case DeliveryStep::Kind::withdrawal_sent:
            return "withdrawal_sent";
        case DeliveryStep::Kind::withdrawal_delivered:
            return "withdrawal_delivered";
        case DeliveryStep::Kind::replied:
            return "replied";
    }
    return "sent";
}

std::vector<DeliveryChange> changes_of(const pqxx::result& rows) {
    std::vector<DeliveryChange> out;
    const bool replies = rows.columns() > 6;
    for (const auto& r : rows) {
        DeliveryChange c{r["notice_id"].as<std::int64_t>(),  r["driver_id"].as<std::int64_t>(),
                         r["vehicle_id"].as<std::int64_t>(), r["state"].as<std::string>(),
                         text_of(r["withdrawal_state"]),     millis_of(r["at_ms"])};
        if (replies) {
            c.reply_kind = text_of(r["reply_kind"]);
            c.reply_text = text_of(r["reply_text"]);
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

std::vector<DeliveryChange> apply_steps(pqxx::transaction_base& tx,
                                        std::span<const DeliveryStep> steps,
                                        const std::string& actor) {
    if (steps.empty()) {
        return {};
    }
    std::vector<std::string> kinds, failures, reply_kinds, reply_texts;
    std::vector<std::int64_t> notices, vehicles, drivers, at_ms, accepted;
    for (const auto& s : steps) {
        kinds.emplace_back(step_name(s.kind));
        notices.push_back(s.notice_id);
        vehicles.push_back(s.vehicle_id);
        drivers.push_back(s.driver_id.value_or(0));
        at_ms.push_back(s.at.time_since_epoch().count());
        accepted.push_back(s.accepted ? 1 : 0);
        failures.push_back(s.failure);
        reply_kinds.push_back(s.reply_kind);
        reply_texts.push_back(s.reply_text);
    }
    // Each step moves its delivery only forward (the rank of the state); the steps of one
    // delivery are folded in order first, so that a batch holding "sent" and "delivered" ends at
    // "delivered". A reply counts as read, and the latest reply is kept. Every change is
    // journalled in the same statement.
    const auto rows = tx.exec_params(
        "WITH s AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[],"
        "   $5::bigint[], $6::bigint[], $7::text[], $9::text[], $10::text[]) WITH ORDINALITY"
        "   AS s(kind, notice_id, vehicle_id, driver_id, at_ms, accepted, failure, reply_kind,"
        "   reply_text, seq)),"
        " k AS (SELECT d.notice_id, d.driver_id,"
        // A device's "delivered" after a withdrawal went out answers the withdrawal (the
        // terminal acknowledges it under the notice's id).
        "   max(CASE WHEN s.kind = 'delivered'"
        "     AND (d.withdrawal_state = 'sent' OR s.after_withdrawal) THEN NULL"
        "     WHEN s.kind = 'sent' THEN 1 WHEN s.kind = 'delivered' THEN 2"
        "     WHEN s.kind IN ('read', 'replied') THEN 3 END) AS rank,"
        "   max(CASE WHEN s.kind = 'withdrawal_sent' THEN 1 WHEN s.kind = 'withdrawal_delivered'"
        "     OR (s.kind = 'delivered' AND (d.withdrawal_state = 'sent' OR s.after_withdrawal))"
        "     THEN 2 END) AS wrank,"
        "   bool_or(s.kind = 'failed') AS failed, max(s.failure) FILTER (WHERE s.kind = 'failed')"
        "     AS failure,"
        "   count(*) FILTER (WHERE s.kind = 'sent') AS sends,"
        "   bool_or(s.kind = 'read' AND s.accepted = 1) AS accepted,"
        "   to_timestamp(max(s.at_ms) / 1000.0) AS at,"
        "   min(s.at_ms) FILTER (WHERE s.kind = 'sent') AS sent_ms,"
        "   min(s.at_ms) FILTER (WHERE s.kind = 'delivered'"
        "     AND d.withdrawal_state IS DISTINCT FROM 'sent' AND NOT s.after_withdrawal)"
        "     AS delivered_ms,"
        "   min(s.at_ms) FILTER (WHERE s.kind IN ('read', 'replied')) AS read_ms,"
        "   (array_agg(s.reply_kind ORDER BY s.seq DESC) FILTER (WHERE s.kind = 'replied'))[1]"
        "     AS reply_kind,"
        "   (array_agg(s.reply_text ORDER BY s.seq DESC) FILTER (WHERE s.kind = 'replied'))[1]"
        "     AS reply_text,"
        "   max(s.at_ms) FILTER (WHERE s.kind = 'replied') AS replied_ms,"
        "   max(s.at_ms) AS at_ms"
        // A step after the withdrawal was written in the same batch answers the withdrawal.
        "  FROM (SELECT s.*, bool_or(s.kind = 'withdrawal_sent') OVER (PARTITION BY s.notice_id,"
        "    s.vehicle_id ORDER BY s.seq) AS after_withdrawal FROM s) s"
        "  JOIN fleet.notice_deliveries d ON d.notice_id = s.notice_id"
        "   AND d.vehicle_id = s.vehicle_id AND (s.driver_id = 0 OR d.driver_id = s.driver_id)"
        "  GROUP BY d.notice_id, d.driver_id),"
        " u AS (UPDATE fleet.notice_deliveries d SET"
        "   state = CASE WHEN d.state IN ('expired', 'failed', 'withdrawn') THEN d.state"
        "     WHEN k.failed AND d.state IN ('queued', 'sent') THEN 'failed'"
        "     WHEN k.rank > (CASE d.state WHEN 'queued' THEN 0 WHEN 'sent' THEN 1"
        "       WHEN 'delivered' THEN 2 ELSE 3 END)"
        "     THEN (ARRAY['sent', 'delivered', 'read'])[k.rank] ELSE d.state END,"
        "   attempts = d.attempts + k.sends,"
        "   sent_at = coalesce(d.sent_at, to_timestamp(k.sent_ms / 1000.0),"
        "     CASE WHEN k.rank >= 2 THEN k.at END),"
        "   delivered_at = coalesce(d.delivered_at, to_timestamp(k.delivered_ms / 1000.0),"
        "     CASE WHEN k.rank >= 3 THEN to_timestamp(k.read_ms / 1000.0) END),"
        "   read_at = coalesce(d.read_at, to_timestamp(k.read_ms / 1000.0)),"
        "   accepted = CASE WHEN k.read_ms IS NOT NULL THEN coalesce(d.accepted, false) OR"
        "     k.accepted ELSE d.accepted END,"
        "   failed_at = CASE WHEN k.failed AND d.state IN ('queued', 'sent') THEN k.at"
        "     ELSE d.failed_at END,"
        "   failure = CASE WHEN k.failed AND d.state IN ('queued', 'sent') THEN k.failure"
        "     ELSE d.failure END,"
        "   withdrawal_state = CASE WHEN d.withdrawal_state IS NOT NULL AND k.wrank >"
        "     (CASE d.withdrawal_state WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 ELSE 2 END)"
        "     THEN (ARRAY['sent', 'delivered'])[k.wrank] ELSE d.withdrawal_state END,"
        "   withdrawal_sent_at = CASE WHEN d.withdrawal_state IS NOT NULL AND k.wrank >= 1"
        "     THEN coalesce(d.withdrawal_sent_at, k.at) ELSE d.withdrawal_sent_at END,"
        "   withdrawal_delivered_at = CASE WHEN d.withdrawal_state IS NOT NULL AND k.wrank >= 2"
        "     THEN coalesce(d.withdrawal_delivered_at, k.at) ELSE d.withdrawal_delivered_at END,"
        "   reply_kind = coalesce(k.reply_kind, d.reply_kind),"
        "   reply_text = CASE WHEN k.reply_kind IS NOT NULL THEN NULLIF(k.reply_text, '')"
        "     ELSE d.reply_text END,"
        "   replied_at = coalesce(to_timestamp(k.replied_ms / 1000.0), d.replied_at)"
        "  FROM k JOIN fleet.notice_deliveries o ON o.notice_id = k.notice_id"
        "   AND o.driver_id = k.driver_id"
        "  WHERE d.notice_id = k.notice_id AND d.driver_id = k.driver_id"
        "  RETURNING d.notice_id, d.driver_id, d.vehicle_id, d.state, d.withdrawal_state,"
        "   k.at_ms, o.state AS old_state, o.withdrawal_state AS old_withdrawal, d.failure,"
        "   k.reply_kind, d.reply_text),"
        " c AS (SELECT * FROM u WHERE state IS DISTINCT FROM old_state"
        "   OR withdrawal_state IS DISTINCT FROM old_withdrawal OR reply_kind IS NOT NULL),"
        " j AS (INSERT INTO fleet.journal (actor, action, subject, details, kind, vehicle_id,"
        "   driver_id, notice_id)"
        "  SELECT $8, CASE WHEN c.reply_kind IS NOT NULL THEN n.kind || ' replied'"
        "     WHEN c.withdrawal_state IS DISTINCT FROM c.old_withdrawal"
        "     THEN n.kind || ' withdrawal ' || c.withdrawal_state ELSE n.kind || ' ' || c.state "
        "END,"
        "   n.title, jsonb_strip_nulls(jsonb_build_object('state', c.state,"
        "     'withdrawal_state', c.withdrawal_state, 'failure', c.failure,"
        "     'reply', c.reply_kind, 'reply_text', c.reply_text)),"
        "   'notice', c.vehicle_id, c.driver_id, c.notice_id"
        "  FROM c JOIN fleet.notices n ON n.notice_id = c.notice_id)"
        " SELECT notice_id, driver_id, vehicle_id, state, withdrawal_state, at_ms, reply_kind,"
        "  reply_text FROM c ORDER BY notice_id, driver_id",
        detail::array_literal(kinds), detail::array_literal(notices),
        detail::array_literal(vehicles), detail::array_literal(drivers),
        detail::array_literal(at_ms), detail::array_literal(accepted),
        detail::array_literal(failures), actor, detail::array_literal(reply_kinds),
        detail::array_literal(reply_texts));
    return changes_of(rows);
}

std::vector<DeliveryChange> expire_deliveries(pqxx::transaction_base& tx, Millis now) {
    const auto rows = tx.exec_params(
        "WITH u AS (UPDATE fleet.notice_deliveries d SET state = 'expired',"
        "   expired_at = n.valid_until"
        "  FROM fleet.notices n WHERE n.notice_id = d.notice_id AND d.state = 'queued'"
        "   AND n.valid_until <= $1::timestamptz"
        "  RETURNING d.notice_id, d.driver_id, d.vehicle_id, d.state, d.withdrawal_state,"
        "   extract(epoch FROM n.valid_until) * 1000 AS at_ms, n.title, n.kind),"
        " j AS (INSERT INTO fleet.journal (actor, action, subject, details, kind, vehicle_id,"
        "   driver_id, notice_id)"
        "  SELECT 'dispatch', u.kind || ' expired', u.title, '{\"state\": \"expired\"}', 'notice',"
        "   u.vehicle_id, u.driver_id, u.notice_id FROM u)"
        " SELECT notice_id, driver_id, vehicle_id, state, withdrawal_state, at_ms FROM u"
        " ORDER BY notice_id, driver_id",
        utc(now));
    return changes_of(rows);
}

}  // namespace fleet::dispatch
