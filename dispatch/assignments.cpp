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
    std::optional<std::string> route_line;  // GeoJSON
    bool freight = false;
    std::string service_date;
    std::string time_zone;
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
    if (!r["route_line"].is_null()) {
        c.route_line = r["route_line"].as<std::string>();
    }
    c.freight = r["kind"].as<std::string>() == "freight";
    c.service_date = r["service_date"].as<std::string>();
    c.time_zone = r["time_zone"].as<std::string>();
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

// A timetabled trip: its stops in absolute time (the service day of `date` in `zone`), placed
// along its shape. Row `t`: trip_id, code, shape (GeoJSON or NULL), route_id, route code, short
// name.
TripPlan load_trip(pqxx::transaction_base& tx, const pqxx::row& t, const AssignmentColumns& a) {
    TripPlan trip;
    trip.trip_id = t["trip_id"].as<std::int64_t>();
    trip.code = t["code"].as<std::string>();
    trip.route_id = t["route_id"].as<std::int64_t>();
    trip.route_code = t["route_code"].as<std::string>();
    trip.route_short_name = text_or_empty(t["route_short_name"]);
    const auto stops = tx.exec_params(
        "SELECT st.stop_id, coalesce(s.name, s.code), ST_X(s.geom), ST_Y(s.geom),"
        " s.radius_m, st.timepoint,"
        " (extract(epoch FROM d.day_start + st.arrival_s * interval '1 second') * 1000)::bigint,"
        " (extract(epoch FROM d.day_start + st.departure_s * interval '1 second') * 1000)::bigint"
        " FROM fleet.stop_times st JOIN fleet.stops s USING (stop_id)"
        " CROSS JOIN (SELECT fleet.service_day_start($2::date, $3) AS day_start) d"
        " WHERE st.trip_id = $1 ORDER BY st.stop_sequence",
        trip.trip_id, a.service_date, a.time_zone);
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
        t["shape"].is_null() ? points : detail::line_from_geojson(t["shape"].as<std::string>()),
        "trip " + trip.code);
    // Stops placed along the shape in order (forward, so that loops place them right).
    double along = 0;
    for (auto& s : trip.stops) {
        const auto p = trip.shape->project_forward(s.position, along, trip.shape->length_m(), 1e6);
        along = p ? p->distance_along_m : along;
        s.distance_along_m = along;
    }
    interpolate_times(trip);
    return trip;
}

// A freight run: one trip along the route's line, its stops in absolute time.
TripPlan load_freight_run(pqxx::transaction_base& tx, const AssignmentColumns& a) {
    TripPlan trip;
    trip.route_id = a.route_id.value_or(0);
    trip.code = a.route_code;
    trip.route_code = a.route_code;
    trip.route_short_name = a.route_short_name;
    trip.time_windows = true;
    trip.shape = std::make_shared<geo::Polyline>(detail::line_from_geojson(a.route_line.value()),
                                                 "route " + trip.code);
    std::vector<geo::LonLat> points;
    for (const auto& r :
         tx.exec_params("SELECT coalesce(stop_id, 0), name, ST_X(geom), ST_Y(geom), radius_m,"
                        " (extract(epoch FROM window_from) * 1000)::bigint,"
                        " (extract(epoch FROM window_to) * 1000)::bigint"
                        " FROM fleet.assignment_stops WHERE assignment_id = $1 ORDER BY seq",
                        a.assignment_id)) {
        PlannedStop s = stop_of(r);
        s.arrival = at_ms(r[5]);
        s.departure = at_ms(r[6]);
        points.push_back(s.position);
        trip.stops.push_back(std::move(s));
    }
    if (trip.stops.empty()) {
        throw DatabaseError("freight assignment " + std::to_string(a.assignment_id) +
                            " has no stops");
    }
    // As they were checked when saved; should the route's line have changed since, each stop
    // goes where it lies nearest ahead of the previous one.
    const auto placed = detail::place_in_order(*trip.shape, points, 2000);
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

std::shared_ptr<Assignment> load_one(pqxx::transaction_base& tx, const AssignmentColumns& c) {
    auto a = std::make_shared<Assignment>();
    a->assignment_id = c.assignment_id;
    a->vehicle_id = c.vehicle_id;
    a->driver_id = c.driver_id;
    a->service_date = c.service_date;
    a->block = c.block;
    if (c.freight) {
        a->trips.push_back(load_freight_run(tx, c));
    } else {
        for (const auto& t :
             tx.exec_params("SELECT t.trip_id, t.code, ST_AsGeoJSON(s.geom) AS shape, t.route_id,"
                            " r.code AS route_code, r.short_name AS route_short_name"
                            " FROM fleet.assignment_trips x JOIN fleet.trips t USING (trip_id)"
                            " JOIN fleet.routes r ON r.route_id = t.route_id"
                            " LEFT JOIN fleet.shapes s ON s.shape_id = t.shape_id"
                            " WHERE x.assignment_id = $1 ORDER BY x.seq",
                            c.assignment_id)) {
            a->trips.push_back(load_trip(tx, t, c));
        }
    }
    if (a->trips.empty()) {
        return nullptr;
    }
    a->planned_start =
        c.planned_start.value_or(a->trips.front().start() - std::chrono::minutes(15));
    a->planned_end = c.planned_end.value_or(a->trips.back().end() + std::chrono::minutes(10));
    return a;
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
        pqxx::read_transaction tx(conn);
        std::vector<std::shared_ptr<Assignment>> out;
        const bool by_id = !selection.ids.empty();
        const auto rows = tx.exec_params(
            "SELECT a.assignment_id, a.vehicle_id, a.driver_id,"
            " (extract(epoch FROM a.planned_start) * 1000)::bigint AS start_ms,"
            " (extract(epoch FROM a.planned_end) * 1000)::bigint AS end_ms,"
            " a.route_id, r.code AS route_code, r.short_name AS route_short_name,"
            " ST_AsGeoJSON(r.geom) AS route_line, a.kind, a.service_date::text AS service_date,"
            " a.time_zone, coalesce(a.block_code,"
            "  CASE WHEN cardinality(w.blocks) = 1 THEN w.blocks[1] END) AS block"
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
        for (const auto& r : rows) {
            if (auto a = load_one(tx, columns_of(r))) {
                out.push_back(std::move(a));
            }
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
