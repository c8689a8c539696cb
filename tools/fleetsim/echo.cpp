#include "tools/fleetsim/echo.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange unincluded
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "geo/error.hpp"
#include "ingest/bytes.hpp"
#include "ingest/gt06/encoder.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "tools/fleetsim/devices/native.hpp"
#include "tools/fleetsim/devices/reply_error.hpp"

namespace fleet::tools::fleetsim {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using ingest::Bytes;

namespace {

// Larger frames end the connection: the echo server is for fleetsim, not for strangers.
constexpr std::size_t max_frame_bytes = 1024 * 1024;

struct Counts {
    std::atomic<std::uint64_t> connections{0};
    std::atomic<std::uint64_t> packets{0};
    std::atomic<std::uint64_t> records{0};
    std::atomic<std::uint64_t> errors{0};

    void answered(std::uint64_t n) {
        packets.fetch_add(1, std::memory_order_relaxed);
        records.fetch_add(n, std::memory_order_relaxed);
    }
};

awaitable<Bytes> read_bytes(tcp::socket& s, std::size_t n) {
    Bytes out(n);
    co_await asio::async_read(s, asio::buffer(out), use_awaitable);
    co_return out;
}

awaitable<void> write_bytes(tcp::socket& s, const Bytes& bytes) {
    co_await asio::async_write(s, asio::buffer(bytes), use_awaitable);
}

std::uint32_t be32(const Bytes& b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// IMEI (2-byte length), then AVL packets: 4 zero bytes, data length, codec, count, ..., CRC.
awaitable<void> teltonika_session(tcp::socket& s, Counts& counts) {
    const Bytes length = co_await read_bytes(s, 2);
    (void)co_await read_bytes(s, (std::size_t{length[0]} << 8) | length[1]);
    co_await write_bytes(s, ingest::teltonika::encode_login_reply(true));
    while (true) {
        const Bytes header = co_await read_bytes(s, 8);
        const std::uint32_t data_bytes = be32(header, 4);
        if (data_bytes < 3 || data_bytes > max_frame_bytes) {
            throw devices::ReplyError(
                "echo", "teltonika packet of " + std::to_string(data_bytes) + " data bytes");
        }
        const Bytes rest = co_await read_bytes(s, data_bytes + 4);
        const std::uint8_t count = rest[1];
        counts.answered(count);  // before the answer: a client may stop the server on it
        co_await write_bytes(s, ingest::teltonika::encode_ack(count));
    }
}

// 78 78 <length> <protocol> <content> <serial 2> <crc 2> 0D 0A; every frame gets its echo.
awaitable<void> gt06_session(tcp::socket& s, Counts& counts) {
    while (true) {
        const Bytes start = co_await read_bytes(s, 3);
        if (start[0] != 0x78 || start[1] != 0x78 || start[2] < 5) {
            throw devices::ReplyError("echo", "not a 78 78 gt06 frame");
        }
        const Bytes rest = co_await read_bytes(s, std::size_t{start[2]} + 2);
        const std::uint8_t protocol_number = rest[0];
        const std::size_t serial_at = rest.size() - 6;
        const auto serial =
            static_cast<std::uint16_t>((rest[serial_at] << 8) | rest[serial_at + 1]);
        if (protocol_number != 0x01) {
            counts.answered(1);
        }
        co_await write_bytes(s, ingest::gt06::encode_reply(protocol_number, serial));
    }
}

awaitable<proto::terminal::Frame> read_native(tcp::socket& s) {
    Bytes header;
    while (true) {
        header.push_back((co_await read_bytes(s, 1))[0]);
        if ((header.back() & 0x80U) == 0) {
            break;
        }
        if (header.size() == 5) {
            throw devices::ReplyError("echo", "native length varint longer than 5 bytes");
        }
    }
    std::size_t body_bytes = 0;
    for (std::size_t i = 0; i < header.size(); ++i) {
        body_bytes |= std::size_t{header[i] & 0x7FU} << (7 * i);
    }
    if (body_bytes > max_frame_bytes) {
        throw devices::ReplyError("echo",
                                  "native frame of " + std::to_string(body_bytes) + " bytes");
    }
    co_return devices::native::decode_frame(co_await read_bytes(s, body_bytes));
}

awaitable<void> native_session(tcp::socket& s, Counts& counts) {
    while (true) {
        const auto frame = co_await read_native(s);
        proto::terminal::Frame reply;
        if (frame.has_login()) {
            reply.mutable_login_result()->set_accepted(true);
        } else if (frame.has_positions()) {
            const auto n = static_cast<std::uint32_t>(frame.positions().positions_size());
            reply.mutable_ack()->set_batch_id(frame.positions().batch_id());
            reply.mutable_ack()->set_stored(n);
            counts.answered(n);
        } else {
            continue;
        }
        co_await write_bytes(s, devices::native::length_delimited(reply));
    }
}

awaitable<void> osmand_session(tcp::socket& s, Counts& counts) {
    boost::beast::flat_buffer buffer;
    while (true) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(max_frame_bytes);
        co_await http::async_read(s, buffer, parser, use_awaitable);
        http::response<http::empty_body> response{http::status::ok, 11};
        response.keep_alive(parser.get().keep_alive());
        response.prepare_payload();
        counts.answered(1);
        co_await http::async_write(s, response, use_awaitable);
        if (!response.keep_alive()) {
            co_return;
        }
    }
}

}  // namespace

struct EchoServer::State {
    State(Protocol p, unsigned n)
        : protocol(p), threads(std::max(1U, n)), io(static_cast<int>(threads)) {}

    awaitable<void> session(tcp::socket socket) {
        socket.set_option(tcp::no_delay(true));
        try {
            switch (protocol) {
                case Protocol::teltonika:
                    co_await teltonika_session(socket, counts);
                    break;
                case Protocol::gt06:
                    co_await gt06_session(socket, counts);
                    break;
                case Protocol::osmand:
                    co_await osmand_session(socket, counts);
                    break;
                case Protocol::native:
                    co_await native_session(socket, counts);
                    break;
            }
        } catch (const boost::system::system_error&) {
            // The client closed: the normal end of a session.
        } catch (const Error&) {
            counts.errors.fetch_add(1, std::memory_order_relaxed);
        }
    }

    awaitable<void> accept_loop() {
        while (true) {
            boost::system::error_code ec;
            tcp::socket socket = co_await acceptor->async_accept(
                asio::make_strand(io), asio::redirect_error(use_awaitable, ec));
            if (ec == asio::error::operation_aborted) {
                co_return;
            }
            if (ec) {
                // EMFILE and the like: back off a little and go on accepting.
                asio::steady_timer pause(io, std::chrono::milliseconds(50));
                co_await pause.async_wait(use_awaitable);
                continue;
            }
            counts.connections.fetch_add(1, std::memory_order_relaxed);
            auto executor = socket.get_executor();
            asio::co_spawn(executor, session(std::move(socket)), asio::detached);
        }
    }

    Protocol protocol;
    unsigned threads;
    Counts counts;  // before io: sessions still pending when io goes are destroyed with it
    asio::io_context io;
    std::optional<tcp::acceptor> acceptor;
};

EchoServer::EchoServer(Protocol protocol, const std::string& host, std::uint16_t port,
                       unsigned threads)
    : state_(std::make_unique<State>(protocol, threads)) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) {
        throw InputError("echo: '" + host + "' is not an IP address");
    }
    try {
        state_->acceptor.emplace(state_->io, tcp::endpoint(address, port));
    } catch (const boost::system::system_error& e) {
        throw InputError("echo: cannot listen on " + host + ":" + std::to_string(port) + ": " +
                         e.code().message());
    }
}

EchoServer::~EchoServer() = default;

std::uint16_t EchoServer::port() const {
    return state_->acceptor->local_endpoint().port();
}

EchoReport EchoServer::run(bool handle_signals) {
    asio::signal_set signals(state_->io);
    if (handle_signals) {
        signals.add(SIGINT);
        signals.add(SIGTERM);
        signals.async_wait([this](const boost::system::error_code& ec, int) {
            if (!ec) {
                stop();
            }
        });
    }
    asio::co_spawn(state_->io, state_->accept_loop(), asio::detached);
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < state_->threads; ++t) {
        threads.emplace_back([this] { state_->io.run(); });
    }
    state_->io.run();
    for (auto& t : threads) {
        t.join();
    }
    const Counts& c = state_->counts;
    return EchoReport{c.connections.load(), c.packets.load(), c.records.load(), c.errors.load()};
}

void EchoServer::stop() {
    state_->io.stop();
}

std::string echo_line(const EchoReport& r) {
    char line[256];
    std::snprintf(
        line, sizeof line, "fleetsim echo: connections=%llu packets=%llu records=%llu errors=%llu",
        static_cast<unsigned long long>(r.connections), static_cast<unsigned long long>(r.packets),
        static_cast<unsigned long long>(r.records), static_cast<unsigned long long>(r.errors));
    return line;
}

}  // namespace fleet::tools::fleetsim
