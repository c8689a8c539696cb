#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

/// How every connection of a program is opened: the server, and the bounds that keep a slow or
/// unreachable database from holding a caller for ever.
struct DatabaseOptions {
    std::string url;                                     ///< libpq connection string or URI
    std::chrono::seconds connect_timeout{10};            ///< libpq connect_timeout; 0: none
    std::chrono::milliseconds statement_timeout{60000};  ///< each statement at most; 0: none
};

/// Builds every connection of a program from one set of options, so that each store gets the
/// same server and the same timeouts. Thread-safe (it holds only the options).
class ConnectionFactory {
  public:
    explicit ConnectionFactory(DatabaseOptions options);

    /// The connection string with the timeouts, TCP keep-alives and `application` as the
    /// application_name (shown in pg_stat_activity), for code that speaks libpq directly.
    std::string conninfo(std::string_view application) const;
    /// Opens a connection. Throws DatabaseError naming the server (without its password) and
    /// the reason when it cannot.
    std::unique_ptr<pqxx::connection> connect(std::string_view application) const;
    const DatabaseOptions& options() const { return options_; }

  private:
    DatabaseOptions options_;
};

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
std::unique_ptr<pqxx::connection> connect_with_retry(const ConnectionFactory& factory,
                                                     std::string_view application,
                                                     const RetryPolicy& policy,
                                                     const Sleeper& sleep);

/// A sleeper that waits on the real clock and wakes early when `stop` becomes true.
Sleeper interruptible_sleeper(const std::atomic<bool>& stop);

}  // namespace fleet::geo
