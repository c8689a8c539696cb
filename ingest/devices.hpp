#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <pqxx/pqxx>

#include "geo/store.hpp"

/// Device identifier → vehicle, from fleet.devices, cached.
namespace fleet::ingest {

/// What to do with a device that is not in fleet.devices.
enum class UnknownDevices { refuse, register_vehicle };

/// Parses "refuse" or "register"; throws ConfigError naming `key`.
UnknownDevices parse_unknown_devices(const std::string& text, const std::string& key);

enum class DeviceVerdict { accepted, unknown, wrong_protocol };
struct DeviceAnswer {
    DeviceVerdict verdict = DeviceVerdict::unknown;
    std::int64_t vehicle_id = 0;
};

/// Thread-safe. Lookups hit the database once per identifier; later ones come from the cache.
class DeviceRegistry {
  public:
    DeviceRegistry(geo::ConnectionFactory connections, UnknownDevices policy);

    /// Never touches the database: the remembered answer, if any. Any thread, quick.
    std::optional<DeviceAnswer> cached(std::string_view identifier,
                                       std::string_view protocol) const;
    /// Looks the device up, registering a new vehicle and device when the policy says so
    /// (journalled), and remembers the answer. Blocks for database round trips: call it on a
    /// worker pool. Throws DatabaseError when the database cannot be reached.
    DeviceAnswer resolve(const std::string& identifier, const std::string& protocol,
                         const std::string& peer_address);
    /// Forgets what is remembered about one device.
    void forget(std::string_view identifier);

  private:
    pqxx::connection& connection();

    geo::ConnectionFactory connections_;
    UnknownDevices policy_;
    mutable std::mutex mutex_;  // the cache
    std::mutex lookup_mutex_;   // the connection
    std::unique_ptr<pqxx::connection> conn_;
    std::unordered_map<std::string, std::int64_t> cache_;
};

}  // namespace fleet::ingest
