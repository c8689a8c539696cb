#include "server/metrics.hpp"

namespace fleet::server {

void register_metrics(geo::MetricsRegistry& registry, const ingest::Counters& counters,
                      const ingest::DeviceRegistry& devices, const ingest::PositionWriter& writer,
                      const dispatch::Engine& engine, const ReceiptRecorder& receipts) {
    registry.add("ingest", [&counters](std::string& out) { out += counters.prometheus_text(); });
    registry.add("devices", [&devices](std::string& out) { devices.collect(out); });
    registry.add("writer", [&writer](std::string& out) {
        geo::write_family(out, "fleet_writer_queued_positions", "gauge",
                          "Positions waiting for the database.",
                          {{"", static_cast<double>(writer.queued_positions())}});
    });
    registry.add("dispatch", [&engine](std::string& out) {
        geo::write_family(out, "fleet_dispatch_fixes_processed_total", "counter",
                          "Fixes the engine has matched.",
                          {{"", static_cast<double>(engine.fixes_processed())}});
        geo::write_family(out, "fleet_dispatch_fixes_dropped_total", "counter",
                          "Fixes dropped because the engine's queue was full.",
                          {{"", static_cast<double>(engine.fixes_dropped())}});
        geo::write_family(out, "fleet_dispatch_store_failures_total", "counter",
                          "Event batches the store refused (kept and retried).",
                          {{"", static_cast<double>(engine.store_failures())}});
    });
    registry.add("receipts", [&receipts](std::string& out) { receipts.write_metrics(out); });
}

}  // namespace fleet::server
