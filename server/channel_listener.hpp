#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <pqxx/pqxx>

#include "geo/store.hpp"

namespace fleet::server {

/// A connection that LISTENs on one channel, and the wake-up of the thread that waits on it:
/// what the assignment feed, the notice service and the register watch share. Used on one
/// thread, except wake().
class ChannelListener {
  public:
    using OnPayload = std::function<void(const std::string& payload)>;

    /// Throws Error when no eventfd can be had.
    ChannelListener(std::string channel, OnPayload on_payload);
    ~ChannelListener();
    ChannelListener(const ChannelListener&) = delete;
    ChannelListener& operator=(const ChannelListener&) = delete;

    /// Opens a connection named `application` and LISTENs; throws Error or pqxx::failure,
    /// also for a connection that closed as LISTEN was issued (libpqxx 6.4 says nothing then).
    void open(const geo::ConnectionFactory& connections, std::string_view application);
    void close();
    bool listening() const { return conn_ != nullptr; }

    /// Hands what libpq has read to the payload callback. False, with the connection closed,
    /// when it was lost: by an error (`problem` gets its text) or closed without one, which
    /// libpqxx 6.4 reports by giving no notifications.
    bool take(std::string* problem = nullptr);
    /// Waits until the connection has input, wake() is called, or `timeout` has passed.
    void wait(std::chrono::milliseconds timeout);
    /// Ends a wait() in progress, or the next one at once. Any thread.
    void wake();

  private:
    class Receiver;
    std::string channel_;
    OnPayload on_payload_;
    std::unique_ptr<pqxx::connection> conn_;
    std::unique_ptr<Receiver> receiver_;
    int wake_fd_ = -1;
};

}  // namespace fleet::server
