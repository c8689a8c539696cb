#include "server/api/live.hpp"

namespace fleet::server::api {

void LatestPositions::keep(std::int64_t vehicle_id, const LatestFix& fix) {
    auto [it, inserted] = latest_.try_emplace(vehicle_id, fix);
    if (!inserted && it->second.device_time < fix.device_time) {
        it->second = fix;
    }
}

void LatestPositions::on_committed(std::span<const ingest::StoredPosition> positions) {
    std::lock_guard lock(mutex_);
    for (const auto& sp : positions) {
        const auto& p = sp.position;
        keep(sp.vehicle_id, LatestFix{p.device_time, p.longitude_deg, p.latitude_deg, p.speed_kmh,
                                      p.course_deg, p.ignition, p.valid});
    }
}

void LatestPositions::load(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const auto rows = tx.exec(
        "SELECT vehicle_id, (extract(epoch FROM device_time) * 1000)::bigint, ST_X(geom),"
        " ST_Y(geom), speed_kmh, course_deg, ignition, valid FROM fleet.latest_positions");
    std::lock_guard lock(mutex_);
    for (const auto& r : rows) {
        LatestFix fix;
        fix.device_time = geo::Millis(std::chrono::milliseconds(r[1].as<std::int64_t>()));
        fix.longitude_deg = r[2].as<double>();
        fix.latitude_deg = r[3].as<double>();
        if (!r[4].is_null()) {
            fix.speed_kmh = r[4].as<double>();
        }
        if (!r[5].is_null()) {
            fix.course_deg = r[5].as<double>();
        }
        if (!r[6].is_null()) {
            fix.ignition = r[6].as<bool>();
        }
        fix.valid = r[7].as<bool>();
        keep(r[0].as<std::int64_t>(), fix);
    }
}

std::optional<LatestFix> LatestPositions::get(std::int64_t vehicle_id) const {
    std::lock_guard lock(mutex_);
    const auto it = latest_.find(vehicle_id);
    if (it == latest_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::unordered_map<std::int64_t, LatestFix> LatestPositions::all() const {
    std::lock_guard lock(mutex_);
    return latest_;
}

void FleetDirectory::reload(pqxx::connection& conn) {
    auto vehicles = std::make_shared<Vehicles>();
    {
        pqxx::read_transaction tx(conn);
        for (const auto& r : tx.exec(
                 "SELECT vehicle_id, registration, vehicle_class, active FROM fleet.vehicles")) {
            DirectoryVehicle v;
            v.vehicle_id = r[0].as<std::int64_t>();
            v.registration = r[1].as<std::string>();
            v.vehicle_class = r[2].is_null() ? "" : r[2].as<std::string>();
            v.active = r[3].as<bool>();
            vehicles->emplace(v.vehicle_id, std::move(v));
        }
        for (const auto& r : tx.exec("SELECT m.vehicle_id, g.name FROM fleet.vehicle_group_members "
                                     "m JOIN fleet.vehicle_groups g USING (group_id) ORDER BY "
                                     "g.name")) {
            if (auto it = vehicles->find(r[0].as<std::int64_t>()); it != vehicles->end()) {
                it->second.groups.push_back(r[1].as<std::string>());
            }
        }
    }
    std::lock_guard lock(mutex_);
    vehicles_ = std::move(vehicles);
}

std::shared_ptr<const FleetDirectory::Vehicles> FleetDirectory::vehicles() const {
    std::lock_guard lock(mutex_);
    return vehicles_;
}

}  // namespace fleet::server::api
