#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "geo/store.hpp"
#include "ingest/bytes.hpp"
#include "ingest/counters.hpp"
#include "ingest/position.hpp"

/// The position writer: batched COPY into fleet.positions, one commit per batch, completions
/// only after the commit, then the committed positions to the sinks.
namespace fleet::ingest {

/// A fix with the vehicle it belongs to.
struct StoredPosition {
    std::int64_t vehicle_id = 0;
    Position position;
};

/// Receives positions after they are committed (the dispatch engine subscribes here). Called on
/// the writer's thread, in commit order; must be quick (hand the work to its own queue).
class PositionSink {
  public:
    virtual ~PositionSink() = default;
    virtual void on_committed(std::span<const StoredPosition> positions) = 0;
};

/// One packet of one connection, as the writer takes it.
struct Packet {
    ProtocolCounters* counters = nullptr;  ///< the connection's protocol's
    std::int64_t vehicle_id = 0;
    std::string protocol;              ///< for the quarantine
    std::string device;                ///< the device's identifier, for the quarantine
    std::shared_ptr<const Bytes> raw;  ///< the packet as received, for the quarantine
    std::vector<StoredPosition> positions;
    std::optional<DeviceStatus> status;  ///< the vehicle's latest status, stored with the batch
};

struct WriteResult {
    bool committed = false;       ///< false when the writer stopped without a database, or refused
    std::size_t stored = 0;       ///< new rows
    std::size_t duplicates = 0;   ///< rows already there (same vehicle and device time)
    std::size_t quarantined = 0;  ///< records the database refused, kept in fleet.quarantine
    bool refused = false;         ///< not queued: the queue was full (nothing stored)
};

struct WriterConfig {
    std::size_t max_batch = 5000;            ///< positions per transaction at most
    std::chrono::milliseconds max_wait{50};  ///< how long the first queued position may wait
    /// Commit early once nothing has arrived for this long (all senders await this commit).
    std::chrono::microseconds quiet{2000};
    geo::RetryPolicy reconnect{};  ///< back-off while the database is down
    /// Positions queued at most; a packet beyond it is refused at once (its connection closes
    /// unacknowledged and the device resends later).
    std::size_t max_queued = 200000;
};

/// One thread, one connection. Holds a failed batch and retries it after reconnecting, so a
/// position is either committed and then acknowledged, or never acknowledged.
class PositionWriter {
  public:
    using Completion = std::function<void(const WriteResult&)>;
    /// Names a submitted packet, for cancel().
    using Ticket = std::uint64_t;

    PositionWriter(const geo::ConnectionFactory& connections, WriterConfig config,
                   Counters& counters);
    ~PositionWriter();
    PositionWriter(const PositionWriter&) = delete;
    PositionWriter& operator=(const PositionWriter&) = delete;

    /// Register before start().
    void add_sink(PositionSink& sink) { sinks_.push_back(&sink); }
    void start();

    /// Queues one packet. `done` runs on the writer thread after the commit that holds it (a
    /// packet with neither positions nor status completes at once, on the caller's thread; so
    /// does one refused because the queue holds `max_queued` positions). Back-pressure comes
    /// from the callers: each connection keeps one packet in flight and reads nothing until it
    /// completes.
    Ticket submit(Packet packet, Completion done);

    /// Withdraws a queued packet whose connection stopped waiting for it: its `done` is never
    /// called. Returns false when the packet is already being committed (or done), in which case
    /// `done` runs as usual.
    bool cancel(Ticket ticket);

    /// Stops taking work, commits what is queued (waiting for the database at most
    /// `deadline`; what cannot be committed by then completes with committed = false), joins.
    void stop(std::chrono::milliseconds deadline);

    std::size_t queued_positions() const;

  private:
    struct Submission {
        Ticket ticket;
        Packet packet;
        Completion done;
        std::chrono::steady_clock::time_point queued_at;
    };
    class Connection;

    void run();
    void commit_with_retry(std::vector<Submission>& batch);

    std::string url_;
    WriterConfig config_;
    std::unique_ptr<Connection> conn_;  ///< used on the writer thread only
    Counters& counters_;
    std::vector<PositionSink*> sinks_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Submission> queue_;
    std::size_t queued_positions_ = 0;
    Ticket next_ticket_ = 1;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stop_deadline_{};
    std::atomic<bool> give_up_{false};
    std::thread thread_;
};

/// Formats one position as a line of PostgreSQL's text COPY format (columns: vehicle_id,
/// device_time, geom, speed_kmh, course_deg, altitude_m, satellites, valid, odometer_m, fuel_l,
/// ignition, attributes). Exposed for tests.
void append_copy_line(std::string& out, const StoredPosition& p);

}  // namespace fleet::ingest
