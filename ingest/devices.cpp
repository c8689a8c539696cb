#include "ingest/devices.hpp"

#include <poll.h>

#include <algorithm>

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"

namespace fleet::ingest {

namespace {

constexpr const char* application_name = "fleetd devices";

std::optional<std::string> optional_text(const pqxx::field& field) {
    return field.is_null() ? std::nullopt : std::optional<std::string>(field.as<std::string>());
}

// An idle pooled connection has nothing to read unless the server closed it (a restart,
// pg_terminate_backend, an idle timeout): such a one is dropped rather than failing a lookup.
bool closed_by_server(const pqxx::connection& connection) {
    const int fd = connection.sock();
    if (fd < 0) {
        return true;
    }
    pollfd pending{fd, POLLIN, 0};
    return ::poll(&pending, 1, 0) != 0;  // readable, hung up, or an error
}

// Identifiers hold no control characters (checked first), so NUL separates the two parts.
std::string refusal_key(std::string_view identifier, std::string_view protocol) {
    std::string key;
    key.reserve(identifier.size() + 1 + protocol.size());
    key.append(identifier);
    key.push_back('\0');
    key.append(protocol);
    return key;
}

// An identifier or protocol name is a lookup key that ends up in a table and in logs.
void check_name(const char* what, const std::string& value) {
    if (value.empty()) {
        throw InputError(std::string("device ") + what + " is empty; a login must name one");
    }
    if (value.size() > max_identifier_bytes) {
        throw InputError(std::string("device ") + what + " of " + std::to_string(value.size()) +
                         " bytes is longer than the " + std::to_string(max_identifier_bytes) +
                         " allowed");
    }
    const auto control = std::find_if(value.begin(), value.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    });
    if (control != value.end()) {
        throw InputError(std::string("device ") + what + " has a control character at byte " +
                         std::to_string(control - value.begin()) +
                         "; only printable characters are allowed");
    }
}

}  // namespace

UnknownDevices parse_unknown_devices(const std::string& text, const std::string& key) {
    if (text == "refuse") {
        return UnknownDevices::refuse;
    }
    if (text == "register") {
        return UnknownDevices::register_vehicle;
    }
    throw ConfigError(key, "must be 'register' or 'refuse', got '" + text + "'");
}

const char* to_string(DeviceVerdict verdict) {
    switch (verdict) {
        case DeviceVerdict::accepted:
            return "accepted";
        case DeviceVerdict::unknown:
            return "unknown";
        case DeviceVerdict::wrong_protocol:
            return "wrong_protocol";
    }
    return "unknown";
}

/// One pooled connection, returned to the pool when the lease ends (or dropped when broken).
class DeviceRegistry::Lease {
  public:
    Lease(DeviceRegistry& registry, std::unique_ptr<pqxx::connection> connection)
        : registry_(registry), connection_(std::move(connection)) {}
    ~Lease() { registry_.give_back(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    pqxx::connection& connection() { return *connection_; }
    /// The connection is broken: it is closed instead of returned.
    void discard() { connection_.reset(); }

  private:
    DeviceRegistry& registry_;
    std::unique_ptr<pqxx::connection> connection_;
};

DeviceRegistry::DeviceRegistry(geo::ConnectionFactory connections, UnknownDevices policy,
                               DeviceRegistryOptions options)
    : connections_(std::move(connections)), policy_(policy), options_(std::move(options)) {
    if (options_.max_connections == 0) {
        throw InputError("device registry: max_connections must be at least 1");
    }
    if (options_.max_refusals == 0) {
        throw InputError("device registry: max_refusals must be at least 1");
    }
    if (!options_.clock) {
        throw InputError("device registry: a clock is needed");
    }
}

DeviceRegistry::~DeviceRegistry() = default;

DeviceRegistry::Lease DeviceRegistry::lease() {
    std::unique_lock lock(pool_mutex_);
    for (;;) {
        pool_returned_.wait(lock,
                            [&] { return !idle_.empty() || open_ < options_.max_connections; });
        if (idle_.empty()) {
            break;
        }
        auto connection = std::move(idle_.back());
        idle_.pop_back();
        if (!closed_by_server(*connection)) {
            return Lease(*this, std::move(connection));
        }
        --open_;  // its slot is free for a new connection
    }
    ++open_;
    lock.unlock();
    // Connecting takes a round trip (or connect_timeout): done outside the lock, so that other
    // callers keep taking the idle connections meanwhile.
    std::unique_ptr<pqxx::connection> connection;
    try {
        connection = connections_.connect(application_name);
    } catch (...) {
        give_back(nullptr);  // the slot is free again, whatever failed
        throw;
    }
    return Lease(*this, std::move(connection));
}

void DeviceRegistry::give_back(std::unique_ptr<pqxx::connection> connection) {
    {
        std::lock_guard lock(pool_mutex_);
        if (connection && connection->is_open()) {
            idle_.push_back(std::move(connection));
        } else {
            --open_;
        }
    }
    pool_returned_.notify_one();
}

std::optional<DeviceAnswer> DeviceRegistry::cached(std::string_view identifier,
                                                   std::string_view protocol) const {
    std::lock_guard lock(mutex_);
    auto answer = remembered(identifier, protocol);
    if (answer) {
        ++answered_from_memory_;
    }
    return answer;
}

std::optional<DeviceAnswer> DeviceRegistry::remembered(std::string_view identifier,
                                                       std::string_view protocol) const {
    if (const auto it = accepted_.find(std::string(identifier));
        it != accepted_.end() && it->second.protocol == protocol) {
        return DeviceAnswer{DeviceVerdict::accepted, it->second.vehicle_id};
    }
    const auto it = refusals_.find(refusal_key(identifier, protocol));
    if (it == refusals_.end() || options_.clock() >= it->second.expires_at) {
        return std::nullopt;
    }
    ++it->second.unrecorded_attempts;
    return DeviceAnswer{it->second.verdict, 0};
}

DeviceAnswer DeviceRegistry::resolve(const std::string& identifier, const std::string& protocol,
                                     const std::string& peer_address) {
    check_name("identifier", identifier);
    check_name("protocol", protocol);
    if (auto answer = cached(identifier, protocol)) {
        return *answer;
    }
    Lease lease = this->lease();
    // Another caller may have answered it while this one waited for a connection.
    if (auto answer = cached(identifier, protocol)) {
        return *answer;
    }
    ++lookups_;
    Lookup found;
    try {
        pqxx::work tx(lease.connection());
        found = look_up(tx, identifier, protocol, peer_address);
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        lease.discard();
        throw DatabaseError(std::string("device registry: ") + e.what());
    } catch (const pqxx::failure& e) {
        throw DatabaseError(std::string("device registry: ") + e.what());
    }
    // Remembered only once committed: a rolled-back registration is not a device.
    if (found.device) {
        remember_accepted(identifier, found.device->vehicle_id, found.device->protocol);
    }
    if (found.answer.verdict != DeviceVerdict::accepted) {
        remember_refusal(identifier, protocol, found.answer.verdict);
    }
    return found.answer;
}

DeviceRegistry::Lookup DeviceRegistry::look_up(pqxx::work& tx, const std::string& identifier,
                                               const std::string& protocol,
                                               const std::string& peer_address) {
    const auto row = tx.exec_params(
        "SELECT vehicle_id, protocol FROM fleet.devices WHERE identifier = $1", identifier);
    std::optional<Accepted> device;
    if (!row.empty()) {
        const auto vehicle_id = row[0][0].as<std::int64_t>();
        std::optional<std::string> bound = optional_text(row[0][1]);
        if (!bound) {
            bound = bind_protocol(tx, identifier, protocol, peer_address, vehicle_id);
        }
        if (bound) {
            device = Accepted{vehicle_id, *bound};
        }
    }
    if (!device && policy_ == UnknownDevices::register_vehicle) {
        device = register_device(tx, identifier, protocol, peer_address);
    }
    if (!device) {
        record_refusal(tx, identifier, protocol, peer_address, DeviceVerdict::unknown,
                       1 + take_unrecorded_attempts(identifier, protocol));
        return {{DeviceVerdict::unknown, 0}, std::nullopt};
    }
    if (device->protocol != protocol) {
        record_refusal(tx, identifier, protocol, peer_address, DeviceVerdict::wrong_protocol,
                       1 + take_unrecorded_attempts(identifier, protocol));
        return {{DeviceVerdict::wrong_protocol, 0}, device};
    }
    return {{DeviceVerdict::accepted, device->vehicle_id}, device};
}

std::optional<std::string> DeviceRegistry::bind_protocol(pqxx::work& tx,
                                                         const std::string& identifier,
                                                         const std::string& protocol,
                                                         const std::string& peer_address,
                                                         std::int64_t vehicle_id) {
    // One statement, so that of two first logins with different protocols one binds the row
    // and the other sees it bound (the UPDATE waits for the first's row lock, then re-checks).
    const auto bound = tx.exec_params(
        "UPDATE fleet.devices SET protocol = $2 WHERE identifier = $1 AND protocol IS NULL "
        "RETURNING vehicle_id",
        identifier, protocol);
    if (bound.empty()) {
        const auto now =
            tx.exec_params("SELECT protocol FROM fleet.devices WHERE identifier = $1", identifier);
        if (now.empty()) {
            return std::nullopt;
        }
        return optional_text(now[0][0]);
    }
    geo::record(tx, {.actor = "ingest",
                     .action = "device protocol bound",
                     .subject = identifier,
                     .details = {{"protocol", protocol}, {"peer_address", peer_address}},
                     .kind = "device",
                     .vehicle_id = vehicle_id});
    log::info("ingest", "bound device " + identifier + " to protocol " + protocol);
    return protocol;
}

DeviceRegistry::Accepted DeviceRegistry::register_device(pqxx::work& tx,
                                                         const std::string& identifier,
                                                         const std::string& protocol,
                                                         const std::string& peer_address) {
    // A placeholder vehicle named after the device, for the operator to complete. Two processes
    // registering the same device at once end with one row (ON CONFLICT), bound to the protocol
    // of whichever came first.
    const std::string registration = "unregistered " + identifier;
    tx.exec_params(
        "INSERT INTO fleet.vehicles (registration, attributes) VALUES ($1, "
        "jsonb_build_object('auto_registered', true, 'protocol', $2::text)) "
        "ON CONFLICT (registration) DO NOTHING",
        registration, protocol);
    const auto inserted = tx.exec_params(
        "INSERT INTO fleet.devices (identifier, protocol, vehicle_id, auto_registered) "
        "SELECT $1, $2, vehicle_id, true FROM fleet.vehicles WHERE registration = $3 "
        "ON CONFLICT (identifier) DO NOTHING RETURNING vehicle_id",
        identifier, protocol, registration);
    if (inserted.empty()) {
        const auto row = tx.exec_params1(
            "SELECT vehicle_id, protocol FROM fleet.devices WHERE identifier = $1", identifier);
        return {row[0].as<std::int64_t>(), optional_text(row[1]).value_or(protocol)};
    }
    const auto vehicle_id = inserted[0][0].as<std::int64_t>();
    geo::record(tx, {.actor = "ingest",
                     .action = "device auto-registered",
                     .subject = identifier,
                     .details = {{"protocol", protocol}, {"peer_address", peer_address}},
                     .kind = "device",
                     .vehicle_id = vehicle_id});
    log::info("ingest", "registered unknown " + protocol + " device " + identifier + " from " +
                            peer_address + " as a new vehicle");
    return {vehicle_id, protocol};
}

void DeviceRegistry::record_refusal(pqxx::work& tx, const std::string& identifier,
                                    const std::string& protocol, const std::string& peer_address,
                                    DeviceVerdict verdict, std::uint64_t attempts) {
    tx.exec_params(
        "INSERT INTO fleet.unknown_devices AS u "
        "(identifier, protocol, peer_address, attempts, reason) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (identifier, protocol) DO UPDATE SET peer_address = EXCLUDED.peer_address, "
        "last_seen = now(), attempts = u.attempts + EXCLUDED.attempts, reason = EXCLUDED.reason",
        identifier, protocol, peer_address, static_cast<std::int64_t>(attempts),
        to_string(verdict));
}

void DeviceRegistry::remember_accepted(const std::string& identifier, std::int64_t vehicle_id,
                                       const std::string& protocol) {
    std::lock_guard lock(mutex_);
    accepted_[identifier] = Accepted{vehicle_id, protocol};
    if (const auto it = refusals_.find(refusal_key(identifier, protocol)); it != refusals_.end()) {
        erase_refusal(it);
    }
}

void DeviceRegistry::remember_refusal(const std::string& identifier, const std::string& protocol,
                                      DeviceVerdict verdict) {
    std::lock_guard lock(mutex_);
    const auto now = options_.clock();
    std::string key = refusal_key(identifier, protocol);
    if (const auto it = refusals_.find(key); it != refusals_.end()) {
        erase_refusal(it);
    }
    // The refusal period is the same for all, so the oldest is also the first to expire: it goes
    // first, and counts as an eviction when it had not expired yet.
    while (refusals_.size() >= options_.max_refusals) {
        const auto oldest = refusals_.find(refusal_order_.front());
        if (oldest->second.expires_at > now) {
            ++refusals_evicted_;
        }
        erase_refusal(oldest);
    }
    refusal_order_.push_back(key);
    refusals_.emplace(std::move(key), Refusal{.verdict = verdict,
                                              .expires_at = now + options_.refusal_ttl,
                                              .unrecorded_attempts = 0,
                                              .order = std::prev(refusal_order_.end())});
}

std::uint64_t DeviceRegistry::take_unrecorded_attempts(const std::string& identifier,
                                                       const std::string& protocol) {
    std::lock_guard lock(mutex_);
    const auto it = refusals_.find(refusal_key(identifier, protocol));
    if (it == refusals_.end()) {
        return 0;
    }
    return std::exchange(it->second.unrecorded_attempts, 0);
}

void DeviceRegistry::erase_refusal(std::map<std::string, Refusal>::iterator it) {
    refusal_order_.erase(it->second.order);
    refusals_.erase(it);
}

void DeviceRegistry::forget(std::string_view identifier) {
    std::lock_guard lock(mutex_);
    accepted_.erase(std::string(identifier));
    const std::string prefix = refusal_key(identifier, "");
    auto it = refusals_.lower_bound(prefix);
    while (it != refusals_.end() && it->first.starts_with(prefix)) {
        erase_refusal(it++);
    }
}

std::vector<std::string> DeviceRegistry::refresh() {
    struct Row {
        std::int64_t vehicle_id = 0;
        std::optional<std::string> protocol{};
    };
    std::unordered_map<std::string, Row> rows;
    {
        Lease lease = this->lease();
        try {
            pqxx::read_transaction tx(lease.connection());
            for (const auto& r :
                 tx.exec("SELECT identifier, vehicle_id, protocol FROM fleet.devices")) {
                rows.emplace(r[0].as<std::string>(),
                             Row{r[1].as<std::int64_t>(), optional_text(r[2])});
            }
        } catch (const pqxx::broken_connection& e) {
            lease.discard();
            throw DatabaseError(std::string("device registry: ") + e.what());
        } catch (const pqxx::failure& e) {
            throw DatabaseError(std::string("device registry: ") + e.what());
        }
    }
    std::vector<std::string> changed;
    std::lock_guard lock(mutex_);
    for (auto it = accepted_.begin(); it != accepted_.end();) {
        const auto row = rows.find(it->first);
        const bool same = row != rows.end() && row->second.vehicle_id == it->second.vehicle_id &&
                          row->second.protocol == it->second.protocol;
        if (same) {
            ++it;
        } else {
            changed.push_back(it->first);
            it = accepted_.erase(it);
        }
    }
    for (auto it = refusals_.begin(); it != refusals_.end();) {
        const auto nul = it->first.find('\0');
        const auto row = rows.find(it->first.substr(0, nul));
        const bool now_known =
            row != rows.end() &&
            (!row->second.protocol || *row->second.protocol == it->first.substr(nul + 1));
        if (now_known) {
            erase_refusal(it++);
        } else {
            ++it;
        }
    }
    return changed;
}

DeviceRegistryStats DeviceRegistry::stats() const {
    DeviceRegistryStats s;
    s.lookups = lookups_;
    s.answered_from_memory = answered_from_memory_;
    s.refusals_evicted = refusals_evicted_;
    {
        std::lock_guard lock(mutex_);
        s.accepted_remembered = accepted_.size();
        s.refusals_remembered = refusals_.size();
    }
    {
        std::lock_guard lock(pool_mutex_);
        s.connections_open = open_;
    }
    return s;
}

void DeviceRegistry::collect(std::string& out) const {
    const DeviceRegistryStats s = stats();
    geo::write_family(out, "fleet_device_lookups_total", "counter",
                      "Device logins looked up in the database",
                      {{"", static_cast<double>(s.lookups)}});
    geo::write_family(out, "fleet_device_answers_from_memory_total", "counter",
                      "Device logins answered from memory, accepted or refused",
                      {{"", static_cast<double>(s.answered_from_memory)}});
    geo::write_family(out, "fleet_device_refusals_evicted_total", "counter",
                      "Remembered refusals forgotten early to keep within the bound",
                      {{"", static_cast<double>(s.refusals_evicted)}});
    geo::write_family(
        out, "fleet_devices_remembered", "gauge", "Devices remembered in memory, by verdict",
        {{geo::label("verdict", "accepted"), static_cast<double>(s.accepted_remembered)},
         {geo::label("verdict", "refused"), static_cast<double>(s.refusals_remembered)}});
    geo::write_family(out, "fleet_device_registry_connections", "gauge",
                      "Database connections of the device registry",
                      {{"", static_cast<double>(s.connections_open)}});
}

}  // namespace fleet::ingest
