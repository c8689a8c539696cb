#include <atomic>
#include <iostream>

#include "geo/migrations.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

std::atomic<bool> never_stop{false};

const Registration migrate("migrate",
                           {"apply pending schema migrations and print the schema version",
                            "migrate",
                            [](const server::Config& config, const std::vector<std::string>&) {
                                // open_database migrates and logs the resulting version.
                                server::open_database(config, never_stop);
                                return 0;
                            }});

const Registration status(
    "status",
    {"print the schema version and what the database holds", "status",
     [](const server::Config& config, const std::vector<std::string>&) {
         auto db = server::open_database(config, never_stop);
         pqxx::read_transaction tx(*db);
         const auto row = tx.exec1(
             "SELECT (SELECT max(version) FROM fleet.schema_migrations),"
             " (SELECT count(*) FROM fleet.vehicles), (SELECT count(*) FROM fleet.devices),"
             " (SELECT count(*) FROM fleet.positions),"
             " (SELECT count(*) FROM pg_inherits WHERE inhparent = "
             "'fleet.positions'::regclass)");
         std::cout << "schema migration:    " << row[0].as<int>() << "\n"
                   << "vehicles:            " << row[1].as<long>() << "\n"
                   << "devices:             " << row[2].as<long>() << "\n"
                   << "positions:           " << row[3].as<long>() << "\n"
                   << "position partitions: " << row[4].as<long>() << "\n";
         return 0;
     }});

}  // namespace

}  // namespace fleet::tools::fleetctl
