#include <doctest/doctest.h>

#include "geo/geodesy.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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
#include "ingest/osmand/decoder.hpp"
#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "tools/fleetsim/devices/native.hpp"
#include "tools/fleetsim/engine.hpp"

// The load engine against tiny in-test servers on 127.0.0.1 that acknowledge only some packets:
// a record counts as acknowledged exactly when the server acknowledged it.

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using fleet::ingest::Bytes;
namespace sim = fleet::tools::fleetsim;

namespace {

// What a test server saw and acknowledged, shared by its connection threads.
struct Tally {
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> records_received{0};
    std::atomic<std::uint64_t> records_acked{0};
    std::mutex mutex;
    std::map<std::string, std::vector<fleet::tools::fleetsim::devices::Fix>> fixes;  // by device
};

// Accepts on 127.0.0.1 (port 0) and runs `session` on its own thread per connection. A session
// ends when the client closes (reads then throw). The destructor stops accepting and waits for
// every session, so the tally is final once the server is gone.
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
                    ++closed_;
                }
            });
        }
    }

    Session session_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> closed_{0};
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

enum class Answer { ack, wrong_count, silence };

// Teltonika server: accepts the IMEI, decodes each AVL packet with the ingest decoder, and
// answers as `policy(packet index over all connections)` says.
TestServer::Session teltonika_server(Tally& tally, std::function<Answer(std::uint64_t)> policy) {
    return [&tally, policy](tcp::socket& s) {
        const Bytes length = read_exactly(s, 2);
        (void)read_exactly(s, (std::size_t{length[0]} << 8) | length[1]);
        write_all(s, fleet::ingest::teltonika::encode_login_reply(true));
        while (true) {
            Bytes frame = read_exactly(s, 8);
            const Bytes rest = read_exactly(s, be32(frame, 4) + 4);
            frame.insert(frame.end(), rest.begin(), rest.end());
            const auto packet = fleet::ingest::teltonika::decode_packet(frame);
            tally.records_received += packet.record_count;
            switch (policy(tally.packets++)) {
                case Answer::ack:
                    tally.records_acked += packet.record_count;
                    write_all(s, fleet::ingest::teltonika::encode_ack(packet.record_count));
                    break;
                case Answer::wrong_count:
                    write_all(s, fleet::ingest::teltonika::encode_ack(packet.record_count - 1));
                    break;
                case Answer::silence:
                    break;
            }
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
    return Bytes(frame.begin() + static_cast<std::ptrdiff_t>(span->header_bytes), frame.end());
}

// Native server: accepts every login; answers batch n of a connection with stored =
// `stored(n, count)`, keeping every position it stored by device.
TestServer::Session native_server(
    Tally& tally, std::function<std::uint32_t(std::uint64_t, std::uint32_t)> stored) {
    namespace native = fleet::tools::fleetsim::devices::native;
    return [&tally, stored](tcp::socket& s) {
        std::string device;
        while (true) {
            const auto frame = native::decode_frame(read_native_frame(s));
            fleet::proto::terminal::Frame reply;
            if (frame.has_login()) {
                device = frame.login().device_id();
                reply.mutable_login_result()->set_accepted(true);
            } else if (frame.has_positions()) {
                const auto& batch = frame.positions();
                const auto count = static_cast<std::uint32_t>(batch.positions_size());
                tally.records_received += count;
                const std::uint32_t n = stored(batch.batch_id(), count);
                {
                    std::lock_guard lock(tally.mutex);
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const auto& p = batch.positions(static_cast<int>(i));
                        fleet::tools::fleetsim::devices::Fix f;
                        f.device_time = fleet::tools::fleetsim::devices::Millis(
                            std::chrono::milliseconds(p.device_time_ms()));
                        f.latitude_deg = p.latitude();
                        f.longitude_deg = p.longitude();
                        tally.fixes[device].push_back(f);
                    }
                }
                tally.records_acked += n;
                ++tally.packets;
                reply.mutable_ack()->set_batch_id(batch.batch_id());
                reply.mutable_ack()->set_stored(n);
            } else {
                continue;
            }
            write_all(s, native::length_delimited(reply));
        }
    };
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

TEST_CASE("load: teltonika records without an ACK are not counted as delivered") {
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
    CHECK(report.records_sent == tally.records_received);
    CHECK(report.records_sent > 9);
    CHECK(report.records_unacked() == report.records_sent - 9);
    CHECK(report.ack_timeouts >= 1);
    CHECK(report.ack_latencies_ms.size() == 3);
    CHECK_FALSE(report.all_acked());
    const std::string line = sim::machine_line(report);
    CHECK(line.starts_with("fleetsim: sent=" + std::to_string(report.records_sent) +
                           " acked=9 failed=0 rate="));
    CHECK(line.find(" unacked=" + std::to_string(report.records_sent - 9) + " ") !=
          std::string::npos);
}

TEST_CASE("load: a teltonika ACK with the wrong count fails the whole packet") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(teltonika_server(tally, [](std::uint64_t packet) {
            return packet % 2 == 0 ? Answer::ack : Answer::wrong_count;
        }));
        auto plan = plan_for(sim::Protocol::teltonika, server.port());
        plan.connections = 2;
        plan.vehicles = 2;
        plan.records_per_packet = 2;
        plan.duration = 300ms;
        report = sim::run(plan);
    }
    CHECK(report.packets_failed > 0);
    CHECK(report.records_acked == tally.records_acked);
    CHECK(report.records_acked == 2 * report.packets_acked);
    CHECK(report.packets_acked + report.packets_failed == report.packets_sent);
    CHECK(report.records_sent == tally.records_received);
    CHECK_FALSE(report.all_acked());
}

TEST_CASE("load: gt06 bursts count as delivered on the reply to their heartbeat") {
    Tally tally;
    sim::Report report;
    {
        TestServer server([&tally](tcp::socket& s) {
            std::uint64_t unconfirmed = 0;
            while (true) {
                Bytes frame = read_exactly(s, 3);
                const Bytes rest = read_exactly(s, std::size_t{frame[2]} + 2);
                frame.insert(frame.end(), rest.begin(), rest.end());
                const auto m = fleet::ingest::gt06::decode(frame);
                if (m.protocol_number == fleet::ingest::gt06::msg_location) {
                    ++tally.records_received;
                    ++unconfirmed;
                } else if (m.protocol_number == fleet::ingest::gt06::msg_login ||
                           tally.packets++ < 2) {
                    tally.records_acked += std::exchange(unconfirmed, 0);
                    write_all(s, fleet::ingest::gt06::encode_reply(m.protocol_number, m.serial));
                }
            }
        });
        auto plan = plan_for(sim::Protocol::gt06, server.port());
        plan.records_per_packet = 4;
        plan.duration = 500ms;
        report = sim::run(plan);
    }
    CHECK(tally.records_acked == 8);
    CHECK(report.records_acked == 8);
    CHECK(report.records_sent == tally.records_received);
    CHECK(report.records_sent > 8);
    CHECK(report.ack_timeouts >= 1);
    CHECK_FALSE(report.all_acked());
}

TEST_CASE("load: osmand counts a non-200 answer as a failure with its body") {
    Tally tally;
    sim::Report report;
    {
        TestServer server([&tally](tcp::socket& s) {
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
                if (tally.packets++ < 5) {
                    tally.records_acked += decoded.positions.size();
                    response.result(http::status::ok);
                } else {
                    response.result(http::status::service_unavailable);
                    response.body() = "database down";
                }
                response.prepare_payload();
                http::write(s, response);
            }
        });
        auto plan = plan_for(sim::Protocol::osmand, server.port());
        plan.duration = 300ms;
        report = sim::run(plan);
    }
    CHECK(report.records_acked == 5);
    CHECK(tally.records_acked == 5);
    CHECK(report.records_sent == tally.records_received);
    CHECK(report.packets_failed == report.records_sent - 5);
    CHECK(report.packets_failed > 0);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors.begin()->first == "osmand: HTTP 503: database down");
    CHECK_FALSE(report.all_acked());
}

TEST_CASE("load: native batches paced at a total rate, all acknowledged") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(tally, [](std::uint64_t, std::uint32_t n) { return n; }));
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
    // 600 ms at 200 records/s: 120 records (8 packets per connection).
    CHECK(report.records_sent == 120);
    CHECK(report.ack_latencies_ms.size() == report.packets_sent);
    // Each device's timestamps advance by the fix interval, never repeating.
    REQUIRE(tally.fixes.size() == 3);
    for (const auto& [device, fixes] : tally.fixes) {
        for (std::size_t i = 1; i < fixes.size(); ++i) {
            CHECK(fixes[i].device_time - fixes[i - 1].device_time == 1s);
        }
    }
}

TEST_CASE("load: as fast as ACKs allow, on several I/O threads") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(tally, [](std::uint64_t, std::uint32_t n) { return n; }));
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

TEST_CASE("load: a partially stored native batch counts only what was stored") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(
            tally, [](std::uint64_t batch, std::uint32_t n) { return batch == 2 ? n - 1 : n; }));
        auto plan = plan_for(sim::Protocol::native, server.port());
        plan.records_per_packet = 3;
        plan.packets_per_connection = 3;
        plan.duration = 2s;
        report = sim::run(plan);
    }
    CHECK(report.records_sent == 9);
    CHECK(report.records_acked == 8);
    CHECK(report.packets_failed == 1);
    CHECK(report.packets_acked == 2);
    CHECK_FALSE(report.all_acked());
}

TEST_CASE("run: vehicles spaced along a route report positions on it") {
    Tally tally;
    sim::Report report;
    {
        TestServer server(native_server(tally, [](std::uint64_t, std::uint32_t n) { return n; }));
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
    const auto& first = tally.fixes["356307042441000"];
    const auto& second = tally.fixes["356307042441001"];
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
