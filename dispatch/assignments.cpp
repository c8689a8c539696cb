#include "dispatch/assignments.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "dispatch/detail/geojson.hpp"
#include "dispatch/route_rules.hpp"
#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "geo/journal.hpp"

namespace fleet::dispatch {

namespace {

Millis at_ms(const pqxx::field& f) {
    return Millis(std::chrono::milliseconds(f.as<long long>()));
}

// A planned stop from the first columns of a row: id, name, lon, lat, radius (NULL: default).
PlannedStop stop_of(const pqxx::row& r) {
    PlannedStop s;
    s.stop_id = r[0].is_null() ? 0 : r[0].as<std::int64_t>();
    s.name = r[1].as<std::string>();
    s.position = {r[2].as<double>(), r[3].as<double>()};
    if (!r[4].is_null()) {
        s.radius_m = r[4].as<double>();
    }
    return s;
}

std::vector<geo::LonLat> line_of(const std::string& geojson) {
    return detail::line_from_geojson(geojson);
}

// The stops of a trip, in absolute time, placed along its shape.
TripPlan load_trip(pqxx::transaction_base& tx, const pqxx::row& t, const std::string& date) {
    TripPlan trip;
    trip.trip_id = t[0].as<std::int64_t>();
    trip.code = t[1].as<std::string>();
    trip.route_id = t[4].as<std::int64_t>();
    const auto stops = tx.exec_params(
        "SELECT st.stop_id, coalesce(s.name, s.code), ST_X(s.geom), ST_Y(s.geom),"
        " s.radius_m, st.timepoint,"
        " (extract(epoch FROM d.day_start + st.arrival_s * interval '1 second') * 1000)::bigint,"
        " (extract(epoch FROM d.day_start + st.departure_s * interval '1 second') * 1000)::bigint"
        " FROM fleet.stop_times st JOIN fleet.stops s USING (stop_id) CROSS JOIN ("
        "  SELECT (($2::date + time '12:00') AT TIME ZONE coalesce("
        "   (SELECT f.agency -> 0 ->> 'agency_timezone' FROM fleet.feeds f WHERE f.feed = $3),"
        "   'UTC')) - interval '12 hours' AS day_start) d"
        " WHERE st.trip_id = $1 ORDER BY st.stop_sequence",
        trip.trip_id, date, t[2].as<std::string>());
    if (stops.size() < 2) {
        throw DatabaseError("trip " + trip.code + " has fewer than two stops");
    }
    std::vector<geo::LonLat> points;
    for (const auto& r : stops) {
        PlannedStop s = stop_of(r);
        s.timepoint = r[5].as<bool>();
        if (!r[6].is_null()) {
            s.arrival = at_ms(r[6]);
        }
        if (!r[7].is_null()) {
            s.departure = at_ms(r[7]);
        }
        if (r[6].is_null() != r[7].is_null()) {
            (r[6].is_null() ? s.arrival : s.departure) = r[6].is_null() ? s.departure : s.arrival;
        }
        points.push_back(s.position);
        trip.stops.push_back(s);
    }
    trip.shape = std::make_shared<geo::Polyline>(
        t[3].is_null() ? points : line_of(t[3].as<std::string>()), "trip " + trip.code);
    // Stops placed along the shape in order (forward, so that loops place them right).
    double along = 0;
    for (auto& s : trip.stops) {
        const auto p = trip.shape->project_forward(s.position, along, trip.shape->length_m(), 1e6);
        along = p ? p->distance_along_m : along;
        s.distance_along_m = along;
    }
    // Stops without times take them from their neighbours by distance.
    for (std::size_t i = 0; i < trip.stops.size(); ++i) {
        if (trip.stops[i].arrival != Millis{}) {
            continue;
        }
        std::size_t a = i;
        while (a > 0 && trip.stops[a].arrival == Millis{}) {
            --a;
        }
        std::size_t b = i;
        while (b + 1 < trip.stops.size() && trip.stops[b].arrival == Millis{}) {
            ++b;
        }
        const auto& from = trip.stops[a];
        const auto& to = trip.stops[b];
        const double span = std::max(1.0, to.distance_along_m - from.distance_along_m);
        const double f = (trip.stops[i].distance_along_m - from.distance_along_m) / span;
        trip.stops[i].arrival = trip.stops[i].departure =
            from.departure + std::chrono::milliseconds(static_cast<long long>(
                                 f * static_cast<double>((to.arrival - from.departure).count())));
    }
    return trip;
}

// Places points on `line` in order: each at the first pass within `radius_m` that is not behind
// the previous point's. The distances along, or the index of the first point without one.
struct Placement {
    std::vector<double> along_m;
    std::optional<std::size_t> failed;
};

Placement place_in_order(const geo::Polyline& line, const std::vector<geo::LonLat>& points,
                         double radius_m) {
    Placement out;
    double previous = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
        std::optional<double> along;
        for (const auto& c : line.candidates(points[i], radius_m)) {
            if (c.distance_along_m + geo::default_back_tolerance_m >= previous) {
                along = std::max(previous, c.distance_along_m);
                break;
            }
        }
        if (!along) {
            out.failed = i;
            return out;
        }
        previous = *along;
        out.along_m.push_back(*along);
    }
    return out;
}

// A freight run: one trip along the route's line, its stops in absolute time.
TripPlan load_freight_run(pqxx::transaction_base& tx, std::int64_t assignment_id,
                          const pqxx::row& a) {
    TripPlan trip;
    trip.route_id = a[5].as<std::int64_t>();
    trip.code = a[6].as<std::string>();
    trip.time_windows = true;
    trip.shape =
        std::make_shared<geo::Polyline>(line_of(a[7].as<std::string>()), "route " + trip.code);
    std::vector<geo::LonLat> points;
    for (const auto& r :
         tx.exec_params("SELECT coalesce(stop_id, 0), name, ST_X(geom), ST_Y(geom), radius_m,"
                        " (extract(epoch FROM window_from) * 1000)::bigint,"
                        " (extract(epoch FROM window_to) * 1000)::bigint"
                        " FROM fleet.assignment_stops WHERE assignment_id = $1 ORDER BY seq",
                        assignment_id)) {
        PlannedStop s = stop_of(r);
        s.arrival = at_ms(r[5]);
        s.departure = at_ms(r[6]);
        points.push_back(s.position);
        trip.stops.push_back(std::move(s));
    }
    if (trip.stops.empty()) {
        throw DatabaseError("freight assignment " + std::to_string(assignment_id) +
                            " has no stops");
    }
    // As they were checked when saved; should the route's line have changed since, each stop
    // goes where it lies nearest ahead of the previous one.
    const auto placed = place_in_order(*trip.shape, points, 2000);
    double along = 0;
    for (std::size_t i = 0; i < trip.stops.size(); ++i) {
        if (!placed.failed || i < *placed.failed) {
            along = placed.along_m[i];
        } else {
            const auto p =
                trip.shape->project_forward(points[i], along, trip.shape->length_m(), 1e6);
            along = p ? p->distance_along_m : along;
        }
        trip.stops[i].distance_along_m = along;
    }
    return trip;
}

// "YYYY-MM-DD" naming a real day.
bool is_date(const std::string& text) {
    static const std::regex form(R"(^(\d{4})-(\d{2})-(\d{2})$)");
    std::smatch m;
    if (!std::regex_match(text, m, form)) {
        return false;
    }
    const std::chrono::year_month_day day{std::chrono::year(std::stoi(m[1])),
                                          std::chrono::month(std::stoul(m[2])),
                                          std::chrono::day(std::stoul(m[3]))};
    return day.ok();
}

// A time as operators write it: "HH:MM[:SS]" on the service date (past 24:00 allowed), or
// "YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH[:MM]]".
struct TimeText {
    std::string date;    // empty: the service date
    double seconds = 0;  // after that date's midnight
    std::optional<double> offset_s;
};

std::optional<TimeText> parse_time(const std::string& text) {
    static const std::regex clock(R"(^(\d{1,2}):(\d{2})(?::(\d{2}))?$)");
    static const std::regex stamp(
        R"(^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?$)");
    std::smatch m;
    TimeText out;
    auto hms = [&](int h, int mi, int s, int max_h) {
        if (h > max_h || mi > 59 || s > 59) {
            return false;
        }
        out.seconds = h * 3600.0 + mi * 60.0 + s;
        return true;
    };
    if (std::regex_match(text, m, clock)) {
        if (!hms(std::stoi(m[1]), std::stoi(m[2]), m[3].matched ? std::stoi(m[3]) : 0, 47)) {
            return std::nullopt;
        }
        return out;
    }
    if (std::regex_match(text, m, stamp)) {
        out.date = m[1];
        if (!is_date(out.date) ||
            !hms(std::stoi(m[2]), std::stoi(m[3]), m[4].matched ? std::stoi(m[4]) : 0, 23)) {
            return std::nullopt;
        }
        if (m[5].matched) {
            const int oh = m[6].matched ? std::stoi(m[7]) : 0;
            const int om = m[8].matched ? std::stoi(m[8]) : 0;
            if (oh > 14 || om > 59) {
                return std::nullopt;
            }
            out.offset_s = (m[6] == "-" ? -1 : 1) * (oh * 3600.0 + om * 60.0);
        }
        return out;
    }
    return std::nullopt;
}

std::string iso(Millis t) {
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd(day);
    const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - day));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                  static_cast<long>(hms.minutes().count()),
                  static_cast<long>(hms.seconds().count()));
    return buf;
}

std::string metres(double m) {
    return std::to_string(std::lround(m)) + " m";
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

struct FreightPlan {
    std::int64_t route_id = 0;
    Millis start;
    Millis end;
    std::vector<ResolvedStop> stops;
};

// Saves requests within one transaction, remembering the time zones it has checked.
class Saver {
  public:
    explicit Saver(pqxx::work& tx) : tx_(tx) {}
    std::int64_t save(const AssignmentRequest& q);

  private:
    std::vector<std::int64_t> timetable_trips(const AssignmentRequest& q);
    FreightPlan freight(const AssignmentRequest& q);
    std::string zone_of(const AssignmentRequest& q);
    Millis instant(const std::string& text, const std::string& what, const std::string& date,
                   const std::string& zone);

    pqxx::work& tx_;
    std::map<std::string, bool> zones_;
};

std::string Saver::zone_of(const AssignmentRequest& q) {
    if (q.time_zone.empty()) {
        const auto r = tx_.exec_params(
            "SELECT agency -> 0 ->> 'agency_timezone' FROM fleet.feeds WHERE feed = $1", q.feed);
        return r.empty() || r[0][0].is_null() ? "UTC" : r[0][0].as<std::string>();
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

Millis Saver::instant(const std::string& text, const std::string& what, const std::string& date,
                      const std::string& zone) {
    const auto t = parse_time(text);
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

std::vector<std::int64_t> Saver::timetable_trips(const AssignmentRequest& q) {
    std::vector<std::int64_t> trips;
    if (!q.block.empty()) {
        // The block's trips that run on the date, by first departure.
        for (const auto& r : tx_.exec_params(
                 "SELECT t.trip_id FROM fleet.trips t"
                 " JOIN LATERAL (SELECT min(departure_s) AS first FROM fleet.stop_times st"
                 "  WHERE st.trip_id = t.trip_id) f ON true"
                 " WHERE t.feed = $1 AND t.block_code = $2"
                 " AND t.service_code IN (SELECT fleet.services_on($1, $3::date))"
                 " ORDER BY f.first",
                 q.feed, q.block, q.service_date)) {
            trips.push_back(r[0].as<std::int64_t>());
        }
        if (trips.empty()) {
            throw InputError("block '" + q.block + "' of feed '" + q.feed + "' has no trips on " +
                             q.service_date);
        }
    }
    for (const auto& code : q.trips) {
        const auto r = tx_.exec_params(
            "SELECT trip_id FROM fleet.trips WHERE feed = $1 AND code = $2", q.feed, code);
        if (r.empty()) {
            throw InputError("unknown trip '" + code + "' in feed '" + q.feed + "'");
        }
        trips.push_back(r[0][0].as<std::int64_t>());
    }
    if (trips.empty()) {
        throw InputError(
            "an assignment needs a block or trips (timetabled work) or a route "
            "(freight work)");
    }
    return trips;
}

FreightPlan Saver::freight(const AssignmentRequest& q) {
    FreightPlan plan;
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
    plan.route_id = route[0][0].as<std::int64_t>();
    std::optional<geo::Polyline> line;
    try {
        line.emplace(line_of(route[0][1].as<std::string>()), "route " + q.route);
    } catch (const GeometryError& e) {
        throw InputError(std::string("route '") + q.route + "': " + e.what());
    }
    if (q.start.empty() || q.end.empty()) {
        throw InputError("freight work needs a shift start and end");
    }
    const std::string zone = zone_of(q);
    plan.start = instant(q.start, "shift start", q.service_date, zone);
    plan.end = instant(q.end, "shift end", q.service_date, zone);
    if (plan.end <= plan.start) {
        throw InputError("the shift ends (" + q.end + ") before it starts (" + q.start + ")");
    }
    if (q.stops.empty()) {
        throw InputError("freight work needs at least one planned stop");
    }
    if (!(q.max_stop_offset_m > 0)) {
        throw InputError("the distance a stop may lie from the route must be above 0 m");
    }
    const std::string shift = iso(plan.start) + " – " + iso(plan.end);
    std::vector<geo::LonLat> points;
    for (std::size_t i = 0; i < q.stops.size(); ++i) {
        const StopRequest& r = q.stops[i];
        ResolvedStop s;
        if (r.position) {
            const auto p = *r.position;
            if (!(std::abs(p.lon_deg) <= 180 && std::abs(p.lat_deg) <= 90)) {
                throw InputError("stop " + std::to_string(i + 1) + ": " +
                                 std::to_string(p.lon_deg) + ", " + std::to_string(p.lat_deg) +
                                 " is not a longitude and latitude");
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
        s.from = instant(r.window_from, where + ": window start", q.service_date, zone);
        s.to = instant(r.window_to, where + ": window end", q.service_date, zone);
        if (s.to < s.from) {
            throw InputError(where + ": its window ends (" + r.window_to + ") before it starts (" +
                             r.window_from + ")");
        }
        if (s.from < plan.start || s.to > plan.end) {
            throw InputError(where + ": its window " + iso(s.from) + " – " + iso(s.to) +
                             " lies outside the shift " + shift);
        }
        if (!plan.stops.empty() && s.to < plan.stops.back().from) {
            throw InputError(where +
                             ": its window closes before the window of the stop before "
                             "it ('" +
                             plan.stops.back().name + "') opens");
        }
        const auto nearest = line->project(s.position);
        const double off_m = geo::geodesic_m(s.position, nearest.closest);
        if (off_m > q.max_stop_offset_m) {
            throw InputError(where + " is " + metres(off_m) + " from route '" + q.route +
                             "' (at most " + metres(q.max_stop_offset_m) + ")");
        }
        points.push_back(s.position);
        plan.stops.push_back(std::move(s));
    }
    const auto placed = place_in_order(*line, points, q.max_stop_offset_m);
    if (placed.failed) {
        const std::size_t i = std::max<std::size_t>(1, *placed.failed);  // the first always fits
        const auto passes = line->candidates(points[i], q.max_stop_offset_m);
        const double at = passes.empty() ? 0 : passes.back().distance_along_m;
        throw InputError("stop '" + plan.stops[i].name + "' is not in route order: it lies " +
                         metres(at) + " along route '" + q.route + "', before stop '" +
                         plan.stops[i - 1].name + "' (" + metres(placed.along_m[i - 1]) + ")");
    }
    return plan;
}

std::int64_t Saver::save(const AssignmentRequest& q) {
    if (!is_date(q.service_date)) {
        throw InputError("date '" + q.service_date + "' is not YYYY-MM-DD");
    }
    const auto vehicle =
        tx_.exec_params("SELECT vehicle_id FROM fleet.vehicles WHERE registration = $1", q.vehicle);
    if (vehicle.empty()) {
        throw InputError("unknown vehicle '" + q.vehicle + "' (by registration)");
    }
    std::optional<std::int64_t> driver;
    if (!q.driver.empty()) {
        const auto d = tx_.exec_params(
            "SELECT driver_id FROM fleet.drivers WHERE full_name = $1 OR personnel_number = $1",
            q.driver);
        if (d.size() != 1) {
            throw InputError(d.empty() ? "unknown driver '" + q.driver + "'"
                                       : "driver '" + q.driver + "' is ambiguous");
        }
        driver = d[0][0].as<std::int64_t>();
    }
    const bool freight = !q.route.empty();
    if (freight && (!q.block.empty() || !q.trips.empty())) {
        throw InputError("give a block or trips (timetabled work) or a route (freight), not both");
    }
    if (!freight && (!q.stops.empty() || !q.start.empty() || !q.end.empty())) {
        throw InputError(
            "planned stops and shift start and end are for freight work: name its "
            "route");
    }
    std::vector<std::int64_t> trips;
    FreightPlan plan;
    if (freight) {
        plan = this->freight(q);
    } else {
        trips = timetable_trips(q);
    }

    const auto vehicle_id = vehicle[0][0].as<std::int64_t>();
    const auto before = tx_.exec_params(
        "SELECT assignment_id, jsonb_build_object('kind', kind, 'driver_id', driver_id,"
        " 'block', block_code, 'route_id', route_id,"
        " 'trips', (SELECT jsonb_agg(trip_id ORDER BY seq) FROM fleet.assignment_trips x"
        "  WHERE x.assignment_id = a.assignment_id),"
        " 'stops', (SELECT jsonb_agg(jsonb_build_object('name', s.name, 'from', s.window_from,"
        "  'to', s.window_to) ORDER BY seq) FROM fleet.assignment_stops s"
        "  WHERE s.assignment_id = a.assignment_id))::text"
        " FROM fleet.shift_assignments a WHERE service_date = $1::date AND vehicle_id = $2"
        " AND status <> 'cancelled'",
        q.service_date, vehicle_id);
    for (const auto& r : before) {
        tx_.exec_params(
            "UPDATE fleet.shift_assignments SET status = 'cancelled' WHERE assignment_id = $1",
            r[0].as<std::int64_t>());
    }
    std::optional<std::int64_t> route_id;
    std::optional<double> start_s;
    std::optional<double> end_s;
    if (freight) {
        route_id = plan.route_id;
        start_s = static_cast<double>(plan.start.time_since_epoch().count()) / 1000;
        end_s = static_cast<double>(plan.end.time_since_epoch().count()) / 1000;
    }
    const auto id =
        tx_.exec_params1(
               "INSERT INTO fleet.shift_assignments (service_date, vehicle_id,"
               " driver_id, kind, block_code, route_id, planned_start, planned_end)"
               " VALUES ($1::date, $2, $3, $4, NULLIF($5, ''), $6,"
               " to_timestamp($7::double precision), to_timestamp($8::double precision))"
               " RETURNING assignment_id",
               q.service_date, vehicle_id, driver, freight ? "freight" : "timetable", q.block,
               route_id, start_s, end_s)[0]
            .as<std::int64_t>();
    for (std::size_t i = 0; i < trips.size(); ++i) {
        tx_.exec_params(
            "INSERT INTO fleet.assignment_trips (assignment_id, seq, trip_id) VALUES ($1, $2, $3)",
            id, static_cast<int>(i + 1), trips[i]);
    }
    for (std::size_t i = 0; i < plan.stops.size(); ++i) {
        const auto& s = plan.stops[i];
        tx_.exec_params(
            "INSERT INTO fleet.assignment_stops (assignment_id, seq, stop_id, name, geom,"
            " radius_m, window_from, window_to) VALUES ($1, $2, $3, $4,"
            " ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, to_timestamp($8::double precision),"
            " to_timestamp($9::double precision))",
            id, static_cast<int>(i + 1), s.stop_id, s.name, s.position.lon_deg, s.position.lat_deg,
            s.radius_m, static_cast<double>(s.from.time_since_epoch().count()) / 1000,
            static_cast<double>(s.to.time_since_epoch().count()) / 1000);
    }
    nlohmann::json details = {
        {"assignment_id", id},
        {"date", q.service_date},
        {"driver_id", driver ? nlohmann::json(*driver) : nlohmann::json()},
        {"kind", freight ? "freight" : "timetable"},
        {"previous", before.empty() ? nlohmann::json()
                                    : nlohmann::json::parse(before[0][1].as<std::string>())}};
    if (freight) {
        details["route"] = q.route;
        details["start"] = iso(plan.start);
        details["end"] = iso(plan.end);
        details["stops"] = plan.stops.size();
    } else {
        details["block"] = q.block.empty() ? nlohmann::json() : nlohmann::json(q.block);
        details["trips"] = trips.size();
    }
    geo::record(tx_, {.actor = q.actor,
                      .action = before.empty() ? "assignment created" : "assignment changed",
                      .subject = q.vehicle,
                      .details = details,
                      .vehicle_id = vehicle_id,
                      .driver_id = driver,
                      .assignment_id = id});
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

}  // namespace

std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const std::string& service_date) {
    try {
        pqxx::read_transaction tx(conn);
        std::vector<std::shared_ptr<Assignment>> out;
        const auto rows = tx.exec_params(
            "SELECT a.assignment_id, a.vehicle_id, a.driver_id,"
            " (extract(epoch FROM a.planned_start) * 1000)::bigint,"
            " (extract(epoch FROM a.planned_end) * 1000)::bigint,"
            " a.route_id, r.code, ST_AsGeoJSON(r.geom), a.kind"
            " FROM fleet.shift_assignments a LEFT JOIN fleet.routes r USING (route_id)"
            " WHERE a.service_date = $1::date AND a.status <> 'cancelled'"
            " AND (a.kind = 'timetable' OR r.geom IS NOT NULL)"
            " ORDER BY a.assignment_id",
            service_date);
        for (const auto& r : rows) {
            auto a = std::make_shared<Assignment>();
            a->assignment_id = r[0].as<std::int64_t>();
            a->vehicle_id = r[1].as<std::int64_t>();
            if (!r[2].is_null()) {
                a->driver_id = r[2].as<std::int64_t>();
            }
            if (r[8].as<std::string>() == "freight") {
                a->trips.push_back(load_freight_run(tx, a->assignment_id, r));
            } else {
                const auto trips = tx.exec_params(
                    "SELECT t.trip_id, t.code, t.feed, ST_AsGeoJSON(s.geom), t.route_id"
                    " FROM fleet.assignment_trips x JOIN fleet.trips t USING (trip_id)"
                    " LEFT JOIN fleet.shapes s ON s.shape_id = t.shape_id"
                    " WHERE x.assignment_id = $1 ORDER BY x.seq",
                    a->assignment_id);
                for (const auto& t : trips) {
                    a->trips.push_back(load_trip(tx, t, service_date));
                }
            }
            if (a->trips.empty()) {
                continue;
            }
            a->planned_start =
                r[3].is_null() ? a->trips.front().start() - std::chrono::minutes(15) : at_ms(r[3]);
            a->planned_end =
                r[4].is_null() ? a->trips.back().end() + std::chrono::minutes(10) : at_ms(r[4]);
            out.push_back(std::move(a));
        }
        std::vector<std::int64_t> routes;
        for (const auto& a : out) {
            for (const auto& t : a->trips) {
                routes.push_back(t.route_id);
            }
        }
        std::sort(routes.begin(), routes.end());
        routes.erase(std::unique(routes.begin(), routes.end()), routes.end());
        const auto rules = load_route_rules(tx, routes);
        for (auto& a : out) {
            for (auto& t : a->trips) {
                if (const auto it = rules.find(t.route_id); it != rules.end()) {
                    apply_route_rules(t, it->second);
                }
            }
        }
        return out;
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("loading assignments: ") + e.what());
    } catch (const GeometryError& e) {
        throw DatabaseError(std::string("loading assignments: ") + e.what());
    }
}

std::int64_t save_assignment(pqxx::connection& conn, const AssignmentRequest& q) {
    pqxx::work tx(conn);
    Saver saver(tx);
    const auto id = with_origin(q, [&] { return saver.save(q); });
    tx.commit();
    return id;
}

std::vector<std::int64_t> save_assignments(pqxx::connection& conn,
                                           const std::vector<AssignmentRequest>& requests,
                                           const SaveProgress& progress,
                                           std::size_t progress_every) {
    pqxx::work tx(conn);
    Saver saver(tx);
    std::vector<std::int64_t> ids;
    for (const auto& q : requests) {
        ids.push_back(with_origin(q, [&] { return saver.save(q); }));
        if (progress && (ids.size() % std::max<std::size_t>(1, progress_every) == 0 ||
                         ids.size() == requests.size())) {
            progress(ids.size(), requests.size());
        }
    }
    tx.commit();
    return ids;
}

}  // namespace fleet::dispatch
