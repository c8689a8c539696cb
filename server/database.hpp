#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include <pqxx/pqxx>

#include "server/config.hpp"

namespace fleet::server {

/// What opening the database found and did.
struct DatabaseReady {
    int schema_version = 0;              ///< the latest migration, after migrating
    std::size_t migrations_applied = 0;  ///< by this call
    int partitions_created = 0;          ///< position partitions, by this call
};

/// Connects as the configuration says (retrying with back-off, logged, until `stop` or the
/// configured wait runs out), then brings the schema up to date and the position partitions
/// ready. Logs one line per step (at info); fills `ready` when given. Throws DatabaseError.
std::unique_ptr<pqxx::connection> open_database(const Config& config, const std::atomic<bool>& stop,
                                                DatabaseReady* ready = nullptr);

}  // namespace fleet::server
