#include "ingest/pipeline.hpp"

#include <algorithm>

namespace fleet::ingest {

std::vector<StoredPosition> Pipeline::prepare(ProtocolCounters& counters, std::int64_t vehicle_id,
                                              std::vector<Position> positions, Millis server_now) {
    counters.positions_received += positions.size();
    // Devices may send a packet newest first; plausibility is judged in time order.
    std::stable_sort(positions.begin(), positions.end(), [](const Position& a, const Position& b) {
        return a.device_time < b.device_time;
    });
    std::vector<StoredPosition> out;
    out.reserve(positions.size());
    std::lock_guard lock(mutex_);
    for (auto& p : positions) {
        const Verdict v = validator_.check(vehicle_id, p, server_now);
        if (v.rejected) {
            counters.reject(*v.rejected);
            continue;
        }
        if (v.flagged) {
            ++counters.flagged_invalid;
        }
        out.push_back({vehicle_id, std::move(p)});
    }
    return out;
}

std::optional<DeviceStatus> Pipeline::prepare_status(ProtocolCounters& counters,
                                                     DeviceStatus status, Millis server_now) {
    if (auto why = validator_.check_status(status, server_now)) {
        counters.reject(*why);
        return std::nullopt;
    }
    return status;
}

}  // namespace fleet::ingest
