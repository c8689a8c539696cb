// The sessions under a slow or locked database, at their caps, while stopping, and the downlink:
// nothing on a network thread waits for the database, and one device's trouble is its own.
#include <doctest/doctest.h>

#include <stdexcept>

#include "ingest/gt06/encoder.hpp"
#include "ingest/native/frame.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "proto/terminal.pb.h"
#include "tests/ingest/harness.hpp"

using namespace fleet;
using namespace fleet::test;

namespace {

namespace pb = fleet::proto::terminal;

// A Teltonika login of IMEI 3563070424410NN (any two digits).
Bytes teltonika_login_of(int n) {
    std::string imei = "3563070424410" + std::string(n < 10 ? "0" : "") + std::to_string(n);
    Bytes out(2 + imei.size());
    out[1] = 0x0F;
    std::copy(imei.begin(), imei.end(), out.begin() + 2);
    return out;
}

// Holds a table locked in another session, so that statements needing it wait.
struct TableLock {
    pqxx::connection conn;
    std::unique_ptr<pqxx::work> tx;
    TableLock(const std::string& url, const std::string& table) : conn(url) {
        tx = std::make_unique<pqxx::work>(conn);
        tx->exec0("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
    }
    void release() { tx.reset(); }
};

std::int64_t vehicle_of(Harness& h, const std::string& identifier) {
    pqxx::read_transaction tx(h.db.conn());
    return tx
        .exec_params1("SELECT vehicle_id FROM fleet.devices WHERE identifier = $1", identifier)[0]
        .as<std::int64_t>();
}

std::uint64_t refused(Harness& h, const std::string& protocol, Refusal reason) {
    return h.counters.protocol(protocol).refused[static_cast<std::size_t>(reason)].load();
}

pb::Frame receive_native(Device& d) {
    Bytes prefix = d.receive(1);
    REQUIRE(prefix.size() == 1);
    Bytes body = d.receive(prefix[0]);
    pb::Frame f;
    REQUIRE(f.ParseFromArray(body.data(), static_cast<int>(body.size())));
    return f;
}

// Waits for the downlink's answer.
struct Outcome {
    std::mutex mutex;
    std::condition_variable changed;
    std::optional<DownlinkResult> result;
    std::function<void(DownlinkResult)> callback() {
        return [this](DownlinkResult r) {
            {
                std::lock_guard lock(mutex);
                result = r;
            }
            changed.notify_all();
        };
    }
    std::optional<DownlinkResult> wait(std::chrono::milliseconds timeout = 3000ms) {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, timeout, [this] { return result.has_value(); });
        return result;
    }
};

// What the listeners report from their network threads: receipts and logins.
struct Reports {
    std::mutex mutex;
    std::vector<std::pair<std::int64_t, NoticeReceipt>> receipts;
    std::vector<std::int64_t> connected;

    std::function<void(std::int64_t, const NoticeReceipt&)> on_receipt() {
        return [this](std::int64_t vehicle, const NoticeReceipt& r) {
            std::lock_guard lock(mutex);
            receipts.emplace_back(vehicle, r);
        };
    }
    std::function<void(std::int64_t)> on_connected() {
        return [this](std::int64_t vehicle) {
            std::lock_guard lock(mutex);
            connected.push_back(vehicle);
        };
    }
    std::size_t receipt_count() {
        std::lock_guard lock(mutex);
        return receipts.size();
    }
    std::pair<std::int64_t, NoticeReceipt> receipt(std::size_t i) {
        std::lock_guard lock(mutex);
        return receipts.at(i);
    }
    std::vector<std::int64_t> connections() {
        std::lock_guard lock(mutex);
        return connected;
    }
};

// Teltonika documentation, "Codec 12 > 2nd example": the device's response to "getio".
const char* teltonika_getio_response =
    "00000000000000370C01060000002F4449313A31204449323A30204449333A302041494E313A302041494E32"
    "3A313639323420444F313A3020444F323A3101000066E3";
// GT06 0x21 answers (CRC-16/X-25 computed independently, as in tests/ingest/gt06_test.cpp): the
// server flag 9, ASCII "DYD=Success!", serial 3; and the flag 10, "OK", serial 5.
const char* gt06_answer_flag9 = "7878162100000009014459443D53756363657373210003A53F0D0A";
const char* gt06_answer_flag10 = "78780C210000000A014F4B000593C00D0A";
// VL03 §2: a heartbeat, answered once its status is stored (a point after which every frame
// sent before it has been handled).
const char* gt06_heartbeat = "78780A134004040001000FDCEE0D0A";

Bytes native_frame(const pb::Frame& f) {
    return native::frame(f.SerializeAsString());
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("many devices at once over two network threads, each acknowledged after its commit") {
        Harness h(HarnessOptions{.threads = 2});
        std::vector<std::unique_ptr<Device>> devices;
        for (int i = 0; i < 12; ++i) {
            devices.push_back(std::make_unique<Device>(h.port("teltonika")));
            devices.back()->send(teltonika_login_of(i));
        }
        for (auto& d : devices) {
            CHECK(d->receive(1) == Bytes{0x01});
            d->send_hex(teltonika_two_records);
        }
        for (auto& d : devices) {
            CHECK(d->receive(4) == Bytes{0, 0, 0, 2});
        }
        CHECK(h.count("SELECT count(*) FROM fleet.positions") == 24);
        CHECK(h.counters.protocol("teltonika").connections_active == 12);
    }

    TEST_CASE("a packet whose commit does not come in time is left unanswered; others go on") {
        Harness h(HarnessOptions{.database_wait = 600ms});
        Device d(h.port("teltonika"));
        d.send_hex(teltonika_login);
        REQUIRE(d.receive(1) == Bytes{0x01});
        TableLock lock(h.db.url(), "fleet.positions");
        d.send_hex(teltonika_two_records);
        const auto sent = std::chrono::steady_clock::now();
        CHECK(d.receive(4, 2000ms).empty());  // no ACK for what is not committed
        CHECK(d.closed_by_peer(2000ms));
        CHECK(std::chrono::steady_clock::now() - sent < 3000ms);
        CHECK(refused(h, "teltonika", Refusal::commit_timeout) == 1);
        lock.release();
        // The device comes back and resends: stored once, acknowledged.
        Device again(h.port("teltonika"));
        again.send_hex(teltonika_login);
        REQUIRE(again.receive(1) == Bytes{0x01});
        again.send_hex(teltonika_two_records);
        CHECK(again.receive(4) == Bytes{0, 0, 0, 2});
        CHECK(h.count("SELECT count(*) FROM fleet.positions") == 2);
    }

    TEST_CASE("a full writer queue refuses at once and closes the connection unanswered") {
        Harness h(HarnessOptions{.writer_queue = 2});
        std::vector<std::unique_ptr<Device>> devices;
        for (int i = 0; i < 3; ++i) {
            devices.push_back(std::make_unique<Device>(h.port("teltonika")));
            devices.back()->send(teltonika_login_of(i));
            REQUIRE(devices.back()->receive(1) == Bytes{0x01});
        }
        TableLock lock(h.db.url(), "fleet.positions");
        devices[0]->send_hex(teltonika_two_records);  // taken by the writer, which now waits
        std::this_thread::sleep_for(300ms);
        devices[1]->send_hex(teltonika_two_records);  // queued: the queue is full
        std::this_thread::sleep_for(300ms);
        const auto sent = std::chrono::steady_clock::now();
        devices[2]->send_hex(teltonika_two_records);  // refused at once
        CHECK(devices[2]->closed_by_peer(2000ms));
        CHECK(std::chrono::steady_clock::now() - sent < 1000ms);
        CHECK(refused(h, "teltonika", Refusal::writer_full) == 1);
        lock.release();
        CHECK(devices[0]->receive(4) == Bytes{0, 0, 0, 2});
        CHECK(devices[1]->receive(4) == Bytes{0, 0, 0, 2});
    }

    TEST_CASE(
        "a handler failing in a way nobody expected ends its session, counted; others go on") {
        // A protocol whose decoder has a bug: any frame throws what no session catches.
        struct Faulty : FrameHandler {
            const char* protocol() const override { return "faulty"; }
            std::optional<std::size_t> frame_length(ByteView buffered, std::size_t) override {
                return buffered.empty() ? std::nullopt : std::optional<std::size_t>(1);
            }
            Step on_frame(ByteView) override { throw std::logic_error("decoder bug"); }
            Bytes login_reply(bool) override { return {}; }
        };
        HarnessOptions options;
        options.extra_protocols.push_back(
            {.name = "faulty",
             .default_port = 0,
             .transport = Transport::tcp,
             .description = "a decoder with a bug",
             .make_handler = [] { return std::make_unique<Faulty>(); },
             .encode_downlink = {}});
        Harness h(options);
        Device good(h.port("teltonika"));
        good.send_hex(teltonika_login);
        REQUIRE(good.receive(1) == Bytes{0x01});
        Device bad(h.port("faulty"));
        bad.send(Bytes{0x42});
        CHECK(bad.closed_by_peer());
        CHECK(eventually([&] { return h.counters.protocol("faulty").session_failures == 1; }));
        CHECK(eventually([&] { return h.counters.protocol("faulty").connections_active == 0; }));
        // The other device is served as before, and the failure is in the metrics.
        good.send_hex(teltonika_two_records);
        CHECK(good.receive(4) == Bytes{0, 0, 0, 2});
        CHECK(h.counters.prometheus_text().find(
                  "fleet_ingest_session_failures_total{protocol=\"faulty\"} 1") !=
              std::string::npos);
    }

    TEST_CASE("connections beyond max-connections, of any protocol, are closed at once") {
        Harness h(HarnessOptions{.max_connections = 2});
        Device a(h.port("teltonika"));
        Device b(h.port("osmand"));
        // Each protocol has its own acceptor: c must come after a and b have been taken.
        REQUIRE(eventually([&] {
            return h.counters.protocol("teltonika").connections_active +
                       h.counters.protocol("osmand").connections_active ==
                   2;
        }));
        Device c(h.port("native"));
        CHECK(c.closed_by_peer());
        CHECK(refused(h, "native", Refusal::connection_cap) == 1);
        a.send_hex(teltonika_login);
        CHECK(a.receive(1) == Bytes{0x01});
    }

    TEST_CASE("a device lookup waiting for the database holds up no other device") {
        Harness h(HarnessOptions{.database_wait = 800ms});
        Device known(h.port("teltonika"));
        known.send(teltonika_login_of(1));
        REQUIRE(known.receive(1) == Bytes{0x01});
        TableLock lock(h.db.url(), "fleet.devices");
        // A stranger's first login needs the locked table: it waits on the worker pool.
        Device stranger(h.port("teltonika"));
        stranger.send(teltonika_login_of(2));
        std::this_thread::sleep_for(100ms);
        // Meanwhile the known device is served, and logs in again from memory.
        known.send_hex(teltonika_two_records);
        CHECK(known.receive(4, 1000ms) == Bytes{0, 0, 0, 2});
        Device again(h.port("teltonika"));
        again.send(teltonika_login_of(1));
        CHECK(again.receive(1, 500ms) == Bytes{0x01});
        // The stranger got no answer in time: closed without one (the device tries again).
        CHECK(stranger.receive(1, 2000ms).empty());
        CHECK(stranger.closed_by_peer(1000ms));
        CHECK(refused(h, "teltonika", Refusal::database_unavailable) == 1);
    }

    TEST_CASE("device lookups beyond their bound are refused at once") {
        Harness h(HarnessOptions{.database_wait = 3000ms, .max_pending_lookups = 1});
        TableLock lock(h.db.url(), "fleet.devices");
        Device first(h.port("teltonika"));
        first.send(teltonika_login_of(1));
        std::this_thread::sleep_for(200ms);
        Device second(h.port("teltonika"));
        second.send(teltonika_login_of(2));
        CHECK(second.closed_by_peer(1000ms));
        CHECK(refused(h, "teltonika", Refusal::lookups_busy) == 1);
        lock.release();
        CHECK(first.receive(1) == Bytes{0x01});
    }

    TEST_CASE("stopping: idle connections close at once, a packet in flight is answered first") {
        Harness h;
        Device idle(h.port("teltonika"));
        idle.send(teltonika_login_of(1));
        REQUIRE(idle.receive(1) == Bytes{0x01});
        Device busy(h.port("teltonika"));
        busy.send(teltonika_login_of(2));
        REQUIRE(busy.receive(1) == Bytes{0x01});
        const auto port = h.port("teltonika");
        TableLock lock(h.db.url(), "fleet.positions");
        busy.send_hex(teltonika_two_records);
        std::this_thread::sleep_for(200ms);
        h.listeners.stop_accepting();
        CHECK(idle.closed_by_peer(1000ms));
        lock.release();
        CHECK(busy.receive(4) == Bytes{0, 0, 0, 2});  // what was received is answered
        CHECK(busy.closed_by_peer(1000ms));           // and nothing more is read
        h.listeners.drain(std::chrono::steady_clock::now() + 2s);
        CHECK(h.listeners.open_connections() == 0);
        // No new connections: refused by the closed port.
        asio::io_context ioc;
        tcp::socket s(ioc);
        boost::system::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        CHECK(ec);
    }

    TEST_CASE("stopping: a connection still waiting for its commit at the deadline is closed") {
        Harness h(HarnessOptions{.database_wait = 30000ms});
        Device busy(h.port("teltonika"));
        busy.send_hex(teltonika_login);
        REQUIRE(busy.receive(1) == Bytes{0x01});
        TableLock lock(h.db.url(), "fleet.positions");
        busy.send_hex(teltonika_two_records);
        std::this_thread::sleep_for(200ms);
        const auto started = std::chrono::steady_clock::now();
        h.listeners.stop_accepting();
        h.listeners.drain(started + 500ms);
        CHECK(std::chrono::steady_clock::now() - started < 2000ms);
        CHECK(busy.receive(4, 500ms).empty());
        CHECK(busy.closed_by_peer(500ms));
    }

    TEST_CASE("downlink: a command goes down the device's own connection, in its protocol") {
        std::atomic<int> receipts{0};
        std::uint64_t receipt_id = 0;
        Harness h(HarnessOptions{}, [&](std::int64_t, const NoticeReceipt& r) {
            receipt_id = r.notice_id;
            ++receipts;
        });
        // Teltonika: Codec 12.
        Device t(h.port("teltonika"));
        t.send_hex(teltonika_login);
        REQUIRE(t.receive(1) == Bytes{0x01});
        {
            Outcome o;
            h.listeners.send(vehicle_of(h, "356307042441013"),
                             {.kind = DownlinkMessage::Kind::command, .id = 5, .text = "getinfo"},
                             o.callback());
            const Bytes expected = teltonika::encode_command("getinfo");
            CHECK(t.receive(expected.size()) == expected);
            CHECK(o.wait() == DownlinkResult::written);
        }
        // Native: a Notice the terminal shows, and its receipt comes back to the sink.
        Device n(h.port("native"));
        pb::Frame login;
        login.mutable_login()->set_device_id("cab-9");
        n.send(native::frame(login.SerializeAsString()));
        REQUIRE(receive_native(n).login_result().accepted());
        const auto cab = vehicle_of(h, "cab-9");
        {
            Outcome o;
            h.listeners.send(cab,
                             {.kind = DownlinkMessage::Kind::notice,
                              .id = 77,
                              .title = "Ice",
                              .text = "Ice on the bridge",
                              .severity = 2},
                             o.callback());
            const pb::Frame notice = receive_native(n);
            CHECK(notice.notice().notice_id() == 77);
            CHECK(notice.notice().title() == "Ice");
            CHECK(notice.notice().text() == "Ice on the bridge");
            CHECK(notice.notice().severity() == 2);
            CHECK(o.wait() == DownlinkResult::written);
            pb::Frame ack;
            ack.mutable_notice_ack()->set_notice_id(77);
            ack.mutable_notice_ack()->set_accepted(true);
            n.send(native::frame(ack.SerializeAsString()));
            CHECK(eventually([&] { return receipts.load() == 1; }));
            CHECK(receipt_id == 77);
        }
        {
            Outcome o;  // the terminal runs no commands
            h.listeners.send(cab, {.kind = DownlinkMessage::Kind::command, .text = "reboot"},
                             o.callback());
            CHECK(o.wait() == DownlinkResult::unsupported);
        }
        // GT06: an online command 0x80 with the message id as its server flag.
        Device g(h.port("gt06"));
        g.send_hex("78780D01012345678901234500018CDD0D0A");
        REQUIRE(g.receive(10).size() == 10);
        {
            Outcome o;
            h.listeners.send(vehicle_of(h, "123456789012345"),
                             {.kind = DownlinkMessage::Kind::command, .id = 9, .text = "DYD#"},
                             o.callback());
            const Bytes expected = gt06::encode_command(9, "DYD#", 1);
            CHECK(to_hex(g.receive(expected.size())) == to_hex(expected));
            CHECK(o.wait() == DownlinkResult::written);
        }
        // OsmAnd: in the body of the next response to the phone.
        const auto oport = h.port("osmand");
        REQUIRE(http_get(oport, "/?id=phone-3&lat=59.93&lon=30.31").starts_with("HTTP/1.1 200"));
        {
            Outcome o;
            h.listeners.send(vehicle_of(h, "phone-3"),
                             {.kind = DownlinkMessage::Kind::notice, .text = "Call the dispatcher"},
                             o.callback());
            CHECK_FALSE(o.wait(200ms).has_value());  // waits for the phone to report
            const std::string next = http_get(oport, "/?id=phone-3&lat=59.931&lon=30.31");
            CHECK(next.starts_with("HTTP/1.1 200"));
            CHECK(next.find("Call the dispatcher") != std::string::npos);
            CHECK(o.wait() == DownlinkResult::written);
        }
        {
            Outcome o;
            h.listeners.send(424242, {.text = "hello"}, o.callback());
            CHECK(o.wait() == DownlinkResult::not_connected);
        }
        CHECK(h.counters.protocol("teltonika").downlink_written == 1);
    }

    TEST_CASE("downlink: the devices' answers become receipts, and their logins are announced") {
        Reports reports;
        Harness h(HarnessOptions{}, reports.on_receipt(), reports.on_connected());
        using Stage = NoticeReceipt::Stage;

        // Teltonika: the login is announced once its reply is out; two commands, answered in
        // the order they went (Codec 12 responses name no command).
        Device t(h.port("teltonika"));
        t.send_hex(teltonika_login);
        REQUIRE(t.receive(1) == Bytes{0x01});
        const auto tracker = vehicle_of(h, "356307042441013");
        CHECK(eventually([&] { return reports.connections() == std::vector{tracker}; }));
        for (const std::uint64_t id : {11, 12}) {
            Outcome o;
            h.listeners.send(tracker,
                             {.kind = DownlinkMessage::Kind::command, .id = id, .text = "getio"},
                             o.callback());
            const Bytes expected = teltonika::encode_command("getio");
            REQUIRE(t.receive(expected.size()) == expected);
            CHECK(o.wait() == DownlinkResult::written);
        }
        t.send_hex(teltonika_getio_response);
        REQUIRE(eventually([&] { return reports.receipt_count() == 1; }));
        CHECK(reports.receipt(0).first == tracker);
        CHECK(reports.receipt(0).second.notice_id == 11);
        CHECK(reports.receipt(0).second.stage == Stage::delivered);
        CHECK(reports.receipt(0).second.read_at == Millis{});
        t.send_hex(teltonika_getio_response);
        REQUIRE(eventually([&] { return reports.receipt_count() == 2; }));
        CHECK(reports.receipt(1).second.notice_id == 12);
        CHECK(reports.receipt(1).second.stage == Stage::delivered);
        CHECK(t.receive(1, 200ms).empty());  // responses are not answered
        // A third response, with nothing outstanding, is no receipt; the device goes on.
        t.send_hex(teltonika_getio_response);
        t.send_hex(teltonika_two_records);
        CHECK(t.receive(4) == Bytes{0, 0, 0, 2});
        CHECK(reports.receipt_count() == 2);

        // GT06: the answer 0x21 echoes the server flag of the 0x80, which is the message id.
        Device g(h.port("gt06"));
        g.send_hex("78780D01012345678901234500018CDD0D0A");
        REQUIRE(g.receive(10).size() == 10);
        const auto gt06_vehicle = vehicle_of(h, "123456789012345");
        CHECK(eventually([&] { return reports.connections().size() == 2; }));
        CHECK(reports.connections().back() == gt06_vehicle);
        {
            Outcome o;
            h.listeners.send(gt06_vehicle,
                             {.kind = DownlinkMessage::Kind::command, .id = 9, .text = "DYD#"},
                             o.callback());
            const Bytes expected = gt06::encode_command(9, "DYD#", 1);
            REQUIRE(to_hex(g.receive(expected.size())) == to_hex(expected));
            CHECK(o.wait() == DownlinkResult::written);
        }
        g.send_hex(gt06_answer_flag9);
        REQUIRE(eventually([&] { return reports.receipt_count() == 3; }));
        CHECK(reports.receipt(2).first == gt06_vehicle);
        CHECK(reports.receipt(2).second.notice_id == 9);
        CHECK(reports.receipt(2).second.stage == Stage::delivered);
        // An answer with a flag this connection never sent: no receipt, no reply, not closed.
        g.send_hex(gt06_answer_flag10);
        g.send_hex(gt06_heartbeat);
        CHECK(to_hex(g.receive(10)) == to_hex(gt06::encode_reply(0x13, 0x000F)));
        CHECK(reports.receipt_count() == 3);

        // Native: delivered on receipt, read when the driver opened it.
        Device n(h.port("native"));
        pb::Frame login;
        login.mutable_login()->set_device_id("cab-5");
        n.send(native_frame(login));
        REQUIRE(receive_native(n).login_result().accepted());
        const auto cab = vehicle_of(h, "cab-5");
        CHECK(eventually([&] { return reports.connections().size() == 3; }));
        CHECK(reports.connections().back() == cab);
        {
            Outcome o;
            h.listeners.send(cab, {.kind = DownlinkMessage::Kind::notice, .id = 77, .text = "Ice"},
                             o.callback());
            CHECK(receive_native(n).notice().notice_id() == 77);
            CHECK(o.wait() == DownlinkResult::written);
        }
        pb::Frame delivered;
        delivered.mutable_notice_ack()->set_notice_id(77);
        delivered.mutable_notice_ack()->set_delivered(true);
        n.send(native_frame(delivered));
        REQUIRE(eventually([&] { return reports.receipt_count() == 4; }));
        CHECK(reports.receipt(3).first == cab);
        CHECK(reports.receipt(3).second.notice_id == 77);
        CHECK(reports.receipt(3).second.stage == Stage::delivered);
        CHECK_FALSE(reports.receipt(3).second.accepted);
        pb::Frame read;
        read.mutable_notice_ack()->set_notice_id(77);
        read.mutable_notice_ack()->set_read_at_ms(1'767'225'600'000);
        read.mutable_notice_ack()->set_accepted(true);
        n.send(native_frame(read));
        REQUIRE(eventually([&] { return reports.receipt_count() == 5; }));
        CHECK(reports.receipt(4).second.notice_id == 77);
        CHECK(reports.receipt(4).second.stage == Stage::read);
        CHECK(reports.receipt(4).second.accepted);
        CHECK(reports.receipt(4).second.read_at ==
              Millis(std::chrono::milliseconds(1'767'225'600'000)));
        // A withdrawal goes down with severity 0.
        {
            Outcome o;
            h.listeners.send(cab, {.kind = DownlinkMessage::Kind::notice, .id = 77, .severity = 0},
                             o.callback());
            const pb::Frame withdrawal = receive_native(n);
            CHECK(withdrawal.notice().notice_id() == 77);
            CHECK(withdrawal.notice().severity() == 0);
            CHECK(o.wait() == DownlinkResult::written);
        }

        // OsmAnd: the first request of a phone is its connection; the next ones are not.
        const auto oport = h.port("osmand");
        REQUIRE(http_get(oport, "/?id=phone-7&lat=59.93&lon=30.31").starts_with("HTTP/1.1 200"));
        const auto phone = vehicle_of(h, "phone-7");
        CHECK(reports.connections().size() == 4);  // called before the response was written
        CHECK(reports.connections().back() == phone);
        REQUIRE(http_get(oport, "/?id=phone-7&lat=59.931&lon=30.31").starts_with("HTTP/1.1 200"));
        CHECK(reports.connections().size() == 4);
    }

    TEST_CASE("connection hook: refused logins are not announced; a silent phone is, again") {
        Reports reports;
        // An idle timeout of 3 s: the second report below must come within it even while other
        // tests load the machine (with 1 s it once came later, and was announced as a return).
        Harness h(HarnessOptions{.policy = UnknownDevices::refuse, .idle = 3s},
                  reports.on_receipt(), reports.on_connected());
        Device stranger(h.port("teltonika"));
        stranger.send_hex(teltonika_login);
        CHECK(stranger.receive(1) == Bytes{0x00});
        CHECK(stranger.closed_by_peer());
        CHECK(reports.connections().empty());

        {
            pqxx::work tx(h.db.conn());
            const auto vehicle =
                tx.exec1(
                      "INSERT INTO fleet.vehicles (registration) VALUES ('plate phone-8') "
                      "RETURNING vehicle_id")[0]
                    .as<std::int64_t>();
            tx.exec_params(
                "INSERT INTO fleet.devices (identifier, protocol, vehicle_id) VALUES ($1, $2, $3)",
                "phone-8", "osmand", vehicle);
            tx.commit();
        }
        const auto oport = h.port("osmand");
        REQUIRE(http_get(oport, "/?id=phone-8&lat=59.93&lon=30.31").starts_with("HTTP/1.1 200"));
        const auto phone = vehicle_of(h, "phone-8");
        CHECK(reports.connections() == std::vector{phone});
        REQUIRE(http_get(oport, "/?id=phone-8&lat=59.931&lon=30.31").starts_with("HTTP/1.1 200"));
        CHECK(reports.connections().size() == 1);
        // Silent for the idle timeout: reporting again is coming back.
        std::this_thread::sleep_for(3100ms);
        REQUIRE(http_get(oport, "/?id=phone-8&lat=59.932&lon=30.31").starts_with("HTTP/1.1 200"));
        CHECK(reports.connections() == std::vector{phone, phone});
    }
}
