#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "geo/store.hpp"
#include "server/api/router.hpp"
#include "server/api/static_site.hpp"
#include "server/api/stream.hpp"

/// The operator API's HTTP/1.1 server (Boost.Beast): keep-alive, bounded headers and bodies, a
/// deadline on every request, optional TLS, credentials checked before a route runs. Routes
/// that need the database run on the server's own database threads, never on its network
/// thread and never on the ingest's; a slow database makes those requests wait (then 503), not
/// the others.
namespace fleet::server::api {

struct HttpConfig {
    bool enabled = true;
    std::string bind_address = "0.0.0.0";
    std::uint16_t port = 8082;  ///< 0: a free port (tests)
    /// PEM files; both or neither. With them the port speaks HTTPS only.
    std::string tls_cert{}, tls_key{};
    std::size_t max_header_bytes = 16 * 1024;
    /// From the first byte of a request to its last, and again for the answer: a slow client
    /// (or a slow database) gets at most this much.
    std::chrono::seconds request_timeout{30};
    /// A kept-alive connection waiting for its next request is closed after this.
    std::chrono::seconds idle_timeout{60};
    std::size_t max_connections = 1024;
    std::size_t max_connections_per_ip = 64;
    /// Request bodies being received and handled at once, bytes in all (each counted by its
    /// Content-Length, or its route's limit when sent chunked); one address may hold a quarter.
    /// A body beyond it is refused unread (503 busy) rather than held in memory.
    std::size_t body_budget_bytes = 256u << 20;
    unsigned database_threads = 2;
    /// A token's or session's principal is reused this long before it is read again. A change
    /// of credentials elsewhere ends it at once (forget_principals, on fleet_register); without
    /// those notifications a removed user or a revoked token stops working within it.
    std::chrono::seconds principal_ttl{10};
    /// The dashboard's files, served for GET and HEAD of every path that is not the API's;
    /// nothing: the API only.
    std::shared_ptr<const StaticSite> site{};
};

/// Name of the session cookie.
inline constexpr const char* session_cookie = "fleet_session";

/// Runs database work for the API on its own threads, each with its own connection (opened on
/// first use, opened again after it broke).
class DatabaseThreads {
  public:
    DatabaseThreads(const geo::ConnectionFactory& connections, unsigned threads);
    ~DatabaseThreads();
    /// Runs `work` on one of the threads with a connection; `done` gets the result, or the
    /// exception (a DatabaseError when no connection could be opened), on that thread.
    void run(std::function<void(pqxx::connection&)> work,
             std::function<void(std::exception_ptr)> done);
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The live stream a WebSocket route subscribes to, and how a subscriber's filter is made from
/// what it may see and the subscription message it sent (JSON; an empty object at first).
/// `make_filter` throws ApiError for a subscription message it cannot use.
struct StreamHooks {
    LiveStream* stream = nullptr;
    std::function<StreamFilter(const Principal&, const nlohmann::json&)> make_filter{};
};

class HttpServer {
  public:
    HttpServer(HttpConfig config, const Router& router, DatabaseThreads& database,
               StreamHooks hooks = {});
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Opens the port (one log line) and starts the network thread; throws Error naming the
    /// address when it cannot, ConfigError for unreadable TLS files.
    void start();
    /// The port listened on (after start).
    std::uint16_t port() const;
    /// Closes the port; connections finish the request they are in, then close.
    void stop_accepting();
    /// Waits for open requests to be answered until `deadline`, then closes every connection.
    void drain(std::chrono::steady_clock::time_point deadline);
    /// Drops every principal kept for principal_ttl: the next request of each credential is
    /// authenticated against the database again (a token revoked, a role changed elsewhere).
    /// Any thread.
    void forget_principals();

    /// The request counters as Prometheus families (fleet_api_*).
    void write_metrics(std::string& out) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::server::api
