#include <doctest/doctest.h>

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>

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
                                {.gather = 200ms, .retry = 100ms}};
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

        // What fleetd does itself at a login changes nothing it holds: a device it registered
        // with its vehicle, and the protocol bound at a first login; nor its sweep of sessions
        // that had expired. A vehicle changed by hand is the marker that the round ends.
        exec(s.db.conn(),
             "INSERT INTO fleet.vehicles (registration, attributes) VALUES "
             "('auto-1', '{\"auto_registered\": true}')");
        exec(s.db.conn(),
             "INSERT INTO fleet.devices (identifier, vehicle_id, auto_registered) "
             "SELECT '356307042441099', vehicle_id, true FROM fleet.vehicles WHERE "
             "registration = 'auto-1'");
        exec(s.db.conn(),
             "UPDATE fleet.devices SET protocol = 'teltonika' WHERE identifier = "
             "'356307042441099' AND protocol IS NULL");
        server::api::add_user(s.db.conn(), {.name = "ops", .role = server::api::Role::dispatcher},
                              "test");
        exec(s.db.conn(),
             "INSERT INTO fleet.api_sessions (session_sha256, user_id, expires_at) "
             "SELECT sha256('old'), user_id, now() - interval '1 hour' FROM "
             "fleet.users");
        exec(s.db.conn(), "DELETE FROM fleet.api_sessions WHERE expires_at <= now()");
        exec(s.db.conn(),
             "UPDATE fleet.vehicles SET make_model = 'PAZ-3205' WHERE "
             "registration = 'A111AA77'");
        CHECK(s.next() == Keys{"directory"});
        // A device added by hand, and one removed.
        exec(s.db.conn(),
             "INSERT INTO fleet.devices (identifier, protocol, vehicle_id) SELECT "
             "'356307042441100', 'gt06', vehicle_id FROM fleet.vehicles WHERE "
             "registration = 'auto-1'");
        CHECK(s.next() == Keys{"devices"});
        exec(s.db.conn(), "DELETE FROM fleet.devices WHERE identifier = '356307042441100'");
        CHECK(s.next() == Keys{"devices"});

        // A token's use is not a change; its revocation is, and so is a role; a group's members
        // are a dispatcher's credentials as well as names.
        server::api::issue_token(s.db.conn(), "ops", "script", std::nullopt, "test");
        exec(s.db.conn(), "UPDATE fleet.api_tokens SET last_used_at = now()");
        exec(s.db.conn(), "INSERT INTO fleet.vehicle_groups (name) VALUES ('north')");
        CHECK(s.next() == (Keys{"credentials", "directory"}));
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
             "application_name = 'fleetd register changes' AND datname = current_database()");
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
        test::MigratedDatabase db;
        const std::string name = "fleet_watch_absent_" + std::to_string(::getpid());
        {
            pqxx::nontransaction tx(db.conn());
            tx.exec("DROP DATABASE IF EXISTS " + name);
        }
        int calls = 0;
        std::optional<server::RegisterWatch> holder;
        auto& watch = holder.emplace(geo::ConnectionFactory({.url = db.url() + " dbname=" + name}),
                                     server::RegisterWatch::Handlers{{"devices", [&] { ++calls; }}},
                                     server::RegisterWatchOptions{.gather = 10ms, .retry = 50ms});
        // Its database not there yet: rounds call nothing and say they do not listen.
        CHECK(watch.step(20ms).empty());
        CHECK_FALSE(watch.listening());
        CHECK(watch.step(20ms).empty());
        {
            pqxx::nontransaction tx(db.conn());
            tx.exec("CREATE DATABASE " + name);
        }
        // Within its retry it listens, and calls everything: what changed meanwhile is unknown.
        Keys keys;
        for (int i = 0; i < 100 && keys.empty(); ++i) {
            keys = watch.step(20ms);
        }
        CHECK(keys == Keys{"devices"});
        CHECK(watch.listening());
        CHECK(calls == 1);
        std::string metrics;
        watch.write_metrics(metrics);
        CHECK(metrics.find("fleet_register_listening 1\n") != std::string::npos);
        holder.reset();  // its connection closed before its database goes
        pqxx::nontransaction tx(db.conn());
        tx.exec("DROP DATABASE " + name + " WITH (FORCE)");
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
        // Its first round calls every handler: changes between the owner's reads at its start
        // and the LISTEN were announced to nobody.
        watch.start();
        {
            std::unique_lock lock(mutex);
            CHECK(changed.wait_for(lock, 10s, [&] { return devices == 1; }));
        }
        exec(db.conn(), "INSERT INTO fleet.vehicles (registration) VALUES ('A111AA77')");
        exec(db.conn(),
             "INSERT INTO fleet.devices (identifier, vehicle_id) SELECT 'x1', "
             "vehicle_id FROM fleet.vehicles");
        {
            std::unique_lock lock(mutex);
            CHECK(changed.wait_for(lock, 10s, [&] { return devices == 2; }));
        }
        watch.stop();  // at once, not after its minute-long wait
        CHECK(devices == 2);
    }
}
