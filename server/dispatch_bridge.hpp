#pragma once

#include "dispatch/engine.hpp"
#include "ingest/writer.hpp"

#include <map>
#include <string>

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

namespace fleet::server {

/// Keeps the engine's assignments in step with fleet.shift_assignments (yesterday's and
/// today's service dates, UTC).
class AssignmentFeed {
  public:
    AssignmentFeed(std::string database_url, dispatch::Engine& engine,
                   std::map<std::string, double> class_caps)
        : url_(std::move(database_url)), engine_(engine), class_caps_(std::move(class_caps)) {}

    /// Hands new or changed assignments to the engine (changed: another assignment, or new
    /// thresholds or speed limits of its routes), and the speed zones and class caps. With
    /// `replay`, also the positions their vehicles sent since their shift started (fleetd's
    /// start-up: the state is rebuilt from PostGIS, and the events it raises again update the
    /// stored ones). Returns (assignments handed over, positions replayed). Throws DatabaseError.
    std::pair<std::size_t, std::size_t> refresh(bool replay);

  private:
    std::string url_;
    dispatch::Engine& engine_;
    std::map<std::string, double> class_caps_;
    // vehicle → the assignment handed over (id, its route rules)
    std::map<std::int64_t, std::pair<std::int64_t, std::string>> current_;
};

}  // namespace fleet::server
