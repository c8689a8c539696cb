#include <doctest/doctest.h>

#include "geo/geodesy.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
// GCC 12 with -fsanitize=address reports Beast 1.74's parser (basic_parser.hpp:66, a
// boost::optional) as maybe-uninitialized when the synchronous http::read is instantiated: a
// false positive in the library header, silenced for these headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

#include "geo/ogr_lines.hpp"
#include "ingest/bytes.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/encoder.hpp"
#include "ingest/native/encoder.hpp"
#include "ingest/native/handler.hpp"
#include "ingest/osmand/decoder.hpp"
#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "tools/fleetsim/devices/native.hpp"
#include "tools/fleetsim/echo.hpp"
#include "tools/fleetsim/engine.hpp"

// The load engine against tiny in-test servers on 127.0.0.1 that acknowledge only some packets:
// a record counts as acknowledged exactly when the server acknowledged it.

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using fleet::ingest::Bytes;
using fleet::ingest::ByteView;
namespace sim = fleet::tools::fleetsim;

namespace {

// What a test server saw and acknowledged, shared by its connection threads.
struct Tally {
    std::atomic<std::uint64_t> packets{0};  // data packets, logins not counted
    std::atomic<std::uint64_t> records_received{0};
    std::atomic<std::uint64_t> records_acked{0};
    std::mutex mutex;
    // By device: every record the server acknowledged, as its decoder read it.
    std::map<std::string, std::vector<fleet::ingest::Position>> acked;

    void keep(const std::string& device, const std::vector<fleet::ingest::Position>& records,
              std::size_t n) {
        const std::lock_guard lock(mutex);
        auto& kept = acked[device];
        kept.insert(kept.end(), records.begin(),
                    records.begin() + static_cast<std::ptrdiff_t>(std::min(n, records.size())));
        records_acked += std::min(n, records.size());
    }
};

// Accepts on 127.0.0.1 (port 0) and runs `session` on its own thread per connection. A session
// ends when the client closes (reads then throw) or when it returns (the server drops the
// connection). The destructor stops accepting and waits for every session, so the tally is
// final once the server is gone.
class TestServer {
  public:
    using Session = std::function<void(tcp::socket&)>;

    explicit TestServer(Session session)
        : session_(std::move(session)), acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {
        accepting_ = std::thread([this] { accept_loop(); });
    }
    ~TestServer() {
        stopping_ = true;
        tcp::socket wake(io_);
        boost::system::error_code ec;
        wake.connect({asio::ip::address_v4::loopback(), port()}, ec);
        accepting_.join();
        for (auto& t : sessions_) {
            t.join();
        }
    }
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  private:
    void accept_loop() {
        while (true) {
            tcp::socket socket(io_);
            boost::system::error_code ec;
            acceptor_.accept(socket, ec);
            if (stopping_) {
                return;
            }
            if (ec) {
                continue;
            }
            sessions_.emplace_back([this, s = std::move(socket)]() mutable {
                try {
                    session_(s);
                } catch (const boost::system::system_error&) {
                    // The client closed the connection: the normal end of a session.
                }
                boost::system::error_code ignored;
                s.close(ignored);
            });
        }
    }

    Session session_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::thread accepting_;
    std::vector<std::thread> sessions_;
};

Bytes read_exactly(tcp::socket& s, std::size_t n) {
    Bytes out(n);
    asio::read(s, asio::buffer(out));
    return out;
}

void write_all(tcp::socket& s, const Bytes& bytes) {
    asio::write(s, asio::buffer(bytes));
}

std::uint32_t be32(const Bytes& b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// How a test server answers one data packet: positively; negatively (Teltonika: a count one
// short; GT06: a reply with the wrong serial; OsmAnd: 503; native: one record fewer stored);
// not at all; or by closing the connection without an answer.
enum class Answer { ack, wrong, silence, drop };
// Decides the answer by the packet's index over all connections (0, 1, ...).
using Policy = std::function<Answer(std::uint64_t)>;

// Teltonika: accepts the IMEI, decodes each AVL packet with the ingest decoder.
TestServer::Session teltonika_server(Tally& tally, Policy policy) {
    return [&tally, policy](tcp::socket& s) {
        const Bytes length = read_exactly(s, 2);
        const Bytes imei = read_exactly(s, (std::size_t{length[0]} << 8) | length[1]);
        const std::string device(imei.begin(), imei.end());
        write_all(s, fleet::ingest::teltonika::encode_login_reply(true));
        while (true) {
            Bytes frame = read_exactly(s, 8);
            const Bytes rest = read_exactly(s, be32(frame, 4) + 4);
            frame.insert(frame.end(), rest.begin(), rest.end());
            const auto packet = fleet::ingest::teltonika::decode_packet(frame);
            tally.records_received += packet.record_count;
            switch (policy(tally.packets++)) {
                case Answer::ack:
                    tally.keep(device, packet.records, packet.record_count);
                    write_all(s, fleet::ingest::teltonika::encode_ack(packet.record_count));
                    break;
                case Answer::wrong:
                    write_all(s, fleet::ingest::teltonika::encode_ack(packet.record_count - 1));
                    break;
                case Answer::silence:
                    break;
                case Answer::drop:
                    return;
            }
        }
    };
}

// GT06: answers the login; each location as the policy says.
TestServer::Session gt06_server(Tally& tally, Policy policy) {
    namespace gt06 = fleet::ingest::gt06;
    return [&tally, policy](tcp::socket& s) {
        std::string device;
        while (true) {
            Bytes frame = read_exactly(s, 3);
            const Bytes rest = read_exactly(s, std::size_t{frame[2]} + 2);
            frame.insert(frame.end(), rest.begin(), rest.end());
            auto m = gt06::decode(frame);
            if (m.protocol_number == gt06::msg_login) {
                device = std::get<gt06::Login>(m.payload).imei;
                write_all(s, gt06::encode_reply(m.protocol_number, m.serial));
                continue;
            }
            REQUIRE(m.protocol_number == gt06::msg_location);
            ++tally.records_received;
            switch (policy(tally.packets++)) {
                case Answer::ack:
                    tally.keep(device, {std::get<fleet::ingest::Position>(m.payload)}, 1);
                    write_all(s, gt06::encode_reply(m.protocol_number, m.serial));
                    break;
                case Answer::wrong:
                    write_all(s, gt06::encode_reply(m.protocol_number,
                                                    static_cast<std::uint16_t>(m.serial + 100)));
                    break;
                case Answer::silence:
                    break;
                case Answer::drop:
                    return;
            }
        }
    };
}

// OsmAnd: each request as the policy says; `wrong` is a 503 "database down".
TestServer::Session osmand_server(Tally& tally, Policy policy) {
    return [&tally, policy](tcp::socket& s) {
        boost::beast::flat_buffer buffer;
        while (true) {
            http::request<http::string_body> request;
            http::read(s, buffer, request);
            const auto decoded = fleet::ingest::osmand::decode(
                {"GET", std::string(request.target()), "", ""},
                std::chrono::time_point_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now()));
            tally.records_received += decoded.positions.size();
            http::response<http::string_body> response;
            response.version(11);
            response.keep_alive(true);
            switch (policy(tally.packets++)) {
                case Answer::ack:
                    tally.keep(decoded.device_id, decoded.positions, decoded.positions.size());
                    response.result(http::status::ok);
                    break;
                case Answer::wrong:
                    response.result(http::status::service_unavailable);
                    response.body() = "database down";
                    break;
                case Answer::silence:
                    continue;
                case Answer::drop:
                    return;
            }
            response.prepare_payload();
            http::write(s, response);
        }
    };
}

Bytes read_native_frame(tcp::socket& s) {
    Bytes frame;
    std::optional<fleet::tools::fleetsim::devices::native::FrameSpan> span;
    while (!(span = fleet::tools::fleetsim::devices::native::frame_span(frame))) {
        if (frame.empty() || (frame.back() & 0x80U) != 0) {
            frame.push_back(read_exactly(s, 1)[0]);
        } else {
            const std::size_t have = frame.size();
            std::size_t body = 0;
            for (std::size_t i = 0; i < have; ++i) {
                body |= std::size_t{frame[i] & 0x7FU} << (7 * i);
            }
            const Bytes rest = read_exactly(s, body);
            frame.insert(frame.end(), rest.begin(), rest.end());
        }
    }
    return frame;
}

// Native: accepts every login, decodes batches with the ingest handler; `wrong` stores (and
// acknowledges) all records but the last.
TestServer::Session native_server(Tally& tally, Policy policy) {
    namespace native = fleet::tools::fleetsim::devices::native;
    return [&tally, policy](tcp::socket& s) {
        fleet::ingest::native::Handler handler;
        handler.set_logged_in(true);
        std::string device;
        while (true) {
            const Bytes bytes = read_native_frame(s);
            const auto span = native::frame_span(bytes);
            const auto frame = native::decode_frame(ByteView(bytes).subspan(span->header_bytes));
            fleet::proto::terminal::Frame reply;
            if (frame.has_login()) {
                device = frame.login().device_id();
                reply.mutable_login_result()->set_accepted(true);
                write_all(s, native::length_delimited(reply));
                continue;
            }
            if (!frame.has_positions()) {
                continue;
            }
            const auto step = handler.on_frame(bytes);
            const auto count = static_cast<std::uint32_t>(step.positions.size());
            tally.records_received += count;
            std::uint32_t stored = count;
            switch (policy(tally.packets++)) {
                case Answer::ack:
                    break;
                case Answer::wrong:
                    stored = count - 1;
                    break;
                case Answer::silence:
                    continue;
                case Answer::drop:
                    return;
            }
            tally.keep(device, step.positions, stored);
            reply.mutable_ack()->set_batch_id(frame.positions().batch_id());
            reply.mutable_ack()->set_stored(stored);
            write_all(s, native::length_delimited(reply));
        }
    };
}

TestServer::Session server_for(sim::Protocol protocol, Tally& tally, Policy policy) {
    switch (protocol) {
        case sim::Protocol::teltonika:
            return teltonika_server(tally, std::move(policy));
        case sim::Protocol::gt06:
            return gt06_server(tally, std::move(policy));
        case sim::Protocol::osmand:
            return osmand_server(tally, std::move(policy));
        case sim::Protocol::native:
            break;
    }
    return native_server(tally, std::move(policy));
}

Answer always_ack(std::uint64_t) {
    return Answer::ack;
}

sim::Plan plan_for(sim::Protocol protocol, std::uint16_t port) {
    sim::Plan plan;
    plan.protocol = protocol;
    plan.port = port;
    plan.connect_timeout = 2s;
    plan.reconnect_delay = 20ms;
    plan.ack_timeout = 150ms;
    plan.drain_timeout = 300ms;
    plan.fix_interval = 1s;
    plan.device_time_start = fleet::tools::fleetsim::devices::Millis(
        std::chrono::sys_days(std::chrono::year(2026) / 1 / 1).time_since_epoch());
    return plan;
}

}  // namespace

TEST_CASE("load: records without an ACK are resent and never counted as delivered") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(teltonika_server(tally, [](std::uint64_t packet) {
            return packet < 3 ? Answer::ack : Answer::silence;
        }));
        auto plan = plan_for(sim::Protocol::teltonika, server.port());
        plan.records_per_packet = 3;
        plan.duration = 700ms;
        report = sim::run(plan);
    }
    CHECK(tally.records_acked == 9);
    CHECK(report.records_acked == 9);
    CHECK(report.packets_acked == 3);
    // The fourth packet is the device's buffer: resent after every timeout, nothing new behind it.
    CHECK(report.records_sent == 12);
    CHECK(report.packets_resent >= 1);
    CHECK(report.records_resent == 3 * report.packets_resent);
    CHECK(report.packets_sent == 4 + report.packets_resent);
    CHECK(tally.records_received == report.records_sent + report.records_resent);
    CHECK(report.records_unacked() == 3);
    CHECK(report.ack_timeouts == 1 + report.packets_resent);
    CHECK(report.ack_latencies_ms.size() == 3);
    CHECK_FALSE(report.all_acked());
    const std::string line = sim::machine_line(report);
    CHECK(line.starts_with("fleetsim: sent=12 acked=9 failed=0 rate="));
    CHECK(line.find(" unacked=3 ") != std::string::npos);
    CHECK(line.find(" resent=" + std::to_string(report.packets_resent) + " records_resent=" +
                    std::to_string(report.records_resent) + " packets=") != std::string::npos);
}

TEST_CASE("load: a teltonika ACK with the wrong count fails the whole packet, which is resent") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(teltonika_server(tally, [](std::uint64_t packet) {
            return packet % 2 == 0 ? Answer::ack : Answer::wrong;
        }));
        auto plan = plan_for(sim::Protocol::teltonika, server.port());
        plan.ack_timeout = 2s;
        plan.records_per_packet = 2;
        plan.packets_per_connection = 5;
        plan.duration = 3s;
        report = sim::run(plan);
    }
    // Packets 0, 2, 4, ... are acknowledged: every new packet fails once, its resend succeeds.
    CHECK(report.all_acked());
    CHECK(report.records_acked == 10);
    CHECK(tally.records_acked == 10);
    CHECK(report.packets_failed == 4);
    CHECK(report.packets_acked == 5);
    CHECK(report.packets_resent == 4);
    CHECK(report.records_resent == 8);
    CHECK(report.packets_acked + report.packets_failed == report.packets_sent);
    CHECK(tally.records_received == report.records_sent + report.records_resent);
}

TEST_CASE("load: every gt06 location is a packet answered by its own reply") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(gt06_server(tally, [](std::uint64_t packet) {
            return packet < 3 ? Answer::ack : packet == 3 ? Answer::wrong : Answer::silence;
        }));
        auto plan = plan_for(sim::Protocol::gt06, server.port());
        plan.duration = 500ms;
        report = sim::run(plan);
    }
    CHECK(tally.records_acked == 3);
    CHECK(report.records_acked == 3);
    CHECK(report.packets_acked == 3);
    // A reply with another serial is no answer: the fourth location times out and is resent.
    CHECK(report.records_sent == 4);
    CHECK(report.packets_resent >= 1);
    CHECK(report.ack_timeouts >= 1);
    CHECK(tally.records_received == report.records_sent + report.records_resent);
    CHECK_FALSE(report.all_acked());
    CHECK_THROWS_AS(
        [] {
            auto plan = plan_for(sim::Protocol::gt06, 1);
            plan.records_per_packet = 2;
            (void)sim::run(plan);
        }(),
        fleet::InputError);
}

TEST_CASE("load: osmand counts a non-200 answer as a failure with its body, and resends") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(osmand_server(
            tally, [](std::uint64_t packet) { return packet < 5 ? Answer::ack : Answer::wrong; }));
        auto plan = plan_for(sim::Protocol::osmand, server.port());
        plan.duration = 300ms;
        report = sim::run(plan);
    }
    CHECK(report.records_acked == 5);
    CHECK(tally.records_acked == 5);
    CHECK(report.records_sent == 6);  // the sixth is resent after each 503
    CHECK(report.packets_failed == report.packets_sent - 5);
    CHECK(report.packets_resent == report.packets_failed - 1);
    CHECK(report.packets_failed > 1);
    CHECK(tally.records_received == report.packets_sent);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors.begin()->first == "osmand: HTTP 503: database down");
    CHECK_FALSE(report.all_acked());
}

TEST_CASE("load: native batches paced at a total rate, all acknowledged") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(tally, always_ack));
        auto plan = plan_for(sim::Protocol::native, server.port());
        plan.connections = 3;
        plan.vehicles = 3;
        plan.records_per_packet = 5;
        plan.packet_period = 75ms;  // 3 connections × 5 records / 200 records/s in total
        plan.duration = 600ms;
        report = sim::run(plan);
    }
    CHECK(report.all_acked());
    CHECK(report.records_acked == tally.records_acked);
    CHECK(report.packets_failed == 0);
    CHECK(report.connection_errors == 0);
    CHECK(report.packets_resent == 0);
    // 600 ms at 200 records/s: 120 records (8 packets per connection).
    CHECK(report.records_sent == 120);
    CHECK(report.ack_latencies_ms.size() == report.packets_sent);
    // Each device's timestamps advance by the fix interval, never repeating.
    REQUIRE(tally.acked.size() == 3);
    for (const auto& [device, records] : tally.acked) {
        for (std::size_t i = 1; i < records.size(); ++i) {
            CHECK(records[i].device_time - records[i - 1].device_time == 1s);
        }
    }
}

TEST_CASE("load: as fast as ACKs allow, on several I/O threads") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(tally, always_ack));
        auto plan = plan_for(sim::Protocol::native, server.port());
        plan.connections = 4;
        plan.vehicles = 4;
        plan.records_per_packet = 10;
        plan.threads = 3;
        plan.duration = 200ms;
        report = sim::run(plan);
    }
    CHECK(report.all_acked());
    CHECK(report.records_sent > 40);
    CHECK(report.records_acked == tally.records_acked);
    CHECK(report.packets_acked == report.packets_sent);
    CHECK(report.ack_latencies_ms.size() == report.packets_sent);
    CHECK(sim::machine_line(report).find(" failed=0 rate=") != std::string::npos);
}

TEST_CASE("load: a partially stored native batch: the records not stored are resent") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(
            tally, [](std::uint64_t packet) { return packet == 1 ? Answer::wrong : Answer::ack; }));
        auto plan = plan_for(sim::Protocol::native, server.port());
        plan.keep_acked = true;
        plan.records_per_packet = 3;
        plan.packets_per_connection = 3;
        plan.duration = 2s;
        report = sim::run(plan);
    }
    CHECK(report.records_sent == 9);
    CHECK(report.records_acked == 9);
    CHECK(report.packets_failed == 1);
    CHECK(report.packets_acked == 3);
    CHECK(report.packets_resent == 1);
    CHECK(report.records_resent == 1);  // the one record the second batch did not store
    CHECK(report.all_acked());
    // In the order of acknowledgement, which is the order of the device's fixes.
    REQUIRE(report.acked_records.size() == 9);
    for (std::size_t i = 1; i < 9; ++i) {
        CHECK(report.acked_records[i].fix.device_time -
                  report.acked_records[i - 1].fix.device_time ==
              1s);
    }
}

namespace {

constexpr sim::Protocol all_protocols[] = {sim::Protocol::teltonika, sim::Protocol::gt06,
                                           sim::Protocol::osmand, sim::Protocol::native};

void check_resend_after_drop(sim::Protocol protocol) {
    INFO(std::string(sim::protocol_name(protocol)));
    const std::size_t per_packet = sim::max_records_per_packet(protocol) > 1 ? 3 : 1;
    Tally tally;
    sim::Report report;
    {
        // The server reads packets 1 and 4 (of both connections together) and closes the
        // connection without answering them.
        TestServer server(server_for(protocol, tally, [](std::uint64_t packet) {
            return packet == 1 || packet == 4 ? Answer::drop : Answer::ack;
        }));
        auto plan = plan_for(protocol, server.port());
        plan.connections = 2;
        plan.vehicles = 2;
        plan.records_per_packet = per_packet;
        plan.packets_per_connection = 6;
        plan.ack_timeout = 2s;  // nothing times out: only the drops make resends
        plan.duration = 5s;
        plan.keep_acked = true;
        report = sim::run(plan);
    }
    const std::size_t records = 2 * 6 * per_packet;
    CHECK(report.all_acked());
    CHECK(report.records_sent == records);
    CHECK(report.records_acked == records);
    CHECK(report.packets_resent == 2);
    CHECK(report.records_resent == 2 * per_packet);
    CHECK(report.connection_errors == 2);
    CHECK(report.ack_timeouts == 0);
    CHECK(tally.records_received == records + 2 * per_packet);
    // Each record once in the acked log, and the log is exactly what the server acknowledged,
    // field by field as its decoder read the packet.
    REQUIRE(report.acked_records.size() == records);
    std::map<std::pair<std::string, std::int64_t>, sim::devices::SentFix> logged;
    for (const auto& a : report.acked_records) {
        logged.emplace(std::pair(a.device_id, a.fix.device_time.time_since_epoch().count()), a.fix);
    }
    CHECK(logged.size() == records);
    std::size_t matched = 0;
    for (const auto& [device, positions] : tally.acked) {
        for (const auto& p : positions) {
            const auto it = logged.find({device, p.device_time.time_since_epoch().count()});
            REQUIRE(it != logged.end());
            CHECK(it->second.latitude_deg == p.latitude_deg);
            CHECK(it->second.longitude_deg == p.longitude_deg);
            CHECK(it->second.speed_kmh == p.speed_kmh);
            CHECK(it->second.course_deg == p.course_deg);
            CHECK(it->second.satellites == p.satellites);
            ++matched;
        }
    }
    CHECK(matched == records);
}

}  // namespace

TEST_CASE("load: a dropped connection before the answer: reconnect, resend, each record once") {
    for (const auto protocol : all_protocols) {
        check_resend_after_drop(protocol);
    }
}

namespace {

// What a device answered to the server's downlink, as the server's decoders read it.
struct Answers {
    std::mutex mutex;
    struct NoticeAck {
        std::uint64_t id = 0;
        bool delivered = false;
        std::int64_t read_at_ms = 0;
        bool accepted = false;
        std::chrono::steady_clock::time_point at;
    };
    std::vector<NoticeAck> notice_acks;
    std::vector<std::pair<std::uint32_t, std::string>> commands;  // GT06 flag (0 else), text

    std::vector<NoticeAck> acks() {
        const std::lock_guard lock(mutex);
        return notice_acks;
    }
};

// Native: on the first batch, sends a notice (id 5) and the withdrawal of another (id 6) before
// the Ack; keeps every NoticeAck.
TestServer::Session native_notice_server(Answers& answers,
                                         std::chrono::steady_clock::time_point& sent_at) {
    namespace native = fleet::tools::fleetsim::devices::native;
    return [&answers, &sent_at](tcp::socket& s) {
        std::uint64_t batches = 0;
        while (true) {
            const Bytes bytes = read_native_frame(s);
            const auto span = native::frame_span(bytes);
            const auto frame = native::decode_frame(ByteView(bytes).subspan(span->header_bytes));
            fleet::proto::terminal::Frame reply;
            if (frame.has_login()) {
                reply.mutable_login_result()->set_accepted(true);
                write_all(s, native::length_delimited(reply));
            } else if (frame.has_notice_ack()) {
                const auto& a = frame.notice_ack();
                const std::lock_guard lock(answers.mutex);
                answers.notice_acks.push_back({a.notice_id(), a.delivered(), a.read_at_ms(),
                                               a.accepted(), std::chrono::steady_clock::now()});
            } else if (frame.has_positions()) {
                if (batches++ == 0) {
                    fleet::ingest::DownlinkMessage notice{.id = 5, .text = "Ice", .severity = 2};
                    sent_at = std::chrono::steady_clock::now();
                    write_all(s, fleet::ingest::native::encode_notice(notice));
                    notice.id = 6;
                    notice.severity = 0;
                    write_all(s, fleet::ingest::native::encode_notice(notice));
                }
                reply.mutable_ack()->set_batch_id(frame.positions().batch_id());
                reply.mutable_ack()->set_stored(
                    static_cast<std::uint32_t>(frame.positions().positions_size()));
                write_all(s, native::length_delimited(reply));
            }
        }
    };
}

}  // namespace

TEST_CASE("downlink: the native terminal acknowledges a notice at once, and its reading later") {
    Answers answers;
    std::chrono::steady_clock::time_point sent_at{};
    sim::Report report;
    SUBCASE("read 300 ms after it arrived, while the device goes on reporting") {
        {
            TestServer server(native_notice_server(answers, sent_at));
            auto plan = plan_for(sim::Protocol::native, server.port());
            plan.read_after = 300ms;
            plan.packet_period = 50ms;
            plan.packets_per_connection = 12;
            plan.duration = 2s;
            report = sim::run(plan);
        }
        CHECK(report.all_acked());
        CHECK(report.connection_errors == 0);
        const auto acks = answers.acks();
        REQUIRE(acks.size() == 3);
        CHECK(acks[0].id == 5);
        CHECK(acks[0].delivered);
        CHECK(acks[0].read_at_ms == 0);
        CHECK_FALSE(acks[0].accepted);
        CHECK(acks[1].id == 6);  // the withdrawal: delivered, never read
        CHECK(acks[1].delivered);
        CHECK(acks[2].id == 5);
        CHECK_FALSE(acks[2].delivered);
        CHECK(acks[2].accepted);
        CHECK(acks[2].read_at_ms > 1'700'000'000'000);  // the wall clock, in ms
        CHECK(acks[0].at - sent_at < 200ms);
        CHECK(acks[2].at - sent_at >= 300ms);
        CHECK(acks[2].at - sent_at < 300ms + 200ms);  // before the next packet after it fell due
    }
    SUBCASE("never read") {
        {
            TestServer server(native_notice_server(answers, sent_at));
            auto plan = plan_for(sim::Protocol::native, server.port());
            plan.read_after = std::nullopt;
            plan.packet_period = 20ms;
            plan.packets_per_connection = 5;
            plan.duration = 1s;
            report = sim::run(plan);
        }
        CHECK(report.all_acked());
        const auto acks = answers.acks();
        REQUIRE(acks.size() == 2);
        CHECK(acks[0].delivered);
        CHECK(acks[1].delivered);
    }
}

TEST_CASE("downlink: Teltonika answers Codec 12 commands that come before the record count") {
    Answers answers;
    sim::Report report;
    {
        TestServer server([&answers](tcp::socket& s) {
            const Bytes length = read_exactly(s, 2);
            (void)read_exactly(s, (std::size_t{length[0]} << 8) | length[1]);
            write_all(s, fleet::ingest::teltonika::encode_login_reply(true));
            std::uint64_t packets = 0;
            while (true) {
                Bytes frame = read_exactly(s, 8);
                const Bytes rest = read_exactly(s, be32(frame, 4) + 4);
                frame.insert(frame.end(), rest.begin(), rest.end());
                if (fleet::ingest::teltonika::frame_codec(frame) == 0x0C) {
                    const auto response = fleet::ingest::teltonika::decode_command_response(frame);
                    const std::lock_guard lock(answers.mutex);
                    answers.commands.emplace_back(0, response.text);
                    continue;
                }
                const auto packet = fleet::ingest::teltonika::decode_packet(frame);
                if (packets++ == 1) {
                    write_all(s, fleet::ingest::teltonika::encode_command("getver"));
                    write_all(s, fleet::ingest::teltonika::encode_command("getgps"));
                }
                write_all(s, fleet::ingest::teltonika::encode_ack(packet.record_count));
            }
        });
        auto plan = plan_for(sim::Protocol::teltonika, server.port());
        plan.records_per_packet = 2;
        plan.packets_per_connection = 4;
        plan.ack_timeout = 2s;
        plan.duration = 2s;
        report = sim::run(plan);
    }
    CHECK(report.all_acked());
    CHECK(report.packets_failed == 0);
    CHECK(report.connection_errors == 0);
    const std::lock_guard lock(answers.mutex);
    REQUIRE(answers.commands.size() == 2);
    CHECK(answers.commands[0].second == "OK getver");
    CHECK(answers.commands[1].second == "OK getgps");
}

TEST_CASE("downlink: GT06 answers an online command 0x80 with 0x21 echoing its server flag") {
    namespace gt06 = fleet::ingest::gt06;
    Answers answers;
    sim::Report report;
    {
        TestServer server([&answers](tcp::socket& s) {
            std::uint64_t locations = 0;
            while (true) {
                Bytes frame = read_exactly(s, 3);
                const Bytes rest = read_exactly(s, std::size_t{frame[2]} + 2);
                frame.insert(frame.end(), rest.begin(), rest.end());
                const auto m = gt06::decode(frame);
                if (m.protocol_number == gt06::msg_command_reply_coded) {
                    const auto& reply = std::get<gt06::CommandReply>(m.payload);
                    const std::lock_guard lock(answers.mutex);
                    answers.commands.emplace_back(reply.server_flag, reply.text);
                    continue;
                }
                if (m.protocol_number == gt06::msg_location && locations++ == 0) {
                    write_all(s, gt06::encode_command(0xABCD0123, "DYD#", 1));
                }
                write_all(s, gt06::encode_reply(m.protocol_number, m.serial));
            }
        });
        auto plan = plan_for(sim::Protocol::gt06, server.port());
        plan.packets_per_connection = 3;
        plan.ack_timeout = 2s;
        plan.duration = 2s;
        report = sim::run(plan);
    }
    CHECK(report.all_acked());
    CHECK(report.records_acked == 3);
    CHECK(report.connection_errors == 0);
    const std::lock_guard lock(answers.mutex);
    REQUIRE(answers.commands.size() == 1);
    CHECK(answers.commands[0].first == 0xABCD0123);
    CHECK(answers.commands[0].second == "OK DYD#");
}

TEST_CASE("run: vehicles spaced along a route report positions on it") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(tally, always_ack));
        auto plan = plan_for(sim::Protocol::native, server.port());
        plan.connections = 2;
        plan.vehicles = 2;
        plan.route = std::make_shared<const sim::Path>(
            fleet::geo::read_lines(std::string(FLEET_TEST_DATA) + "/routes/meridian.geojson")
                .front());
        plan.speed_kmh = 36;
        plan.packets_per_connection = 3;
        plan.packet_period = 20ms;
        plan.duration = 2s;
        report = sim::run(plan);
    }
    CHECK(report.all_acked());
    CHECK(report.records_acked == 6);
    const auto& first = tally.acked["356307042441000"];
    const auto& second = tally.acked["356307042441001"];
    REQUIRE(first.size() == 3);
    REQUIRE(second.size() == 3);
    CHECK(first[0].latitude_deg == doctest::Approx(60.0));
    CHECK(second[0].latitude_deg == doctest::Approx(60.01));  // half of the 2228.25 m line
    // 10 m per 1 s fix interval, northwards along the meridian.
    CHECK(fleet::geo::geodesic_m({first[0].longitude_deg, first[0].latitude_deg},
                                 {first[2].longitude_deg, first[2].latitude_deg}) ==
          doctest::Approx(20).epsilon(1e-4));
    for (const auto& f : first) {
        CHECK(f.longitude_deg == doctest::Approx(30.0));
    }
    // The tank's level sensor: 20 m at 0.3 L/km.
    REQUIRE(first[0].fuel_l);
    CHECK(*first[0].fuel_l - *first[2].fuel_l == doctest::Approx(0.006).epsilon(1e-3));
}

TEST_CASE("load: a refused connection is a connection error and nothing is acknowledged") {
    std::uint16_t port = 0;
    {
        asio::io_context io;
        tcp::acceptor probe(io, {asio::ip::address_v4::loopback(), 0});
        port = probe.local_endpoint().port();
    }
    auto plan = plan_for(sim::Protocol::teltonika, port);
    plan.duration = 100ms;
    const auto report = sim::run(plan);
    CHECK(report.records_sent == 0);
    CHECK(report.connection_errors >= 1);
    CHECK_FALSE(report.all_acked());
}

TEST_CASE("acked log: a header, then one CSV line per acknowledged record") {
    namespace devices = sim::devices;
    devices::SentFix full;
    full.device_time = devices::Millis(1767225600123ms);
    full.latitude_deg = 59.9375123;
    full.longitude_deg = -30.1;
    full.speed_kmh = 40.00320000000001;
    full.course_deg = 359.5;
    full.altitude_m = -12;
    full.satellites = 11;
    full.odometer_m = 123456.5;
    full.fuel_l = 149.98333740234375;
    full.ignition = false;
    devices::SentFix bare;  // GT06 or OsmAnd: no odometer, fuel, ignition ...
    bare.device_time = devices::Millis(1767225601000ms);
    bare.latitude_deg = 1.0 / 3;
    bare.longitude_deg = 2;
    std::ostringstream out;
    sim::write_acked_log(out, sim::Protocol::native,
                         {{"356307042441000", full}, {"356307042441001", bare}});
    CHECK(out.str() == std::string(sim::acked_log_header) + "\n" +
                           "native,356307042441000,1767225600123,59.9375123,-30.1,"
                           "40.00320000000001,359.5,-12,11,123456.5,149.98333740234375,false\n"
                           "native,356307042441001,1767225601000,0.3333333333333333,2,,,,,,,\n");
}

namespace {

void check_echo(sim::Protocol protocol) {
    INFO(std::string(sim::protocol_name(protocol)));
    sim::EchoServer echo(protocol, "127.0.0.1", 0, 2);
    sim::EchoReport served;
    std::thread serving([&] { served = echo.run(false); });
    auto plan = plan_for(protocol, echo.port());
    plan.connections = 3;
    plan.vehicles = 3;
    plan.records_per_packet = sim::max_records_per_packet(protocol) > 1 ? 7 : 1;
    plan.packets_per_connection = 20;
    plan.duration = 5s;
    const auto report = sim::run(plan);
    echo.stop();
    serving.join();
    CHECK(report.all_acked());
    CHECK(report.records_acked == 3 * 20 * plan.records_per_packet);
    CHECK(report.packets_resent == 0);
    CHECK(served.connections == 3);
    CHECK(served.packets == 60);
    CHECK(served.records == report.records_acked);
    CHECK(served.errors == 0);
    CHECK(sim::echo_line(served) == "fleetsim echo: connections=3 packets=60 records=" +
                                        std::to_string(served.records) + " errors=0");
}

}  // namespace

TEST_CASE("echo: fleetsim against its own echo server, every protocol acknowledged") {
    for (const auto protocol : all_protocols) {
        check_echo(protocol);
    }
}

TEST_CASE("echo: an address that is not one, or a port taken, is a clear error") {
    CHECK_THROWS_WITH_AS(sim::EchoServer(sim::Protocol::gt06, "localhost", 0, 1),
                         "echo: 'localhost' is not an IP address", fleet::InputError);
    sim::EchoServer first(sim::Protocol::gt06, "127.0.0.1", 0, 1);
    CHECK_THROWS_AS(sim::EchoServer(sim::Protocol::gt06, "127.0.0.1", first.port(), 1),
                    fleet::InputError);
}

TEST_CASE("report: percentiles by nearest rank") {
    CHECK(sim::percentile({}, 50) == 0);
    CHECK(sim::percentile({5, 1, 4, 2, 3}, 50) == 3);
    CHECK(sim::percentile({5, 1, 4, 2, 3}, 100) == 5);
    CHECK(sim::percentile({5, 1, 4, 2, 3}, 0) == 1);
    std::vector<double> hundred;
    for (int i = 1; i <= 100; ++i) {
        hundred.push_back(i);
    }
    CHECK(sim::percentile(hundred, 99) == 99);
    CHECK(sim::percentile(hundred, 90) == 90);
}
