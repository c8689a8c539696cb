#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ingest/counters.hpp"
#include "ingest/devices.hpp"
#include "ingest/downlink.hpp"
#include "ingest/handler.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/protocols.hpp"
#include "ingest/writer.hpp"

/// The device listeners: one acceptor per protocol of the registry (protocols.hpp), sessions
/// spread over several network threads, each session on one of them.
namespace fleet::ingest {

/// Where a protocol listens. Disabled listeners are not opened; port 0 picks a free port.
struct Endpoint {
    bool enabled = true;
    std::uint16_t port = 0;
};

struct ListenerConfig {
    std::string bind_address = "0.0.0.0";
    /// By protocol name; every protocol of the registry at its default port unless set.
    std::map<std::string, Endpoint> endpoints = default_endpoints();
    std::chrono::seconds idle_timeout{600};   ///< a silent connection is closed after this
    std::size_t max_frame_bytes = 64 * 1024;  ///< larger frames close the connection
    std::size_t max_connections_per_ip = 256;
    std::size_t max_connections = 50000;  ///< open device connections of all protocols
    /// How long a connection waits for the database (its device's lookup, the commit of its
    /// packet) before it is closed unanswered; the device resends.
    std::chrono::milliseconds database_wait{30000};
    /// Device lookups waiting for the worker pool at most; logins beyond wait for a retry.
    std::size_t max_pending_lookups = 1024;
    unsigned threads = 0;  ///< network threads; 0: one per core
    /// Protocols besides the registry's, found first by name (tests: a handler that fails in
    /// ways the registry's do not). Each still needs its entry in `endpoints`.
    std::vector<ProtocolInfo> extra_protocols{};

    static std::map<std::string, Endpoint> default_endpoints();
};

/// What sessions use; all outlive the listeners. The writer must be stopped before the
/// listeners are destroyed (its completions are posted to the listeners' threads).
struct IngestServices {
    DeviceRegistry& devices;
    Pipeline& pipeline;
    PositionWriter& writer;
    Counters& counters;
    std::function<Millis()> clock;
    /// Where device lookups run (a worker pool): never on a network thread.
    boost::asio::any_io_executor lookups;
    /// Receives receipts (delivered: a terminal shows a notice, a tracker answered a command;
    /// read: the driver opened it) on a network thread (hand the work on); when empty they are
    /// only counted.
    std::function<void(std::int64_t vehicle_id, const NoticeReceipt&)> on_receipt{};
    /// A vehicle's device logged in (TCP protocols: once the login reply is written) or reported
    /// after being silent for the idle timeout (OsmAnd); on a network thread: hand the work on.
    std::function<void(std::int64_t vehicle_id)> on_connected{};
};

/// Every packet is acknowledged only after its positions are committed; a connection reads
/// nothing further until then, which is the back-pressure. Nothing on a network thread waits
/// for the database.
class Listeners : public Downlink {
  public:
    Listeners(ListenerConfig config, IngestServices services);
    ~Listeners() override;
    Listeners(const Listeners&) = delete;
    Listeners& operator=(const Listeners&) = delete;

    /// Opens every enabled listener (one log line each) and starts the network threads; throws
    /// Error naming the protocol and address when one cannot be opened.
    void start();
    /// Closes the acceptors; open connections stop reading once they have answered what they
    /// received (idle ones are closed at once).
    void stop_accepting();
    /// Waits until every connection has closed, or `deadline`; then closes what is left (a
    /// connection waiting for a commit is closed unanswered) and stops the network threads.
    void drain(std::chrono::steady_clock::time_point deadline);

    /// The port each open listener is bound to.
    std::map<std::string, std::uint16_t> bound_ports() const;
    /// Open connections, all protocols.
    std::size_t open_connections() const;
    /// Closes the open connections of these devices (each on its own thread; what was not yet
    /// committed goes unanswered, so the device resends it), so that they log in again and are
    /// looked up afresh: after DeviceRegistry::refresh() found them moved or removed.
    void disconnect_devices(const std::vector<std::string>& identifiers);

    /// Sends through the vehicle's newest open connection (OsmAnd: the next response to its
    /// device, if it reported within the idle timeout).
    void send(std::int64_t vehicle_id, DownlinkMessage message,
              std::function<void(DownlinkResult)> done) override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::ingest
