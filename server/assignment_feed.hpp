#pragma once

#include <map>
#include <string>

#include "dispatch/engine.hpp"
#include "geo/store.hpp"

namespace fleet::server {

/// Keeps the engine's assignments in step with fleet.shift_assignments (yesterday's and
/// today's service dates, UTC).
class AssignmentFeed {
  public:
    AssignmentFeed(geo::ConnectionFactory connections, dispatch::Engine& engine,
                   std::map<std::string, double> class_caps)
        : connections_(std::move(connections)),
          engine_(engine),
          class_caps_(std::move(class_caps)) {}

    /// Hands new or changed assignments to the engine (changed: another assignment, or new
    /// thresholds or speed limits of its routes), and the speed zones and class caps. With
    /// `replay`, also the positions their vehicles sent since their shift started (fleetd's
    /// start-up: the state is rebuilt from PostGIS, and the events it raises again update the
    /// stored ones). Returns (assignments handed over, positions replayed). Throws DatabaseError.
    std::pair<std::size_t, std::size_t> refresh(bool replay);

  private:
    geo::ConnectionFactory connections_;
    dispatch::Engine& engine_;
    std::map<std::string, double> class_caps_;
    // vehicle → the assignment handed over (id, its route rules)
    std::map<std::int64_t, std::pair<std::int64_t, std::string>> current_;
};

}  // namespace fleet::server
