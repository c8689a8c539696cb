#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <pqxx/pqxx>

/// The PostGIS store: connection strings and connecting with back-off.
namespace fleet::geo {

/// Environment variable naming an existing server (a libpq connection string or URI).
inline constexpr const char* database_url_env = "FLEET_DATABASE_URL";

/// Checks a libpq connection string (key=value or postgresql:// URI) without connecting.
/// Throws ConfigError naming `key` with libpq's reason when it cannot be parsed.
void check_connection_string(const std::string& url, const std::string& key);

/// The same connection string with the database replaced by `dbname`.
std::string with_database(const std::string& url, const std::string& dbname);

/// The connection string for logs: every parameter but the password.
std::string redacted(const std::string& url);

/// How connecting retries while the server is unreachable.
struct RetryPolicy {
    std::chrono::milliseconds first_delay{1000};
    std::chrono::milliseconds max_delay{30000};
    /// Give up after this long in total; zero waits for ever.
    std::chrono::milliseconds give_up_after{0};
};

/// Waits `delay` or until `stop` is set; returns false when stopped. Injected for tests.
using Sleeper = std::function<bool(std::chrono::milliseconds delay)>;

/// Connects, retrying with exponential back-off and logging each failure with its reason and
/// the next delay. Throws DatabaseError when the policy gives up or the sleeper reports a stop.
std::unique_ptr<pqxx::connection> connect_with_retry(const std::string& url,
                                                     const RetryPolicy& policy,
                                                     const Sleeper& sleep);

/// A sleeper that waits on the real clock and wakes early when `stop` becomes true.
Sleeper interruptible_sleeper(const std::atomic<bool>& stop);

}  // namespace fleet::geo
