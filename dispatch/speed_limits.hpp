#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "geo/ogr_features.hpp"

/// Where and for whom which speed limit applies (domain.md §5): speed zones (polygons with a
/// limit, e.g. a residential zone at 20 km/h) and caps per vehicle class (e.g. 70 km/h for
/// heavy trucks and buses). Pure; the engine asks it for every fix.
namespace fleet::dispatch {

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
