#include "ingest/listeners.hpp"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <list>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/gt06/handler.hpp"
#include "ingest/native/handler.hpp"
#include "ingest/osmand/decoder.hpp"
#include "ingest/teltonika/handler.hpp"

namespace fleet::ingest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

const std::map<std::string, std::function<std::unique_ptr<FrameHandler>()>>& tcp_protocols() {
    static const std::map<std::string, std::function<std::unique_ptr<FrameHandler>()>> all = {
        {"gt06", [] { return std::make_unique<gt06::Handler>(); }},
        {"native", [] { return std::make_unique<native::Handler>(); }},
        {"teltonika", [] { return std::make_unique<teltonika::Handler>(); }},
    };
    return all;
}

namespace {

/// Hands positions to the writer and resumes the coroutine, on its executor, after the commit.
template <typename Token>
auto async_store(PositionWriter& writer, ProtocolCounters& counters,
                 std::vector<StoredPosition> positions, Token&& token) {
    return asio::async_initiate<Token, void(WriteResult)>(
        [&writer, &counters](auto handler, std::vector<StoredPosition> positions) {
            auto executor = asio::get_associated_executor(handler);
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            Packet packet;
            packet.counters = &counters;
            packet.vehicle_id = positions.empty() ? 0 : positions.front().vehicle_id;
            packet.positions = std::move(positions);
            writer.submit(std::move(packet), [shared, executor](const WriteResult& result) {
                asio::post(executor, [shared, result] { (*shared)(result); });
            });
        },
        token, std::move(positions));
}

std::string peer_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return ec ? "unknown peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

struct Listeners::Impl {
    asio::io_context& ioc;
    ListenerConfig config;
    IngestServices services;
    std::map<std::string, std::unique_ptr<tcp::acceptor>> acceptors;
    // Open connections, counted per IP and closable at shutdown. Shared with the sessions: a
    // session's frame may be destroyed with the io_context, after the listeners are gone.
    struct Book {
        std::map<std::string, int> per_ip;
        std::uint64_t next_id = 0;
        std::map<std::uint64_t, std::function<void()>> closers;
    };
    std::shared_ptr<Book> book = std::make_shared<Book>();

    class Registration {
      public:
        Registration(std::shared_ptr<Book> book, std::string ip, std::function<void()> close)
            : book_(std::move(book)), ip_(std::move(ip)), id_(book_->next_id++) {
            book_->closers[id_] = std::move(close);
        }
        ~Registration() {
            book_->closers.erase(id_);
            if (--book_->per_ip[ip_] <= 0) {
                book_->per_ip.erase(ip_);
            }
        }
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;

      private:
        std::shared_ptr<Book> book_;
        std::string ip_;
        std::uint64_t id_;
    };

    awaitable<void> accept_loop(std::string protocol, tcp::acceptor& acceptor) {
        ProtocolCounters& counters = services.counters.protocol(protocol);
        asio::steady_timer backoff(ioc);
        for (;;) {
            boost::system::error_code ec;
            tcp::socket socket =
                co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            if (ec) {
                // EMFILE and friends: the loop survives; wait a little for descriptors to free.
                log::warn(protocol, "accept failed: " + ec.message());
                backoff.expires_after(std::chrono::milliseconds(100));
                co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            boost::system::error_code peer_ec;
            const std::string ip = socket.remote_endpoint(peer_ec).address().to_string();
            if (peer_ec || book->per_ip[ip] >= static_cast<int>(config.max_connections_per_ip)) {
                ++counters.connections_refused;
                socket.close(peer_ec);
                continue;
            }
            ++book->per_ip[ip];
            ++counters.connections_opened;
            if (protocol == "osmand") {
                asio::co_spawn(ioc, http_session(std::move(socket), ip, counters), asio::detached);
            } else {
                asio::co_spawn(
                    ioc,
                    tcp_session(std::move(socket), ip, tcp_protocols().at(protocol)(), counters),
                    asio::detached);
            }
        }
    }

    // A binary device connection: cut frames, decode, store, acknowledge after the commit.
    awaitable<void> tcp_session(tcp::socket socket, std::string ip,
                                std::unique_ptr<FrameHandler> handler, ProtocolCounters& counters) {
        struct Shared {
            tcp::socket socket;
            asio::steady_timer deadline;
            bool timed_out = false;
        };
        auto shared = std::make_shared<Shared>(Shared{std::move(socket), asio::steady_timer(ioc)});
        Registration registration(book, ip, [weak = std::weak_ptr<Shared>(shared)] {
            if (auto s = weak.lock()) {
                boost::system::error_code ignored;
                s->socket.close(ignored);
            }
        });
        ++counters.connections_active;
        const std::string peer = peer_of(shared->socket);
        const char* protocol = handler->protocol();
        std::optional<std::int64_t> vehicle;
        std::string device;
        std::vector<std::uint8_t> buffer;
        std::array<std::uint8_t, 4096> chunk;
        bool done = false;
        std::vector<Position> pending;
        // Commits the pending positions; false when the writer stopped without a database.
        auto store = [&](std::vector<Position>& positions) -> awaitable<bool> {
            if (positions.empty()) {
                co_return true;
            }
            auto prepared = services.pipeline.prepare(counters, *vehicle, std::move(positions),
                                                      services.clock());
            positions.clear();
            const WriteResult result =
                co_await async_store(services.writer, counters, std::move(prepared), use_awaitable);
            co_return result.committed;
        };
        try {
            while (!done) {
                while (auto length = handler->frame_length(buffer, config.max_frame_bytes)) {
                    const auto arrived = std::chrono::steady_clock::now();
                    ++counters.frames;
                    Step step = handler->on_frame(ByteView(buffer.data(), *length));
                    buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(*length));

                    if (step.login) {
                        device = *step.login;
                        const DeviceAnswer answer =
                            services.devices.resolve(device, protocol, peer);
                        if (answer.verdict == DeviceVerdict::accepted) {
                            vehicle = answer.vehicle_id;
                        } else {
                            vehicle.reset();
                        }
                        handler->set_logged_in(vehicle.has_value());
                        const Bytes reply = handler->login_reply(vehicle.has_value());
                        if (!reply.empty()) {
                            co_await asio::async_write(shared->socket, asio::buffer(reply),
                                                       use_awaitable);
                        }
                        if (!vehicle) {
                            ++counters.connections_refused;
                            counters.reject(Rejection::unknown_device);
                            log::info(protocol, std::string("refused ") +
                                                    to_string(answer.verdict) + " device " +
                                                    device + " from " + peer);
                            done = true;
                            break;
                        }
                    }
                    if (!step.positions.empty() || !step.receipts.empty()) {
                        if (!vehicle) {
                            throw DecodeError(protocol, DecodeFault::bad_value, 0,
                                              "data before a successful login");
                        }
                    }
                    // Positions of frames that need no answer (GT06 locations) wait in
                    // `pending` and are committed together, before the next answer or read.
                    pending.insert(pending.end(), std::make_move_iterator(step.positions.begin()),
                                   std::make_move_iterator(step.positions.end()));
                    if ((!step.reply.empty() || step.close) && !co_await store(pending)) {
                        done = true;  // stopping without a database: no acknowledgement
                        break;
                    }
                    for (const auto& receipt : step.receipts) {
                        if (services.on_receipt) {
                            services.on_receipt(*vehicle, receipt);
                        }
                    }
                    if (!step.reply.empty()) {
                        co_await asio::async_write(shared->socket, asio::buffer(step.reply),
                                                   use_awaitable);
                        counters.ack_latency.observe(std::chrono::steady_clock::now() - arrived);
                    }
                    if (step.close) {
                        done = true;
                        break;
                    }
                }
                if (done || !shared->socket.is_open() || !co_await store(pending)) {
                    break;
                }
                if (buffer.size() >= config.max_frame_bytes) {
                    throw DecodeError(
                        protocol, DecodeFault::oversized, 0,
                        "no complete frame in " + std::to_string(buffer.size()) + " bytes");
                }
                shared->deadline.expires_after(config.idle_timeout);
                shared->deadline.async_wait(
                    [weak = std::weak_ptr<Shared>(shared)](const boost::system::error_code& ec) {
                        if (auto s = weak.lock(); s && !ec) {
                            s->timed_out = true;
                            boost::system::error_code ignored;
                            s->socket.close(ignored);
                        }
                    });
                const std::size_t n =
                    co_await shared->socket.async_read_some(asio::buffer(chunk), use_awaitable);
                shared->deadline.cancel();
                buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
            }
        } catch (const DecodeError& e) {
            ++counters.malformed_frames;
            log::warn(protocol, "closing " + peer + (device.empty() ? "" : " (" + device + ")") +
                                    ": " + e.what());
        } catch (const DatabaseError& e) {
            log::warn(protocol, "closing " + peer + ": " + e.what());
        } catch (const InputError& e) {
            ++counters.malformed_frames;  // an identifier the registry cannot look up
            log::warn(protocol, "closing " + peer + ": " + e.what());
        } catch (const boost::system::system_error& e) {
            if (shared->timed_out) {
                ++counters.idle_timeouts;
            } else if (e.code() != asio::error::eof && e.code() != asio::error::operation_aborted &&
                       e.code() != asio::error::connection_reset) {
                log::debug(protocol, "connection " + peer + ": " + e.code().message());
            }
        }
        shared->deadline.cancel();
        boost::system::error_code ignored;
        shared->socket.close(ignored);
        --counters.connections_active;
    }

    // OsmAnd / Traccar Client: one position report per HTTP request, 200 only after the commit.
    awaitable<void> http_session(tcp::socket socket, std::string ip, ProtocolCounters& counters) {
        auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
        Registration registration(book, ip, [weak = std::weak_ptr<beast::tcp_stream>(stream)] {
            if (auto s = weak.lock()) {
                s->close();
            }
        });
        ++counters.connections_active;
        beast::flat_buffer buffer;
        try {
            for (;;) {
                stream->expires_after(config.idle_timeout);
                http::request_parser<http::string_body> parser;
                parser.body_limit(config.max_frame_bytes);
                co_await http::async_read(*stream, buffer, parser, use_awaitable);
                const auto arrived = std::chrono::steady_clock::now();
                ++counters.frames;
                auto& request = parser.get();
                http::response<http::string_body> response;
                response.version(request.version());
                response.keep_alive(request.keep_alive());
                response.set(http::field::content_type, "text/plain; charset=utf-8");
                response.result(co_await handle_osmand(request, response, counters, ip));
                response.prepare_payload();
                stream->expires_after(config.idle_timeout);
                co_await http::async_write(*stream, response, use_awaitable);
                if (response.result() == http::status::ok) {
                    counters.ack_latency.observe(std::chrono::steady_clock::now() - arrived);
                }
                if (!response.keep_alive()) {
                    break;
                }
            }
        } catch (const boost::system::system_error& e) {
            if (e.code() == beast::error::timeout) {
                ++counters.idle_timeouts;
            } else if (e.code() == http::error::body_limit ||
                       e.code() == http::error::header_limit) {
                ++counters.malformed_frames;
            }
        }
        boost::system::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream->close();
        --counters.connections_active;
    }

    awaitable<http::status> handle_osmand(const http::request<http::string_body>& request,
                                          http::response<http::string_body>& response,
                                          ProtocolCounters& counters, const std::string& peer) {
        osmand::Request decoded_request{
            std::string(request.method_string()), std::string(request.target()),
            std::string(request[http::field::content_type]), request.body()};
        osmand::Report report;
        try {
            report = osmand::decode(decoded_request, services.clock(), config.max_frame_bytes);
        } catch (const DecodeError& e) {
            ++counters.malformed_frames;
            response.body() = std::string(e.what()) + "\n";
            co_return e.fault() == DecodeFault::unsupported ? http::status::method_not_allowed
                                                            : http::status::bad_request;
        }
        std::optional<std::int64_t> vehicle;
        DeviceAnswer answer;
        try {
            answer = services.devices.resolve(report.device_id, "osmand", peer);
        } catch (const DatabaseError& e) {
            response.body() = "storage unavailable, retry later\n";
            co_return http::status::service_unavailable;
        } catch (const InputError& e) {
            ++counters.malformed_frames;
            response.body() = std::string(e.what()) + "\n";
            co_return http::status::bad_request;
        }
        if (answer.verdict == DeviceVerdict::accepted) {
            vehicle = answer.vehicle_id;
        }
        if (!vehicle) {
            ++counters.connections_refused;
            counters.reject(Rejection::unknown_device, report.positions.size());
            response.body() = answer.verdict == DeviceVerdict::wrong_protocol
                                  ? "device '" + report.device_id + "' is not an osmand device\n"
                                  : "unknown device '" + report.device_id + "'\n";
            co_return http::status::forbidden;
        }
        auto prepared = services.pipeline.prepare(counters, *vehicle, std::move(report.positions),
                                                  services.clock());
        const WriteResult result =
            co_await async_store(services.writer, counters, std::move(prepared), use_awaitable);
        if (!result.committed) {
            response.body() = "storage unavailable, retry later\n";
            co_return http::status::service_unavailable;
        }
        co_return http::status::ok;
    }
};

Listeners::Listeners(asio::io_context& ioc, ListenerConfig config, IngestServices services)
    : impl_(std::make_unique<Impl>(
          Impl{ioc, std::move(config), std::move(services), {}, std::make_shared<Impl::Book>()})) {}

Listeners::~Listeners() = default;

void Listeners::start() {
    auto& impl = *impl_;
    for (const auto& [protocol, endpoint] : impl.config.endpoints) {
        if (!endpoint.enabled) {
            log::info(protocol, "listener disabled");
            continue;
        }
        if (protocol != "osmand" && !tcp_protocols().contains(protocol)) {
            throw ConfigError(protocol + "-port", "no such protocol in this build");
        }
        const std::string where = impl.config.bind_address + ":" + std::to_string(endpoint.port);
        try {
            auto acceptor = std::make_unique<tcp::acceptor>(impl.ioc);
            const tcp::endpoint ep(asio::ip::make_address(impl.config.bind_address), endpoint.port);
            acceptor->open(ep.protocol());
            acceptor->set_option(tcp::acceptor::reuse_address(true));
            acceptor->bind(ep);
            acceptor->listen();
            log::info(protocol, "listening on " + impl.config.bind_address + ":" +
                                    std::to_string(acceptor->local_endpoint().port()) +
                                    (protocol == "osmand" ? " (HTTP)" : " (TCP)"));
            auto& ref = *acceptor;
            impl.acceptors[protocol] = std::move(acceptor);
            asio::co_spawn(impl.ioc, impl.accept_loop(protocol, ref), asio::detached);
        } catch (const boost::system::system_error& e) {
            throw Error(protocol + " listener: cannot listen on " + where + ": " +
                        e.code().message());
        }
    }
}

void Listeners::stop_accepting() {
    for (auto& [protocol, acceptor] : impl_->acceptors) {
        boost::system::error_code ignored;
        acceptor->close(ignored);
    }
}

void Listeners::close_connections() {
    auto closers = impl_->book->closers;  // closing erases entries later, not now; copy to be safe
    for (auto& [id, close] : closers) {
        close();
    }
}

std::map<std::string, std::uint16_t> Listeners::bound_ports() const {
    std::map<std::string, std::uint16_t> out;
    for (const auto& [protocol, acceptor] : impl_->acceptors) {
        boost::system::error_code ec;
        const auto ep = acceptor->local_endpoint(ec);
        if (!ec) {
            out[protocol] = ep.port();
        }
    }
    return out;
}

}  // namespace fleet::ingest
