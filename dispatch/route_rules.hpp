#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/plan.hpp"
#include "dispatch/thresholds.hpp"

/// A route's own rules in PostGIS: thresholds that override the engine's configuration
/// (fleet.route_thresholds, by configuration key) and speed limits along its line
/// (fleet.route_speed_limits, metres along fleet.routes.geom). Set by operators (journalled),
/// loaded with the plans.
namespace fleet::dispatch {

/// A route as operators name it.
struct RouteRef {
    std::string feed = "local";
    std::string code;
};

/// One stored override.
struct RouteThreshold {
    RouteRef route;
    std::string name;  ///< configuration key
    double value = 0;
};

/// One stored stretch with its limit.
struct RouteSpeedLimit {
    RouteRef route;
    SpeedSegment segment;
};

/// The threshold a route may set by `name` (a configuration key). Throws InputError for a name
/// that is unknown or judged without a route; the message lists the valid names.
const ThresholdKey& route_threshold_key(const std::string& name);

/// Throws InputError as route_threshold_key, or when `value` is out of the threshold's range.
void check_route_threshold(const std::string& name, double value);

/// Sets the route's value of threshold `name` (a configuration key), replacing an earlier one;
/// journalled ("route threshold set", with the previous value). Throws InputError for an
/// unknown route, a name that is not a per-route threshold (the message lists the valid names)
/// or a value out of its range; nothing is changed then.
void set_route_threshold(pqxx::connection& conn, const RouteRef& route, const std::string& name,
                         double value, const std::string& actor);

/// Removes the route's override of `name` (journalled); false when it had none. Throws
/// InputError for an unknown route or name.
bool unset_route_threshold(pqxx::connection& conn, const RouteRef& route, const std::string& name,
                           const std::string& actor);

/// The overrides stored, by feed, route code and name; an empty `feed` or `code` matches all.
/// InputError when no route has the `feed` and `code` given.
std::vector<RouteThreshold> list_route_thresholds(pqxx::connection& conn, const std::string& feed,
                                                  const std::string& code);

/// Sets the limit on [from_m, to_m) along the route's line; what it covers of earlier stretches
/// is replaced, the rest of them kept. `to_m` beyond the line's end is cut to it. Journalled
/// ("route speed limit set"). Returns the stretch stored. Throws InputError for an unknown
/// route, a route without a line, from_m < 0 or not below to_m, from_m beyond the line's end, or
/// a limit outside 5–300 km/h.
SpeedSegment set_route_speed_limit(pqxx::connection& conn, const RouteRef& route, double from_m,
                                   double to_m, double limit_kmh, const std::string& actor);

/// Clears [from_m, to_m) of limits (stretches that reach beyond it keep the rest); journalled.
/// Returns how many stored stretches it touched. Throws InputError as set_route_speed_limit.
std::size_t unset_route_speed_limit(pqxx::connection& conn, const RouteRef& route, double from_m,
                                    double to_m, const std::string& actor);

/// The stretches stored, in order along each route; an empty `feed` or `code` matches all.
/// InputError when no route has the `feed` and `code` given.
std::vector<RouteSpeedLimit> list_route_speed_limits(pqxx::connection& conn,
                                                     const std::string& feed,
                                                     const std::string& code);

/// A route's rules as the engine needs them.
struct RouteRules {
    ThresholdOverrides thresholds;
    std::vector<SpeedSegment> speed_limits;     ///< metres along `line`
    std::shared_ptr<const geo::Polyline> line;  ///< the route's line; null when it has none
};

/// Loads the rules of the given routes (those without any are absent). Throws pqxx errors.
std::map<std::int64_t, RouteRules> load_route_rules(pqxx::transaction_base& tx,
                                                    const std::vector<std::int64_t>& route_ids);

/// Gives `trip` its route's rules: the overrides, and the speed limits placed on the trip's
/// shape (see place_segments).
void apply_route_rules(TripPlan& trip, const RouteRules& rules);

/// Speed limits measured along `route` placed on `shape`: unchanged when the shape is the
/// route's line; otherwise each stretch's ends projected onto the shape (a shape that runs the
/// other way gets them swapped), and dropped when an end lies farther than `tolerance_m` from
/// the shape. On a shape that passes the same place twice the nearest pass is taken.
std::vector<SpeedSegment> place_segments(const std::vector<SpeedSegment>& along_route,
                                         const geo::Polyline& route, const geo::Polyline& shape,
                                         double tolerance_m = 100);

}  // namespace fleet::dispatch
