#pragma once

#include <atomic>
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

/// The position writer: batched binary COPY into fleet.positions, one commit per batch,
/// completions only after the commit, then the committed positions to the sinks.
///
/// Records the database refuses never block the others: a batch that fails with a data error
/// (SQLSTATE class 22, 23 other than 23505, or 54) is split until the bad records are isolated;
/// the rest is committed and acknowledged, and each bad record goes to fleet.quarantine with its
/// SQLSTATE, the message, the record as jsonb and the packet's raw bytes. A value that has no
/// binary form in its column (a finite speed beyond real, satellites beyond smallint, a time
/// beyond int8 microseconds) is quarantined the same way, with the SQLSTATE PostgreSQL gives it
/// as text. Any other failure (connection lost, a deadline, the server shutting down) is retried
/// with back-off, nothing acknowledged meanwhile.
///
/// Two records of one vehicle at the same device time (an alarm in the same second as a
/// location, two trackers on one vehicle), within one batch or against a row stored before:
/// - the row stored first keeps its columns;
/// - the columns it lacks (NULL) are filled from the later record, and the attribute keys it
///   lacks are added from it (so an alarm's "alarm" shows on the row);
/// - when the later record differs in anything else (place, validity, speed or another value
///   both hold, a differing attribute value), it is also kept whole in attributes.merged, an
///   array of objects with every field, the device identifier and the protocol;
/// - an exact repeat (a resend, also of a record already in attributes.merged) changes nothing
///   and counts as a duplicate.
/// The fast path stays a plain COPY; the rule runs (INSERT ... ON CONFLICT DO UPDATE ... WHERE
/// the row does not already hold it, SQL functions of migration 0009) only for a batch with
/// such a pair or a key stored before.
///
/// Every call into libpq has a client-side deadline (the factory's statement timeout plus
/// WriterConfig::statement_margin; the connect timeout plus the margin to connect): a frozen
/// PostgreSQL costs the deadline, then the connection is dropped, counted in
/// Counters::statement_timeouts, and the batch retried after back-off. (Resolving a host name
/// in PQconnectStart is the one step libpq cannot do without blocking: use an address or a
/// socket directory for a server that must not hold the writer.)
///
/// A packet's device status (Packet::status) is stored in the batch's transaction in
/// fleet.vehicle_status: one row per vehicle, its values merged key by key, moving only forward
/// in reported_at (a status older than the stored one changes nothing).
namespace fleet::ingest {

/// A fix with the vehicle it belongs to.
struct StoredPosition {
    std::int64_t vehicle_id = 0;
    Position position;
};

/// Receives positions after they are committed (the dispatch engine subscribes here): the rows
/// that are new, in (vehicle, device time) order per batch (a record merged into a stored row,
/// a repeat or a quarantined record is not passed). Called on a writer lane's thread, in commit
/// order per vehicle; with several lanes (WriterConfig::connections) from several threads at
/// once, so it must be thread-safe, and quick (hand the work to its own queue).
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
    std::size_t duplicates = 0;   ///< exact repeats of what is stored (same vehicle and time)
    std::size_t quarantined = 0;  ///< records the database refused, kept in fleet.quarantine
    bool refused = false;         ///< not queued: the queue was full (nothing stored)
    std::size_t merged = 0;       ///< records merged into a row of the same vehicle and time
};

struct WriterConfig {
    std::size_t max_batch = 5000;            ///< positions per transaction at most
    std::chrono::milliseconds max_wait{50};  ///< how long the first queued position may wait
    /// Commit early once nothing has arrived for this long (all senders await this commit).
    std::chrono::microseconds quiet{2000};
    /// Back-off while the database is down: short, so that ingest resumes within seconds of
    /// the database coming back (an attempt costs one connect, bounded by its timeout).
    geo::RetryPolicy reconnect{.first_delay = std::chrono::milliseconds(250),
                               .max_delay = std::chrono::milliseconds(2000)};
    /// Records queued at most (positions, and one per device status); a packet beyond it is
    /// refused at once (its connection closes unacknowledged and the device resends later).
    std::size_t max_queued = 200000;
    /// Added to the factory's statement timeout (and connect timeout) for the client-side
    /// deadline of each call: the server's own timeout fires first when the server is alive.
    std::chrono::milliseconds statement_margin{2000};
    /// Lanes, each with its own connection and thread, committing in parallel (one batch's
    /// commit overlaps the next one's COPY). A vehicle's packets always go to the same lane
    /// (vehicle id modulo lanes), so its records are committed, merged and handed to the
    /// sinks in order. At most 64.
    std::size_t connections = 1;
};

namespace detail {
class Interrupt;
class PgSession;
}  // namespace detail

/// One thread and one connection per lane (WriterConfig::connections). A lane holds a failed
/// batch and retries it after reconnecting, so a position is either committed and then
/// acknowledged, or never acknowledged. The bound on queued records is shared by the lanes.
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

    /// Queues one packet. `done` runs on its lane's thread after the commit that holds it (a
    /// packet with neither positions nor status completes at once, on the caller's thread; so
    /// does one refused because the queue holds `max_queued` records, counted in
    /// Counters::queue_refusals). A packet with only a status is queued and completed after
    /// its commit like any other. Back-pressure comes from the callers: each connection keeps
    /// one packet in flight and reads nothing until it completes. Returns 0 when `done` ran
    /// already.
    Ticket submit(Packet packet, Completion done);

    /// Withdraws a queued packet whose connection stopped waiting for it: its `done` is never
    /// called. Returns false when the packet is already being committed (or done), in which case
    /// `done` runs as usual.
    bool cancel(Ticket ticket);

    /// Stops taking work, commits what is queued (waiting for the database at most
    /// `deadline`; what cannot be committed by then completes with committed = false), joins.
    void stop(std::chrono::milliseconds deadline);

    /// Records queued (positions, and one per device status), not yet taken into a batch.
    std::size_t queued_positions() const;

  private:
    struct Submission {
        Ticket ticket;
        Packet packet;
        Completion done;
        std::chrono::steady_clock::time_point queued_at;
        Millis received_at;  ///< for the quarantine
    };
    using Clock = std::chrono::steady_clock;
    struct Lane;

    Lane& lane_of(std::int64_t vehicle_id);
    void run(Lane& lane);
    std::vector<Submission> take_batch(Lane& lane, std::unique_lock<std::mutex>& lock);
    void commit_with_retry(Lane& lane, std::vector<Submission>& batch);
    /// Sleeps out a back-off; false when a stop's deadline passed meanwhile (give up).
    bool back_off(Lane& lane, std::chrono::milliseconds delay);
    detail::PgSession& session(Lane& lane);
    Clock::time_point statement_deadline() const;
    void taken(std::size_t records);  ///< records that left the queue (batched or cancelled)

    std::string url_;
    WriterConfig config_;
    std::chrono::milliseconds statement_timeout_;  ///< the factory's; 0: none
    std::chrono::milliseconds connect_timeout_;    ///< the factory's; 0: none
    Counters& counters_;
    std::vector<PositionSink*> sinks_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::atomic<std::size_t> queued_records_{0};  ///< of all lanes
};

}  // namespace fleet::ingest
