// The device registry against real PostGIS: answers from memory, refusals remembered and
// bounded, fleet.unknown_devices, identifiers bound to their protocol, registration journalled,
// and lookups that do not wait for each other.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

#include "geo/error.hpp"
#include "ingest/devices.hpp"
#include "tests/support/db.hpp"

using namespace std::chrono_literals;
using fleet::DatabaseError;
using fleet::InputError;
using fleet::geo::ConnectionFactory;
using fleet::ingest::DeviceAnswer;
using fleet::ingest::DeviceRegistry;
using fleet::ingest::DeviceRegistryOptions;
using fleet::ingest::DeviceVerdict;
using fleet::ingest::UnknownDevices;
using fleet::test::MigratedDatabase;

namespace {

constexpr const char* imei = "356307042441013";

ConnectionFactory factory(const std::string& url) {
    return ConnectionFactory({.url = url});
}

/// A steady clock the test moves by hand.
struct FakeClock {
    std::atomic<std::int64_t> ms{1'000'000};
    std::chrono::steady_clock::time_point now() const {
        return std::chrono::steady_clock::time_point{std::chrono::milliseconds{ms.load()}};
    }
    void advance(std::chrono::milliseconds by) { ms += by.count(); }
};

/// A vehicle with one device; NULL protocol when `protocol` is empty.
std::int64_t add_device(pqxx::connection& conn, const std::string& identifier,
                        const std::optional<std::string>& protocol) {
    pqxx::work tx(conn);
    const auto vehicle =
        tx.exec_params1(
              "INSERT INTO fleet.vehicles (registration) VALUES ($1) RETURNING vehicle_id",
              "plate " + identifier)[0]
            .as<std::int64_t>();
    if (protocol) {
        tx.exec_params(
            "INSERT INTO fleet.devices (identifier, protocol, vehicle_id) VALUES ($1, $2, $3)",
            identifier, *protocol, vehicle);
    } else {
        tx.exec_params("INSERT INTO fleet.devices (identifier, vehicle_id) VALUES ($1, $2)",
                       identifier, vehicle);
    }
    tx.commit();
    return vehicle;
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

std::string text(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<std::string>();
}

bool is(const std::optional<DeviceAnswer>& answer, DeviceVerdict verdict,
        std::int64_t vehicle_id = 0) {
    return answer && answer->verdict == verdict && answer->vehicle_id == vehicle_id;
}

bool is(const DeviceAnswer& answer, DeviceVerdict verdict, std::int64_t vehicle_id = 0) {
    return answer.verdict == verdict && answer.vehicle_id == vehicle_id;
}

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("devices: what was resolved is answered from memory, without the database") {
        MigratedDatabase db;
        const auto vehicle = add_device(db.conn(), imei, "teltonika");
        DeviceRegistry registry(factory(db.url()), UnknownDevices::refuse);
        CHECK_FALSE(registry.cached(imei, "teltonika").has_value());
        CHECK(is(registry.resolve(imei, "teltonika", "192.0.2.1:4000"), DeviceVerdict::accepted,
                 vehicle));
        CHECK(is(registry.resolve("999", "teltonika", "192.0.2.9:4000"), DeviceVerdict::unknown));
        CHECK(registry.stats().lookups == 2);

        // The database goes out of reach: the registry's connections are killed and no new one
        // is allowed.
        const std::string name = text(db.conn(), "SELECT current_database()");
        pqxx::connection admin(fleet::test::server_url());
        {
            pqxx::nontransaction tx(admin);
            tx.exec0("ALTER DATABASE " + tx.quote_name(name) + " ALLOW_CONNECTIONS false");
            tx.exec_params(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                "application_name = 'fleetd devices' AND datname = $1",
                name);
        }
        CHECK(eventually([&] {
            return count(db.conn(),
                         "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                         "'fleetd devices'") == 0;
        }));

        CHECK(is(registry.cached(imei, "teltonika"), DeviceVerdict::accepted, vehicle));
        CHECK(is(registry.resolve(imei, "teltonika", "192.0.2.1:4001"), DeviceVerdict::accepted,
                 vehicle));
        CHECK(is(registry.cached("999", "teltonika"), DeviceVerdict::unknown));
        CHECK(is(registry.resolve("999", "teltonika", "192.0.2.9:4001"), DeviceVerdict::unknown));
        CHECK(registry.stats().lookups == 2);
        CHECK(registry.stats().answered_from_memory == 4);
        // Anything not remembered needs the database, which is really gone.
        CHECK_THROWS_AS(registry.resolve("356307042441014", "teltonika", "192.0.2.2:4000"),
                        DatabaseError);
        CHECK_THROWS_AS(registry.resolve("356307042441014", "teltonika", "192.0.2.2:4000"),
                        DatabaseError);
        CHECK_FALSE(registry.cached("356307042441014", "teltonika").has_value());

        {
            pqxx::nontransaction tx(admin);
            tx.exec0("ALTER DATABASE " + tx.quote_name(name) + " ALLOW_CONNECTIONS true");
        }

        // Back: the next lookup works at once. A pooled connection the server closed (as a
        // restart does) is replaced, not used to fail a device's login.
        const auto later = add_device(db.conn(), "356307042441015", "teltonika");
        CHECK(is(registry.resolve("356307042441015", "teltonika", "192.0.2.3:4000"),
                 DeviceVerdict::accepted, later));
        const auto killed = [&] {
            pqxx::nontransaction tx(admin);
            return tx
                .exec_params1(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'fleetd devices' AND datname = $1",
                    name)[0]
                .as<long>();
        }();
        CHECK(killed == 1);
        CHECK(eventually([&] {
            return count(db.conn(),
                         "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                         "'fleetd devices'") == 0;
        }));
        const auto after_restart = add_device(db.conn(), "356307042441016", "teltonika");
        CHECK(is(registry.resolve("356307042441016", "teltonika", "192.0.2.4:4000"),
                 DeviceVerdict::accepted, after_restart));
    }

    TEST_CASE("devices: a refusal is remembered for its period and recorded for an operator") {
        MigratedDatabase db;
        FakeClock clock;
        DeviceRegistry registry(factory(db.url()), UnknownDevices::refuse,
                                {.refusal_ttl = 60s, .clock = [&] { return clock.now(); }});
        const auto row = [&](const char* column) {
            return text(db.conn(), std::string("SELECT ") + column +
                                       "::text FROM fleet.unknown_devices WHERE identifier = '" +
                                       imei + "' AND protocol = 'teltonika'");
        };

        CHECK(is(registry.resolve(imei, "teltonika", "10.0.0.1:5000"), DeviceVerdict::unknown));
        CHECK(registry.stats().lookups == 1);
        CHECK(row("attempts") == "1");
        CHECK(row("peer_address") == "10.0.0.1:5000");
        CHECK(row("reason") == "unknown");
        const std::string first_seen = row("first_seen");

        // A flood from the stranger costs no round trip and no write.
        for (int i = 0; i < 3; ++i) {
            CHECK(is(registry.resolve(imei, "teltonika", "10.0.0.2:6000"), DeviceVerdict::unknown));
        }
        CHECK(is(registry.cached(imei, "teltonika"), DeviceVerdict::unknown));
        clock.advance(59s);
        CHECK(is(registry.cached(imei, "teltonika"), DeviceVerdict::unknown));
        CHECK(registry.stats().lookups == 1);
        CHECK(row("attempts") == "1");

        // After the period the database is asked again, and the row counts every attempt.
        clock.advance(2s);
        CHECK_FALSE(registry.cached(imei, "teltonika").has_value());
        CHECK(is(registry.resolve(imei, "teltonika", "10.0.0.3:7000"), DeviceVerdict::unknown));
        CHECK(registry.stats().lookups == 2);
        CHECK(row("attempts") == "7");  // 1 + 5 answered from memory + this one
        CHECK(row("peer_address") == "10.0.0.3:7000");
        CHECK(row("first_seen") == first_seen);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.unknown_devices WHERE "
                    "last_seen > first_seen") == 1);
        // Refused means nothing registered.
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.devices") == 0);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.vehicles") == 0);
    }

    TEST_CASE("devices: remembered refusals are bounded; the oldest are evicted and counted") {
        MigratedDatabase db;
        FakeClock clock;
        DeviceRegistry registry(
            factory(db.url()), UnknownDevices::refuse,
            {.refusal_ttl = 60s, .max_refusals = 3, .clock = [&] { return clock.now(); }});
        for (int i = 1; i <= 5; ++i) {
            CHECK(is(registry.resolve("stranger-" + std::to_string(i), "osmand", "203.0.113.5:1"),
                     DeviceVerdict::unknown));
        }
        CHECK(registry.stats().refusals_remembered == 3);
        CHECK(registry.stats().refusals_evicted == 2);
        CHECK_FALSE(registry.cached("stranger-1", "osmand").has_value());
        CHECK_FALSE(registry.cached("stranger-2", "osmand").has_value());
        CHECK(is(registry.cached("stranger-3", "osmand"), DeviceVerdict::unknown));
        CHECK(is(registry.cached("stranger-5", "osmand"), DeviceVerdict::unknown));
        // Every one was recorded for the operator all the same.
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.unknown_devices") == 5);

        // Making room by dropping an expired refusal is not an eviction.
        clock.advance(61s);
        CHECK(
            is(registry.resolve("stranger-6", "osmand", "203.0.113.5:1"), DeviceVerdict::unknown));
        CHECK(registry.stats().refusals_remembered == 3);
        CHECK(registry.stats().refusals_evicted == 2);

        std::string metrics;
        registry.collect(metrics);
        CHECK(metrics.find("fleet_device_refusals_evicted_total 2") != std::string::npos);
        CHECK(metrics.find("fleet_device_lookups_total 6") != std::string::npos);
    }

    TEST_CASE("devices: an identifier is bound to its protocol; another one is refused") {
        MigratedDatabase db;
        const auto vehicle = add_device(db.conn(), imei, "teltonika");
        // Even a policy that registers unknown devices does not take a known one over.
        DeviceRegistry registry(factory(db.url()), UnknownDevices::register_vehicle);

        CHECK(
            is(registry.resolve(imei, "osmand", "198.51.100.4:80"), DeviceVerdict::wrong_protocol));
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.unknown_devices WHERE identifier = '" +
                        std::string(imei) +
                        "' AND protocol = 'osmand' AND reason = 'wrong_protocol' AND attempts = 1 "
                        "AND peer_address = '198.51.100.4:80'") == 1);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.vehicles") == 1);
        CHECK(text(db.conn(), "SELECT protocol FROM fleet.devices") == "teltonika");

        // Remembered: the refusal, and what the lookup learnt of the device.
        CHECK(is(registry.cached(imei, "osmand"), DeviceVerdict::wrong_protocol));
        CHECK(is(registry.resolve(imei, "teltonika", "198.51.100.5:5027"), DeviceVerdict::accepted,
                 vehicle));
        CHECK(registry.stats().lookups == 1);
        CHECK_FALSE(registry.cached(imei, "gt06").has_value());
        CHECK(
            is(registry.resolve(imei, "gt06", "198.51.100.6:5023"), DeviceVerdict::wrong_protocol));
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.unknown_devices") == 2);
    }

    TEST_CASE("devices: a device without a protocol is bound at its first login, journalled") {
        MigratedDatabase db;
        const auto vehicle = add_device(db.conn(), imei, std::nullopt);
        {
            DeviceRegistry registry(factory(db.url()), UnknownDevices::refuse);
            CHECK(is(registry.resolve(imei, "gt06", "192.0.2.30:1234"), DeviceVerdict::accepted,
                     vehicle));
        }
        CHECK(text(db.conn(), "SELECT protocol FROM fleet.devices") == "gt06");
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'device protocol bound' "
                    "AND kind = 'device' AND subject = '" +
                        std::string(imei) + "' AND details->>'protocol' = 'gt06' AND " +
                        "details->>'peer_address' = '192.0.2.30:1234' AND vehicle_id = " +
                        std::to_string(vehicle)) == 1);

        // Bound once: a fresh registry (nothing remembered) refuses another protocol and accepts
        // the bound one, journalling nothing more.
        DeviceRegistry fresh(factory(db.url()), UnknownDevices::refuse);
        CHECK(is(fresh.resolve(imei, "teltonika", "192.0.2.31:1"), DeviceVerdict::wrong_protocol));
        CHECK(is(fresh.resolve(imei, "gt06", "192.0.2.30:1235"), DeviceVerdict::accepted, vehicle));
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.journal") == 1);
    }

    TEST_CASE("devices: registering unknown devices, when the policy says so, is journalled") {
        MigratedDatabase db;
        std::int64_t vehicle = 0;
        {
            DeviceRegistry registry(factory(db.url()), UnknownDevices::register_vehicle);
            const auto answer = registry.resolve("phone-17", "osmand", "192.0.2.7:40000");
            CHECK(answer.verdict == DeviceVerdict::accepted);
            vehicle = answer.vehicle_id;
            CHECK(vehicle != 0);
        }
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.vehicles WHERE registration = "
                    "'unregistered phone-17' AND vehicle_id = " +
                        std::to_string(vehicle)) == 1);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.devices WHERE identifier = 'phone-17' "
                    "AND protocol = 'osmand' AND auto_registered") == 1);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = "
                    "'device auto-registered' AND subject = 'phone-17' AND "
                    "details->>'peer_address' = '192.0.2.7:40000' AND "
                    "details->>'protocol' = 'osmand' AND vehicle_id = " +
                        std::to_string(vehicle)) == 1);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.unknown_devices") == 0);

        // Another process (a fresh registry) finds it registered: no second vehicle or entry.
        DeviceRegistry other(factory(db.url()), UnknownDevices::register_vehicle);
        CHECK(is(other.resolve("phone-17", "osmand", "192.0.2.7:40001"), DeviceVerdict::accepted,
                 vehicle));
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.vehicles") == 1);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.journal") == 1);
    }

    TEST_CASE("devices: lookups of different devices do not wait for a slow one") {
        MigratedDatabase db;
        const auto a = add_device(db.conn(), "356307042441001", "teltonika");
        const auto b = add_device(db.conn(), "356307042441002", "teltonika");
        const auto slow = add_device(db.conn(), "356307042441003", std::nullopt);
        DeviceRegistry registry(factory(db.url()), UnknownDevices::refuse);

        // Another connection holds the slow device's row: binding its protocol waits for it.
        pqxx::connection locker(db.url());
        pqxx::work lock(locker);
        lock.exec("SELECT 1 FROM fleet.devices WHERE identifier = '356307042441003' FOR UPDATE");
        auto slow_answer = std::async(std::launch::async, [&] {
            return registry.resolve("356307042441003", "gt06", "192.0.2.3:1");
        });
        REQUIRE(eventually([&] {
            return count(db.conn(),
                         "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                         "'fleetd devices' AND wait_event_type = 'Lock'"
                         " AND datname = current_database()") == 1;
        }));

        auto first = std::async(std::launch::async, [&] {
            return registry.resolve("356307042441001", "teltonika", "192.0.2.1:1");
        });
        auto second = std::async(std::launch::async, [&] {
            return registry.resolve("356307042441002", "teltonika", "192.0.2.2:1");
        });
        const bool first_done = first.wait_for(10s) == std::future_status::ready;
        const bool second_done = second.wait_for(10s) == std::future_status::ready;
        CHECK(first_done);
        CHECK(second_done);
        CHECK(slow_answer.wait_for(0s) == std::future_status::timeout);

        lock.abort();  // the slow lookup goes on, and everything finishes either way
        CHECK(is(first.get(), DeviceVerdict::accepted, a));
        CHECK(is(second.get(), DeviceVerdict::accepted, b));
        CHECK(is(slow_answer.get(), DeviceVerdict::accepted, slow));
        // The slow lookup held one connection; the others needed at least one more (two, unless
        // the first had returned its connection before the second asked: under a loaded
        // machine's scheduling it once had).
        CHECK(registry.stats().connections_open >= 2);
        CHECK(registry.stats().connections_open <= 3);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.devices WHERE protocol = 'gt06'") == 1);
    }

    TEST_CASE("devices: bad identifiers are refused with a clear error and store nothing") {
        MigratedDatabase db;
        DeviceRegistry registry(factory(db.url()), UnknownDevices::register_vehicle);
        const auto message_of = [&](const std::string& identifier, const std::string& protocol) {
            try {
                registry.resolve(identifier, protocol, "192.0.2.1:1");
            } catch (const InputError& e) {
                return std::string(e.what());
            }
            return std::string("no error");
        };
        CHECK(message_of("", "osmand") == "device identifier is empty; a login must name one");
        CHECK(message_of(std::string(129, '7'), "osmand") ==
              "device identifier of 129 bytes is longer than the 128 allowed");
        CHECK(message_of("abc\x01", "osmand") ==
              "device identifier has a control character at byte 3; only printable characters "
              "are allowed");
        CHECK(message_of(std::string("ab\0c", 4), "osmand").find("control character at byte 2") !=
              std::string::npos);
        CHECK(message_of("phone-1", "") == "device protocol is empty; a login must name one");
        // The longest allowed identifier is a device like any other.
        CHECK(message_of(std::string(128, '7'), "osmand") == "no error");
        CHECK(registry.stats().lookups == 1);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.devices") == 1);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.unknown_devices") == 0);
    }

    TEST_CASE("devices: forget() makes the next login ask the database") {
        MigratedDatabase db;
        DeviceRegistry registry(factory(db.url()), UnknownDevices::refuse);
        CHECK(is(registry.resolve(imei, "gt06", "192.0.2.1:1"), DeviceVerdict::unknown));
        CHECK(is(registry.resolve(imei, "osmand", "192.0.2.1:2"), DeviceVerdict::unknown));

        // The operator adds it: the refusal stands until the registry is told.
        const auto vehicle = add_device(db.conn(), imei, "gt06");
        CHECK(is(registry.resolve(imei, "gt06", "192.0.2.1:3"), DeviceVerdict::unknown));
        registry.forget(imei);
        CHECK_FALSE(registry.cached(imei, "gt06").has_value());
        CHECK_FALSE(registry.cached(imei, "osmand").has_value());
        CHECK(is(registry.resolve(imei, "gt06", "192.0.2.1:4"), DeviceVerdict::accepted, vehicle));

        // The operator moves it to another vehicle.
        const auto other = add_device(db.conn(), "plate-only", "gt06");
        {
            pqxx::work tx(db.conn());
            tx.exec_params("UPDATE fleet.devices SET vehicle_id = $1 WHERE identifier = $2", other,
                           imei);
            tx.commit();
        }
        CHECK(is(registry.resolve(imei, "gt06", "192.0.2.1:5"), DeviceVerdict::accepted, vehicle));
        registry.forget(imei);
        CHECK(is(registry.resolve(imei, "gt06", "192.0.2.1:6"), DeviceVerdict::accepted, other));
        CHECK(registry.stats().lookups == 4);
        CHECK(registry.stats().accepted_remembered == 1);
    }

    TEST_CASE(
        "devices: refresh() forgets the moved, removed and rebound, and the refusals of "
        "devices added since") {
        MigratedDatabase db;
        DeviceRegistry registry(factory(db.url()), UnknownDevices::refuse);
        const auto kept = add_device(db.conn(), "356307042441101", "teltonika");
        const auto moved = add_device(db.conn(), "356307042441102", "teltonika");
        const auto removed = add_device(db.conn(), "356307042441103", "teltonika");
        const auto rebound = add_device(db.conn(), "356307042441104", "teltonika");
        for (const auto& [imei, vehicle] : {std::pair{"356307042441101", kept},
                                            {"356307042441102", moved},
                                            {"356307042441103", removed},
                                            {"356307042441104", rebound}}) {
            CHECK(is(registry.resolve(imei, "teltonika", "192.0.2.1:1"), DeviceVerdict::accepted,
                     vehicle));
        }
        CHECK(is(registry.resolve("356307042441105", "teltonika", "192.0.2.1:1"),
                 DeviceVerdict::unknown));
        CHECK(is(registry.resolve("356307042441101", "gt06", "192.0.2.1:1"),
                 DeviceVerdict::wrong_protocol));
        CHECK(registry.refresh().empty());  // nothing changed: everything stays
        CHECK(registry.stats().accepted_remembered == 4);
        CHECK(registry.stats().refusals_remembered == 2);

        const auto other = add_device(db.conn(), "plate-only-2", "gt06");
        {
            pqxx::work tx(db.conn());
            tx.exec_params0("UPDATE fleet.devices SET vehicle_id = $1 WHERE identifier = $2", other,
                            "356307042441102");
            tx.exec0("DELETE FROM fleet.devices WHERE identifier = '356307042441103'");
            tx.exec0(
                "UPDATE fleet.devices SET protocol = 'gt06'"
                " WHERE identifier = '356307042441104'");
            tx.exec_params0(
                "INSERT INTO fleet.devices (identifier, protocol, vehicle_id)"
                " VALUES ('356307042441105', 'teltonika', $1)",
                other);
            tx.commit();
        }
        auto changed = registry.refresh();
        std::sort(changed.begin(), changed.end());
        CHECK(changed ==
              std::vector<std::string>{"356307042441102", "356307042441103", "356307042441104"});
        // The kept one still answers from memory; the wrong protocol is still refused there.
        CHECK(registry.cached("356307042441101", "teltonika")->vehicle_id == kept);
        CHECK(registry.cached("356307042441101", "gt06")->verdict == DeviceVerdict::wrong_protocol);
        CHECK_FALSE(registry.cached("356307042441102", "teltonika").has_value());
        CHECK_FALSE(registry.cached("356307042441105", "teltonika").has_value());
        // Looked up afresh: where they are now.
        CHECK(is(registry.resolve("356307042441102", "teltonika", "192.0.2.1:2"),
                 DeviceVerdict::accepted, other));
        CHECK(is(registry.resolve("356307042441103", "teltonika", "192.0.2.1:2"),
                 DeviceVerdict::unknown));
        CHECK(is(registry.resolve("356307042441104", "teltonika", "192.0.2.1:2"),
                 DeviceVerdict::wrong_protocol));
        CHECK(is(registry.resolve("356307042441105", "teltonika", "192.0.2.1:2"),
                 DeviceVerdict::accepted, other));
        CHECK(registry.refresh().empty());
    }

    TEST_CASE("devices: an unreachable database is a DatabaseError, and nothing is remembered") {
        DeviceRegistry registry(
            ConnectionFactory(
                {.url = "host=127.0.0.1 port=1 dbname=nowhere user=nobody", .connect_timeout = 2s}),
            UnknownDevices::refuse);
        CHECK_THROWS_AS(registry.resolve(imei, "gt06", "192.0.2.1:1"), DatabaseError);
        CHECK_FALSE(registry.cached(imei, "gt06").has_value());
        CHECK(registry.stats().refusals_remembered == 0);
        CHECK(registry.stats().connections_open == 0);  // the failed connection gave its slot back
        CHECK_THROWS_AS(registry.resolve(imei, "gt06", "192.0.2.1:1"), DatabaseError);
    }
}
