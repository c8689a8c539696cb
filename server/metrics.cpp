#include "server/metrics.hpp"

namespace fleet::server {

void register_metrics(geo::MetricsRegistry& registry, const ingest::Counters& counters,
                      const ingest::DeviceRegistry& devices, const ingest::PositionWriter& writer,
                      const dispatch::Engine& engine, const NoticeService& notices) {
    registry.add("ingest", [&counters](std::string& out) { out += counters.prometheus_text(); });
    registry.add("devices", [&devices](std::string& out) { devices.collect(out); });
    registry.add("writer", [&writer](std::string& out) {
        geo::write_family(out, "fleet_writer_queued_positions", "gauge",
                          "Positions waiting for the database.",
                          {{"", static_cast<double>(writer.queued_positions())}});
    });
    registry.add("dispatch", [&engine](std::string& out) { engine.write_metrics(out); });
    registry.add("notices", [&notices](std::string& out) { notices.write_metrics(out); });
}

}  // namespace fleet::server
