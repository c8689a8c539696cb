// The ingest path end to end against real PostGIS: device protocols over loopback sockets, the
// pipeline, the writer, and acknowledgements sent only after the commit.
#include <doctest/doctest.h>

#include "ingest/native/frame.hpp"
#include "proto/terminal.pb.h"
#include "tests/ingest/harness.hpp"

using namespace fleet;
using namespace fleet::test;

TEST_SUITE("db") {
    TEST_CASE("teltonika: login, packet stored, then acknowledged with its record count") {
        Harness h;
        Device d(h.port("teltonika"));
        d.send_hex(teltonika_login);
        CHECK(d.receive(1) == Bytes{0x01});
        d.send_hex(teltonika_two_records);
        CHECK(d.receive(4) == Bytes{0, 0, 0, 2});
        // The acknowledgement came after the commit: the rows are there already.
        CHECK(h.count(
                  "SELECT count(*) FROM fleet.positions p JOIN fleet.devices d USING (vehicle_id) "
                  "WHERE d.identifier = '356307042441013'") == 2);
        CHECK(h.count(
                  "SELECT count(*) FROM fleet.positions WHERE device_time = "
                  "'2024-03-05 14:30:15.250+00' AND valid AND ignition AND odometer_m = 123456789 "
                  "AND abs(ST_Y(geom) + 34.6037232) < 1e-9 AND abs(ST_X(geom) + 58.3815591) < 1e-9"
                  " AND speed_kmh = 63 AND satellites = 9") == 1);
        // Auto-registered as a new vehicle, journalled.
        CHECK(h.count("SELECT count(*) FROM fleet.journal WHERE action = 'device auto-registered' "
                      "AND subject = '356307042441013'") == 1);
        // The latest position is the newest valid fix, whatever the order in the packet.
        CHECK(h.count("SELECT count(*) FROM fleet.latest_positions WHERE device_time = "
                      "'2024-03-05 14:30:15.250+00'") == 1);

        // The device resends the same packet (its ACK was lost): acknowledged, stored once.
        d.send_hex(teltonika_two_records);
        CHECK(d.receive(4) == Bytes{0, 0, 0, 2});
        CHECK(h.count("SELECT count(*) FROM fleet.positions") == 2);
        CHECK(h.counters.protocol("teltonika").duplicates == 2);
        CHECK(h.counters.protocol("teltonika").positions_stored == 2);

        // A documented packet without a fix is stored, flagged.
        d.send_hex(teltonika_codec8_example);
        CHECK(d.receive(4) == Bytes{0, 0, 0, 1});
        CHECK(h.count("SELECT count(*) FROM fleet.positions WHERE NOT valid AND "
                      "attributes->>'invalid' = 'null_island'") == 1);
    }

    TEST_CASE("teltonika: an unknown device is refused with 0x00 when registration is off") {
        Harness h(UnknownDevices::refuse);
        Device d(h.port("teltonika"));
        d.send_hex(teltonika_login);
        CHECK(d.receive(1) == Bytes{0x00});
        CHECK(d.closed_by_peer());
        CHECK(h.count("SELECT count(*) FROM fleet.devices") == 0);
        CHECK(h.counters.protocol("teltonika")
                  .rejected[static_cast<std::size_t>(Rejection::unknown_device)] == 1);
    }

    TEST_CASE("a malformed frame closes only its own connection; a silent one is closed idle") {
        Harness h(UnknownDevices::register_vehicle, 1s);
        Device good(h.port("teltonika"));
        Device bad(h.port("teltonika"));
        good.send_hex(teltonika_login);
        bad.send_hex(teltonika_login);
        CHECK(good.receive(1) == Bytes{0x01});
        CHECK(bad.receive(1) == Bytes{0x01});
        Bytes corrupt = from_hex(teltonika_two_records);
        corrupt[corrupt.size() - 1] ^= 0xff;  // CRC
        bad.send(corrupt);
        CHECK(bad.closed_by_peer());
        CHECK(h.counters.protocol("teltonika").malformed_frames == 1);
        good.send_hex(teltonika_two_records);
        CHECK(good.receive(4) == Bytes{0, 0, 0, 2});
        // Now silence: the 1 s read deadline closes it.
        CHECK(good.closed_by_peer(4000ms));
        CHECK(eventually([&] { return h.counters.protocol("teltonika").idle_timeouts == 1; }));
    }

    TEST_CASE("gt06: login answered after registration, location stored, heartbeat answered") {
        Harness h;
        Device d(h.port("gt06"));
        // GT06 protocol document §5.1.3: login of terminal 0123456789012345, serial 1.
        d.send_hex("78780D01012345678901234500018CDD0D0A");
        CHECK(to_hex(d.receive(10)) == "787805010001d9dc0d0a");
        // §5.2.2 (with the document's own field value CF): 2011-08-29 17:46:16.
        d.send_hex("78781F120B081D112E10CF027AC7EB0C46584900148F01CC00287D001FB8000380810D0A");
        // Answered as Traccar answers it (the echo, serial 3), after the commit.
        CHECK(to_hex(d.receive(10)) == "787805120003903f0d0a");
        CHECK(h.count("SELECT count(*) FROM fleet.positions WHERE device_time = "
                      "'2011-08-29 17:46:16+00'") == 1);
        d.send_hex("78780A134004040001000FDCEE0D0A");
        CHECK(to_hex(d.receive(10)).substr(0, 12) == "78780513000f");
    }

    TEST_CASE("osmand: 200 after the commit, 400 with the reason for bad input") {
        Harness h;
        const auto port = h.port("osmand");
        const std::string ok =
            http_get(port, "/?id=phone-17&lat=59.9386&lon=30.3141&timestamp=1764230400&speed=10");
        CHECK(ok.starts_with("HTTP/1.1 200"));
        CHECK(h.count("SELECT count(*) FROM fleet.positions p JOIN fleet.devices d USING "
                      "(vehicle_id) WHERE d.identifier = 'phone-17' AND "
                      "abs(p.speed_kmh - 18.52) < 0.01") == 1);
        const std::string missing = http_get(port, "/?lat=59.9&lon=30.3");
        CHECK(missing.starts_with("HTTP/1.1 400"));
        CHECK(missing.find("id") != std::string::npos);
        const std::string bad_lat = http_get(port, "/?id=phone-17&lat=95&lon=30.3");
        CHECK(bad_lat.starts_with("HTTP/1.1 400"));
        CHECK(bad_lat.find("lat") != std::string::npos);
    }

    TEST_CASE("native terminal: login, position batch, Ack with the batch id after the commit") {
        namespace pb = fleet::proto::terminal;
        Harness h;
        Device d(h.port("native"));
        auto send = [&](const pb::Frame& f) { d.send(native::frame(f.SerializeAsString())); };
        auto receive = [&]() {
            Bytes prefix = d.receive(1);
            REQUIRE(prefix.size() == 1);
            Bytes body = d.receive(prefix[0]);
            pb::Frame f;
            REQUIRE(f.ParseFromArray(body.data(), static_cast<int>(body.size())));
            return f;
        };
        pb::Frame login;
        login.mutable_login()->set_device_id("cab-7");
        send(login);
        CHECK(receive().login_result().accepted());
        pb::Frame batch;
        batch.mutable_positions()->set_batch_id(99);
        for (int i = 0; i < 3; ++i) {
            auto* p = batch.mutable_positions()->add_positions();
            p->set_device_time_ms(1764230400000 + i * 5000);
            p->set_latitude(55.75 + i * 0.0001);
            p->set_longitude(37.62);
            p->set_satellites(9);
            p->set_valid(true);
            p->set_fuel_l(41.5f);
        }
        send(batch);
        const pb::Frame ack = receive();
        CHECK(ack.ack().batch_id() == 99);
        CHECK(ack.ack().stored() == 3);
        CHECK(h.count("SELECT count(*) FROM fleet.positions WHERE fuel_l = 41.5") == 3);
    }

    TEST_CASE("while the database refuses connections nothing is acknowledged; then it resumes") {
        Harness h;
        Device d(h.port("teltonika"));
        d.send_hex(teltonika_login);
        CHECK(d.receive(1) == Bytes{0x01});
        const std::string dbname = [&] {
            pqxx::read_transaction tx(h.db.conn());
            return tx.exec1("SELECT current_database()")[0].as<std::string>();
        }();
        // An outage: no new connections, the writer's own connection killed.
        pqxx::connection admin(server_url());
        {
            pqxx::nontransaction tx(admin);
            tx.exec0("ALTER DATABASE " + tx.quote_name(dbname) + " ALLOW_CONNECTIONS false");
            tx.exec_params(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND application_name LIKE 'fleetd%' AND pid <> "
                "pg_backend_pid()",
                dbname);
        }
        d.send_hex(teltonika_two_records);
        CHECK(d.receive(4, 1500ms).empty());  // no ACK while nothing is committed
        {
            pqxx::nontransaction tx(admin);
            tx.exec0("ALTER DATABASE " + tx.quote_name(dbname) + " ALLOW_CONNECTIONS true");
        }
        CHECK(d.receive(4, 5000ms) == Bytes{0, 0, 0, 2});
        pqxx::connection fresh(h.db.url());
        pqxx::read_transaction tx(fresh);
        CHECK(tx.exec1("SELECT count(*) FROM fleet.positions")[0].as<long>() == 2);
        CHECK(h.counters.batch_failures >= 1);
    }
}
