#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "geo/ogr_lines.hpp"
#include "tools/fleetsim/link.hpp"
#include "tools/fleetsim/motion.hpp"

/// Drives simulated devices against a server and accounts for every record sent.
namespace fleet::tools::fleetsim {

/// Everything one run needs; `run` and `load` modes differ only in these values.
struct Plan {
    Protocol protocol = Protocol::teltonika;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::size_t connections = 1;  ///< concurrent devices, one connection each
    std::size_t vehicles = 1;     ///< distinct device ids; connection i is vehicle i % vehicles
    std::size_t records_per_packet = 1;
    /// Wall time between two packets of one connection; zero sends the next packet as soon as
    /// the previous one is acknowledged. Connections are staggered over one period.
    Clock::duration packet_period{};
    /// Stop each connection after this many packets (run mode); unlimited when empty.
    std::optional<std::size_t> packets_per_connection;
    Clock::duration duration = std::chrono::seconds(60);  ///< wall time for sending
    Clock::duration drain_timeout = std::chrono::seconds(10);
    Clock::duration ack_timeout = std::chrono::seconds(30);
    Clock::duration connect_timeout = std::chrono::seconds(10);
    Clock::duration reconnect_delay = std::chrono::seconds(1);
    std::chrono::milliseconds fix_interval = std::chrono::seconds(5);  ///< device time per fix
    devices::Millis device_time_start{};
    std::uint64_t imei_base = 356307042441000;
    std::shared_ptr<const Path> route;  ///< empty: random walk from `origin`
    geo::LonLat origin{30.3086, 59.9375};
    double speed_kmh = 40;
    std::uint32_t seed = 1;
    unsigned threads = 1;
    /// SIGINT/SIGTERM stop sending; the run then drains and reports as usual.
    bool handle_signals = false;
    /// Keep (device id, device time) of every acknowledged record in the report.
    bool keep_acked = false;
};

/// What happened, counted per record and per packet.
struct Report {
    std::uint64_t records_sent = 0;   ///< records in packets whose last byte was written
    std::uint64_t records_acked = 0;  ///< records confirmed by the server's ACK
    std::uint64_t packets_sent = 0;
    std::uint64_t packets_acked = 0;       ///< packets answered positively and completely
    std::uint64_t packets_failed = 0;      ///< negative or mismatching answers
    std::uint64_t connection_errors = 0;   ///< connect/login failures, resets, malformed replies
    std::uint64_t ack_timeouts = 0;        ///< packets whose answer did not come in time
    std::vector<double> ack_latencies_ms;  ///< last byte written → answer, per answered packet
    double elapsed_s = 0;                  ///< start → last answer (or end of run)
    std::map<std::string, std::uint64_t> errors;  ///< distinct error messages and counts
    /// With Plan::keep_acked: every record of every completely acknowledged packet.
    std::vector<std::pair<std::string, std::int64_t>> acked_records;

    std::uint64_t records_unacked() const { return records_sent - records_acked; }
    /// True when something was sent and every record sent was acknowledged.
    bool all_acked() const { return records_sent > 0 && records_acked == records_sent; }
    void merge(const Report& other);
    void note_error(const std::string& message);
};

/// Runs the plan to completion: sends for `duration` (or the packet count), then waits up to
/// `drain_timeout` for the answer to each connection's last packet. Records are never resent:
/// a record whose ACK did not come stays unacknowledged. Throws InputError when the host does
/// not resolve or the packet size does not suit the protocol.
Report run(const Plan& plan);

/// The p-th percentile (0..100, nearest rank) of `values`; 0 when empty.
double percentile(std::vector<double> values, double p);

/// A human-readable summary ending with the machine-readable line.
std::string format_report(const Report& report);
/// `fleetsim: sent=.. acked=.. failed=.. rate=..rec/s p50_ms=.. p99_ms=.. unacked=..
/// conn_errors=.. timeouts=.. p90_ms=.. max_ms=..`: records sent and acknowledged, packets
/// failed, acknowledged records per second, ACK latency percentiles.
std::string machine_line(const Report& report);

}  // namespace fleet::tools::fleetsim
