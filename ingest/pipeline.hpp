#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "ingest/counters.hpp"
#include "ingest/validate.hpp"
#include "ingest/writer.hpp"

namespace fleet::ingest {

/// Validation between decoding and the writer, shared by every connection (thread-safe).
class Pipeline {
  public:
    explicit Pipeline(ValidationConfig config) : validator_(config) {}

    /// The positions of `vehicle_id` worth storing (valid or flagged), counting received,
    /// flagged and rejected ones in `counters`.
    std::vector<StoredPosition> prepare(ProtocolCounters& counters, std::int64_t vehicle_id,
                                        std::vector<Position> positions, Millis server_now);

    /// `status` when it can be stored (Validator::check_status), else nullopt with the refusal
    /// counted in `counters`.
    std::optional<DeviceStatus> prepare_status(ProtocolCounters& counters, DeviceStatus status,
                                               Millis server_now);

  private:
    std::mutex mutex_;
    Validator validator_;
};

}  // namespace fleet::ingest
