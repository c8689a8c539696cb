#pragma once
// The ingest services wired as fleetd wires them, on free loopback ports and a scratch PostGIS
// database, and a blocking device client with read timeouts.
#include <doctest/doctest.h>
#include <poll.h>

#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "ingest/bytes.hpp"
#include "ingest/listeners.hpp"
#include "tests/support/db.hpp"

namespace fleet::test {

using namespace fleet::ingest;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Teltonika documentation, "Communication with server": IMEI 356307042441013 at login.
inline const char* teltonika_login = "000F333536333037303432343431303133";
// Hand-built Codec 8E frame of tests/ingest/teltonika_test.cpp: two records, newest first
// (2024-03-05 14:30:15.250 UTC at -34.6037232, -58.3815591; a minute earlier without a fix).
inline const char* teltonika_two_records =
    "00000000000000848E020000018E0F05B1D202DD33AE59EB5FE4100019011309003F00EF000A000300EF0100"
    "F0010015040002004232320059003900020010075BCD1500C7000010E10001004E0102030405060708000201"
    "810003AABBCC271000000000018E0F04C772005A20B548EBD00800FFFB000000000000000001000100EF0000"
    "00000000000000020000E827";
// Teltonika documentation, "Codec 8 > 1st example": one record (no fix: stored flagged).
inline const char* teltonika_codec8_example =
    "000000000000003608010000016B40D8EA30010000000000000000000000000000000105"
    "021503010101425E0F01F10000601A014E0000000000000000010000C7CF";

inline Millis clock_now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

// What a test may change of the wiring.
struct HarnessOptions {
    UnknownDevices policy = UnknownDevices::register_vehicle;
    std::chrono::seconds idle = 30s;
    std::size_t max_per_ip = 256;
    std::size_t max_connections = 1000;
    std::chrono::milliseconds database_wait = 5000ms;
    std::size_t max_pending_lookups = 64;
    std::size_t writer_queue = 100000;
    unsigned threads = 2;
    std::vector<ProtocolInfo> extra_protocols{};  ///< listened on too, at free ports
};

// The ingest services wired as fleetd wires them, listening on free loopback ports.
struct Harness {
    MigratedDatabase db;
    Counters counters;
    DeviceRegistry devices;
    Pipeline pipeline{ValidationConfig{}};
    PositionWriter writer;
    asio::thread_pool lookups{2};
    Listeners listeners;

    explicit Harness(UnknownDevices policy = UnknownDevices::register_vehicle,
                     std::chrono::seconds idle = 30s, std::size_t max_per_ip = 256)
        : Harness(HarnessOptions{.policy = policy, .idle = idle, .max_per_ip = max_per_ip}) {}
    explicit Harness(const HarnessOptions& o,
                     std::function<void(std::int64_t, const NoticeReceipt&)> on_receipt = {},
                     std::function<void(std::int64_t)> on_connected = {})
        : devices(geo::ConnectionFactory({.url = db.url()}), o.policy),
          writer(geo::ConnectionFactory({.url = db.url()}), writer_config(o.writer_queue),
                 counters),
          listeners(config(o), IngestServices{devices, pipeline, writer, counters, clock_now,
                                              lookups.get_executor(), std::move(on_receipt),
                                              std::move(on_connected)}) {
        writer.start();
        listeners.start();
    }
    ~Harness() {
        listeners.stop_accepting();
        listeners.drain(std::chrono::steady_clock::now() + 1s);
        writer.stop(1s);
        // A device lookup still running on the pool (one held up by a locked table) posts its
        // result to the listeners when it ends: it must end before they are destroyed, as
        // fleetd joins its workers before its parts go away.
        lookups.join();
    }
    static WriterConfig writer_config(std::size_t max_queued) {
        WriterConfig c;
        c.max_batch = 1000;
        c.max_wait = 20ms;
        c.reconnect = {100ms, 200ms, 0ms};  // quick retries while the database is away
        c.max_queued = max_queued;
        return c;
    }
    static ListenerConfig config(const HarnessOptions& o) {
        ListenerConfig c;
        c.bind_address = "127.0.0.1";
        for (auto& [name, ep] : c.endpoints) {
            ep.port = 0;
        }
        c.idle_timeout = o.idle;
        c.max_frame_bytes = 4096;
        c.max_connections_per_ip = o.max_per_ip;
        c.max_connections = o.max_connections;
        c.database_wait = o.database_wait;
        c.max_pending_lookups = o.max_pending_lookups;
        c.threads = o.threads;
        c.extra_protocols = o.extra_protocols;
        for (const auto& p : o.extra_protocols) {
            c.endpoints[std::string(p.name)] = {true, 0};
        }
        return c;
    }
    std::uint16_t port(const std::string& protocol) { return listeners.bound_ports().at(protocol); }
    long count(const std::string& sql) {
        pqxx::read_transaction tx(db.conn());
        return tx.exec1(sql)[0].as<long>();
    }
};

// A device: a blocking loopback socket whose reads give up after a timeout.
struct Device {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    explicit Device(std::uint16_t port) {
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
    }
    void send(const Bytes& bytes) { asio::write(socket, asio::buffer(bytes)); }
    void send_hex(const char* hex) { send(from_hex(hex)); }
    // Exactly n bytes, or fewer if the peer closed or nothing came within the timeout.
    Bytes receive(std::size_t n, std::chrono::milliseconds timeout = 3000ms) {
        Bytes out;
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (out.size() < n) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                until - std::chrono::steady_clock::now());
            pollfd pfd{socket.native_handle(), POLLIN, 0};
            if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
                break;
            }
            std::array<std::uint8_t, 512> buf;
            boost::system::error_code ec;
            const auto got = socket.read_some(asio::buffer(buf.data(), n - out.size()), ec);
            if (ec) {
                break;
            }
            out.insert(out.end(), buf.begin(), buf.begin() + static_cast<long>(got));
        }
        return out;
    }
    bool closed_by_peer(std::chrono::milliseconds timeout = 3000ms) {
        pollfd pfd{socket.native_handle(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
            return false;
        }
        std::array<std::uint8_t, 16> buf;
        boost::system::error_code ec;
        socket.read_some(asio::buffer(buf), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }
};

// Waits up to `timeout` for `condition` (for effects that follow a close the peer already saw).
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 2000ms) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

inline std::string http_get(std::uint16_t port, const std::string& target) {
    Device d(port);
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    d.send(Bytes(request.begin(), request.end()));
    const Bytes reply = d.receive(4096);
    return std::string(reply.begin(), reply.end());
}

}  // namespace fleet::test
