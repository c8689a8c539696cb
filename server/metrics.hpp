#pragma once

#include "dispatch/engine.hpp"
#include "geo/metrics.hpp"
#include "ingest/counters.hpp"
#include "ingest/devices.hpp"
#include "ingest/writer.hpp"
#include "server/notice_service.hpp"

/// fleetd's metrics: every part's counters in one registry, ready to be served (Prometheus).
namespace fleet::server {

/// Adds the collectors of the listeners and the writer (`counters`), the writer's queue, the
/// dispatch engine and the notice service. All must outlive the registry's reads.
void register_metrics(geo::MetricsRegistry& registry, const ingest::Counters& counters,
                      const ingest::DeviceRegistry& devices, const ingest::PositionWriter& writer,
                      const dispatch::Engine& engine, const NoticeService& notices);

}  // namespace fleet::server
