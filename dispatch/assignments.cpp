// Reading assignments: loading them for the engine, their fingerprint, and the operators' list.
// Writing them (save, change, cancel, hand over) is in assignment_writes.cpp.
#include "dispatch/assignments.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "dispatch/detail/assignments.hpp"
#include "dispatch/detail/geojson.hpp"
#include "dispatch/route_rules.hpp"
#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

Millis at_ms(const pqxx::field& f) {
    return Millis(std::chrono::milliseconds(f.as<long long>()));
}

std::string text_or_empty(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

// The assignment row's columns, by name.
struct AssignmentColumns {
    std::int64_t assignment_id = 0;
    std::int64_t vehicle_id = 0;
    std::optional<std::int64_t> driver_id;
    std::optional<Millis> planned_start;
    std::optional<Millis> planned_end;
    std::optional<std::int64_t> route_id;
    std::string route_code;
    std::string route_short_name;
    bool freight = false;
    std::string service_date;
    Millis day_start;  // of the service date in its zone (GTFS: noon minus 12 h)
    std::string block;
};

AssignmentColumns columns_of(const pqxx::row& r) {
    AssignmentColumns c;
    c.assignment_id = r["assignment_id"].as<std::int64_t>();
    c.vehicle_id = r["vehicle_id"].as<std::int64_t>();
    if (!r["driver_id"].is_null()) {
        c.driver_id = r["driver_id"].as<std::int64_t>();
    }
    if (!r["start_ms"].is_null()) {
        c.planned_start = at_ms(r["start_ms"]);
    }
    if (!r["end_ms"].is_null()) {
        c.planned_end = at_ms(r["end_ms"]);
    }
    if (!r["route_id"].is_null()) {
        c.route_id = r["route_id"].as<std::int64_t>();
    }
    c.route_code = text_or_empty(r["route_code"]);
    c.route_short_name = text_or_empty(r["route_short_name"]);
    c.freight = r["kind"].as<std::string>() == "freight";
    c.service_date = r["service_date"].as<std::string>();
    c.day_start = at_ms(r["day_start_ms"]);
    c.block = text_or_empty(r["block"]);
    return c;
}

// Stops without times take them from their neighbours by distance.
void interpolate_times(TripPlan& trip) {
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
}

// A timetabled trip as it is on every day it runs: its shape, and its stops placed along it
// with their times in seconds of the service day. Shared by every assignment that drives it.
struct TimetabledTrip {
    TripPlan plan;  // stop times still unset
    std::vector<std::optional<std::int64_t>> arrival_s;
    std::vector<std::optional<std::int64_t>> departure_s;
};

std::optional<std::int64_t> optional_int(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::int64_t>(f.as<std::int64_t>());
}

// The trips of `assignment_ids`, in order, each trip read once (one query for the trips and
// their stops, one for their shapes; a shape is built once and shared).
class TripLoader {
  public:
    explicit TripLoader(pqxx::transaction_base& tx) : tx_(tx) {}

    // assignment id → its trips' ids in order; the trips themselves in trips_.
    std::map<std::int64_t, std::vector<std::int64_t>> load(
        const std::vector<std::int64_t>& assignment_ids) {
        std::map<std::int64_t, std::vector<std::int64_t>> order;
        std::map<std::int64_t, std::optional<std::int64_t>> shape_of;
        for (const auto& r : tx_.exec_params(
                 "SELECT x.assignment_id, x.trip_id FROM fleet.assignment_trips x"
                 " WHERE x.assignment_id = ANY($1::bigint[]) ORDER BY x.assignment_id, x.seq",
                 detail::array_literal(assignment_ids))) {
            order[r[0].as<std::int64_t>()].push_back(r[1].as<std::int64_t>());
        }
        std::vector<std::int64_t> trip_ids;
        for (const auto& [a, trips] : order) {
            trip_ids.insert(trip_ids.end(), trips.begin(), trips.end());
        }
        std::sort(trip_ids.begin(), trip_ids.end());
        trip_ids.erase(std::unique(trip_ids.begin(), trip_ids.end()), trip_ids.end());
        for (const auto& r : tx_.exec_params(
                 "SELECT t.trip_id, t.code, t.route_id, r.code AS route_code,"
                 " r.short_name AS route_short_name, t.shape_id, st.stop_id,"
                 " coalesce(s.name, s.code) AS stop_name, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,"
                 " s.radius_m, st.timepoint, st.arrival_s, st.departure_s"
                 " FROM fleet.trips t JOIN fleet.routes r ON r.route_id = t.route_id"
                 " JOIN fleet.stop_times st ON st.trip_id = t.trip_id"
                 " JOIN fleet.stops s ON s.stop_id = st.stop_id"
                 " WHERE t.trip_id = ANY($1::bigint[]) ORDER BY t.trip_id, st.stop_sequence",
                 detail::array_literal(trip_ids))) {
            const auto id = r["trip_id"].as<std::int64_t>();
            auto [it, fresh] = trips_.try_emplace(id);
            TimetabledTrip& t = it->second;
            if (fresh) {
                t.plan.trip_id = id;
                t.plan.code = r["code"].as<std::string>();
                t.plan.route_id = r["route_id"].as<std::int64_t>();
                t.plan.route_code = r["route_code"].as<std::string>();
                t.plan.route_short_name = text_or_empty(r["route_short_name"]);
                shape_of[id] = optional_int(r["shape_id"]);
            }
            PlannedStop s;
            s.stop_id = r["stop_id"].as<std::int64_t>();
            s.name = r["stop_name"].as<std::string>();
            s.position = {r["lon"].as<double>(), r["lat"].as<double>()};
            if (!r["radius_m"].is_null()) {
                s.radius_m = r["radius_m"].as<double>();
            }
            s.timepoint = r["timepoint"].as<bool>();
            t.plan.stops.push_back(std::move(s));
            t.arrival_s.push_back(optional_int(r["arrival_s"]));
            t.departure_s.push_back(optional_int(r["departure_s"]));
        }
        std::vector<std::int64_t> shape_ids;
        for (const auto& [trip, shape] : shape_of) {
            if (shape) {
                shape_ids.push_back(*shape);
            }
        }
        std::map<std::int64_t, std::shared_ptr<const geo::Polyline>> shapes;
        for (const auto& r :
             tx_.exec_params("SELECT shape_id, code, ST_AsGeoJSON(geom) FROM fleet.shapes"
                             " WHERE shape_id = ANY($1::bigint[])",
                             detail::array_literal(shape_ids))) {
            shapes[r[0].as<std::int64_t>()] =
                std::make_shared<geo::Polyline>(detail::line_from_geojson(r[2].as<std::string>()),
                                                "shape " + r[1].as<std::string>());
        }
        for (auto& [id, t] : trips_) {
            if (t.plan.stops.size() < 2) {
                throw DatabaseError("trip " + t.plan.code + " has fewer than two stops");
            }
            const auto shape = shape_of[id];
            if (shape && shapes.contains(*shape)) {
                t.plan.shape = shapes[*shape];
            } else {
                std::vector<geo::LonLat> points;
                for (const auto& s : t.plan.stops) {
                    points.push_back(s.position);
                }
                t.plan.shape = std::make_shared<geo::Polyline>(points, "trip " + t.plan.code);
            }
            // Stops placed along the shape in order (forward, so that loops place them right).
            double along = 0;
            for (auto& s : t.plan.stops) {
                const auto p =
                    t.plan.shape->project_forward(s.position, along, t.plan.shape->length_m(), 1e6);
                along = p ? p->distance_along_m : along;
                s.distance_along_m = along;
            }
        }
        return order;
    }

    // The trip on the service day that starts at `day_start`, in absolute time.
    TripPlan on(std::int64_t trip_id, Millis day_start) const {
        const auto found = trips_.find(trip_id);
        if (found == trips_.end()) {
            throw DatabaseError("trip " + std::to_string(trip_id) + " has no stop times");
        }
        const TimetabledTrip& t = found->second;
        TripPlan plan = t.plan;
        for (std::size_t i = 0; i < plan.stops.size(); ++i) {
            auto arrival = t.arrival_s[i];
            auto departure = t.departure_s[i];
            if (!arrival) {
                arrival = departure;
            }
            if (!departure) {
                departure = arrival;
            }
            if (arrival) {
                plan.stops[i].arrival = day_start + std::chrono::seconds(*arrival);
                plan.stops[i].departure = day_start + std::chrono::seconds(*departure);
            }
        }
        interpolate_times(plan);
        return plan;
    }

  private:
    pqxx::transaction_base& tx_;
    std::map<std::int64_t, TimetabledTrip> trips_;
};

// The freight runs of `columns` (one trip each along its route's line, its stops in absolute
// time), by assignment id; each route's line built once.
std::map<std::int64_t, TripPlan> load_freight_runs(pqxx::transaction_base& tx,
                                                   const std::vector<AssignmentColumns>& columns) {
    std::map<std::int64_t, TripPlan> runs;
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> routes;
    for (const auto& c : columns) {
        if (c.freight) {
            ids.push_back(c.assignment_id);
            routes.push_back(c.route_id.value_or(0));
        }
    }
    if (ids.empty()) {
        return runs;
    }
    std::map<std::int64_t, std::shared_ptr<const geo::Polyline>> lines;
    for (const auto& r :
         tx.exec_params("SELECT route_id, code, ST_AsGeoJSON(geom) FROM fleet.routes"
                        " WHERE route_id = ANY($1::bigint[]) AND geom IS NOT NULL",
                        detail::array_literal(routes))) {
        lines[r[0].as<std::int64_t>()] = std::make_shared<geo::Polyline>(
            detail::line_from_geojson(r[2].as<std::string>()), "route " + r[1].as<std::string>());
    }
    std::map<std::int64_t, std::vector<geo::LonLat>> points;
    for (const auto& r :
         tx.exec_params("SELECT assignment_id, coalesce(stop_id, 0), name, ST_X(geom), ST_Y(geom),"
                        " radius_m, (extract(epoch FROM window_from) * 1000)::bigint,"
                        " (extract(epoch FROM window_to) * 1000)::bigint"
                        " FROM fleet.assignment_stops WHERE assignment_id = ANY($1::bigint[])"
                        " ORDER BY assignment_id, seq",
                        detail::array_literal(ids))) {
        const auto id = r[0].as<std::int64_t>();
        PlannedStop s;
        s.stop_id = r[1].as<std::int64_t>();
        s.name = r[2].as<std::string>();
        s.position = {r[3].as<double>(), r[4].as<double>()};
        if (!r[5].is_null()) {
            s.radius_m = r[5].as<double>();
        }
        s.arrival = at_ms(r[6]);
        s.departure = at_ms(r[7]);
        points[id].push_back(s.position);
        runs[id].stops.push_back(std::move(s));
    }
    for (const auto& c : columns) {
        if (!c.freight) {
            continue;
        }
        TripPlan& trip = runs[c.assignment_id];
        if (trip.stops.empty()) {
            throw DatabaseError("freight assignment " + std::to_string(c.assignment_id) +
                                " has no stops");
        }
        trip.route_id = c.route_id.value_or(0);
        trip.code = c.route_code;
        trip.route_code = c.route_code;
        trip.route_short_name = c.route_short_name;
        trip.time_windows = true;
        const auto line = lines.find(trip.route_id);
        if (line == lines.end()) {
            throw DatabaseError("the route of freight assignment " +
                                std::to_string(c.assignment_id) + " has no line");
        }
        trip.shape = line->second;
        // As they were checked when saved; should the route's line have changed since, each
        // stop goes where it lies nearest ahead of the previous one.
        const auto& at = points[c.assignment_id];
        const auto placed = detail::place_in_order(*trip.shape, at, 2000);
        double along = 0;
        for (std::size_t i = 0; i < trip.stops.size(); ++i) {
            if (!placed.failed || i < *placed.failed) {
                along = placed.along_m[i];
            } else {
                const auto p =
                    trip.shape->project_forward(at[i], along, trip.shape->length_m(), 1e6);
                along = p ? p->distance_along_m : along;
            }
            trip.stops[i].distance_along_m = along;
        }
    }
    return runs;
}

void apply_rules(pqxx::transaction_base& tx, std::vector<std::shared_ptr<Assignment>>& out) {
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
}

std::optional<double> epoch_s(const std::optional<Millis>& t) {
    if (!t) {
        return std::nullopt;
    }
    return static_cast<double>(t->time_since_epoch().count()) / 1000;
}

std::string day_text(std::chrono::sys_days day) {
    const std::chrono::year_month_day ymd(day);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

// FNV-1a, 64 bits, over the bytes of the values given in order.
class Digest {
  public:
    template <typename T>
    void add(const T& value) requires std::is_arithmetic_v<T> {
        unsigned char bytes[sizeof(T)];
        std::memcpy(bytes, &value, sizeof(T));
        mix(bytes, sizeof(T));
    }
    void add(const std::string& text) {
        add(text.size());
        mix(reinterpret_cast<const unsigned char*>(text.data()), text.size());
    }
    void add(Millis t) { add(static_cast<std::int64_t>(t.time_since_epoch().count())); }
    template <typename T>
    void add(const std::optional<T>& value) {
        add(value.has_value());
        if (value) {
            add(*value);
        }
    }
    void add(const geo::LonLat& p) {
        add(p.lon_deg);
        add(p.lat_deg);
    }
    std::uint64_t value() const { return hash_; }

  private:
    void mix(const unsigned char* bytes, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            hash_ = (hash_ ^ bytes[i]) * 0x100000001b3ULL;
        }
    }
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const AssignmentSelection& selection) {
    try {
        // One snapshot for the several statements, so that they agree with each other.
        pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
        const bool by_id = !selection.ids.empty();
        const auto rows = tx.exec_params(
            "SELECT a.assignment_id, a.vehicle_id, a.driver_id,"
            " (extract(epoch FROM a.planned_start) * 1000)::bigint AS start_ms,"
            " (extract(epoch FROM a.planned_end) * 1000)::bigint AS end_ms,"
            " a.route_id, r.code AS route_code, r.short_name AS route_short_name, a.kind,"
            " a.service_date::text AS service_date,"
            " (extract(epoch FROM fleet.service_day_start(a.service_date, a.time_zone)) * 1000)"
            "  ::bigint AS day_start_ms,"
            " coalesce(a.block_code, CASE WHEN cardinality(w.blocks) = 1 THEN w.blocks[1] END)"
            "  AS block"
            " FROM fleet.shift_assignments a JOIN fleet.assignment_work w USING (assignment_id)"
            " LEFT JOIN fleet.routes r ON r.route_id = a.route_id"
            " WHERE a.status <> 'cancelled' AND (a.kind = 'timetable' OR r.geom IS NOT NULL)"
            " AND CASE WHEN $1 THEN a.assignment_id = ANY($2::bigint[])"
            "  ELSE a.service_date = ANY($3::date[]) END"
            " AND ($4::double precision IS NULL OR coalesce(a.planned_end, w.work_end"
            "  + interval '10 minutes') >= to_timestamp($4::double precision))"
            " AND ($5::double precision IS NULL OR coalesce(a.planned_start, w.work_start"
            "  - interval '15 minutes') <= to_timestamp($5::double precision))"
            " ORDER BY a.assignment_id",
            by_id, detail::array_literal(selection.ids),
            detail::array_literal(selection.service_dates), epoch_s(selection.active_from),
            epoch_s(selection.active_to));
        std::vector<AssignmentColumns> columns;
        std::vector<std::int64_t> timetabled;
        for (const auto& r : rows) {
            columns.push_back(columns_of(r));
            if (!columns.back().freight) {
                timetabled.push_back(columns.back().assignment_id);
            }
        }
        TripLoader trips(tx);
        const auto trips_of = trips.load(timetabled);
        auto runs = load_freight_runs(tx, columns);

        std::vector<std::shared_ptr<Assignment>> out;
        for (const auto& c : columns) {
            auto a = std::make_shared<Assignment>();
            a->assignment_id = c.assignment_id;
            a->vehicle_id = c.vehicle_id;
            a->driver_id = c.driver_id;
            a->service_date = c.service_date;
            a->block = c.block;
            if (c.freight) {
                a->trips.push_back(std::move(runs.at(c.assignment_id)));
            } else if (const auto it = trips_of.find(c.assignment_id); it != trips_of.end()) {
                for (const auto trip : it->second) {
                    a->trips.push_back(trips.on(trip, c.day_start));
                }
            }
            if (a->trips.empty()) {
                continue;
            }
            a->planned_start =
                c.planned_start.value_or(a->trips.front().start() - std::chrono::minutes(15));
            a->planned_end =
                c.planned_end.value_or(a->trips.back().end() + std::chrono::minutes(10));
            out.push_back(std::move(a));
        }
        apply_rules(tx, out);
        return out;
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("loading assignments: ") + e.what());
    } catch (const GeometryError& e) {
        throw DatabaseError(std::string("loading assignments: ") + e.what());
    } catch (const nlohmann::json::exception& e) {
        throw DatabaseError(std::string("loading assignments: a line is not GeoJSON: ") + e.what());
    }
}

std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const std::string& service_date) {
    return load_assignments(conn, AssignmentSelection{.service_dates = {service_date}});
}

std::vector<std::string> service_dates_around(Millis now) {
    const auto today = std::chrono::floor<std::chrono::days>(now);
    return {day_text(today - std::chrono::days(1)), day_text(today),
            day_text(today + std::chrono::days(1))};
}

std::uint64_t fingerprint(const Assignment& a) {
    Digest d;
    d.add(a.assignment_id);
    d.add(a.vehicle_id);
    d.add(a.driver_id);
    d.add(a.service_date);
    d.add(a.block);
    d.add(a.planned_start);
    d.add(a.planned_end);
    d.add(a.depot.has_value());
    if (a.depot) {
        d.add(*a.depot);
    }
    d.add(a.depot_radius_m);
    d.add(a.trips.size());
    for (const auto& t : a.trips) {
        d.add(t.trip_id);
        d.add(t.route_id);
        d.add(t.code);
        d.add(t.route_code);
        d.add(t.route_short_name);
        d.add(t.time_windows);
        d.add(t.shape ? t.shape->points().size() : 0);
        if (t.shape) {
            for (const auto& p : t.shape->points()) {
                d.add(p);
            }
        }
        d.add(t.stops.size());
        for (const auto& s : t.stops) {
            d.add(s.stop_id);
            d.add(s.name);
            d.add(s.position);
            d.add(s.distance_along_m);
            d.add(s.arrival);
            d.add(s.departure);
            d.add(s.timepoint);
            d.add(s.radius_m);
        }
        d.add(t.thresholds.size());
        for (const auto& [name, value] : t.thresholds) {
            d.add(name);
            d.add(value);
        }
        d.add(t.speed_segments.size());
        for (const auto& s : t.speed_segments) {
            d.add(s.from_m);
            d.add(s.to_m);
            d.add(s.limit_kmh);
        }
    }
    return d.value();
}

std::vector<AssignmentRow> list_assignments(pqxx::connection& conn, const AssignmentFilter& f) {
    if (!detail::is_date(f.service_date)) {
        throw InputError("date '" + f.service_date + "' is not YYYY-MM-DD");
    }
    try {
        pqxx::read_transaction tx(conn);
        if (!f.vehicle.empty() &&
            tx.exec_params("SELECT 1 FROM fleet.vehicles WHERE registration = $1", f.vehicle)
                .empty()) {
            throw InputError("unknown vehicle '" + f.vehicle + "' (by registration)");
        }
        // Times in the assignment's zone with their offset: the wall clock there, and the
        // offset as the difference between that wall clock and UTC's.
        const auto rows = tx.exec_params(
            "SELECT a.assignment_id, a.service_date::text AS service_date, a.status,"
            " v.registration, d.full_name, d.personnel_number, a.kind, a.feed,"
            " coalesce(a.block_code, CASE WHEN cardinality(w.blocks) = 1 THEN w.blocks[1] END)"
            "  AS block,"
            " (SELECT json_agg(t.code ORDER BY x.seq)::text FROM fleet.assignment_trips x"
            "  JOIN fleet.trips t USING (trip_id) WHERE x.assignment_id = a.assignment_id)"
            "  AS trips,"
            " r.code AS route,"
            " (SELECT count(*) FROM fleet.assignment_stops s"
            "  WHERE s.assignment_id = a.assignment_id) AS stops,"
            " to_char(w.work_start AT TIME ZONE a.time_zone, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
            "  AS start_local,"
            " extract(epoch FROM (w.work_start AT TIME ZONE a.time_zone)"
            "  - (w.work_start AT TIME ZONE 'UTC'))::integer AS start_offset_s,"
            " to_char(w.work_end AT TIME ZONE a.time_zone, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
            "  AS end_local,"
            " extract(epoch FROM (w.work_end AT TIME ZONE a.time_zone)"
            "  - (w.work_end AT TIME ZONE 'UTC'))::integer AS end_offset_s,"
            " a.time_zone, a.cancel_reason"
            " FROM fleet.shift_assignments a JOIN fleet.assignment_work w USING (assignment_id)"
            " JOIN fleet.vehicles v ON v.vehicle_id = a.vehicle_id"
            " LEFT JOIN fleet.drivers d ON d.driver_id = a.driver_id"
            " LEFT JOIN fleet.routes r ON r.route_id = a.route_id"
            " WHERE a.service_date = $1::date AND ($2 = '' OR v.registration = $2)"
            " ORDER BY w.work_start NULLS LAST, a.assignment_id",
            f.service_date, f.vehicle);
        const auto offset = [](const pqxx::field& s) {
            const int v = s.as<int>();
            char buf[16];
            std::snprintf(buf, sizeof buf, "%c%02d:%02d", v < 0 ? '-' : '+', std::abs(v) / 3600,
                          std::abs(v) % 3600 / 60);
            return std::string(buf);
        };
        std::vector<AssignmentRow> out;
        for (const auto& r : rows) {
            AssignmentRow row;
            row.assignment_id = r["assignment_id"].as<std::int64_t>();
            row.service_date = r["service_date"].as<std::string>();
            row.status = r["status"].as<std::string>();
            row.vehicle = r["registration"].as<std::string>();
            row.driver = text_or_empty(r["full_name"]);
            row.personnel_number = text_or_empty(r["personnel_number"]);
            row.kind = r["kind"].as<std::string>();
            row.feed = r["feed"].as<std::string>();
            row.block = text_or_empty(r["block"]);
            if (!r["trips"].is_null()) {
                row.trips = nlohmann::json::parse(r["trips"].as<std::string>())
                                .get<std::vector<std::string>>();
            }
            row.route = text_or_empty(r["route"]);
            row.stops = r["stops"].as<std::size_t>();
            if (!r["start_local"].is_null()) {
                row.start = r["start_local"].as<std::string>() + offset(r["start_offset_s"]);
            }
            if (!r["end_local"].is_null()) {
                row.end = r["end_local"].as<std::string>() + offset(r["end_offset_s"]);
            }
            row.time_zone = r["time_zone"].as<std::string>();
            row.cancel_reason = text_or_empty(r["cancel_reason"]);
            out.push_back(std::move(row));
        }
        return out;
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("listing assignments: ") + e.what());
    }
}

}  // namespace fleet::dispatch
