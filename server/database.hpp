#pragma once

#include <atomic>
#include <memory>

#include <pqxx/pqxx>

#include "server/config.hpp"

namespace fleet::server {

/// Connects as the configuration says (retrying with back-off, logged, until `stop` or the
/// configured wait runs out), then brings the schema up to date and the position partitions
/// ready. Logs one line per step. Throws DatabaseError.
std::unique_ptr<pqxx::connection> open_database(const Config& config,
                                                const std::atomic<bool>& stop);

}  // namespace fleet::server
