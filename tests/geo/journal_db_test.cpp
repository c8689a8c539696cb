#include <doctest/doctest.h>

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "tests/support/db.hpp"

using namespace fleet;

TEST_SUITE("db") {
    TEST_CASE("a journal entry names what it concerns and commits with the change it records") {
        test::MigratedDatabase db;
        std::int64_t vehicle = 0;
        {
            pqxx::work tx(db.conn());
            vehicle = tx.exec1(
                            "INSERT INTO fleet.vehicles (registration) VALUES ('A001AA')"
                            " RETURNING vehicle_id")[0]
                          .as<std::int64_t>();
            geo::record(tx, {.actor = "fleetctl",
                             .action = "vehicle added",
                             .subject = "A001AA",
                             .details = {{"class", "bus"}},
                             .vehicle_id = vehicle});
            geo::record(tx, {.actor = "ingest", .action = "device refused", .kind = "device"});
            tx.commit();
        }
        {
            pqxx::work tx(db.conn());
            geo::record(tx, {.actor = "fleetctl", .action = "vehicle removed"});
            // Not committed: the entry goes with the change it would have recorded.
        }
        pqxx::read_transaction tx(db.conn());
        const auto rows = tx.exec(
            "SELECT actor, action, kind, coalesce(subject, '-'), details->>'class',"
            " coalesce(vehicle_id, 0) FROM fleet.journal ORDER BY entry_id");
        REQUIRE(rows.size() == 2);
        CHECK(rows[0][0].as<std::string>() == "fleetctl");
        CHECK(rows[0][2].as<std::string>() == "vehicle");  // the first word of the action
        CHECK(rows[0][3].as<std::string>() == "A001AA");
        CHECK(rows[0][4].as<std::string>() == "bus");
        CHECK(rows[0][5].as<std::int64_t>() == vehicle);
        CHECK(rows[1][2].as<std::string>() == "device");  // given
        CHECK(rows[1][3].as<std::string>() == "-");       // no subject
    }

    TEST_CASE("a journal entry without an actor or an action is refused") {
        test::MigratedDatabase db;
        pqxx::work tx(db.conn());
        CHECK_THROWS_AS(geo::record(tx, {.actor = "", .action = "x"}), InputError);
        CHECK_THROWS_AS(geo::record(tx, {.actor = "x", .action = ""}), InputError);
    }
}
