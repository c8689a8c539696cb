#include "dispatch/assignments.hpp"

#include <nlohmann/json.hpp>

#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

Millis at_ms(const pqxx::field& f) {
    return Millis(std::chrono::milliseconds(f.as<long long>()));
}

std::vector<geo::LonLat> line_of(const std::string& geojson) {
    std::vector<geo::LonLat> out;
    const auto j = nlohmann::json::parse(geojson);
    for (const auto& c : j.at("coordinates")) {
        out.push_back({c.at(0).get<double>(), c.at(1).get<double>()});
    }
    return out;
}

// The stops of a trip, in absolute time, placed along its shape.
TripPlan load_trip(pqxx::transaction_base& tx, const pqxx::row& t, const std::string& date) {
    TripPlan trip;
    trip.trip_id = t[0].as<std::int64_t>();
    trip.code = t[1].as<std::string>();
    const auto stops = tx.exec_params(
        "SELECT st.stop_id, coalesce(s.name, s.code), ST_X(s.geom), ST_Y(s.geom),"
        " coalesce(s.radius_m, 50), st.timepoint,"
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
        PlannedStop s;
        s.stop_id = r[0].as<std::int64_t>();
        s.name = r[1].as<std::string>();
        s.position = {r[2].as<double>(), r[3].as<double>()};
        s.radius_m = r[4].as<double>();
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

}  // namespace

std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const std::string& service_date) {
    try {
        pqxx::read_transaction tx(conn);
        std::vector<std::shared_ptr<Assignment>> out;
        const auto rows = tx.exec_params(
            "SELECT assignment_id, vehicle_id, driver_id,"
            " (extract(epoch FROM planned_start) * 1000)::bigint,"
            " (extract(epoch FROM planned_end) * 1000)::bigint"
            " FROM fleet.shift_assignments WHERE service_date = $1::date AND kind = 'timetable'"
            " AND status <> 'cancelled' ORDER BY assignment_id",
            service_date);
        for (const auto& r : rows) {
            auto a = std::make_shared<Assignment>();
            a->assignment_id = r[0].as<std::int64_t>();
            a->vehicle_id = r[1].as<std::int64_t>();
            if (!r[2].is_null()) {
                a->driver_id = r[2].as<std::int64_t>();
            }
            const auto trips = tx.exec_params(
                "SELECT t.trip_id, t.code, t.feed, ST_AsGeoJSON(s.geom)"
                " FROM fleet.assignment_trips x JOIN fleet.trips t USING (trip_id)"
                " LEFT JOIN fleet.shapes s ON s.shape_id = t.shape_id"
                " WHERE x.assignment_id = $1 ORDER BY x.seq",
                a->assignment_id);
            for (const auto& t : trips) {
                a->trips.push_back(load_trip(tx, t, service_date));
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
        return out;
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("loading assignments: ") + e.what());
    } catch (const GeometryError& e) {
        throw DatabaseError(std::string("loading assignments: ") + e.what());
    }
}

std::int64_t save_assignment(pqxx::connection& conn, const AssignmentRequest& q) {
    pqxx::work tx(conn);
    const auto date_ok =
        tx.exec_params("SELECT $1::text ~ '^\\d{4}-\\d{2}-\\d{2}$'", q.service_date);
    if (!date_ok[0][0].as<bool>()) {
        throw InputError("date '" + q.service_date + "' is not YYYY-MM-DD");
    }
    const auto vehicle =
        tx.exec_params("SELECT vehicle_id FROM fleet.vehicles WHERE registration = $1", q.vehicle);
    if (vehicle.empty()) {
        throw InputError("unknown vehicle '" + q.vehicle + "' (by registration)");
    }
    std::optional<std::int64_t> driver;
    if (!q.driver.empty()) {
        const auto d = tx.exec_params(
            "SELECT driver_id FROM fleet.drivers WHERE full_name = $1 OR personnel_number = $1",
            q.driver);
        if (d.size() != 1) {
            throw InputError(d.empty() ? "unknown driver '" + q.driver + "'"
                                       : "driver '" + q.driver + "' is ambiguous");
        }
        driver = d[0][0].as<std::int64_t>();
    }
    std::vector<std::int64_t> trips;
    if (!q.block.empty()) {
        // The block's trips that run on the date, by first departure.
        for (const auto& r : tx.exec_params(
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
        const auto r = tx.exec_params(
            "SELECT trip_id FROM fleet.trips WHERE feed = $1 AND code = $2", q.feed, code);
        if (r.empty()) {
            throw InputError("unknown trip '" + code + "' in feed '" + q.feed + "'");
        }
        trips.push_back(r[0][0].as<std::int64_t>());
    }
    if (trips.empty()) {
        throw InputError("an assignment needs a block or trips");
    }
    const auto vehicle_id = vehicle[0][0].as<std::int64_t>();
    const auto before = tx.exec_params(
        "SELECT assignment_id, jsonb_build_object('driver_id', driver_id, 'block', block_code,"
        " 'trips', (SELECT jsonb_agg(trip_id ORDER BY seq) FROM fleet.assignment_trips x"
        "  WHERE x.assignment_id = a.assignment_id))::text"
        " FROM fleet.shift_assignments a WHERE service_date = $1::date AND vehicle_id = $2"
        " AND status <> 'cancelled'",
        q.service_date, vehicle_id);
    for (const auto& r : before) {
        tx.exec_params(
            "UPDATE fleet.shift_assignments SET status = 'cancelled' WHERE assignment_id = $1",
            r[0].as<std::int64_t>());
    }
    const auto id =
        tx.exec_params1(
              "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, driver_id,"
              " kind, block_code) VALUES ($1::date, $2, $3, 'timetable', NULLIF($4, ''))"
              " RETURNING assignment_id",
              q.service_date, vehicle_id, driver, q.block)[0]
            .as<std::int64_t>();
    for (std::size_t i = 0; i < trips.size(); ++i) {
        tx.exec_params(
            "INSERT INTO fleet.assignment_trips (assignment_id, seq, trip_id) VALUES ($1, $2, $3)",
            id, static_cast<int>(i + 1), trips[i]);
    }
    const std::string previous = before.empty() ? "null" : before[0][1].as<std::string>();
    tx.exec_params(
        "INSERT INTO fleet.journal (actor, action, subject, details) VALUES ($1, $2, $3,"
        " jsonb_build_object('assignment_id', $4::bigint, 'date', $5::text, 'driver_id', "
        "$6::bigint,"
        " 'block', NULLIF($7, ''), 'trips', $8::int, 'previous', $9::jsonb))",
        q.actor, before.empty() ? "assignment created" : "assignment changed", q.vehicle, id,
        q.service_date, driver, q.block, static_cast<int>(trips.size()), previous);
    tx.commit();
    return id;
}

}  // namespace fleet::dispatch
