#include "dispatch/speed_limits_store.hpp"

#include <nlohmann/json.hpp>

#include "geo/error.hpp"

namespace fleet::dispatch {

std::shared_ptr<SpeedLimits> load_speed_limits(pqxx::connection& conn,
                                               const std::map<std::string, double>& class_caps) {
    auto limits = std::make_shared<SpeedLimits>();
    for (const auto& [vehicle_class, cap] : class_caps) {
        limits->set_class_cap(vehicle_class, cap);
    }
    try {
        pqxx::read_transaction tx(conn);
        for (const auto& r : tx.exec("SELECT zone_id, speed_limit_kmh, ST_AsGeoJSON(geom)"
                                     " FROM fleet.zones WHERE kind = 'speed_zone'"
                                     " AND speed_limit_kmh IS NOT NULL")) {
            // Named: a range-for over a member of a temporary would dangle.
            const auto geojson = nlohmann::json::parse(r[2].as<std::string>());
            auto area = geo::multipolygon_of_geojson(geojson);
            limits->add_zone(r[0].as<std::int64_t>(), std::move(area), r[1].as<double>());
        }
        for (const auto& r : tx.exec("SELECT vehicle_id, vehicle_class FROM fleet.vehicles")) {
            limits->set_vehicle_class(r[0].as<std::int64_t>(), r[1].as<std::string>());
        }
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("speed limits: ") + e.what());
    }
    return limits;
}

}  // namespace fleet::dispatch
