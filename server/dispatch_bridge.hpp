#pragma once

#include "dispatch/engine.hpp"
#include "ingest/writer.hpp"

namespace fleet::server {

/// Hands the positions the writer committed to the dispatch engine. ingest does not know
/// dispatch; this adapter, wired by fleetd, is the only place where they meet.
class DispatchBridge : public ingest::PositionSink {
  public:
    explicit DispatchBridge(dispatch::Engine& engine) : engine_(engine) {}
    void on_committed(std::span<const ingest::StoredPosition> positions) override;

  private:
    dispatch::Engine& engine_;
};

}  // namespace fleet::server
