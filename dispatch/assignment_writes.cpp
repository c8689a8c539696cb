// Writing assignments: save, change, cancel and hand over, each checked, clash-free unless
// forced, and journalled in the transaction that makes the change.
#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "dispatch/assignments.hpp"
#include "dispatch/detail/assignments.hpp"
#include "dispatch/detail/geojson.hpp"
#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "geo/journal.hpp"
#include "geo/number_text.hpp"

namespace fleet::dispatch {

namespace {

using detail::iso_utc;
using detail::metres;

// Every write of assignments holds this transaction-level advisory lock, so that two operators
// saving clashing work at the same moment cannot both pass the clash check.
constexpr std::int64_t assignments_lock_key = 0x666c656574410012;  // "fleetA", migration 0012

Millis at_ms(const pqxx::field& f) {
    return Millis(std::chrono::milliseconds(f.as<long long>()));
}

double epoch_s(Millis t) {
    return static_cast<double>(t.time_since_epoch().count()) / 1000;
}

std::string text_or_empty(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : separator) + p;
    }
    return out;
}

// SQL of a span of two timestamptz expressions as local text in `zone`: "2024-03-05 08:00–08:45"
// (the end with its date when it falls on another day).
std::string local_span_sql(const std::string& from, const std::string& to,
                           const std::string& zone) {
    return "to_char(" + from + " AT TIME ZONE " + zone + ", 'YYYY-MM-DD HH24:MI') || '–' ||" +
           " to_char(" + to + " AT TIME ZONE " + zone + ", CASE WHEN (" + from + " AT TIME ZONE " +
           zone + ")::date = (" + to + " AT TIME ZONE " + zone +
           ")::date THEN 'HH24:MI' ELSE 'YYYY-MM-DD HH24:MI' END)";
}

// A freight stop once its place and window are known.
struct ResolvedStop {
    std::optional<std::int64_t> stop_id;
    std::string name;
    geo::LonLat position;
    std::optional<double> radius_m;
    Millis from;
    Millis to;
};

// An assignment once every name in it is resolved and every time placed.
struct Work {
    std::string service_date;
    std::int64_t vehicle_id = 0;
    std::string vehicle;  // registration
    std::optional<std::int64_t> driver_id;
    std::string driver;  // full name
    std::string feed;
    bool freight = false;
    std::string block;  // as given (stored); empty: none
    std::vector<std::int64_t> trips;
    std::vector<std::string> trip_codes;
    std::vector<std::string> blocks;  // the blocks its trips belong to
    std::optional<std::int64_t> route_id;
    std::string route;
    std::vector<ResolvedStop> stops;
    std::optional<Millis> start;  // the shift's own start and end (stored)
    std::optional<Millis> end;
    std::string time_zone;
    Millis from;  // the time the work takes: what clashes are judged on
    Millis to;
};

// An assignment as it is stored, read to change it.
struct Stored {
    std::int64_t assignment_id = 0;
    std::string service_date;
    std::string status;
    std::string cancelled;  // when and why, for messages
    std::int64_t vehicle_id = 0;
    std::string vehicle;
    std::optional<std::int64_t> driver_id;
    std::string driver;
    bool freight = false;
    std::string feed;
    std::string block;
    std::vector<std::string> trips;
    std::string route;
    std::string start;  // ISO, UTC; empty: none of its own
    std::string end;
    std::string time_zone;
    std::vector<StopRequest> stops;
};

class Writer {
  public:
    explicit Writer(pqxx::work& tx) : tx_(tx) {
        tx_.exec_params("SELECT pg_advisory_xact_lock($1)", assignments_lock_key);
    }

    Work resolve(const AssignmentRequest& q);
    // Throws InputError naming every clash of `w` with the live assignments other than
    // `exclude`, unless `force`; returns the clashes it let pass.
    std::vector<std::string> check_clashes(const Work& w, bool force,
                                           const std::vector<std::int64_t>& exclude);
    std::int64_t insert(const Work& w);
    void update(std::int64_t id, const Work& w);
    void cancel(std::int64_t id, const std::string& reason);
    // The stored assignment, locked for the change; InputError when there is none.
    Stored stored(std::int64_t id);
    // The request that gives the stored assignment again.
    AssignmentRequest request_of(const Stored& s);
    // What the journal keeps of an assignment's state.
    nlohmann::json describe(std::int64_t id);
    std::int64_t save(const AssignmentRequest& q);
    void journal(const std::string& actor, const std::string& action, const Work& w,
                 std::int64_t id, nlohmann::json details);

  private:
    void resolve_people(const AssignmentRequest& q, Work& w);
    void resolve_timetable(const AssignmentRequest& q, Work& w);
    void resolve_freight(const AssignmentRequest& q, Work& w);
    std::string feed_zone(const std::string& feed);
    std::string zone_of(const AssignmentRequest& q);
    Millis instant(const std::string& text, const std::string& what, const std::string& date,
                   const std::string& zone);
    std::string local_span(Millis from, Millis to, const std::string& zone);
    std::string local_time(Millis t, const std::string& zone);
    void insert_parts(std::int64_t id, const Work& w);

    pqxx::work& tx_;
    std::map<std::string, bool> zones_;
};

std::string Writer::feed_zone(const std::string& feed) {
    const auto r = tx_.exec_params(
        "SELECT agency -> 0 ->> 'agency_timezone' FROM fleet.feeds WHERE feed = $1", feed);
    return r.empty() || r[0][0].is_null() ? "UTC" : r[0][0].as<std::string>();
}

std::string Writer::zone_of(const AssignmentRequest& q) {
    if (q.time_zone.empty()) {
        return feed_zone(q.feed);
    }
    auto known = zones_.find(q.time_zone);
    if (known == zones_.end()) {
        const bool ok =
            tx_.exec_params1("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)",
                             q.time_zone)[0]
                .as<bool>();
        known = zones_.emplace(q.time_zone, ok).first;
    }
    if (!known->second) {
        throw InputError("unknown time zone '" + q.time_zone + "' (an IANA name such as " +
                         "Europe/Moscow)");
    }
    return q.time_zone;
}

Millis Writer::instant(const std::string& text, const std::string& what, const std::string& date,
                       const std::string& zone) {
    const auto t = detail::parse_time(text);
    if (!t) {
        throw InputError(what + " '" + text +
                         "' is not a time (HH:MM on the service date, or YYYY-MM-DDTHH:MM with "
                         "an optional offset)");
    }
    const std::string day = t->date.empty() ? date : t->date;
    const auto r = t->offset_s
                       ? tx_.exec_params1(
                             "SELECT (extract(epoch FROM ($1::date + make_interval(secs => $2))"
                             " AT TIME ZONE 'UTC') * 1000 - $3 * 1000)::bigint",
                             day, t->seconds, *t->offset_s)
                       : tx_.exec_params1(
                             "SELECT (extract(epoch FROM ($1::date + make_interval(secs => $2))"
                             " AT TIME ZONE $3) * 1000)::bigint",
                             day, t->seconds, zone);
    return at_ms(r[0]);
}

std::string Writer::local_span(Millis from, Millis to, const std::string& zone) {
    return tx_
        .exec_params1("SELECT " + local_span_sql("to_timestamp($1::double precision)",
                                                 "to_timestamp($2::double precision)", "$3::text"),
                      epoch_s(from), epoch_s(to), zone)[0]
        .as<std::string>();
}

std::string Writer::local_time(Millis t, const std::string& zone) {
    return tx_
        .exec_params1(
            "SELECT to_char(to_timestamp($1::double precision) AT TIME ZONE $2::text,"
            " 'YYYY-MM-DD HH24:MI')",
            epoch_s(t), zone)[0]
        .as<std::string>();
}

void Writer::resolve_people(const AssignmentRequest& q, Work& w) {
    const auto vehicle = tx_.exec_params(
        "SELECT vehicle_id, registration FROM fleet.vehicles WHERE registration = $1", q.vehicle);
    if (vehicle.empty()) {
        throw InputError("unknown vehicle '" + q.vehicle + "' (by registration)");
    }
    w.vehicle_id = vehicle[0][0].as<std::int64_t>();
    w.vehicle = vehicle[0][1].as<std::string>();
    if (!q.driver.empty()) {
        const auto d = tx_.exec_params(
            "SELECT driver_id, full_name FROM fleet.drivers"
            " WHERE full_name = $1 OR personnel_number = $1",
            q.driver);
        if (d.size() != 1) {
            throw InputError(d.empty() ? "unknown driver '" + q.driver + "'"
                                       : "driver '" + q.driver +
                                             "' is ambiguous (give the personnel number)");
        }
        w.driver_id = d[0][0].as<std::int64_t>();
        w.driver = d[0][1].as<std::string>();
    }
}

void Writer::resolve_timetable(const AssignmentRequest& q, Work& w) {
    // Blocks and trips come from a GTFS feed: a feed without trips is named as such, not met
    // with "block B1 of feed 'local' has no trips" (local being what a left-out --feed means).
    if (tx_.exec_params("SELECT 1 FROM fleet.trips WHERE feed = $1 LIMIT 1", q.feed).empty()) {
        std::vector<std::string> feeds;
        for (const auto& r : tx_.exec("SELECT feed FROM fleet.feeds ORDER BY feed")) {
            feeds.push_back(r[0].as<std::string>());
        }
        const std::string imported = feeds.empty() ? "none imported yet: fleetctl import gtfs"
                                                   : "GTFS feeds: " + joined(feeds, ", ");
        throw InputError(q.feed == "local"
                             ? "feed 'local' (the default) has no trips: name the GTFS feed of "
                               "the block or trips with --feed (" +
                                   imported + ")"
                             : "unknown feed '" + q.feed + "': no trips belong to it (" + imported +
                                   ")");
    }
    if (!q.time_zone.empty()) {
        throw InputError("timetabled work runs in its feed's agency time zone (" +
                         feed_zone(q.feed) + "); a time zone of its own is for freight work");
    }
    w.time_zone = feed_zone(q.feed);
    struct Trip {
        std::int64_t id;
        std::string code;
        std::string block;
    };
    std::vector<Trip> chosen;
    const auto trip_of = [](const pqxx::row& r) {
        return Trip{r[0].as<std::int64_t>(), r[1].as<std::string>(), text_or_empty(r[2])};
    };
    if (!q.block.empty()) {
        // The block's trips that run on the date, by first departure.
        std::vector<Trip> block;
        for (const auto& r : tx_.exec_params(
                 "SELECT t.trip_id, t.code, t.block_code FROM fleet.trips t"
                 " JOIN LATERAL (SELECT min(departure_s) AS first FROM fleet.stop_times st"
                 "  WHERE st.trip_id = t.trip_id) f ON true"
                 " WHERE t.feed = $1 AND t.block_code = $2"
                 " AND t.service_code IN (SELECT fleet.services_on($1, $3::date))"
                 " ORDER BY f.first, t.code",
                 q.feed, q.block, q.service_date)) {
            block.push_back(trip_of(r));
        }
        if (block.empty()) {
            throw InputError("block '" + q.block + "' of feed '" + q.feed + "' has no trips on " +
                             q.service_date);
        }
        const auto position = [&](const std::string& code) {
            const auto it = std::find_if(block.begin(), block.end(),
                                         [&](const Trip& t) { return t.code == code; });
            if (it == block.end()) {
                std::vector<std::string> codes;
                for (const auto& t : block) {
                    codes.push_back(t.code);
                }
                throw InputError("trip '" + code + "' is not a trip of block '" + q.block +
                                 "' on " + q.service_date + " (its trips: " + joined(codes, ", ") +
                                 ")");
            }
            return it;
        };
        if (!q.trips.empty() && !q.from_trip.empty()) {
            throw InputError("give the block's trips or the trip to start from, not both");
        }
        if (!q.trips.empty()) {
            for (const auto& code : q.trips) {
                chosen.push_back(*position(code));
            }
        } else if (!q.from_trip.empty()) {
            chosen.assign(position(q.from_trip), block.end());
        } else {
            chosen = block;
        }
    } else {
        if (!q.from_trip.empty()) {
            throw InputError("a trip to start from ('" + q.from_trip + "') needs its block");
        }
        for (const auto& code : q.trips) {
            const auto r = tx_.exec_params(
                "SELECT trip_id, code, block_code,"
                " service_code IN (SELECT fleet.services_on($1, $3::date))"
                " FROM fleet.trips WHERE feed = $1 AND code = $2",
                q.feed, code, q.service_date);
            if (r.empty()) {
                throw InputError("unknown trip '" + code + "' in feed '" + q.feed + "'");
            }
            if (!r[0][3].as<bool>(false)) {
                throw InputError("trip '" + code + "' of feed '" + q.feed + "' does not run on " +
                                 q.service_date);
            }
            chosen.push_back(trip_of(r[0]));
        }
    }
    if (chosen.empty()) {
        throw InputError(
            "an assignment needs a block or trips (timetabled work) or a route "
            "(freight work)");
    }
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (chosen[j].id == chosen[i].id) {
                throw InputError("trip '" + chosen[i].code + "' is given twice");
            }
        }
        w.trips.push_back(chosen[i].id);
        w.trip_codes.push_back(chosen[i].code);
        if (!chosen[i].block.empty() &&
            std::find(w.blocks.begin(), w.blocks.end(), chosen[i].block) == w.blocks.end()) {
            w.blocks.push_back(chosen[i].block);
        }
    }
    w.block = q.block;
    const auto times = tx_.exec_params1(
        "SELECT (extract(epoch FROM fleet.service_day_start($2::date, $3)"
        "  + min(coalesce(st.departure_s, st.arrival_s)) * interval '1 second') * 1000)::bigint,"
        " (extract(epoch FROM fleet.service_day_start($2::date, $3)"
        "  + max(coalesce(st.arrival_s, st.departure_s)) * interval '1 second') * 1000)::bigint"
        " FROM fleet.stop_times st WHERE st.trip_id = ANY($1::bigint[])",
        detail::array_literal(w.trips), q.service_date, w.time_zone);
    if (times[0].is_null() || times[1].is_null()) {
        throw InputError("trips " + joined(w.trip_codes, ", ") + " have no stop times");
    }
    const Millis first = at_ms(times[0]);
    const Millis last = at_ms(times[1]);
    w.from = first;
    w.to = last;
    if (!q.start.empty()) {
        w.start = instant(q.start, "shift start", q.service_date, w.time_zone);
        if (*w.start > first) {
            throw InputError("the shift starts (" + q.start + ") after its first trip '" +
                             w.trip_codes.front() + "' departs (" + local_time(first, w.time_zone) +
                             ")");
        }
        w.from = *w.start;
    }
    if (!q.end.empty()) {
        w.end = instant(q.end, "shift end", q.service_date, w.time_zone);
        if (*w.end < last) {
            throw InputError("the shift ends (" + q.end + ") before its last trip '" +
                             w.trip_codes.back() + "' arrives (" + local_time(last, w.time_zone) +
                             ")");
        }
        w.to = *w.end;
    }
}

void Writer::resolve_freight(const AssignmentRequest& q, Work& w) {
    const auto route = tx_.exec_params(
        "SELECT route_id, ST_AsGeoJSON(geom) FROM fleet.routes WHERE feed = $1 AND code = $2",
        q.feed, q.route);
    if (route.empty()) {
        throw InputError("unknown route '" + q.route + "' in feed '" + q.feed + "'");
    }
    if (route[0][1].is_null()) {
        throw InputError("route '" + q.route +
                         "' has no line; freight work follows the route's line (fleetctl import "
                         "routes)");
    }
    w.route_id = route[0][0].as<std::int64_t>();
    w.route = q.route;
    std::optional<geo::Polyline> line;
    try {
        line.emplace(detail::line_from_geojson(route[0][1].as<std::string>()), "route " + q.route);
    } catch (const GeometryError& e) {
        throw InputError(std::string("route '") + q.route + "': " + e.what());
    }
    if (q.start.empty() || q.end.empty()) {
        throw InputError("freight work needs a shift start and end");
    }
    w.time_zone = zone_of(q);
    const Millis start = instant(q.start, "shift start", q.service_date, w.time_zone);
    const Millis end = instant(q.end, "shift end", q.service_date, w.time_zone);
    if (end <= start) {
        throw InputError("the shift ends (" + q.end + ") before it starts (" + q.start + ")");
    }
    w.start = w.from = start;
    w.end = w.to = end;
    if (q.stops.empty()) {
        throw InputError("freight work needs at least one planned stop");
    }
    if (!(q.max_stop_offset_m > 0)) {
        throw InputError("the distance a stop may lie from the route must be above 0 m");
    }
    const std::string shift = iso_utc(start) + " – " + iso_utc(end);
    std::vector<geo::LonLat> points;
    for (std::size_t i = 0; i < q.stops.size(); ++i) {
        const StopRequest& r = q.stops[i];
        ResolvedStop s;
        if (r.position) {
            const auto p = *r.position;
            if (!(std::abs(p.lon_deg) <= 180 && std::abs(p.lat_deg) <= 90)) {
                throw InputError("stop " + std::to_string(i + 1) + ": " +
                                 geo::plain_number(p.lon_deg) + ", " +
                                 geo::plain_number(p.lat_deg) + " is not a longitude and latitude");
            }
            if (r.name.empty()) {
                throw InputError("stop " + std::to_string(i + 1) + " needs a name");
            }
            s.position = p;
            s.name = r.name;
            s.radius_m = r.radius_m;
        } else {
            if (r.stop.empty()) {
                throw InputError("stop " + std::to_string(i + 1) +
                                 ": give a stop code or a longitude and latitude");
            }
            const auto known = tx_.exec_params(
                "SELECT stop_id, coalesce(name, code), ST_X(geom), ST_Y(geom), radius_m"
                " FROM fleet.stops WHERE feed = $1 AND code = $2",
                q.feed, r.stop);
            if (known.empty()) {
                throw InputError("unknown stop '" + r.stop + "' in feed '" + q.feed + "'");
            }
            s.stop_id = known[0][0].as<std::int64_t>();
            s.name = r.name.empty() ? known[0][1].as<std::string>() : r.name;
            s.position = {known[0][2].as<double>(), known[0][3].as<double>()};
            s.radius_m = r.radius_m;
            if (!s.radius_m && !known[0][4].is_null()) {
                s.radius_m = known[0][4].as<double>();
            }
        }
        if (s.radius_m && !(*s.radius_m > 0 && *s.radius_m <= 5000)) {
            throw InputError("stop '" + s.name + "': a radius must be above 0 and at most 5000 m");
        }
        const std::string where = "stop '" + s.name + "'";
        s.from = instant(r.window_from, where + ": window start", q.service_date, w.time_zone);
        s.to = instant(r.window_to, where + ": window end", q.service_date, w.time_zone);
        if (s.to < s.from) {
            throw InputError(where + ": its window ends (" + r.window_to + ") before it starts (" +
                             r.window_from + ")");
        }
        if (s.from < start || s.to > end) {
            throw InputError(where + ": its window " + iso_utc(s.from) + " – " + iso_utc(s.to) +
                             " lies outside the shift " + shift);
        }
        if (!w.stops.empty() && s.to < w.stops.back().from) {
            throw InputError(where +
                             ": its window closes before the window of the stop before "
                             "it ('" +
                             w.stops.back().name + "') opens");
        }
        const auto nearest = line->project(s.position);
        const double off_m = geo::geodesic_m(s.position, nearest.closest);
        if (off_m > q.max_stop_offset_m) {
            throw InputError(where + " is " + metres(off_m) + " from route '" + q.route +
                             "' (at most " + metres(q.max_stop_offset_m) + ")");
        }
        points.push_back(s.position);
        w.stops.push_back(std::move(s));
    }
    const auto placed = detail::place_in_order(*line, points, q.max_stop_offset_m);
    if (placed.failed) {
        const std::size_t i = std::max<std::size_t>(1, *placed.failed);  // the first always fits
        const auto passes = line->candidates(points[i], q.max_stop_offset_m);
        const double at = passes.empty() ? 0 : passes.back().distance_along_m;
        throw InputError("stop '" + w.stops[i].name + "' is not in route order: it lies " +
                         metres(at) + " along route '" + q.route + "', before stop '" +
                         w.stops[i - 1].name + "' (" + metres(placed.along_m[i - 1]) + ")");
    }
}

Work Writer::resolve(const AssignmentRequest& q) {
    if (!detail::is_date(q.service_date)) {
        throw InputError("date '" + q.service_date + "' is not YYYY-MM-DD");
    }
    Work w;
    w.service_date = q.service_date;
    w.feed = q.feed;
    resolve_people(q, w);
    w.freight = !q.route.empty();
    if (w.freight && (!q.block.empty() || !q.trips.empty() || !q.from_trip.empty())) {
        throw InputError("give a block or trips (timetabled work) or a route (freight), not both");
    }
    if (!w.freight && !q.stops.empty()) {
        throw InputError("planned stops are for freight work: name its route");
    }
    if (w.freight) {
        resolve_freight(q, w);
    } else {
        resolve_timetable(q, w);
    }
    return w;
}

std::vector<std::string> Writer::check_clashes(const Work& w, bool force,
                                               const std::vector<std::int64_t>& exclude) {
    // The candidates first, by index (the vehicle's and the driver's work of the days around,
    // the work sharing a block that day); the times of their work only then.
    const auto rows = tx_.exec_params(
        "WITH candidates AS ("
        " SELECT a.assignment_id FROM fleet.shift_assignments a"
        "  WHERE a.service_date BETWEEN $3::date - 1 AND $3::date + 1"
        "  AND (a.vehicle_id = $1 OR a.driver_id = $2)"
        " UNION"
        " SELECT x.assignment_id FROM fleet.trips t"
        "  JOIN fleet.assignment_trips x ON x.trip_id = t.trip_id"
        "  JOIN fleet.shift_assignments a ON a.assignment_id = x.assignment_id"
        "  WHERE t.feed = $4 AND t.block_code = ANY($5::text[]) AND a.service_date = $3::date)"
        " SELECT o.assignment_id, v.registration, " +
            local_span_sql("o.work_start", "o.work_end", "o.time_zone") +
            " AS span, o.time_zone, array_to_json(o.blocks)::text AS blocks,"
            " o.vehicle_id = $1 AS same_vehicle, o.driver_id = $2 AS same_driver,"
            " o.service_date = $3::date AND o.feed = $4 AND o.blocks && $5::text[] AS same_block"
            " FROM candidates c JOIN fleet.assignment_work o ON o.assignment_id = c.assignment_id"
            " JOIN fleet.vehicles v ON v.vehicle_id = o.vehicle_id"
            " WHERE o.status <> 'cancelled' AND NOT o.assignment_id = ANY($6::bigint[])"
            " AND o.work_start < to_timestamp($8::double precision)"
            " AND o.work_end > to_timestamp($7::double precision)"
            " ORDER BY o.work_start, o.assignment_id",
        w.vehicle_id, w.driver_id, w.service_date, w.feed, detail::array_literal(w.blocks),
        detail::array_literal(exclude), epoch_s(w.from), epoch_s(w.to));
    std::vector<std::string> clashes;
    for (const auto& r : rows) {
        const std::string other = "assignment " + r["assignment_id"].as<std::string>() +
                                  " of vehicle " + r["registration"].as<std::string>() + ", " +
                                  r["span"].as<std::string>() + " (" +
                                  r["time_zone"].as<std::string>() + ")";
        if (r["same_block"].as<bool>(false)) {
            const auto theirs = nlohmann::json::parse(r["blocks"].as<std::string>("[]"))
                                    .get<std::vector<std::string>>();
            std::vector<std::string> shared;
            for (const auto& b : w.blocks) {
                if (std::find(theirs.begin(), theirs.end(), b) != theirs.end()) {
                    shared.push_back("'" + b + "'");
                }
            }
            clashes.push_back("block " + joined(shared, ", ") + " of feed '" + w.feed +
                              "' is already assigned on " + w.service_date + ": " + other);
        }
        if (r["same_driver"].as<bool>(false)) {
            clashes.push_back("driver '" + w.driver + "' already works then: " + other);
        }
        if (r["same_vehicle"].as<bool>(false)) {
            clashes.push_back("vehicle '" + w.vehicle + "' is already busy then: " + other);
        }
    }
    if (!clashes.empty() && !force) {
        throw InputError("the work " + local_span(w.from, w.to, w.time_zone) + " (" + w.time_zone +
                         ") clashes: " + joined(clashes, "; ") + " (--force saves it anyway)");
    }
    return clashes;
}

void Writer::insert_parts(std::int64_t id, const Work& w) {
    for (std::size_t i = 0; i < w.trips.size(); ++i) {
        tx_.exec_params(
            "INSERT INTO fleet.assignment_trips (assignment_id, seq, trip_id) VALUES ($1, $2, $3)",
            id, static_cast<int>(i + 1), w.trips[i]);
    }
    for (std::size_t i = 0; i < w.stops.size(); ++i) {
        const auto& s = w.stops[i];
        tx_.exec_params(
            "INSERT INTO fleet.assignment_stops (assignment_id, seq, stop_id, name, geom,"
            " radius_m, window_from, window_to) VALUES ($1, $2, $3, $4,"
            " ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, to_timestamp($8::double precision),"
            " to_timestamp($9::double precision))",
            id, static_cast<int>(i + 1), s.stop_id, s.name, s.position.lon_deg, s.position.lat_deg,
            s.radius_m, epoch_s(s.from), epoch_s(s.to));
    }
}

std::int64_t Writer::insert(const Work& w) {
    const auto id =
        tx_.exec_params1(
               "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, driver_id, kind,"
               " block_code, route_id, planned_start, planned_end, feed, time_zone)"
               " VALUES ($1::date, $2, $3, $4, NULLIF($5, ''), $6,"
               " to_timestamp($7::double precision), to_timestamp($8::double precision), $9, $10)"
               " RETURNING assignment_id",
               w.service_date, w.vehicle_id, w.driver_id, w.freight ? "freight" : "timetable",
               w.block, w.route_id, w.start ? std::optional(epoch_s(*w.start)) : std::nullopt,
               w.end ? std::optional(epoch_s(*w.end)) : std::nullopt, w.feed, w.time_zone)[0]
            .as<std::int64_t>();
    insert_parts(id, w);
    return id;
}

void Writer::update(std::int64_t id, const Work& w) {
    tx_.exec_params(
        "UPDATE fleet.shift_assignments SET vehicle_id = $2, driver_id = $3, kind = $4,"
        " block_code = NULLIF($5, ''), route_id = $6, planned_start = to_timestamp($7::double"
        " precision), planned_end = to_timestamp($8::double precision), feed = $9,"
        " time_zone = $10, updated_at = now() WHERE assignment_id = $1",
        id, w.vehicle_id, w.driver_id, w.freight ? "freight" : "timetable", w.block, w.route_id,
        w.start ? std::optional(epoch_s(*w.start)) : std::nullopt,
        w.end ? std::optional(epoch_s(*w.end)) : std::nullopt, w.feed, w.time_zone);
    tx_.exec_params("DELETE FROM fleet.assignment_trips WHERE assignment_id = $1", id);
    tx_.exec_params("DELETE FROM fleet.assignment_stops WHERE assignment_id = $1", id);
    insert_parts(id, w);
}

void Writer::cancel(std::int64_t id, const std::string& reason) {
    tx_.exec_params(
        "UPDATE fleet.shift_assignments SET status = 'cancelled', cancelled_at = now(),"
        " cancel_reason = $2, updated_at = now() WHERE assignment_id = $1",
        id, reason);
}

Stored Writer::stored(std::int64_t id) {
    const auto r = tx_.exec_params(
        "SELECT a.assignment_id, a.service_date::text AS service_date, a.status,"
        " to_char(a.cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')"
        "  || coalesce(': ' || a.cancel_reason, '') AS cancelled,"
        " a.vehicle_id, v.registration, a.driver_id, d.full_name, a.kind, a.feed, a.block_code,"
        " (SELECT json_agg(t.code ORDER BY x.seq)::text FROM fleet.assignment_trips x"
        "  JOIN fleet.trips t USING (trip_id) WHERE x.assignment_id = a.assignment_id) AS trips,"
        " r.code AS route,"
        " to_char(a.planned_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS start,"
        " to_char(a.planned_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS end,"
        " a.time_zone"
        " FROM fleet.shift_assignments a JOIN fleet.vehicles v ON v.vehicle_id = a.vehicle_id"
        " LEFT JOIN fleet.drivers d ON d.driver_id = a.driver_id"
        " LEFT JOIN fleet.routes r ON r.route_id = a.route_id"
        " WHERE a.assignment_id = $1 FOR UPDATE OF a",
        id);
    if (r.empty()) {
        throw InputError("there is no assignment " + std::to_string(id) +
                         " (fleetctl assign list --date D shows them)");
    }
    const auto& row = r[0];
    Stored s;
    s.assignment_id = id;
    s.service_date = row["service_date"].as<std::string>();
    s.status = row["status"].as<std::string>();
    s.cancelled = text_or_empty(row["cancelled"]);
    s.vehicle_id = row["vehicle_id"].as<std::int64_t>();
    s.vehicle = row["registration"].as<std::string>();
    if (!row["driver_id"].is_null()) {
        s.driver_id = row["driver_id"].as<std::int64_t>();
        s.driver = row["full_name"].as<std::string>();
    }
    s.freight = row["kind"].as<std::string>() == "freight";
    s.feed = row["feed"].as<std::string>();
    s.block = text_or_empty(row["block_code"]);
    if (!row["trips"].is_null()) {
        s.trips =
            nlohmann::json::parse(row["trips"].as<std::string>()).get<std::vector<std::string>>();
    }
    s.route = text_or_empty(row["route"]);
    s.start = text_or_empty(row["start"]);
    s.end = text_or_empty(row["end"]);
    s.time_zone = row["time_zone"].as<std::string>();
    for (const auto& p : tx_.exec_params(
             "SELECT st.code, s.name, ST_X(s.geom), ST_Y(s.geom), s.radius_m,"
             " to_char(s.window_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
             " to_char(s.window_to AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
             " FROM fleet.assignment_stops s LEFT JOIN fleet.stops st ON st.stop_id = s.stop_id"
             " WHERE s.assignment_id = $1 ORDER BY s.seq",
             id)) {
        StopRequest stop;
        if (p[0].is_null()) {
            stop.position = geo::LonLat{p[2].as<double>(), p[3].as<double>()};
        } else {
            stop.stop = p[0].as<std::string>();
        }
        stop.name = p[1].as<std::string>();
        if (!p[4].is_null()) {
            stop.radius_m = p[4].as<double>();
        }
        stop.window_from = p[5].as<std::string>();
        stop.window_to = p[6].as<std::string>();
        s.stops.push_back(std::move(stop));
    }
    return s;
}

AssignmentRequest Writer::request_of(const Stored& s) {
    AssignmentRequest q;
    q.service_date = s.service_date;
    q.vehicle = s.vehicle;
    q.feed = s.feed;
    if (s.freight) {
        q.route = s.route;
        q.time_zone = s.time_zone;
        q.stops = s.stops;
    } else {
        q.block = s.block;
        q.trips = s.trips;
    }
    q.start = s.start;
    q.end = s.end;
    return q;
}

nlohmann::json Writer::describe(std::int64_t id) {
    const auto r = tx_.exec_params1(
        "SELECT jsonb_build_object('vehicle', v.registration, 'vehicle_id', a.vehicle_id,"
        " 'driver', d.full_name, 'driver_id', a.driver_id, 'kind', a.kind, 'feed', a.feed,"
        " 'block', a.block_code, 'route', r.code, 'time_zone', a.time_zone, 'status', a.status,"
        " 'start', to_char(a.planned_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " 'end', to_char(a.planned_end AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        " 'trips', (SELECT jsonb_agg(t.code ORDER BY x.seq) FROM fleet.assignment_trips x"
        "  JOIN fleet.trips t USING (trip_id) WHERE x.assignment_id = a.assignment_id),"
        " 'stops', (SELECT jsonb_agg(jsonb_build_object('name', s.name,"
        "  'from', to_char(s.window_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "  'to', to_char(s.window_to AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "  'radius_m', s.radius_m, 'lon', ST_X(s.geom), 'lat', ST_Y(s.geom)) ORDER BY s.seq)"
        "  FROM fleet.assignment_stops s WHERE s.assignment_id = a.assignment_id))::text"
        " FROM fleet.shift_assignments a JOIN fleet.vehicles v ON v.vehicle_id = a.vehicle_id"
        " LEFT JOIN fleet.drivers d ON d.driver_id = a.driver_id"
        " LEFT JOIN fleet.routes r ON r.route_id = a.route_id WHERE a.assignment_id = $1",
        id);
    return nlohmann::json::parse(r[0].as<std::string>());
}

void Writer::journal(const std::string& actor, const std::string& action, const Work& w,
                     std::int64_t id, nlohmann::json details) {
    details["assignment_id"] = id;
    details["date"] = w.service_date;
    geo::record(tx_, {.actor = actor,
                      .action = action,
                      .subject = w.vehicle,
                      .details = std::move(details),
                      .kind = "assignment",
                      .vehicle_id = w.vehicle_id,
                      .driver_id = w.driver_id,
                      .assignment_id = id});
}

// What the journal says of new work.
nlohmann::json created_details(const Work& w, const std::vector<std::string>& forced) {
    nlohmann::json d = {
        {"driver_id", w.driver_id ? nlohmann::json(*w.driver_id) : nlohmann::json()},
        {"kind", w.freight ? "freight" : "timetable"},
        {"feed", w.feed},
        {"time_zone", w.time_zone},
        {"start", iso_utc(w.from)},
        {"end", iso_utc(w.to)}};
    if (w.freight) {
        d["route"] = w.route;
        d["stops"] = w.stops.size();
    } else {
        d["block"] = w.block.empty() ? nlohmann::json() : nlohmann::json(w.block);
        d["trips"] = w.trips.size();
        d["trip_codes"] = w.trip_codes;
    }
    if (!forced.empty()) {
        d["forced"] = forced;
    }
    return d;
}

std::int64_t Writer::save(const AssignmentRequest& q) {
    const Work w = resolve(q);
    const auto forced = check_clashes(w, q.force, {});
    const auto id = insert(w);
    journal(q.actor, "assignment created", w, id, created_details(w, forced));
    return id;
}

// Runs `f`, prefixing an InputError with where the request came from.
template <typename F>
auto with_origin(const AssignmentRequest& q, F&& f) {
    try {
        return f();
    } catch (const InputError& e) {
        if (q.origin.empty()) {
            throw;
        }
        throw InputError(q.origin + ": " + e.what());
    }
}

template <typename F>
auto in_transaction(pqxx::connection& conn, const char* what, F&& f) {
    try {
        pqxx::work tx(conn);
        Writer writer(tx);
        auto result = f(tx, writer);
        if (result.second) {
            tx.commit();
        }
        return result.first;
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string(what) + ": " + e.what());
    }
}

}  // namespace

std::int64_t save_assignment(pqxx::connection& conn, const AssignmentRequest& q) {
    return in_transaction(conn, "saving an assignment", [&](pqxx::work&, Writer& writer) {
        return std::pair(with_origin(q, [&] { return writer.save(q); }), true);
    });
}

std::vector<std::int64_t> save_assignments(pqxx::connection& conn,
                                           const std::vector<AssignmentRequest>& requests,
                                           const SaveProgress& progress,
                                           std::size_t progress_every) {
    return in_transaction(conn, "saving assignments", [&](pqxx::work&, Writer& writer) {
        std::vector<std::int64_t> ids;
        for (const auto& q : requests) {
            ids.push_back(with_origin(q, [&] { return writer.save(q); }));
            if (progress && (ids.size() % std::max<std::size_t>(1, progress_every) == 0 ||
                             ids.size() == requests.size())) {
                progress(ids.size(), requests.size());
            }
        }
        return std::pair(ids, true);
    });
}

bool change_assignment(pqxx::connection& conn, const ChangeRequest& c) {
    return in_transaction(conn, "changing an assignment", [&](pqxx::work&, Writer& writer) {
        const Stored s = writer.stored(c.assignment_id);
        if (s.status == "cancelled") {
            throw InputError("assignment " + std::to_string(c.assignment_id) + " was cancelled (" +
                             s.cancelled + "); assign the work anew");
        }
        const bool work_changes =
            c.block || c.trips || c.route || c.stops || c.start || c.end || c.time_zone;
        if (!work_changes && !c.vehicle && !c.driver) {
            throw InputError(
                "nothing to change: give a vehicle, a driver, a block or trips, a route and "
                "stops, or times");
        }
        AssignmentRequest q = writer.request_of(s);
        q.actor = c.actor;
        if (c.vehicle) {
            q.vehicle = *c.vehicle;
        }
        if (c.driver) {
            q.driver = *c.driver;
        }
        if (c.block || c.trips) {
            q.route.clear();
            q.stops.clear();
            q.time_zone.clear();
            if (s.freight) {
                q.start.clear();
                q.end.clear();
            }
            q.block = c.block.value_or("");
            q.trips = c.trips.value_or(std::vector<std::string>{});
        }
        if (c.route) {
            q.route = *c.route;
            q.block.clear();
            q.trips.clear();
        }
        if (c.stops) {
            q.stops = *c.stops;
        }
        if (c.start) {
            q.start = *c.start;
        }
        if (c.end) {
            q.end = *c.end;
        }
        if (c.time_zone) {
            q.time_zone = *c.time_zone;
        }
        // Stops it keeps were checked when they were saved; new ones (or a new route) are
        // checked against the distance given.
        q.max_stop_offset_m = c.stops || c.route ? c.max_stop_offset_m : 1e7;
        Work w = writer.resolve(q);
        if (!c.driver && s.driver_id) {
            w.driver_id = s.driver_id;
            w.driver = s.driver;
        }
        const auto forced = writer.check_clashes(w, c.force, {c.assignment_id});
        const auto before = writer.describe(c.assignment_id);
        writer.update(c.assignment_id, w);
        const auto after = writer.describe(c.assignment_id);
        if (before == after) {
            return std::pair(false, false);
        }
        nlohmann::json details = {{"previous", before}, {"current", after}};
        if (!c.reason.empty()) {
            details["reason"] = c.reason;
        }
        if (!forced.empty()) {
            details["forced"] = forced;
        }
        writer.journal(c.actor, "assignment changed", w, c.assignment_id, std::move(details));
        return std::pair(true, true);
    });
}

void cancel_assignment(pqxx::connection& conn, std::int64_t id, const std::string& reason,
                       const std::string& actor) {
    in_transaction(conn, "cancelling an assignment", [&](pqxx::work&, Writer& writer) {
        if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
            throw InputError("a cancellation needs its reason");
        }
        const Stored s = writer.stored(id);
        if (s.status == "cancelled") {
            throw InputError("assignment " + std::to_string(id) + " was cancelled already (" +
                             s.cancelled + ")");
        }
        const auto before = writer.describe(id);
        writer.cancel(id, reason);
        Work w;
        w.service_date = s.service_date;
        w.vehicle_id = s.vehicle_id;
        w.vehicle = s.vehicle;
        w.driver_id = s.driver_id;
        writer.journal(actor, "assignment cancelled", w, id,
                       {{"reason", reason}, {"previous", before}});
        return std::pair(0, true);
    });
}

HandoverResult hand_over(pqxx::connection& conn, const HandoverRequest& r) {
    return in_transaction(conn, "handing over an assignment", [&](pqxx::work& tx, Writer& writer) {
        if (r.vehicle.empty()) {
            throw InputError("a hand-over needs the spare vehicle (its registration)");
        }
        if (r.from_trip.empty()) {
            throw InputError("a hand-over needs the trip from which the spare takes over");
        }
        std::int64_t id = r.assignment_id;
        if (id == 0) {
            if (!detail::is_date(r.service_date) || r.block.empty()) {
                throw InputError(
                    "a hand-over names the assignment, or its date (YYYY-MM-DD) and block");
            }
            const auto found = tx.exec_params(
                "SELECT DISTINCT a.assignment_id FROM fleet.shift_assignments a"
                " JOIN fleet.assignment_trips x USING (assignment_id)"
                " JOIN fleet.trips t USING (trip_id)"
                " WHERE a.service_date = $1::date AND a.status <> 'cancelled'"
                " AND t.feed = $2 AND t.block_code = $3 AND t.code = $4 ORDER BY 1",
                r.service_date, r.feed, r.block, r.from_trip);
            if (found.size() != 1) {
                std::vector<std::string> ids;
                for (const auto& f : found) {
                    ids.push_back(f[0].as<std::string>());
                }
                throw InputError(found.empty()
                                     ? "no live assignment of " + r.service_date + " holds trip '" +
                                           r.from_trip + "' of block '" + r.block + "' in feed '" +
                                           r.feed + "'"
                                     : "several assignments hold trip '" + r.from_trip + "' (" +
                                           joined(ids, ", ") + "): name the one that hands over");
            }
            id = found[0][0].as<std::int64_t>();
        }
        const Stored s = writer.stored(id);
        const std::string name = "assignment " + std::to_string(id);
        if (s.status == "cancelled") {
            throw InputError(name + " was cancelled (" + s.cancelled + ")");
        }
        if (s.freight) {
            throw InputError(name +
                             " is freight work; give it another vehicle with assign change " +
                             std::to_string(id) + " --vehicle REG");
        }
        const auto at = std::find(s.trips.begin(), s.trips.end(), r.from_trip);
        if (at == s.trips.end()) {
            throw InputError(name + " does not hold trip '" + r.from_trip +
                             "' (its trips: " + joined(s.trips, ", ") + ")");
        }
        const auto before = writer.describe(id);
        HandoverResult result;
        result.original_id = id;
        const std::vector<std::string> kept(s.trips.begin(), at);
        const std::vector<std::string> moved(at, s.trips.end());
        result.trips_kept = kept.size();
        result.trips_moved = moved.size();

        AssignmentRequest spare;
        spare.service_date = s.service_date;
        spare.feed = s.feed;
        spare.vehicle = r.vehicle;
        spare.driver = r.driver;
        spare.block = s.block;
        spare.trips = moved;
        Work ws = writer.resolve(spare);
        if (ws.vehicle_id == s.vehicle_id) {
            throw InputError("vehicle '" + s.vehicle + "' already drives " + name +
                             "; the spare is another vehicle");
        }
        if (r.driver.empty()) {
            ws.driver_id = s.driver_id;
            ws.driver = s.driver;
        }

        // The original first ends before the spare's trips, so that they do not clash.
        Work wo;
        wo.service_date = s.service_date;
        wo.vehicle_id = s.vehicle_id;
        wo.vehicle = s.vehicle;
        wo.driver_id = s.driver_id;
        const std::string why = "handed over to " + ws.vehicle + " from trip " + r.from_trip +
                                (r.reason.empty() ? "" : ": " + r.reason);
        if (kept.empty()) {
            writer.cancel(id, why);
        } else {
            AssignmentRequest original = writer.request_of(s);
            original.trips = kept;
            original.end.clear();
            wo = writer.resolve(original);
            wo.driver_id = s.driver_id;
            wo.driver = s.driver;
            writer.update(id, wo);
        }
        const auto forced = writer.check_clashes(ws, r.force, {});
        result.spare_id = writer.insert(ws);

        nlohmann::json handed = {
            {"to_vehicle", ws.vehicle},      {"spare_assignment_id", result.spare_id},
            {"from_trip", r.from_trip},      {"trips_kept", kept.size()},
            {"trips_moved", moved.size()},   {"previous", before},
            {"current", writer.describe(id)}};
        if (!r.reason.empty()) {
            handed["reason"] = r.reason;
        }
        writer.journal(r.actor, "assignment handed over", wo, id, std::move(handed));
        auto created = created_details(ws, forced);
        created["handed_over_from"] = id;
        if (!r.reason.empty()) {
            created["reason"] = r.reason;
        }
        writer.journal(r.actor, "assignment created", ws, result.spare_id, std::move(created));
        return std::pair(result, true);
    });
}

}  // namespace fleet::dispatch
