#pragma once

#include <string>
#include <vector>

#include <pqxx/pqxx>

/// Numbered SQL migrations of the `fleet` schema.
namespace fleet::geo {

struct Migration {
    int version;       ///< from the file name NNNN_name.sql; applied in ascending order
    std::string name;  ///< the rest of the file name
    std::string sql;   ///< the script, run as one transaction
};

/// Every migration in geo/migrations, compiled in at build time, in version order.
const std::vector<Migration>& bundled_migrations();

struct MigrationReport {
    std::vector<int> applied;  ///< versions applied by this call, in order
    int schema_version = 0;    ///< highest version recorded afterwards
};

/// Applies, in order and each in its own transaction, the migrations not yet recorded in
/// fleet.schema_migrations. Re-running is a no-op. Throws DatabaseError, naming the migration,
/// when an applied one was edited since (checksum differs), when the database holds a version
/// this program does not know, or when a script fails (that migration is rolled back; earlier
/// ones stay). Concurrent callers are serialised by an advisory lock.
MigrationReport migrate(pqxx::connection& conn, const std::vector<Migration>& migrations);

/// Creates the monthly position partitions from the previous month to `months_ahead` months
/// after the current one; returns how many were created.
int ensure_position_partitions(pqxx::connection& conn, int months_ahead);

}  // namespace fleet::geo
