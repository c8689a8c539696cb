#include "tests/support/db.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "geo/migrations.hpp"
#include "geo/store.hpp"

namespace fleet::test {

std::string server_url() {
    std::ifstream file(std::string(FLEET_TEST_STATE) + "/url");
    std::string url;
    if (file && std::getline(file, url) && !url.empty()) {
        return url;
    }
    if (const char* env = std::getenv(geo::database_url_env); env != nullptr && *env != '\0') {
        return env;
    }
    FAIL(
        "no test database: run the tests through ctest (its 'postgis' fixture starts one) or "
        "set FLEET_DATABASE_URL");
    return {};
}

namespace {
std::atomic<int> g_counter{0};
}

ScratchDatabase::ScratchDatabase() {
    const std::string server = server_url();
    name_ = "fleet_test_" + std::to_string(::getpid()) + "_" + std::to_string(g_counter++);
    {
        pqxx::connection admin(server);
        pqxx::nontransaction tx(admin);
        tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_));
        tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
    }
    url_ = geo::with_database(server, name_);
    pqxx::connection conn(url_);
    pqxx::nontransaction tx(conn);
    tx.exec0("CREATE EXTENSION IF NOT EXISTS postgis");
}

ScratchDatabase::~ScratchDatabase() {
    try {
        pqxx::connection admin(server_url());
        pqxx::nontransaction tx(admin);
        tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
        MESSAGE("could not drop test database " << name_ << ": " << e.what());
    }
}

MigratedDatabase::MigratedDatabase() : conn_(db_.url()) {
    geo::migrate(conn_, geo::bundled_migrations());
}

}  // namespace fleet::test
