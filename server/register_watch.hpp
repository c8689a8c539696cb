#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "geo/store.hpp"
#include "server/channel_listener.hpp"

namespace fleet::server {

/// The channel on which the register's triggers announce what changed (migration 0020); the
/// payload is one of the keys below.
inline constexpr const char* register_channel = "fleet_register";

/// How the watch follows the register.
struct RegisterWatchOptions {
    /// After a first notification, what else arrives this long is handled with it: a change of a
    /// thousand devices in as many transactions costs a few reloads, not a thousand.
    std::chrono::milliseconds gather{100};
    /// Wait between attempts to reopen the LISTEN connection.
    std::chrono::milliseconds retry{5000};
};

/// Follows fleet_register and calls, on its thread, the handler of each payload notified
/// ("devices", "credentials", "directory"), once however often it was notified meanwhile.
/// Whenever the LISTEN connection is (re)opened every handler is called, since changes made
/// while nobody listened were not announced; a payload without a handler calls every handler.
/// Handlers must be quick (post the work elsewhere); what throws is logged and counted.
/// Notifications are hints: whoever keeps a copy still reads it again from time to time.
class RegisterWatch {
  public:
    using Handlers = std::map<std::string, std::function<void()>, std::less<>>;

    RegisterWatch(geo::ConnectionFactory connections, Handlers handlers,
                  RegisterWatchOptions options = {});
    ~RegisterWatch();
    RegisterWatch(const RegisterWatch&) = delete;
    RegisterWatch& operator=(const RegisterWatch&) = delete;

    /// One round on the caller's thread (tests step it): (re)opens the connection when due,
    /// waits up to `wait` for a notification, gathers more for `gather`, then calls the
    /// handlers. Returns the keys whose handlers were called.
    std::set<std::string> step(std::chrono::milliseconds wait);

    /// Runs step() on a thread of its own until stop().
    void start();
    void stop();

    /// Whether the LISTEN connection is open.
    bool listening() const { return listening_.load(); }
    void write_metrics(std::string& out) const;

  private:
    void notified(const std::string& payload);
    void listen();
    bool take();  ///< reads what libpq holds; false when the connection broke
    void call(const std::string& key);

    geo::ConnectionFactory connections_;
    Handlers handlers_;
    RegisterWatchOptions options_;
    ChannelListener channel_;  // the watch's thread (or the stepping caller)
    std::set<std::string> pending_;
    bool pending_all_ = false;
    bool failing_ = false;
    std::chrono::steady_clock::time_point next_listen_{};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> listening_{false};
    std::thread thread_;

    std::atomic<std::uint64_t> notifications_{0};
    std::atomic<std::uint64_t> calls_{0};
    std::atomic<std::uint64_t> handler_failures_{0};
    std::atomic<std::uint64_t> reconnects_{0};
};

}  // namespace fleet::server
