#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <pqxx/pqxx>

#include "geo/store.hpp"

/// Device identifier → vehicle, from fleet.devices, cached.
namespace fleet::ingest {

/// What to do with a device that is not in fleet.devices.
enum class UnknownDevices { refuse, register_vehicle };

/// Parses "refuse" or "register"; throws ConfigError naming `key`.
UnknownDevices parse_unknown_devices(const std::string& text, const std::string& key);

/// Thread-safe. Lookups hit the database once per identifier; later ones come from the cache.
class DeviceRegistry {
  public:
    DeviceRegistry(geo::ConnectionFactory connections, UnknownDevices policy);

    /// The vehicle of the device, registering a new vehicle and device when the policy says so
    /// (journalled); nullopt when the device is unknown and refused. Throws DatabaseError when
    /// the database cannot be reached (the caller refuses the connection; the device retries).
    std::optional<std::int64_t> resolve(const std::string& identifier, const std::string& protocol);

  private:
    pqxx::connection& connection();

    geo::ConnectionFactory connections_;
    UnknownDevices policy_;
    std::mutex mutex_;
    std::unique_ptr<pqxx::connection> conn_;
    std::unordered_map<std::string, std::int64_t> cache_;
};

}  // namespace fleet::ingest
