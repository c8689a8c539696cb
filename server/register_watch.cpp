#include "server/register_watch.hpp"

#include <algorithm>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"

namespace fleet::server {

RegisterWatch::RegisterWatch(geo::ConnectionFactory connections, Handlers handlers,
                             RegisterWatchOptions options)
    : connections_(std::move(connections)),
      handlers_(std::move(handlers)),
      options_(options),
      channel_(register_channel, [this](const std::string& payload) { notified(payload); }) {}

RegisterWatch::~RegisterWatch() {
    stop();
}

void RegisterWatch::notified(const std::string& payload) {
    ++notifications_;
    if (handlers_.find(payload) == handlers_.end()) {
        pending_all_ = true;  // not a key of ours: whatever it was, everything is read again
    } else {
        pending_.insert(payload);
    }
}

void RegisterWatch::listen() {
    std::string problem;
    try {
        channel_.open(connections_, "fleetd register changes");
        listening_ = true;
        pending_all_ = true;  // whatever changed while nobody listened
        if (failing_) {
            log::info("register", "following register changes again");
            failing_ = false;
        }
        return;
    } catch (const Error& e) {
        problem = e.what();
    } catch (const pqxx::failure& e) {
        problem = e.what();
    }
    channel_.close();
    listening_ = false;
    next_listen_ = std::chrono::steady_clock::now() + options_.retry;
    if (!failing_) {
        log::warn("register", "register changes not followed (retried every " +
                                  std::to_string(options_.retry.count()) +
                                  " ms; devices, credentials and names are read again every "
                                  "few seconds meanwhile): " +
                                  problem);
        failing_ = true;
    }
}

bool RegisterWatch::take() {
    std::string problem;
    if (channel_.take(&problem)) {
        return true;
    }
    log::warn("register", "register changes: connection lost (" + problem + ")");
    listening_ = false;
    ++reconnects_;
    return false;
}

void RegisterWatch::call(const std::string& key) {
    const auto it = handlers_.find(key);
    if (it == handlers_.end() || !it->second) {
        return;
    }
    ++calls_;
    try {
        it->second();
    } catch (const std::exception& e) {
        ++handler_failures_;
        log::warn("register", "acting on a change of " + key + ": " + e.what());
    }
}

std::set<std::string> RegisterWatch::step(std::chrono::milliseconds wait) {
    if (!channel_.listening() && std::chrono::steady_clock::now() >= next_listen_) {
        listen();
    }
    // What libpq has already read counts too: the socket would not show it.
    if (!take()) {
        listen();  // at once; everything is handled as after any (re)connection
    }
    if (!pending_all_ && pending_.empty() && !stopping_) {
        auto timeout = wait;
        if (!channel_.listening()) {
            timeout =
                std::min(timeout, std::max(std::chrono::milliseconds(0),
                                           std::chrono::duration_cast<std::chrono::milliseconds>(
                                               next_listen_ - std::chrono::steady_clock::now())));
        }
        channel_.wait(timeout);
        if (!take()) {
            listen();
        }
    }
    if ((pending_all_ || !pending_.empty()) && !stopping_ && channel_.listening()) {
        // More of the same burst (one transaction per device, say) joins this round, whether
        // it was found waiting or waited for.
        const auto until = std::chrono::steady_clock::now() + options_.gather;
        for (auto now = std::chrono::steady_clock::now();
             now < until && !stopping_ && channel_.listening();
             now = std::chrono::steady_clock::now()) {
            channel_.wait(std::chrono::duration_cast<std::chrono::milliseconds>(until - now) +
                          std::chrono::milliseconds(1));
            if (!take()) {
                listen();
            }
        }
    }
    std::set<std::string> keys;
    if (stopping_) {
        return keys;
    }
    if (pending_all_) {
        for (const auto& [key, handler] : handlers_) {
            keys.insert(key);
        }
    } else {
        keys = pending_;
    }
    pending_all_ = false;
    pending_.clear();
    for (const auto& key : keys) {
        call(key);
    }
    return keys;
}

void RegisterWatch::start() {
    if (thread_.joinable()) {
        return;
    }
    stopping_ = false;
    // The first round calls every handler: what changed between the owner's own reads at its
    // start and this LISTEN was announced to nobody.
    listen();
    thread_ = std::thread([this] {
        while (!stopping_) {
            step(std::chrono::milliseconds(60000));
        }
    });
}

void RegisterWatch::stop() {
    if (!thread_.joinable()) {
        return;
    }
    stopping_ = true;
    channel_.wake();
    thread_.join();
}

void RegisterWatch::write_metrics(std::string& out) const {
    const auto d = [](const std::atomic<std::uint64_t>& v) {
        return static_cast<double>(v.load());
    };
    geo::write_family(out, "fleet_register_notifications_total", "counter",
                      "Register change notifications received (fleet_register)",
                      {{"", d(notifications_)}});
    geo::write_family(out, "fleet_register_reloads_total", "counter",
                      "Copies of the register read again on its change notifications",
                      {{"", d(calls_)}});
    geo::write_family(out, "fleet_register_reload_failures_total", "counter",
                      "Reloads on change notifications that failed", {{"", d(handler_failures_)}});
    geo::write_family(out, "fleet_register_listen_lost_total", "counter",
                      "Times the connection listening for register changes was lost",
                      {{"", d(reconnects_)}});
    geo::write_family(out, "fleet_register_listening", "gauge",
                      "1 when register changes are followed as they happen",
                      {{"", listening_ ? 1.0 : 0.0}});
}

}  // namespace fleet::server
