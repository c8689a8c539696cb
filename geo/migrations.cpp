#include "geo/migrations.hpp"

#include <algorithm>
#include <map>

#include "geo/error.hpp"

namespace fleet::geo {

namespace {

// Arbitrary constant shared by every fleet process that migrates this database.
constexpr long long migration_lock_key = 0x466c6565744d6967;  // "FleetMig"

std::string label(const Migration& m) {
    char version[16];
    std::snprintf(version, sizeof version, "%04d", m.version);
    return std::string(version) + "_" + m.name;
}

struct AdvisoryLock {
    pqxx::connection& conn;
    explicit AdvisoryLock(pqxx::connection& c) : conn(c) {
        pqxx::nontransaction tx(conn);
        tx.exec_params("SELECT pg_advisory_lock($1)", migration_lock_key);
    }
    ~AdvisoryLock() {
        try {
            pqxx::nontransaction tx(conn);
            tx.exec_params("SELECT pg_advisory_unlock($1)", migration_lock_key);
        } catch (const pqxx::failure&) {
            // The connection is gone, and the session lock with it.
        }
    }
};

}  // namespace

MigrationReport migrate(pqxx::connection& conn, const std::vector<Migration>& migrations) {
    for (std::size_t i = 1; i < migrations.size(); ++i) {
        if (migrations[i].version <= migrations[i - 1].version) {
            throw DatabaseError("migrations out of order: " + label(migrations[i]) + " after " +
                                label(migrations[i - 1]));
        }
    }
    AdvisoryLock lock(conn);
    {
        pqxx::work tx(conn);
        tx.exec0("CREATE SCHEMA IF NOT EXISTS fleet");
        tx.exec0(
            "CREATE TABLE IF NOT EXISTS fleet.schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
        tx.commit();
    }

    std::map<int, std::pair<std::string, std::string>> recorded;  // version -> (name, checksum)
    {
        pqxx::read_transaction tx(conn);
        for (const auto& row :
             tx.exec("SELECT version, name, checksum FROM fleet.schema_migrations")) {
            recorded[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
        }
    }
    const int known_max = migrations.empty() ? 0 : migrations.back().version;
    if (!recorded.empty() && recorded.rbegin()->first > known_max) {
        const auto& [version, entry] = *recorded.rbegin();
        throw DatabaseError("the database schema is at migration " + std::to_string(version) +
                            " (" + entry.first + "), newer than this program knows (" +
                            std::to_string(known_max) + "); run a newer fleetd/fleetctl");
    }

    MigrationReport report;
    for (const auto& m : migrations) {
        std::string checksum;
        {
            pqxx::read_transaction tx(conn);
            checksum = tx.exec_params1("SELECT md5($1)", m.sql)[0].as<std::string>();
        }
        if (auto it = recorded.find(m.version); it != recorded.end()) {
            if (it->second.second != checksum) {
                throw DatabaseError("migration " + label(m) +
                                    " was changed after it was applied to this database "
                                    "(checksum " +
                                    it->second.second + " recorded, " + checksum +
                                    " now); applied migrations must never be edited: undo the "
                                    "edit and add a new migration instead");
            }
            continue;
        }
        pqxx::work tx(conn);
        try {
            // A migration may rewrite a large table; the connection's statement timeout is for
            // the service's own statements.
            tx.exec0("SET LOCAL statement_timeout = 0");
            tx.exec(m.sql);
        } catch (const pqxx::sql_error& e) {
            throw DatabaseError("migration " + label(m) +
                                " failed and was rolled back: " + e.what());
        }
        tx.exec_params(
            "INSERT INTO fleet.schema_migrations (version, name, checksum) "
            "VALUES ($1, $2, $3)",
            m.version, m.name, checksum);
        tx.commit();
        report.applied.push_back(m.version);
        recorded[m.version] = {m.name, checksum};
    }
    report.schema_version = recorded.empty() ? 0 : recorded.rbegin()->first;
    return report;
}

int ensure_position_partitions(pqxx::connection& conn, int months_ahead) {
    if (months_ahead < 0) {
        throw ConfigError("partition-months-ahead", "must not be negative");
    }
    pqxx::work tx(conn);
    tx.exec0("SET LOCAL statement_timeout = 0");  // creating a partition may move rows into it
    const int created =
        tx.exec_params1(
              "SELECT fleet.ensure_position_partitions("
              "(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date,"
              " $1)",
              months_ahead + 2)[0]
            .as<int>();
    tx.commit();
    return created;
}

}  // namespace fleet::geo
