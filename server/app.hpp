#pragma once

#include "server/config.hpp"

/// fleetd's wiring, in order: configuration → store → (pipeline → listeners → API, as the
/// modules arrive) → run until SIGINT/SIGTERM → bounded clean stop.
namespace fleet::server {

/// Runs the service; returns the process exit code.
int run_fleetd(const Config& config);

}  // namespace fleet::server
