#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
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
    /// Wait after a connection error, an ACK timeout or a negative answer before reconnecting
    /// (when needed) and resending the packet that was not acknowledged.
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
    /// Keep every acknowledged record (device id and what its packet carried) in the report.
    bool keep_acked = false;
    /// Native terminals: the driver reads a notice this long after it arrived; empty: never.
    std::optional<Clock::duration> read_after = std::chrono::seconds(2);
};

/// One record the server acknowledged: the device that sent it and what its packet carried.
struct AckedRecord {
    std::string device_id;
    devices::SentFix fix;
};

/// What happened, counted per record and per packet. A record is sent once and may be resent
/// until one of its sends is acknowledged; records_sent and records_acked count each record
/// once, records_resent counts the sends after its first.
struct Report {
    std::uint64_t records_sent = 0;        ///< distinct records written at least once
    std::uint64_t records_acked = 0;       ///< distinct records confirmed by the server's answer
    std::uint64_t records_resent = 0;      ///< sends of records already sent before
    std::uint64_t packets_sent = 0;        ///< packet writes, resends included
    std::uint64_t packets_resent = 0;      ///< packet writes that were resends
    std::uint64_t packets_acked = 0;       ///< packets answered positively and completely
    std::uint64_t packets_failed = 0;      ///< negative or mismatching answers
    std::uint64_t connection_errors = 0;   ///< connect/login failures, resets, malformed replies
    std::uint64_t ack_timeouts = 0;        ///< packets whose answer did not come in time
    std::vector<double> ack_latencies_ms;  ///< last byte written → answer, per answered packet
    double elapsed_s = 0;                  ///< start → last answer (or end of run)
    std::map<std::string, std::uint64_t> errors;  ///< distinct error messages and counts
    /// With Plan::keep_acked: every acknowledged record, once, in the order of acknowledgement
    /// per device.
    std::vector<AckedRecord> acked_records;

    std::uint64_t records_unacked() const { return records_sent - records_acked; }
    /// True when something was sent and every record sent was acknowledged.
    bool all_acked() const { return records_sent > 0 && records_acked == records_sent; }
    void merge(const Report& other);
    void note_error(const std::string& message);
};

/// Runs the plan to completion, each device as a real tracker with a buffer of unsent records
/// does: one packet in flight; after a connection error, an ACK timeout or a negative answer it
/// waits `reconnect_delay`, reconnects if the connection is gone, and resends the records of
/// that packet not yet acknowledged before any new one. New packets are made for `duration`
/// (or up to the packet count, or until a stop signal); then each device keeps trying to
/// deliver what it still holds for up to `drain_timeout`. A record whose ACK never came stays
/// unacknowledged. Throws InputError when the host does not resolve or the packet size does
/// not suit the protocol.
Report run(const Plan& plan);

/// The p-th percentile (0..100, nearest rank) of `values`; 0 when empty.
double percentile(std::vector<double> values, double p);

/// A human-readable summary ending with the machine-readable line.
std::string format_report(const Report& report);
/// `fleetsim: sent=.. acked=.. failed=.. rate=..rec/s p50_ms=.. p99_ms=.. unacked=..
/// conn_errors=.. timeouts=.. p90_ms=.. max_ms=.. resent=.. records_resent=.. packets=..`:
/// records sent and acknowledged, packets failed, acknowledged records per second, ACK latency
/// percentiles, packets resent, records resent, packets written.
std::string machine_line(const Report& report);

/// The header of write_acked_log's CSV.
inline constexpr const char* acked_log_header =
    "protocol,device,device_time_ms,latitude_deg,longitude_deg,speed_kmh,course_deg,altitude_m,"
    "satellites,odometer_m,fuel_l,ignition";
/// Writes the header and one CSV line per acknowledged record: the protocol's name, the device
/// id, then what the packet carried (fields the protocol lacks are empty; numbers in the
/// shortest form that reads back exactly; ignition true/false).
void write_acked_log(std::ostream& out, Protocol protocol, const std::vector<AckedRecord>& acked);

}  // namespace fleet::tools::fleetsim
