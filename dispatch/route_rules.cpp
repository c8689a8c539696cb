#include "dispatch/route_rules.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "dispatch/detail/geojson.hpp"
#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "geo/number_text.hpp"

namespace fleet::dispatch {

namespace {

struct StoredRoute {
    std::int64_t id = 0;
    std::optional<double> length_m;  // of its line, when it has one
};

StoredRoute find_route(pqxx::transaction_base& tx, const RouteRef& route) {
    const auto r = tx.exec_params(
        "SELECT route_id, ST_Length(geom::geography) FROM fleet.routes"
        " WHERE feed = $1 AND code = $2",
        route.feed, route.code);
    if (r.empty()) {
        throw InputError("unknown route '" + route.code + "' in feed '" + route.feed + "'");
    }
    StoredRoute out;
    out.id = r[0][0].as<std::int64_t>();
    if (!r[0][1].is_null()) {
        out.length_m = r[0][1].as<double>();
    }
    return out;
}

void journal(pqxx::transaction_base& tx, const std::string& actor, const std::string& action,
             const RouteRef& route, const nlohmann::json& details) {
    auto d = details;
    d["feed"] = route.feed;
    d["route"] = route.code;
    geo::record(tx, {.actor = actor,
                     .action = action,
                     .subject = route.feed + "/" + route.code,
                     .details = d,
                     .kind = "route"});
}

// Checks a stretch and cuts it to the route's line.
SpeedSegment checked_stretch(const RouteRef& route, const StoredRoute& stored, double from_m,
                             double to_m) {
    if (!stored.length_m) {
        throw InputError("route '" + route.code + "' has no line to measure speed limits along");
    }
    if (!std::isfinite(from_m) || !std::isfinite(to_m) || from_m < 0 || !(from_m < to_m)) {
        throw InputError("a stretch needs 0 <= from < to (metres along the route), got " +
                         geo::plain_number(from_m) + " to " + geo::plain_number(to_m));
    }
    if (from_m >= *stored.length_m) {
        throw InputError("route '" + route.code + "' is " +
                         std::to_string(std::lround(*stored.length_m)) + " m long; " +
                         std::to_string(std::lround(from_m)) + " m is beyond its end");
    }
    return {.from_m = from_m, .to_m = std::min(to_m, *stored.length_m), .limit_kmh = 0};
}

// Removes [from_m, to_m) from the route's stretches, keeping what lies outside it. Returns the
// stretches it touched (as they were).
nlohmann::json cut(pqxx::transaction_base& tx, std::int64_t route_id, double from_m, double to_m) {
    auto previous = nlohmann::json::array();
    const auto rows = tx.exec_params(
        "DELETE FROM fleet.route_speed_limits WHERE route_id = $1 AND from_m < $3 AND to_m > $2"
        " RETURNING from_m, to_m, limit_kmh",
        route_id, from_m, to_m);
    for (const auto& r : rows) {
        const double a = r[0].as<double>();
        const double b = r[1].as<double>();
        const double limit = r[2].as<double>();
        previous.push_back({{"from_m", a}, {"to_m", b}, {"limit_kmh", limit}});
        for (const auto& [lo, hi] :
             {std::pair{a, std::min(b, from_m)}, std::pair{std::max(a, to_m), b}}) {
            if (lo < hi) {
                tx.exec_params(
                    "INSERT INTO fleet.route_speed_limits (route_id, from_m, to_m, limit_kmh)"
                    " VALUES ($1, $2, $3, $4)",
                    route_id, lo, hi, limit);
            }
        }
    }
    return previous;
}

// Rows of one feed and route, where given ($1 feed, $2 code; empty: any).
const std::string route_filter = " WHERE ($1 = '' OR r.feed = $1) AND ($2 = '' OR r.code = $2)";

// A list of one route or feed is refused when no route is so named: an empty list would read
// as "that route has none".
void check_listed_route(pqxx::transaction_base& tx, const std::string& feed,
                        const std::string& code) {
    if (feed.empty() && code.empty()) {
        return;
    }
    if (!tx.exec_params1("SELECT EXISTS (SELECT 1 FROM fleet.routes r" + route_filter + ")", feed,
                         code)[0]
             .as<bool>()) {
        if (code.empty()) {
            throw InputError("unknown feed '" + feed + "': no route belongs to it");
        }
        throw InputError("unknown route '" + code + "'" +
                         (feed.empty() ? std::string(" in any feed") : " in feed '" + feed + "'"));
    }
}

}  // namespace

const ThresholdKey& route_threshold_key(const std::string& name) {
    const ThresholdKey* key = find_threshold_key(name);
    if (key == nullptr) {
        throw InputError("unknown threshold '" + name +
                         "'; a route may set: " + threshold_names(/*per_route_only=*/true));
    }
    if (!key->per_route) {
        throw InputError("'" + name +
                         "' is judged without a route (vehicles without an assignment): set it "
                         "in fleetd's configuration; a route may set: " +
                         threshold_names(true));
    }
    return *key;
}

void check_route_threshold(const std::string& name, double value) {
    if (const auto problem = threshold_problem(route_threshold_key(name), value)) {
        throw InputError("'" + name + "' " + *problem);
    }
}

void set_route_threshold(pqxx::connection& conn, const RouteRef& route, const std::string& name,
                         double value, const std::string& actor) {
    check_route_threshold(name, value);
    pqxx::work tx(conn);
    const auto stored = find_route(tx, route);
    const auto before =
        tx.exec_params("SELECT value FROM fleet.route_thresholds WHERE route_id = $1 AND name = $2",
                       stored.id, name);
    tx.exec_params(
        "INSERT INTO fleet.route_thresholds (route_id, name, value) VALUES ($1, $2, $3)"
        " ON CONFLICT (route_id, name) DO UPDATE SET value = EXCLUDED.value",
        stored.id, name, value);
    journal(tx, actor, "route threshold set", route,
            {{"name", name},
             {"value", value},
             {"previous",
              before.empty() ? nlohmann::json() : nlohmann::json(before[0][0].as<double>())}});
    tx.commit();
}

bool unset_route_threshold(pqxx::connection& conn, const RouteRef& route, const std::string& name,
                           const std::string& actor) {
    route_threshold_key(name);
    pqxx::work tx(conn);
    const auto stored = find_route(tx, route);
    const auto removed = tx.exec_params(
        "DELETE FROM fleet.route_thresholds WHERE route_id = $1 AND name = $2 RETURNING value",
        stored.id, name);
    if (removed.empty()) {
        return false;
    }
    journal(tx, actor, "route threshold unset", route,
            {{"name", name}, {"previous", removed[0][0].as<double>()}});
    tx.commit();
    return true;
}

std::vector<RouteThreshold> list_route_thresholds(pqxx::connection& conn, const std::string& feed,
                                                  const std::string& code) {
    pqxx::read_transaction tx(conn);
    check_listed_route(tx, feed, code);
    std::vector<RouteThreshold> out;
    for (const auto& r : tx.exec_params("SELECT r.feed, r.code, t.name, t.value"
                                        " FROM fleet.route_thresholds t JOIN fleet.routes r"
                                        " USING (route_id)" +
                                            route_filter + " ORDER BY r.feed, r.code, t.name",
                                        feed, code)) {
        out.push_back({.route = {.feed = r[0].as<std::string>(), .code = r[1].as<std::string>()},
                       .name = r[2].as<std::string>(),
                       .value = r[3].as<double>()});
    }
    return out;
}

SpeedSegment set_route_speed_limit(pqxx::connection& conn, const RouteRef& route, double from_m,
                                   double to_m, double limit_kmh, const std::string& actor) {
    if (!(limit_kmh >= 5 && limit_kmh <= 300)) {
        throw InputError("a speed limit must be between 5 and 300 km/h, got " +
                         geo::plain_number(limit_kmh));
    }
    pqxx::work tx(conn);
    const auto stored = find_route(tx, route);
    SpeedSegment s = checked_stretch(route, stored, from_m, to_m);
    s.limit_kmh = limit_kmh;
    const auto previous = cut(tx, stored.id, s.from_m, s.to_m);
    tx.exec_params(
        "INSERT INTO fleet.route_speed_limits (route_id, from_m, to_m, limit_kmh)"
        " VALUES ($1, $2, $3, $4)",
        stored.id, s.from_m, s.to_m, s.limit_kmh);
    journal(tx, actor, "route speed limit set", route,
            {{"from_m", s.from_m},
             {"to_m", s.to_m},
             {"limit_kmh", s.limit_kmh},
             {"previous", previous}});
    tx.commit();
    return s;
}

std::size_t unset_route_speed_limit(pqxx::connection& conn, const RouteRef& route, double from_m,
                                    double to_m, const std::string& actor) {
    pqxx::work tx(conn);
    const auto stored = find_route(tx, route);
    const SpeedSegment s = checked_stretch(route, stored, from_m, to_m);
    const auto previous = cut(tx, stored.id, s.from_m, s.to_m);
    if (previous.empty()) {
        return 0;
    }
    journal(tx, actor, "route speed limit unset", route,
            {{"from_m", s.from_m}, {"to_m", s.to_m}, {"previous", previous}});
    tx.commit();
    return previous.size();
}

std::vector<RouteSpeedLimit> list_route_speed_limits(pqxx::connection& conn,
                                                     const std::string& feed,
                                                     const std::string& code) {
    pqxx::read_transaction tx(conn);
    check_listed_route(tx, feed, code);
    std::vector<RouteSpeedLimit> out;
    for (const auto& r : tx.exec_params("SELECT r.feed, r.code, l.from_m, l.to_m, l.limit_kmh"
                                        " FROM fleet.route_speed_limits l JOIN fleet.routes r"
                                        " USING (route_id)" +
                                            route_filter + " ORDER BY r.feed, r.code, l.from_m",
                                        feed, code)) {
        out.push_back({.route = {.feed = r[0].as<std::string>(), .code = r[1].as<std::string>()},
                       .segment = {.from_m = r[2].as<double>(),
                                   .to_m = r[3].as<double>(),
                                   .limit_kmh = r[4].as<double>()}});
    }
    return out;
}

std::map<std::int64_t, RouteRules> load_route_rules(pqxx::transaction_base& tx,
                                                    const std::vector<std::int64_t>& route_ids) {
    std::map<std::int64_t, RouteRules> out;
    if (route_ids.empty()) {
        return out;
    }
    std::string ids = "{";
    for (std::size_t i = 0; i < route_ids.size(); ++i) {
        ids += (i ? "," : "") + std::to_string(route_ids[i]);
    }
    ids += "}";
    for (const auto& r : tx.exec_params("SELECT route_id, name, value FROM fleet.route_thresholds"
                                        " WHERE route_id = ANY($1::bigint[])",
                                        ids)) {
        out[r[0].as<std::int64_t>()].thresholds[r[1].as<std::string>()] = r[2].as<double>();
    }
    for (const auto& r :
         tx.exec_params("SELECT l.route_id, l.from_m, l.to_m, l.limit_kmh, ST_AsGeoJSON(r.geom)"
                        " FROM fleet.route_speed_limits l JOIN fleet.routes r USING (route_id)"
                        " WHERE l.route_id = ANY($1::bigint[]) AND r.geom IS NOT NULL"
                        " ORDER BY l.route_id, l.from_m",
                        ids)) {
        auto& rules = out[r[0].as<std::int64_t>()];
        if (!rules.line) {
            rules.line =
                std::make_shared<geo::Polyline>(detail::line_from_geojson(r[4].as<std::string>()),
                                                "route " + r[0].as<std::string>());
        }
        rules.speed_limits.push_back({.from_m = r[1].as<double>(),
                                      .to_m = r[2].as<double>(),
                                      .limit_kmh = r[3].as<double>()});
    }
    return out;
}

void apply_route_rules(TripPlan& trip, const RouteRules& rules) {
    trip.thresholds = rules.thresholds;
    trip.speed_segments.clear();
    if (rules.line && trip.shape) {
        trip.speed_segments = place_segments(rules.speed_limits, *rules.line, *trip.shape);
    }
}

std::vector<SpeedSegment> place_segments(const std::vector<SpeedSegment>& along_route,
                                         const geo::Polyline& route, const geo::Polyline& shape,
                                         double tolerance_m) {
    const auto same = [](const geo::LonLat& a, const geo::LonLat& b) {
        return a.lon_deg == b.lon_deg && a.lat_deg == b.lat_deg;
    };
    if (&route == &shape || std::equal(route.points().begin(), route.points().end(),
                                       shape.points().begin(), shape.points().end(), same)) {
        return along_route;
    }
    std::vector<SpeedSegment> out;
    for (const auto& s : along_route) {
        const auto a = shape.project(route.point_at(s.from_m));
        const auto b = shape.project(route.point_at(s.to_m));
        if (std::abs(a.offset_m) > tolerance_m || std::abs(b.offset_m) > tolerance_m) {
            continue;  // that stretch of the route is not on this trip's way
        }
        const double lo = std::min(a.distance_along_m, b.distance_along_m);
        const double hi = std::max(a.distance_along_m, b.distance_along_m);
        if (hi - lo >= 1) {
            out.push_back({.from_m = lo, .to_m = hi, .limit_kmh = s.limit_kmh});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const SpeedSegment& x, const SpeedSegment& y) { return x.from_m < y.from_m; });
    return out;
}

}  // namespace fleet::dispatch
