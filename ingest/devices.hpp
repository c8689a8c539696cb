#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <pqxx/pqxx>

#include "geo/store.hpp"

/// Device identifier → vehicle, from fleet.devices, remembered in memory.
///
/// A device's identifier is bound to its protocol: fleet.devices.protocol must be the protocol
/// the device connects with, or it is refused as wrong_protocol (an OsmAnd request cannot post
/// fixes as a Teltonika IMEI). A row whose protocol is NULL (a device entered without one) is
/// bound to the protocol of its first accepted login, and the binding is journalled ("device
/// protocol bound"); from then on the row is like any other.
///
/// A refused device (unknown, or wrong protocol) is remembered in memory for a while, so that a
/// stranger's flood of logins costs no database round trip, and in fleet.unknown_devices, for an
/// operator to add (at most one upsert per device and protocol per remembered period).
namespace fleet::ingest {

/// What to do with a device that is not in fleet.devices.
enum class UnknownDevices { refuse, register_vehicle };

/// Parses "refuse" or "register"; throws ConfigError naming `key`.
UnknownDevices parse_unknown_devices(const std::string& text, const std::string& key);

/// The registry's answer to a login.
enum class DeviceVerdict {
    accepted,        ///< known (or just registered), with this protocol
    unknown,         ///< not in fleet.devices, and the policy refuses unknown devices
    wrong_protocol,  ///< in fleet.devices, bound to another protocol
};

/// "accepted", "unknown", "wrong_protocol" (the words fleet.unknown_devices.reason holds).
const char* to_string(DeviceVerdict verdict);

struct DeviceAnswer {
    DeviceVerdict verdict = DeviceVerdict::unknown;
    std::int64_t vehicle_id = 0;  ///< the device's vehicle when accepted, else 0
};

/// The longest identifier the registry looks up: longer ones are bad input, not a device.
inline constexpr std::size_t max_identifier_bytes = 128;

struct DeviceRegistryOptions {
    /// How long a refusal is answered from memory before the database is asked again.
    std::chrono::seconds refusal_ttl{60};
    /// Refusals remembered at most; beyond it the oldest is forgotten (and counted), so that a
    /// stranger cycling identifiers cannot grow memory without bound.
    std::size_t max_refusals = 10000;
    /// Database connections at most, one per concurrent resolve() (further callers wait for one).
    std::size_t max_connections = 4;
    /// Dates the refusals; injected by tests.
    std::function<std::chrono::steady_clock::time_point()> clock = std::chrono::steady_clock::now;
};

/// What the registry has done, for metrics and tests.
struct DeviceRegistryStats {
    std::uint64_t lookups = 0;               ///< resolve() calls that went to the database
    std::uint64_t answered_from_memory = 0;  ///< cached() and resolve() calls answered without
    std::uint64_t refusals_evicted = 0;      ///< refusals forgotten early for the bound
    std::size_t accepted_remembered = 0;
    std::size_t refusals_remembered = 0;  ///< including expired ones not yet replaced
    std::size_t connections_open = 0;
};

/// Thread-safe. Accepted devices are remembered until forget(); refusals for `refusal_ttl`.
class DeviceRegistry {
  public:
    DeviceRegistry(geo::ConnectionFactory connections, UnknownDevices policy,
                   DeviceRegistryOptions options = {});
    ~DeviceRegistry();
    DeviceRegistry(const DeviceRegistry&) = delete;
    DeviceRegistry& operator=(const DeviceRegistry&) = delete;

    /// Never touches the database: the remembered answer, if any. Any thread, quick. An expired
    /// refusal, an identifier never seen, and a known device's identifier with another protocol
    /// than its own (not yet refused) are not remembered: std::nullopt.
    std::optional<DeviceAnswer> cached(std::string_view identifier,
                                       std::string_view protocol) const;

    /// Looks the device up (registering it when the policy says so), remembers the answer and
    /// returns it; answers from memory when it can. Blocks for database round trips: called on a
    /// worker pool. Thread-safe; concurrent calls do not wait for each other's round trips (a
    /// small pool of connections, one per concurrent caller up to `max_connections`). A refusal
    /// is upserted into fleet.unknown_devices with `peer_address` (attempts counts this one and
    /// those answered from memory since the last upsert). Throws InputError for an empty
    /// identifier or protocol, one longer than max_identifier_bytes, or one with control
    /// characters (nothing is looked up or stored); DatabaseError when the database fails
    /// (nothing is remembered; the device retries).
    DeviceAnswer resolve(const std::string& identifier, const std::string& protocol,
                         const std::string& peer_address);

    /// Forgets what is remembered about one device, accepted or refused, under every protocol
    /// (after an operator adds or moves it).
    void forget(std::string_view identifier);

    /// Compares what is remembered with fleet.devices as it stands (one query of the whole
    /// table, on a connection of the pool; run every few seconds by fleetd): an accepted device
    /// that was moved to another vehicle, bound to another protocol or removed is forgotten, and
    /// so is a refusal of a device that was added since. Returns the identifiers of the accepted
    /// devices forgotten, whose open connections still carry the old vehicle. Throws
    /// DatabaseError when the database fails (nothing is forgotten).
    std::vector<std::string> refresh();

    DeviceRegistryStats stats() const;

    /// Appends the registry's metric families in the Prometheus text format (for
    /// geo::MetricsRegistry::add): lookups, answers from memory, evictions, remembered devices.
    void collect(std::string& out) const;

  private:
    struct Accepted {
        std::int64_t vehicle_id = 0;
        std::string protocol;  ///< the protocol the device is bound to
    };
    struct Refusal {
        DeviceVerdict verdict = DeviceVerdict::unknown;
        std::chrono::steady_clock::time_point expires_at{};
        std::uint64_t unrecorded_attempts = 0;   ///< answered from memory since the last upsert
        std::list<std::string>::iterator order;  ///< its place in refusal_order_
    };
    class Lease;

    Lease lease();
    void give_back(std::unique_ptr<pqxx::connection> connection);

    /// What the database said: the answer, and the device's row as it stands when there is one.
    struct Lookup {
        DeviceAnswer answer;
        std::optional<Accepted> device;
    };
    Lookup look_up(pqxx::work& tx, const std::string& identifier, const std::string& protocol,
                   const std::string& peer_address);
    /// Binds a row without a protocol to `protocol` (journalled); returns the protocol the row is
    /// bound to afterwards, or std::nullopt when the row is gone.
    std::optional<std::string> bind_protocol(pqxx::work& tx, const std::string& identifier,
                                             const std::string& protocol,
                                             const std::string& peer_address,
                                             std::int64_t vehicle_id);
    /// A placeholder vehicle and the device (journalled); the row as it stands afterwards.
    Accepted register_device(pqxx::work& tx, const std::string& identifier,
                             const std::string& protocol, const std::string& peer_address);
    void record_refusal(pqxx::work& tx, const std::string& identifier, const std::string& protocol,
                        const std::string& peer_address, DeviceVerdict verdict,
                        std::uint64_t attempts);

    /// The remembered answer; called with mutex_ held.
    std::optional<DeviceAnswer> remembered(std::string_view identifier,
                                           std::string_view protocol) const;
    void remember_accepted(const std::string& identifier, std::int64_t vehicle_id,
                           const std::string& protocol);
    void remember_refusal(const std::string& identifier, const std::string& protocol,
                          DeviceVerdict verdict);
    std::uint64_t take_unrecorded_attempts(const std::string& identifier,
                                           const std::string& protocol);
    void erase_refusal(std::map<std::string, Refusal>::iterator it);

    geo::ConnectionFactory connections_;
    UnknownDevices policy_;
    DeviceRegistryOptions options_;

    // What is remembered. Held only for map operations, never across a database round trip.
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Accepted> accepted_;  ///< by identifier
    /// By refusal key (identifier, NUL, protocol): ordered, so forget() finds every protocol.
    mutable std::map<std::string, Refusal> refusals_;
    std::list<std::string> refusal_order_;  ///< keys, oldest first: the order they expire in

    // The connection pool.
    mutable std::mutex pool_mutex_;
    std::condition_variable pool_returned_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    std::size_t open_ = 0;  ///< idle and leased

    std::atomic<std::uint64_t> lookups_{0};
    mutable std::atomic<std::uint64_t> answered_from_memory_{0};
    std::atomic<std::uint64_t> refusals_evicted_{0};
};

}  // namespace fleet::ingest
