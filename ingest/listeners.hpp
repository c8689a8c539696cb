#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "ingest/counters.hpp"
#include "ingest/devices.hpp"
#include "ingest/handler.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/writer.hpp"

/// The device listeners: one acceptor per protocol, a session per connection.
namespace fleet::ingest {

/// Where a protocol listens. Disabled listeners are not opened; port 0 picks a free port.
struct Endpoint {
    bool enabled = true;
    std::uint16_t port = 0;
};

struct ListenerConfig {
    std::string bind_address = "0.0.0.0";
    /// By protocol name: "teltonika", "gt06", "osmand", "native".
    std::map<std::string, Endpoint> endpoints = {{"teltonika", {true, 5027}},
                                                 {"gt06", {true, 5023}},
                                                 {"osmand", {true, 5055}},
                                                 {"native", {true, 5100}}};
    std::chrono::seconds idle_timeout{600};   ///< a silent connection is closed after this
    std::size_t max_frame_bytes = 64 * 1024;  ///< larger frames close the connection
    std::size_t max_connections_per_ip = 256;
};

/// What sessions use; all outlive the listeners.
struct IngestServices {
    DeviceRegistry& devices;
    Pipeline& pipeline;
    PositionWriter& writer;
    Counters& counters;
    std::function<Millis()> clock;
    /// Receives notice receipts from terminals; when empty they are only counted.
    std::function<void(std::int64_t vehicle_id, const NoticeReceipt&)> on_receipt;
};

/// The protocols this build speaks over raw TCP, each a factory of per-connection handlers.
const std::map<std::string, std::function<std::unique_ptr<FrameHandler>()>>& tcp_protocols();

/// Runs on one io_context thread. Every packet is acknowledged only after its positions are
/// committed; a connection reads nothing further until then, which is the back-pressure.
class Listeners {
  public:
    Listeners(boost::asio::io_context& ioc, ListenerConfig config, IngestServices services);
    ~Listeners();

    /// Opens every enabled listener, logging one line each; throws Error naming the protocol
    /// and address when one cannot be opened.
    void start();
    /// Closes the acceptors: no new connections.
    void stop_accepting();
    /// Closes every open connection.
    void close_connections();
    /// The port each open listener is bound to.
    std::map<std::string, std::uint16_t> bound_ports() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::ingest
