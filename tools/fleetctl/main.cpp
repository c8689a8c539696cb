#include <atomic>
#include <iostream>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/migrations.hpp"
#include "server/config.hpp"
#include "server/database.hpp"

namespace {

using namespace fleet;

int status(pqxx::connection& db) {
    pqxx::read_transaction tx(db);
    const auto row = tx.exec1(
        "SELECT (SELECT max(version) FROM fleet.schema_migrations),"
        " (SELECT count(*) FROM fleet.vehicles), (SELECT count(*) FROM fleet.devices),"
        " (SELECT count(*) FROM fleet.positions),"
        " (SELECT count(*) FROM pg_inherits WHERE inhparent = 'fleet.positions'::regclass)");
    std::cout << "schema migration:    " << row[0].as<int>() << "\n"
              << "vehicles:            " << row[1].as<long>() << "\n"
              << "devices:             " << row[2].as<long>() << "\n"
              << "positions:           " << row[3].as<long>() << "\n"
              << "position partitions: " << row[4].as<long>() << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace fleet::server;
    try {
        const auto inv =
            parse_invocation(Program::fleetctl, std::vector<std::string>(argv + 1, argv + argc),
                             process_environment());
        if (inv.help) {
            std::cout << inv.help_text;
            return 0;
        }
        if (inv.check_only) {
            std::cout << "configuration OK\n";
            return 0;
        }
        if (inv.positional.empty()) {
            std::cerr << "fleetctl: no command given (see fleetctl --help)\n";
            return 2;
        }
        fleet::log::set_level(inv.config.log_level);
        const std::string& command = inv.positional.front();
        if (command != "migrate" && command != "status") {
            std::cerr << "fleetctl: unknown command '" << command << "' (see fleetctl --help)\n";
            return 2;
        }
        std::atomic<bool> never{false};
        // open_database migrates: for `migrate` that is the whole job.
        auto db = open_database(inv.config, never);
        if (command == "status") {
            return status(*db);
        }
        return 0;
    } catch (const fleet::ConfigError& e) {
        std::cerr << "fleetctl: " << e.what() << "\n";
        return 2;
    } catch (const fleet::Error& e) {
        std::cerr << "fleetctl: " << e.what() << "\n";
        return 1;
    } catch (const pqxx::failure& e) {
        std::cerr << "fleetctl: database: " << e.what() << "\n";
        return 1;
    }
}
