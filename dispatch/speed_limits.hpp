#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dispatch/plan.hpp"
#include "geo/ogr_features.hpp"

/// Where and for whom which speed limit applies (domain.md §5): speed zones (polygons with a
/// limit, e.g. a residential zone at 20 km/h), route segments (a stretch of a route with its own
/// limit) and caps per vehicle class (e.g. 70 km/h for heavy trucks and buses). Pure; the engine
/// asks it for every fix.
namespace fleet::dispatch {

/// The limits that may apply at one place to one vehicle; each empty where it does not.
struct LimitSources {
    std::optional<double> zone_kmh;       ///< the lowest of the speed zones containing the place
    std::optional<double> segment_kmh;    ///< the route segment's, while on the route
    std::optional<double> class_cap_kmh;  ///< the vehicle class's cap
    double default_kmh = 60;              ///< `speed-limit` (the route's own while on it)
};

/// The one rule that decides the limit: the lowest of the zone and segment limits, or the
/// default where neither applies; the class cap over all of them.
double effective_limit_kmh(const LimitSources& sources);

/// The lowest limit of the segments that contain `along_m` (from inclusive, to exclusive).
std::optional<double> segment_limit(const std::vector<SpeedSegment>& segments, double along_m);

class SpeedLimits {
  public:
    void add_zone(std::int64_t zone_id, geo::MultiPolygon area, double limit_kmh);
    void set_class_cap(const std::string& vehicle_class, double limit_kmh);
    void set_vehicle_class(std::int64_t vehicle_id, const std::string& vehicle_class);

    /// The lowest limit of the speed zones containing `p`, if any.
    std::optional<double> zone_limit(geo::LonLat p) const;
    /// The cap of the vehicle's class, if its class has one.
    std::optional<double> class_cap(std::int64_t vehicle_id) const;

    std::size_t zones() const { return zones_.size(); }

  private:
    struct Zone {
        std::int64_t id;
        geo::MultiPolygon area;
        double limit_kmh;
        double min_lon, min_lat, max_lon, max_lat;
    };
    std::vector<Zone> zones_;
    std::map<std::string, double> caps_;
    std::unordered_map<std::int64_t, std::string> classes_;
};

/// Even-odd containment of a point in a polygon with holes (first ring outer, the rest holes).
bool contains(const geo::Polygon& polygon, geo::LonLat p);

/// Parses "bus:70,truck:70" into class caps; throws ConfigError naming `key`.
std::map<std::string, double> parse_class_caps(const std::string& text, const std::string& key);

}  // namespace fleet::dispatch
