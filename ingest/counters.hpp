#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

/// Ingest counters, kept in one place per protocol; the HTTP API exposes them (Prometheus text).
namespace fleet::ingest {

/// Why a record was not stored.
enum class Rejection : std::size_t {
    bad_coordinates,  ///< latitude/longitude out of range or not a number
    future_time,      ///< device time further ahead of the server clock than allowed
    unknown_device,   ///< device not registered and unknown devices are refused
    past_time,        ///< device time before 2000-01-01 UTC
    bad_number,       ///< a real column not finite or beyond float4, satellites beyond smallint, an
                      ///< odometer not finite
    bad_attributes,   ///< attributes not an object, a NUL in a key or string, nested too deep
    count_
};
const char* to_string(Rejection r);

/// Why a connection was refused or closed before its data was answered.
enum class Refusal : std::size_t {
    per_address_cap,       ///< max-connections-per-ip open from the address already
    connection_cap,        ///< max-connections open in all
    unknown_device,        ///< not registered, and unknown devices are refused
    wrong_protocol,        ///< registered for another protocol
    database_unavailable,  ///< the device lookup failed or took longer than database-wait
    lookups_busy,          ///< too many device lookups waiting for the database
    writer_full,           ///< the writer's queue is full (the database is slow or down)
    commit_timeout,        ///< no commit within database-wait: closed unanswered
    count_
};
const char* to_string(Refusal r);

/// Cumulative histogram of durations with fixed millisecond buckets (Prometheus-style).
class LatencyHistogram {
  public:
    static constexpr std::array<double, 12> bounds_ms = {1,   2,   5,   10,   25,   50,
                                                         100, 250, 500, 1000, 2500, 10000};
    void observe(std::chrono::nanoseconds d);
    std::array<std::uint64_t, bounds_ms.size() + 1> buckets() const;  ///< last = +Inf
    std::uint64_t count() const { return count_.load(); }
    double sum_ms() const { return static_cast<double>(sum_us_.load()) / 1000.0; }

  private:
    std::array<std::atomic<std::uint64_t>, bounds_ms.size() + 1> buckets_{};
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_us_{0};
};

struct ProtocolCounters {
    std::atomic<std::uint64_t> connections_opened{0};
    std::atomic<std::int64_t> connections_active{0};
    std::atomic<std::uint64_t> connections_refused{0};  ///< any Refusal
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Refusal::count_)> refused{};
    /// Sessions ended by an exception nothing expected (logged once each).
    std::atomic<std::uint64_t> session_failures{0};
    std::atomic<std::uint64_t> downlink_written{0};
    std::atomic<std::uint64_t> downlink_failed{0};
    std::atomic<std::uint64_t> receipts{0};  ///< notice receipts and command answers from devices
    std::atomic<std::uint64_t> frames{0};
    std::atomic<std::uint64_t> malformed_frames{0};
    std::atomic<std::uint64_t> idle_timeouts{0};
    std::atomic<std::uint64_t> positions_received{0};
    std::atomic<std::uint64_t> positions_stored{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::atomic<std::uint64_t> flagged_invalid{0};  ///< stored with valid = false
    std::atomic<std::uint64_t> merged{0};       ///< merged into a row of the same vehicle and time
    std::atomic<std::uint64_t> quarantined{0};  ///< refused by the database, in fleet.quarantine
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Rejection::count_)> rejected{};
    LatencyHistogram ack_latency;  ///< from a packet's arrival to its acknowledgement

    void reject(Rejection r, std::uint64_t n = 1) { rejected[static_cast<std::size_t>(r)] += n; }
    void refuse(Refusal r) {
        ++connections_refused;
        ++refused[static_cast<std::size_t>(r)];
    }
};

/// Counts a connection in connections_active for as long as it lives.
class ActiveConnection {
  public:
    explicit ActiveConnection(ProtocolCounters& counters) : counters_(counters) {
        ++counters_.connections_active;
    }
    ~ActiveConnection() { --counters_.connections_active; }
    ActiveConnection(const ActiveConnection&) = delete;
    ActiveConnection& operator=(const ActiveConnection&) = delete;

  private:
    ProtocolCounters& counters_;
};

/// Counters by protocol name. Protocol entries are created on first use and never removed, so
/// references stay valid for the life of the registry.
class Counters {
  public:
    ProtocolCounters& protocol(const std::string& name);
    /// The writer's own figures.
    std::atomic<std::uint64_t> batches_committed{0};
    std::atomic<std::uint64_t> batch_failures{0};
    std::atomic<std::uint64_t> database_reconnects{0};
    std::atomic<std::uint64_t> records_quarantined{0};  ///< kept in fleet.quarantine
    std::atomic<std::uint64_t> statement_timeouts{0};   ///< calls past their deadline
    std::atomic<std::uint64_t> queue_refusals{0};       ///< packets refused: the queue was full
    std::atomic<std::int64_t> writer_queue_records{0};  ///< records queued now
    LatencyHistogram batch_commit_time;  ///< from a batch's first statement to its COMMIT

    /// All counters in the Prometheus text exposition format.
    std::string prometheus_text() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<ProtocolCounters>> by_protocol_;
};

}  // namespace fleet::ingest
