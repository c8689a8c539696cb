#include "ingest/counters.hpp"

#include <sstream>

namespace fleet::ingest {

const char* to_string(Rejection r) {
    switch (r) {
        case Rejection::bad_coordinates:
            return "bad_coordinates";
        case Rejection::future_time:
            return "future_time";
        case Rejection::unknown_device:
            return "unknown_device";
        case Rejection::past_time:
            return "past_time";
        case Rejection::bad_number:
            return "bad_number";
        case Rejection::bad_attributes:
            return "bad_attributes";
        case Rejection::count_:
            break;
    }
    return "other";
}

const char* to_string(Refusal r) {
    switch (r) {
        case Refusal::per_address_cap:
            return "per_address_cap";
        case Refusal::connection_cap:
            return "connection_cap";
        case Refusal::unknown_device:
            return "unknown_device";
        case Refusal::wrong_protocol:
            return "wrong_protocol";
        case Refusal::database_unavailable:
            return "database_unavailable";
        case Refusal::lookups_busy:
            return "lookups_busy";
        case Refusal::writer_full:
            return "writer_full";
        case Refusal::commit_timeout:
            return "commit_timeout";
        case Refusal::count_:
            break;
    }
    return "other";
}

void LatencyHistogram::observe(std::chrono::nanoseconds d) {
    const double ms = static_cast<double>(d.count()) / 1e6;
    std::size_t i = 0;
    while (i < bounds_ms.size() && ms > bounds_ms[i]) {
        ++i;
    }
    ++buckets_[i];
    ++count_;
    sum_us_ += static_cast<std::uint64_t>(d.count() / 1000);
}

std::array<std::uint64_t, LatencyHistogram::bounds_ms.size() + 1> LatencyHistogram::buckets()
    const {
    std::array<std::uint64_t, bounds_ms.size() + 1> out{};
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        running += buckets_[i].load();
        out[i] = running;
    }
    return out;
}

ProtocolCounters& Counters::protocol(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& slot = by_protocol_[name];
    if (!slot) {
        slot = std::make_unique<ProtocolCounters>();
    }
    return *slot;
}

std::string Counters::prometheus_text() const {
    std::ostringstream out;
    std::lock_guard lock(mutex_);
    auto family = [&](const char* name, const char* type, const char* help, auto value) {
        out << "# HELP fleet_ingest_" << name << " " << help << "\n# TYPE fleet_ingest_" << name
            << " " << type << "\n";
        for (const auto& [protocol, c] : by_protocol_) {
            out << "fleet_ingest_" << name << "{protocol=\"" << protocol << "\"} " << value(*c)
                << "\n";
        }
    };
    family("connections_total", "counter", "Connections accepted.",
           [](const ProtocolCounters& c) { return c.connections_opened.load(); });
    family("connections_active", "gauge", "Connections open now.",
           [](const ProtocolCounters& c) { return c.connections_active.load(); });
    family("connections_refused_total", "counter", "Connections refused (caps, unknown devices).",
           [](const ProtocolCounters& c) { return c.connections_refused.load(); });
    family("frames_total", "counter", "Frames decoded.",
           [](const ProtocolCounters& c) { return c.frames.load(); });
    family("malformed_frames_total", "counter", "Frames that failed to decode (connection closed).",
           [](const ProtocolCounters& c) { return c.malformed_frames.load(); });
    family("idle_timeouts_total", "counter", "Connections closed after the read deadline.",
           [](const ProtocolCounters& c) { return c.idle_timeouts.load(); });
    family("positions_received_total", "counter", "Positions decoded.",
           [](const ProtocolCounters& c) { return c.positions_received.load(); });
    family("positions_stored_total", "counter", "Positions committed to PostGIS.",
           [](const ProtocolCounters& c) { return c.positions_stored.load(); });
    family("duplicates_total", "counter", "Positions already stored (same vehicle and time).",
           [](const ProtocolCounters& c) { return c.duplicates.load(); });
    family("flagged_invalid_total", "counter", "Positions stored with valid = false.",
           [](const ProtocolCounters& c) { return c.flagged_invalid.load(); });
    family("merged_total", "counter",
           "Positions merged into a stored row of the same vehicle and device time.",
           [](const ProtocolCounters& c) { return c.merged.load(); });
    family("quarantined_total", "counter",
           "Records the database refused, kept in fleet.quarantine.",
           [](const ProtocolCounters& c) { return c.quarantined.load(); });

    out << "# HELP fleet_ingest_rejected_total Positions not stored, by reason.\n"
           "# TYPE fleet_ingest_rejected_total counter\n";
    for (const auto& [protocol, c] : by_protocol_) {
        for (std::size_t r = 0; r < c->rejected.size(); ++r) {
            out << "fleet_ingest_rejected_total{protocol=\"" << protocol << "\",reason=\""
                << to_string(static_cast<Rejection>(r)) << "\"} " << c->rejected[r].load() << "\n";
        }
    }
    out << "# HELP fleet_ingest_refused_total Connections refused or closed unanswered, by "
           "reason.\n"
           "# TYPE fleet_ingest_refused_total counter\n";
    for (const auto& [protocol, c] : by_protocol_) {
        for (std::size_t r = 0; r < c->refused.size(); ++r) {
            out << "fleet_ingest_refused_total{protocol=\"" << protocol << "\",reason=\""
                << to_string(static_cast<Refusal>(r)) << "\"} " << c->refused[r].load() << "\n";
        }
    }
    family("session_failures_total", "counter", "Sessions ended by an unexpected error.",
           [](const ProtocolCounters& c) { return c.session_failures.load(); });
    family("downlink_written_total", "counter", "Messages written to devices.",
           [](const ProtocolCounters& c) { return c.downlink_written.load(); });
    family("downlink_failed_total", "counter", "Messages whose connection closed before writing.",
           [](const ProtocolCounters& c) { return c.downlink_failed.load(); });
    family("receipts_total", "counter", "Notice receipts and command answers from devices.",
           [](const ProtocolCounters& c) { return c.receipts.load(); });
    out << "# HELP fleet_ingest_ack_latency_ms From a packet's arrival to its acknowledgement.\n"
           "# TYPE fleet_ingest_ack_latency_ms histogram\n";
    for (const auto& [protocol, c] : by_protocol_) {
        const auto b = c->ack_latency.buckets();
        for (std::size_t i = 0; i < b.size(); ++i) {
            out << "fleet_ingest_ack_latency_ms_bucket{protocol=\"" << protocol << "\",le=\"";
            if (i < LatencyHistogram::bounds_ms.size()) {
                out << LatencyHistogram::bounds_ms[i];
            } else {
                out << "+Inf";
            }
            out << "\"} " << b[i] << "\n";
        }
        out << "fleet_ingest_ack_latency_ms_sum{protocol=\"" << protocol << "\"} "
            << c->ack_latency.sum_ms() << "\n";
        out << "fleet_ingest_ack_latency_ms_count{protocol=\"" << protocol << "\"} "
            << c->ack_latency.count() << "\n";
    }
    out << "# TYPE fleet_ingest_batches_committed_total "
           "counter\nfleet_ingest_batches_committed_total "
        << batches_committed.load() << "\n";
    out << "# TYPE fleet_ingest_batch_failures_total counter\nfleet_ingest_batch_failures_total "
        << batch_failures.load() << "\n";
    out << "# TYPE fleet_ingest_database_reconnects_total counter\n"
           "fleet_ingest_database_reconnects_total "
        << database_reconnects.load() << "\n";
    out << "# HELP fleet_ingest_records_quarantined_total Records the database refused, kept in "
           "fleet.quarantine.\n"
           "# TYPE fleet_ingest_records_quarantined_total counter\n"
           "fleet_ingest_records_quarantined_total "
        << records_quarantined.load() << "\n";
    out << "# HELP fleet_ingest_statement_timeouts_total Writer calls into the database past "
           "their deadline (the connection was dropped).\n"
           "# TYPE fleet_ingest_statement_timeouts_total counter\n"
           "fleet_ingest_statement_timeouts_total "
        << statement_timeouts.load() << "\n";
    out << "# HELP fleet_ingest_queue_refusals_total Packets refused because the writer queue "
           "was full.\n"
           "# TYPE fleet_ingest_queue_refusals_total counter\n"
           "fleet_ingest_queue_refusals_total "
        << queue_refusals.load() << "\n";
    out << "# HELP fleet_ingest_writer_queue_records Records queued for the writer.\n"
           "# TYPE fleet_ingest_writer_queue_records gauge\n"
           "fleet_ingest_writer_queue_records "
        << writer_queue_records.load() << "\n";
    out << "# HELP fleet_ingest_batch_commit_ms From a batch's first statement to its COMMIT.\n"
           "# TYPE fleet_ingest_batch_commit_ms histogram\n";
    const auto b = batch_commit_time.buckets();
    for (std::size_t i = 0; i < b.size(); ++i) {
        out << "fleet_ingest_batch_commit_ms_bucket{le=\"";
        if (i < LatencyHistogram::bounds_ms.size()) {
            out << LatencyHistogram::bounds_ms[i];
        } else {
            out << "+Inf";
        }
        out << "\"} " << b[i] << "\n";
    }
    out << "fleet_ingest_batch_commit_ms_sum " << batch_commit_time.sum_ms() << "\n";
    out << "fleet_ingest_batch_commit_ms_count " << batch_commit_time.count() << "\n";
    return out.str();
}

}  // namespace fleet::ingest
