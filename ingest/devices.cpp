#include "ingest/devices.hpp"

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "geo/log.hpp"

namespace fleet::ingest {

UnknownDevices parse_unknown_devices(const std::string& text, const std::string& key) {
    if (text == "refuse") {
        return UnknownDevices::refuse;
    }
    if (text == "register") {
        return UnknownDevices::register_vehicle;
    }
    throw ConfigError(key, "must be 'register' or 'refuse', got '" + text + "'");
}

DeviceRegistry::DeviceRegistry(geo::ConnectionFactory connections, UnknownDevices policy)
    : connections_(std::move(connections)), policy_(policy) {}

pqxx::connection& DeviceRegistry::connection() {
    if (!conn_ || !conn_->is_open()) {
        conn_.reset();
        conn_ = connections_.connect("fleetd devices");
    }
    return *conn_;
}

std::optional<DeviceAnswer> DeviceRegistry::cached(std::string_view identifier,
                                                   std::string_view) const {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(std::string(identifier)); it != cache_.end()) {
        return DeviceAnswer{DeviceVerdict::accepted, it->second};
    }
    return std::nullopt;
}

void DeviceRegistry::forget(std::string_view identifier) {
    std::lock_guard lock(mutex_);
    cache_.erase(std::string(identifier));
}

DeviceAnswer DeviceRegistry::resolve(const std::string& identifier, const std::string& protocol,
                                     const std::string&) {
    if (auto answer = cached(identifier, protocol)) {
        return *answer;
    }
    // One lookup at a time on the registry's connection; cached() never waits for it.
    std::lock_guard lookup(lookup_mutex_);
    try {
        pqxx::work tx(connection());
        auto found = tx.exec_params("SELECT vehicle_id FROM fleet.devices WHERE identifier = $1",
                                    identifier);
        if (found.empty()) {
            if (policy_ == UnknownDevices::refuse) {
                return {};
            }
            // A placeholder vehicle named after the device, for the operator to complete. Two
            // processes registering the same device at once end with one row (ON CONFLICT).
            tx.exec_params(
                "INSERT INTO fleet.vehicles (registration, attributes) VALUES ($1, "
                "jsonb_build_object('auto_registered', true, 'protocol', $2::text)) "
                "ON CONFLICT (registration) DO NOTHING",
                "unregistered " + identifier, protocol);
            tx.exec_params(
                "INSERT INTO fleet.devices (identifier, protocol, vehicle_id, auto_registered) "
                "SELECT $1, $2, vehicle_id, true FROM fleet.vehicles WHERE registration = $3 "
                "ON CONFLICT (identifier) DO NOTHING",
                identifier, protocol, "unregistered " + identifier);
            found = tx.exec_params("SELECT vehicle_id FROM fleet.devices WHERE identifier = $1",
                                   identifier);
            geo::record(tx, {.actor = "ingest",
                             .action = "device auto-registered",
                             .subject = identifier,
                             .details = {{"protocol", protocol}},
                             .vehicle_id = found[0][0].as<std::int64_t>()});
            log::info("ingest", "registered unknown " + protocol + " device " + identifier +
                                    " as a new vehicle");
        }
        const auto vehicle = found[0][0].as<std::int64_t>();
        tx.commit();
        std::lock_guard lock(mutex_);
        cache_[identifier] = vehicle;
        return {DeviceVerdict::accepted, vehicle};
    } catch (const pqxx::broken_connection& e) {
        conn_.reset();
        throw DatabaseError(std::string("device registry: ") + e.what());
    } catch (const pqxx::sql_error& e) {
        throw DatabaseError(std::string("device registry: ") + e.what());
    }
}

}  // namespace fleet::ingest
