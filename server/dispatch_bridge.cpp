#include "server/dispatch_bridge.hpp"

namespace fleet::server {

void DispatchBridge::on_committed(std::span<const ingest::StoredPosition> positions) {
    const auto now = std::chrono::steady_clock::now();
    const auto received =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    std::vector<dispatch::VehicleFix> fixes;
    fixes.reserve(positions.size());
    for (const auto& sp : positions) {
        const auto& p = sp.position;
        fixes.push_back({sp.vehicle_id,
                         dispatch::Fix{p.device_time,
                                       {p.longitude_deg, p.latitude_deg},
                                       p.speed_kmh,
                                       p.valid,
                                       std::nullopt,
                                       received},
                         now});
    }
    engine_.on_positions(std::move(fixes));
}

}  // namespace fleet::server
