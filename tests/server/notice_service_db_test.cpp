// fleetd's notice service on the scene of tests/support/notice_scene.hpp, stepped by hand with
// its own clock, sending through a Downlink that records what it is given (the real devices'
// side is tested in tests/ingest and end to end in tests/server/notices.sh): what is queued goes
// to the connected devices, receipts move deliveries on, a reconnect re-sends what was not
// confirmed, a vehicle entering the area gets the notice once, a protocol that cannot carry the
// text fails it with the reason, a withdrawal reaches those who got it, and expiry ends the rest.
#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <set>

#include "ingest/protocols.hpp"
#include "server/notice_service.hpp"
#include "tests/support/notice_scene.hpp"

using namespace fleet;
using namespace std::chrono_literals;
using ingest::DownlinkResult;

namespace {

// Devices as the Downlink sees them: connected ones take every message (or refuse it as their
// protocol would); the others are not connected.
struct Devices : ingest::Downlink {
    std::mutex mutex;
    std::set<std::int64_t> connected;
    // The protocol of a vehicle's device, where not the native terminal's: its own encoder
    // decides what it can carry (Codec 12 and GT06: text commands in ASCII, of a bounded length).
    std::map<std::int64_t, std::string> protocol;
    std::vector<std::pair<std::int64_t, ingest::DownlinkMessage>> sent;

    void send(std::int64_t vehicle, ingest::DownlinkMessage m,
              std::function<void(DownlinkResult)> done) override {
        DownlinkResult r = DownlinkResult::not_connected;
        {
            std::lock_guard lock(mutex);
            if (connected.contains(vehicle)) {
                const auto it = protocol.find(vehicle);
                const auto* p = ingest::find_protocol(it == protocol.end() ? "native" : it->second);
                r = p->encode_downlink(m, 1) ? DownlinkResult::written
                                             : DownlinkResult::unsupported;
                if (r == DownlinkResult::written) {
                    sent.emplace_back(vehicle, m);
                }
            }
        }
        done(r);
    }
    std::vector<std::pair<std::int64_t, ingest::DownlinkMessage>> take() {
        std::lock_guard lock(mutex);
        return std::exchange(sent, {});
    }
};

struct Service {
    test::Scene scene;
    Devices devices;
    dispatch::Millis now = test::msk(7, 30);
    std::vector<dispatch::DeliveryChange> changes;
    server::NoticeService service;

    explicit Service(server::NoticeServiceOptions options = {.sweep = 0ms, .reload = 0ms})
        : service(
              geo::ConnectionFactory({.url = scene.db.url()}), devices, [this] { return now; },
              options) {
        service.add_listener([this](const dispatch::DeliveryChange& c) { changes.push_back(c); });
    }
    // Two rounds: the one that sends, and the one that applies what the sends came to.
    void steps() {
        service.step(0ms);
        service.step(0ms);
    }
    std::string state(std::int64_t notice, std::int64_t vehicle) {
        pqxx::read_transaction tx(scene.db.conn());
        const auto r = tx.exec_params(
            "SELECT state || '/' || coalesce(withdrawal_state, '-') || '/' || attempts"
            " FROM fleet.notice_deliveries WHERE notice_id = $1 AND vehicle_id = $2",
            notice, vehicle);
        return r.empty() ? "none" : r[0][0].as<std::string>();
    }
    std::int64_t create(dispatch::NoticeDraft d) {
        pqxx::work tx(scene.db.conn());
        const auto made = dispatch::create_notice(tx, d, now);
        tx.commit();
        return made.notice_id;
    }
};

ingest::StoredPosition fix(std::int64_t vehicle, double lon, double lat, dispatch::Millis at) {
    ingest::StoredPosition p;
    p.vehicle_id = vehicle;
    p.position.device_time = at;
    p.position.longitude_deg = lon;
    p.position.latitude_deg = lat;
    return p;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a notice goes to the connected devices of its drivers and each step is kept") {
        Service s;
        auto& sc = s.scene;
        s.devices.connected = {sc.van3, sc.van4};
        const auto id = s.create(test::closure_draft());
        s.steps();
        // VAN-3 (inside) is connected: sent. BUS-1 (its assignment passes through) is not
        // connected: queued, it waits.
        auto sent = s.devices.take();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].first == sc.van3);
        CHECK(sent[0].second.id == static_cast<std::uint64_t>(id));
        CHECK(sent[0].second.kind == ingest::DownlinkMessage::Kind::notice);
        CHECK(sent[0].second.title == "Market Street closed");
        CHECK(sent[0].second.text == "Market St closed 07:30-10:00, detour via Park Gate");
        CHECK(sent[0].second.severity == 3);
        CHECK(sent[0].second.valid_until == test::msk(10, 0));
        CHECK(s.state(id, sc.van3) == "sent/-/1");
        CHECK(s.state(id, sc.bus1) == "queued/-/0");
        // The terminal answers on delivery, then the driver reads it.
        s.service.on_receipt(
            sc.van3,
            {static_cast<std::uint64_t>(id), {}, false, ingest::NoticeReceipt::Stage::delivered});
        s.service.step(0ms);
        CHECK(s.state(id, sc.van3) == "delivered/-/1");
        s.now = test::msk(7, 32);
        s.service.on_receipt(sc.van3, {static_cast<std::uint64_t>(id), test::msk(7, 31), true,
                                       ingest::NoticeReceipt::Stage::read});
        s.service.step(0ms);
        CHECK(s.state(id, sc.van3) == "read/-/1");
        {
            pqxx::read_transaction tx(sc.db.conn());
            CHECK(tx.exec_params1("SELECT read_at = '2024-03-05 07:31+03' AND accepted FROM"
                                  " fleet.notice_deliveries WHERE notice_id = $1 AND vehicle_id"
                                  " = $2",
                                  id, sc.van3)[0]
                      .as<bool>());
        }
        // A sweep sends nothing new to VAN-3 (read) nor to BUS-1 (still away).
        s.steps();
        CHECK(s.devices.take().empty());

        // BUS-1's device connects: it gets the notice now.
        s.devices.connected.insert(sc.bus1);
        s.service.on_connected(sc.bus1);
        s.steps();
        sent = s.devices.take();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].first == sc.bus1);
        CHECK(s.state(id, sc.bus1) == "sent/-/1");
        // It reconnects before confirming: the same notice, same id, once more.
        s.service.on_connected(sc.bus1);
        s.steps();
        sent = s.devices.take();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].second.id == static_cast<std::uint64_t>(id));
        CHECK(s.state(id, sc.bus1) == "sent/-/2");

        // VAN-4 enters the area at 08:05: its driver gets it, once, however many fixes inside.
        s.now = test::msk(8, 5);
        const std::vector<ingest::StoredPosition> inside = {
            fix(sc.van4, 37.610, 55.760, test::msk(8, 5)),
            fix(sc.van4, 37.611, 55.760, test::msk(8, 5) + 10s)};
        s.service.on_committed(inside);
        s.service.on_committed(inside);
        s.steps();
        sent = s.devices.take();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].first == sc.van4);
        CHECK(s.state(id, sc.van4) == "sent/-/1");
        CHECK(s.service.figures().entered == 1);
        // A fix outside, or an invalid one inside, finds nothing.
        auto outside = fix(sc.bus2, 37.580, 55.740, test::msk(8, 6));
        auto invalid = fix(sc.bus2, 37.610, 55.760, test::msk(8, 6));
        invalid.position.valid = false;
        s.service.on_committed(std::vector{outside, invalid});
        s.steps();
        CHECK(s.devices.take().empty());
        CHECK(s.state(id, sc.bus2) == "none");

        // Withdrawn at 09:00: those who got it are told (severity 0, the same id).
        s.now = test::msk(9, 0);
        {
            pqxx::work tx(sc.db.conn());
            dispatch::withdraw_notice(tx, id, "dispatcher-1", "reopened", s.now);
            tx.commit();
        }
        s.service.on_connected(sc.van3);  // what a notification would do, without waiting
        s.service.on_connected(sc.bus1);
        s.service.on_connected(sc.van4);
        s.steps();
        sent = s.devices.take();
        CHECK(sent.size() == 3);
        for (const auto& [vehicle, m] : sent) {
            CHECK(m.severity == 0);
            CHECK(m.text.starts_with("WITHDRAWN: "));
        }
        CHECK(s.state(id, sc.van3) == "read/sent/1");
        s.service.on_receipt(
            sc.van3,
            {static_cast<std::uint64_t>(id), {}, false, ingest::NoticeReceipt::Stage::delivered});
        s.service.step(0ms);
        CHECK(s.state(id, sc.van3) == "read/delivered/1");

        // Every change went to the listener (the live stream).
        const auto reached = [&](std::int64_t vehicle, const std::string& state) {
            return std::any_of(s.changes.begin(), s.changes.end(), [&](const auto& c) {
                return c.vehicle_id == vehicle && (c.state == state || c.withdrawal_state == state);
            });
        };
        CHECK(reached(sc.van3, "read"));
        CHECK(reached(sc.bus1, "sent"));
        CHECK(reached(sc.van3, "delivered"));
        CHECK(s.service.figures().read == 1);
    }

    TEST_CASE("a text a device cannot carry fails with the reason; an unsent notice expires") {
        Service s;
        auto& sc = s.scene;
        s.devices.connected = {sc.van3};
        s.devices.protocol = {{sc.van3, "gt06"}};
        auto d = test::closure_draft();
        // 160 characters, 280 bytes in ASCII: more than GT06's 243.
        d.short_text.clear();
        for (int i = 0; i < 40; ++i) {
            d.short_text += "Щёлк";
        }
        d.valid_until = "2024-03-05T08:15:00+03:00";  // BUS-1 passes at about 08:09
        const auto id = s.create(d);
        s.steps();
        CHECK(s.devices.take().empty());
        CHECK(s.state(id, sc.van3).starts_with("failed/"));
        {
            pqxx::read_transaction tx(sc.db.conn());
            CHECK(tx.exec_params1("SELECT failure FROM fleet.notice_deliveries WHERE notice_id ="
                                  " $1 AND vehicle_id = $2",
                                  id, sc.van3)[0]
                      .as<std::string>()
                      .find("too long for the device's text commands once written in "
                            "ASCII") != std::string::npos);
        }
        // BUS-1 never connected: at 08:15 its delivery expires; connecting later sends nothing.
        s.now = test::msk(8, 15);
        s.steps();
        CHECK(s.state(id, sc.bus1) == "expired/-/0");
        s.devices.connected.insert(sc.bus1);
        s.service.on_connected(sc.bus1);
        s.steps();
        CHECK(s.devices.take().empty());
        CHECK(s.service.figures().expired == 1);
        CHECK(s.service.figures().failed == 1);
    }

    TEST_CASE("a Cyrillic notice is sent to a GT06 tracker, which gets it in ASCII") {
        Service s;
        auto& sc = s.scene;
        s.devices.connected = {sc.van3};
        s.devices.protocol = {{sc.van3, "gt06"}};
        auto d = test::closure_draft();
        d.short_text = "Гололёд на мосту";
        const auto id = s.create(d);
        s.steps();
        const auto sent = s.devices.take();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].second.text == "Гололёд на мосту");  // the protocol's encoder transliterates
        CHECK(s.state(id, sc.van3).starts_with("sent/"));
    }

    TEST_CASE("a notice made elsewhere is sent within a second of its commit (NOTIFY)") {
        Service s({.sweep = 60s, .reload = 60s});  // no sweep would find it meanwhile
        auto& sc = s.scene;
        s.devices.connected = {sc.van3};
        s.service.step(0ms);  // listening, nothing queued yet
        const auto id = s.create(test::closure_draft());
        const auto started = std::chrono::steady_clock::now();
        while (s.devices.sent.empty() && std::chrono::steady_clock::now() - started < 5s) {
            s.service.step(1000ms);
        }
        const auto sent = s.devices.take();
        REQUIRE(sent.size() == 1);
        CHECK(sent[0].second.id == static_cast<std::uint64_t>(id));
        CHECK(std::chrono::steady_clock::now() - started < 2s);
    }
}
