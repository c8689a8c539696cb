#include "server/dispatch_bridge.hpp"

namespace fleet::server {

void DispatchBridge::on_committed(std::span<const ingest::StoredPosition> positions) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<dispatch::VehicleFix> fixes;
    fixes.reserve(positions.size());
    for (const auto& sp : positions) {
        const auto& p = sp.position;
        fixes.push_back({sp.vehicle_id,
                         dispatch::Fix{p.device_time,
                                       {p.longitude_deg, p.latitude_deg},
                                       p.speed_kmh,
                                       p.valid,
                                       std::nullopt},
                         now});
    }
    engine_.on_positions(std::move(fixes));
}

}  // namespace fleet::server
