#include "server/database.hpp"

#include "geo/log.hpp"
#include "geo/migrations.hpp"
#include "geo/store.hpp"

namespace fleet::server {

std::unique_ptr<pqxx::connection> open_database(const Config& config, const std::atomic<bool>& stop,
                                                DatabaseReady* ready) {
    geo::RetryPolicy policy;
    policy.give_up_after = config.database_wait;
    auto conn = geo::connect_with_retry(geo::ConnectionFactory(config.database), "fleet", policy,
                                        geo::interruptible_sleeper(stop));
    std::string versions;
    {
        pqxx::read_transaction tx(*conn);
        versions = tx.exec1(
                         "SELECT current_setting('server_version') || ', PostGIS ' || "
                         "coalesce((SELECT extversion FROM pg_extension WHERE extname = "
                         "'postgis'), 'not yet installed')")[0]
                       .as<std::string>();
    }
    log::info("database", "connected to " + geo::redacted(config.database.url) + " (PostgreSQL " +
                              versions + ")");
    const auto report = geo::migrate(*conn, geo::bundled_migrations());
    log::info("database", "schema at migration " + std::to_string(report.schema_version) + " (" +
                              std::to_string(report.applied.size()) + " applied now)");
    const int created = geo::ensure_position_partitions(*conn, config.partition_months_ahead);
    log::info("database", "position partitions ready " +
                              std::to_string(config.partition_months_ahead) + " months ahead (" +
                              std::to_string(created) + " created now)");
    if (ready != nullptr) {
        *ready = {.schema_version = report.schema_version,
                  .migrations_applied = report.applied.size(),
                  .partitions_created = created};
    }
    return conn;
}

}  // namespace fleet::server
