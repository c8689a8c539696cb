#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "geo/metrics.hpp"
#include "server/api/accounts.hpp"
#include "server/register_watch.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace std::chrono_literals;

namespace {

using Keys = std::set<std::string>;

void exec(pqxx::connection& c, const std::string& sql) {
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
}

struct Scene {
    test::MigratedDatabase db;
    std::map<std::string, int> calls;
    server::RegisterWatch watch{geo::ConnectionFactory({.url = db.url()}),
                                {{"devices", [this] { ++calls["devices"]; }},
                                 {"credentials", [this] { ++calls["credentials"]; }},
                                 {"directory", [this] { ++calls["directory"]; }}},
                                {.gather = 50ms, .retry = 100ms}};
    Scene() {
        exec(db.conn(),
             "INSERT INTO fleet.vehicles (registration) VALUES ('A111AA77'), "
             "('B222BB77')");
        exec(db.conn(),
             "INSERT INTO fleet.devices (identifier, protocol, vehicle_id) SELECT "
             "'356307042441013', 'teltonika', vehicle_id FROM fleet.vehicles WHERE "
             "registration = 'A111AA77'");
    }
    /// The next round that hands something over (a notification arrives within milliseconds of
    /// its commit; five seconds is only the bound for a loaded machine).
    Keys next() { return watch.step(5000ms); }
};

const Keys everything{"credentials", "devices", "directory"};

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("register changes call the handler of what changed, once however many rows") {
        Scene s;
        // Connecting calls everything: what changed while nobody listened is not known.
        CHECK(s.next() == everything);
        CHECK(s.watch.listening());

        exec(s.db.conn(),
             "UPDATE fleet.devices SET vehicle_id = (SELECT vehicle_id FROM "
             "fleet.vehicles WHERE registration = 'B222BB77')");
        CHECK(s.next() == Keys{"devices"});

        // Fifty moves in fifty transactions before the watch looks: one call.
        const int before = s.calls["devices"];
        for (int i = 0; i < 50; ++i) {
            exec(s.db.conn(),
                 "UPDATE fleet.devices SET vehicle_id = (SELECT vehicle_id FROM fleet.vehicles "
                 "WHERE registration = '" +
                     std::string(i % 2 == 0 ? "A111AA77" : "B222BB77") + "')");
        }
        CHECK(s.next() == Keys{"devices"});
        CHECK(s.calls["devices"] == before + 1);

        // What fleetd does itself at a login changes nothing it holds: a device it registered,
        // and the protocol bound at a first login. The vehicle registered with it renames.
        exec(s.db.conn(), "INSERT INTO fleet.vehicles (registration) VALUES ('auto-1')");
        exec(s.db.conn(),
             "INSERT INTO fleet.devices (identifier, vehicle_id, auto_registered) "
             "SELECT '356307042441099', vehicle_id, true FROM fleet.vehicles WHERE "
             "registration = 'auto-1'");
        exec(s.db.conn(),
             "UPDATE fleet.devices SET protocol = 'teltonika' WHERE identifier = "
             "'356307042441099' AND protocol IS NULL");
        CHECK(s.next() == Keys{"directory"});
        // A device added by hand, and one removed.
        exec(s.db.conn(),
             "INSERT INTO fleet.devices (identifier, protocol, vehicle_id) SELECT "
             "'356307042441100', 'gt06', vehicle_id FROM fleet.vehicles WHERE "
             "registration = 'auto-1'");
        CHECK(s.next() == Keys{"devices"});
        exec(s.db.conn(), "DELETE FROM fleet.devices WHERE identifier = '356307042441100'");
        CHECK(s.next() == Keys{"devices"});

        // A token's use is not a change; its revocation is, and so is a role.
        server::api::add_user(s.db.conn(), {.name = "ops", .role = server::api::Role::dispatcher},
                              "test");
        server::api::issue_token(s.db.conn(), "ops", "script", std::nullopt, "test");
        exec(s.db.conn(), "UPDATE fleet.api_tokens SET last_used_at = now()");
        exec(s.db.conn(), "INSERT INTO fleet.vehicle_groups (name) VALUES ('north')");
        CHECK(s.next() == Keys{"directory"});
        CHECK(server::api::revoke_tokens(s.db.conn(), "ops", std::nullopt, "test") == 1);
        CHECK(s.next() == Keys{"credentials"});
        exec(s.db.conn(), "UPDATE fleet.users SET role = 'viewer' WHERE name = 'ops'");
        CHECK(s.next() == Keys{"credentials"});

        // A payload that is nobody's (an operator's NOTIFY by hand) reads everything again.
        exec(s.db.conn(), "NOTIFY fleet_register, 'all of it'");
        CHECK(s.next() == everything);

        // Nothing changed: a round waits out its time and calls nothing.
        CHECK(s.watch.step(100ms).empty());
    }

    TEST_CASE("a lost listening connection is opened again and every handler called") {
        Scene s;
        CHECK(s.next() == everything);
        exec(s.db.conn(),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
             "application_name = 'fleetd register changes'");
        // The next round sees the connection gone, opens another and calls everything; the
        // changes after it are followed again.
        CHECK(s.next() == everything);
        CHECK(s.watch.listening());
        exec(s.db.conn(), "DELETE FROM fleet.devices");
        CHECK(s.next() == Keys{"devices"});
        std::string metrics;
        s.watch.write_metrics(metrics);
        CHECK(metrics.find("fleet_register_listen_lost_total 1\n") != std::string::npos);
        CHECK(metrics.find("fleet_register_listening 1\n") != std::string::npos);
    }

    TEST_CASE("without a database the watch retries, then follows changes once it is back") {
        // A server that is not there: the first rounds call nothing and say they do not listen.
        server::RegisterWatch watch(
            geo::ConnectionFactory({.url = "host=/nonexistent port=1 connect_timeout=1"}),
            {{"devices", [] {}}}, {.gather = 10ms, .retry = 50ms});
        CHECK(watch.step(20ms).empty());
        CHECK_FALSE(watch.listening());
    }

    TEST_CASE("the watch's own thread calls the handlers as changes are committed") {
        test::MigratedDatabase db;
        std::mutex mutex;
        std::condition_variable changed;
        int devices = 0;
        server::RegisterWatch watch(geo::ConnectionFactory({.url = db.url()}),
                                    {{"devices",
                                      [&] {
                                          std::lock_guard lock(mutex);
                                          ++devices;
                                          changed.notify_all();
                                      }},
                                     {"directory", [] {}}});
        watch.start();  // what is there at start is the owner's to read: no call
        exec(db.conn(), "INSERT INTO fleet.vehicles (registration) VALUES ('A111AA77')");
        exec(db.conn(),
             "INSERT INTO fleet.devices (identifier, vehicle_id) SELECT 'x1', "
             "vehicle_id FROM fleet.vehicles");
        {
            std::unique_lock lock(mutex);
            CHECK(changed.wait_for(lock, 10s, [&] { return devices == 1; }));
        }
        watch.stop();  // at once, not after its minute-long wait
        CHECK(devices == 1);
    }
}
