#include "ingest/listeners.hpp"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/osmand/decoder.hpp"
#include "ingest/protocols.hpp"

namespace fleet::ingest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using SteadyClock = std::chrono::steady_clock;

std::map<std::string, Endpoint> ListenerConfig::default_endpoints() {
    std::map<std::string, Endpoint> out;
    for (const auto& p : protocols()) {
        out[std::string(p.name)] = {true, p.default_port};
    }
    return out;
}

namespace {

constexpr std::size_t max_inbox_messages = 16;  // OsmAnd messages waiting for a response

std::string peer_of(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    return ec ? "unknown peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

// A flood of refusals costs a counter, not a log line each: the first of a kind is logged at
// once, then at most one line a minute with the number since.
class RefusalLog {
  public:
    void note(std::string_view protocol, Refusal reason, const std::string& detail) {
        const auto now = SteadyClock::now();
        std::uint64_t suppressed = 0;
        {
            std::lock_guard lock(mutex_);
            auto& e = entries_[{std::string(protocol), reason}];
            if (e.logged && now - e.last < std::chrono::minutes(1)) {
                ++e.suppressed;
                return;
            }
            suppressed = std::exchange(e.suppressed, 0);
            e.last = now;
            e.logged = true;
        }
        log::warn(protocol, "refused (" + std::string(to_string(reason)) + "): " + detail +
                                (suppressed > 0 ? " (and " + std::to_string(suppressed) +
                                                      " more like it in the last minute)"
                                                : ""));
    }

  private:
    struct Entry {
        SteadyClock::time_point last{};
        std::uint64_t suppressed = 0;
        bool logged = false;
    };
    std::mutex mutex_;
    std::map<std::pair<std::string, Refusal>, Entry> entries_;
};

// Posts from other threads (the writer, the lookup pool, a downlink sender) into the network
// contexts, until the listeners close it: after that nothing more is posted, so the contexts
// may be destroyed.
class Gate {
  public:
    template <typename Executor, typename F>
    bool post(const Executor& executor, F&& f) {
        std::lock_guard lock(mutex_);
        if (!open_) {
            return false;
        }
        asio::post(executor, std::forward<F>(f));
        return true;
    }
    void close() {
        std::lock_guard lock(mutex_);
        open_ = false;
    }

  private:
    std::mutex mutex_;
    bool open_ = true;
};

}  // namespace

struct Listeners::Impl {
    ListenerConfig config;
    IngestServices services;
    std::shared_ptr<Gate> gate = std::make_shared<Gate>();
    std::shared_ptr<std::atomic<std::size_t>> pending_lookups =
        std::make_shared<std::atomic<std::size_t>>(0);
    std::atomic<bool> draining{false};
    std::atomic<std::size_t> next_context{0};
    RefusalLog refusals;

    // One device connection, of any protocol. Its members are touched only on its own
    // context's thread; other threads reach it through the gate.
    struct Connection {
        Connection(tcp::socket s, const ProtocolInfo& p, ProtocolCounters& c, std::string address)
            : socket(std::move(s)),
              idle(socket.get_executor()),
              wait(socket.get_executor()),
              protocol(p),
              counters(c),
              ip(std::move(address)),
              peer(peer_of(socket)) {}

        tcp::socket socket;
        asio::steady_timer idle;  // closes the socket when a read waits too long
        asio::steady_timer wait;  // a database wait (lookup, commit) ends on it
        const ProtocolInfo& protocol;
        ProtocolCounters& counters;
        std::string ip;
        std::string peer;
        std::uint64_t id = 0;
        std::optional<std::int64_t> vehicle;
        std::string device;
        std::unique_ptr<FrameHandler> handler;  // tcp protocols
        bool reading = false;                   // blocked in a read: a stop closes it at once
        bool timed_out = false;
        std::uint16_t downlink_serial = 1;

        // The outcome of the current database wait.
        bool waited_done = false;
        WriteResult commit;
        std::optional<DeviceAnswer> answer;
        std::string lookup_failure;
        bool lookup_bad_input = false;

        // One write in flight; replies and downlink messages in order.
        struct Outgoing {
            Bytes bytes;
            std::function<void(bool written)> done;
        };
        std::deque<Outgoing> outbox;
        bool writing = false;

        void close() {
            boost::system::error_code ignored;
            socket.close(ignored);
            idle.cancel();
            wait.cancel();
        }
    };

    // A connection's place in the book of open connections, for the caps, the downlink and the
    // stop; released when its session ends.
    class Registration {
      public:
        Registration(Impl& impl, std::uint64_t id, std::string ip)
            : impl_(impl), id_(id), ip_(std::move(ip)) {}
        ~Registration() { impl_.release(id_, ip_); }
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;

      private:
        Impl& impl_;
        std::uint64_t id_;
        std::string ip_;
    };

    mutable std::mutex book_mutex;
    std::condition_variable book_changed;
    std::size_t open = 0;
    std::map<std::string, std::size_t> per_ip;
    std::uint64_t next_id = 1;
    std::map<std::uint64_t, std::weak_ptr<Connection>> connections;
    std::map<std::int64_t, std::uint64_t> by_vehicle;  // the newest connection of a vehicle
    struct Inbox {                                     // OsmAnd: for the next response
        SteadyClock::time_point seen{};
        std::deque<std::pair<std::string, std::function<void(DownlinkResult)>>> messages;
    };
    std::map<std::int64_t, Inbox> inboxes;

    std::map<std::string, std::unique_ptr<tcp::acceptor>> acceptors;
    std::vector<std::thread> threads;
    // Destroyed first (members go in reverse order), while the book above still exists for the
    // sessions whose frames go with them.
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;

    Impl(ListenerConfig c, IngestServices s) : config(std::move(c)), services(std::move(s)) {
        const unsigned n = config.threads != 0 ? config.threads
                                               : std::max(1U, std::thread::hardware_concurrency());
        for (unsigned i = 0; i < n; ++i) {
            contexts.push_back(std::make_unique<asio::io_context>(1));
            guards.push_back(asio::make_work_guard(*contexts.back()));
        }
    }

    ~Impl() {
        stop_threads();
        gate->close();
        // The acceptors are bound to the first context: they go before the contexts do
        // (declared earlier, they would otherwise be destroyed after them).
        acceptors.clear();
    }

    void stop_threads() {
        guards.clear();
        for (auto& c : contexts) {
            c->stop();
        }
        for (auto& t : threads) {
            if (t.joinable()) {
                t.join();
            }
        }
        threads.clear();
    }

    void release(std::uint64_t id, const std::string& ip) {
        {
            std::lock_guard lock(book_mutex);
            connections.erase(id);
            if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second == 0) {
                per_ip.erase(it);
            }
            --open;
            for (auto it = by_vehicle.begin(); it != by_vehicle.end();) {
                it = it->second == id ? by_vehicle.erase(it) : std::next(it);
            }
        }
        book_changed.notify_all();
    }

    void refuse(ProtocolCounters& counters, std::string_view protocol, Refusal reason,
                const std::string& detail) {
        counters.refuse(reason);
        refusals.note(protocol, reason, detail);
    }

    // Runs a session; what escapes it is logged and counted, never lost silently.
    template <typename Session>
    void spawn(asio::io_context& context, Session session, ProtocolCounters& counters,
               std::string_view protocol) {
        asio::co_spawn(context, std::move(session),
                       [&counters, protocol](const std::exception_ptr& escaped) {
                           if (!escaped) {
                               return;
                           }
                           ++counters.session_failures;
                           try {
                               std::rethrow_exception(escaped);
                           } catch (const std::exception& e) {
                               log::error(protocol, std::string("session failed: ") + e.what());
                           } catch (...) {
                               log::error(protocol, "session failed with an unknown exception");
                           }
                       });
    }

    awaitable<void> accept_loop(const ProtocolInfo& protocol, tcp::acceptor& acceptor) {
        ProtocolCounters& counters = services.counters.protocol(std::string(protocol.name));
        asio::steady_timer backoff(acceptor.get_executor());
        for (;;) {
            asio::io_context& context = *contexts[next_context++ % contexts.size()];
            boost::system::error_code ec;
            tcp::socket socket =
                co_await acceptor.async_accept(context, asio::redirect_error(use_awaitable, ec));
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                co_return;
            }
            if (ec) {
                // EMFILE and friends: the loop survives; wait a little for descriptors to free.
                log::warn(protocol.name, "accept failed: " + ec.message());
                backoff.expires_after(std::chrono::milliseconds(100));
                co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
                continue;
            }
            boost::system::error_code peer_ec;
            const std::string ip = socket.remote_endpoint(peer_ec).address().to_string();
            std::optional<Refusal> refused;
            std::uint64_t id = 0;
            {
                std::lock_guard lock(book_mutex);
                if (peer_ec || draining) {
                    refused = Refusal::connection_cap;
                } else if (open >= config.max_connections) {
                    refused = Refusal::connection_cap;
                } else if (per_ip[ip] >= config.max_connections_per_ip) {
                    refused = Refusal::per_address_cap;
                } else {
                    ++open;
                    ++per_ip[ip];
                    id = next_id++;
                }
                if (refused && per_ip.contains(ip) && per_ip[ip] == 0) {
                    per_ip.erase(ip);
                }
            }
            if (refused) {
                refuse(counters, protocol.name, *refused,
                       "connection from " + ip + " over the cap of " +
                           std::to_string(*refused == Refusal::per_address_cap
                                              ? config.max_connections_per_ip
                                              : config.max_connections));
                socket.close(peer_ec);
                continue;
            }
            ++counters.connections_opened;
            auto registration = std::make_unique<Registration>(*this, id, ip);
            auto connection =
                std::make_shared<Connection>(std::move(socket), protocol, counters, ip);
            connection->id = id;
            {
                std::lock_guard lock(book_mutex);
                connections[id] = connection;
            }
            if (protocol.transport == Transport::http) {
                spawn(context, http_session(connection, std::move(registration)), counters,
                      protocol.name);
            } else {
                connection->handler = protocol.make_handler();
                spawn(context, tcp_session(connection, std::move(registration)), counters,
                      protocol.name);
            }
        }
    }

    // ---- writes: one in flight per connection ----------------------------------------------

    void enqueue(const std::shared_ptr<Connection>& c, Bytes bytes,
                 std::function<void(bool)> done) {
        c->outbox.push_back({std::move(bytes), std::move(done)});
        if (!c->writing) {
            write_next(c);
        }
    }

    void write_next(const std::shared_ptr<Connection>& c) {
        c->writing = true;
        asio::async_write(c->socket, asio::buffer(c->outbox.front().bytes),
                          [this, c](const boost::system::error_code& ec, std::size_t) {
                              auto done = std::move(c->outbox.front().done);
                              c->outbox.pop_front();
                              c->writing = false;
                              if (ec) {
                                  c->close();
                                  // What was queued behind cannot be written either.
                                  for (auto& o : std::exchange(c->outbox, {})) {
                                      if (o.done) {
                                          o.done(false);
                                      }
                                  }
                              } else if (!c->outbox.empty()) {
                                  write_next(c);
                              }
                              if (done) {
                                  done(!ec);
                              }
                          });
    }

    // Writes `bytes` after whatever is queued; resumes with whether it was written.
    template <typename Token>
    auto async_send(std::shared_ptr<Connection> c, Bytes bytes, Token&& token) {
        return asio::async_initiate<Token, void(bool)>(
            [this](auto handler, std::shared_ptr<Connection> c, Bytes bytes) {
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                auto executor = c->socket.get_executor();
                enqueue(c, std::move(bytes), [shared, executor](bool written) {
                    asio::post(executor, [shared, written] { (*shared)(written); });
                });
            },
            token, std::move(c), std::move(bytes));
    }

    // ---- database waits, never on this thread ----------------------------------------------

    struct LookUp {
        std::optional<std::int64_t> vehicle{};  ///< empty: refused (counted and logged)
        bool retry_later = false;               ///< refused for want of a database, not for cause
        std::string bad_input{};                ///< an identifier no device can have: why
    };

    // The device's vehicle, from the registry's memory or from a lookup on the worker pool
    // awaited at most database_wait.
    awaitable<LookUp> look_up(std::shared_ptr<Connection> c, std::string device) {
        const std::string protocol(c->protocol.name);
        std::optional<DeviceAnswer> answer = services.devices.cached(device, protocol);
        if (!answer) {
            if (pending_lookups->load() >= config.max_pending_lookups) {
                refuse(c->counters, protocol, Refusal::lookups_busy,
                       "device " + device + " from " + c->peer + ": " +
                           std::to_string(config.max_pending_lookups) +
                           " device lookups are waiting for the database");
                co_return LookUp{std::nullopt, true};
            }
            ++*pending_lookups;
            c->waited_done = false;
            c->answer.reset();
            c->lookup_failure.clear();
            c->lookup_bad_input = false;
            c->wait.expires_after(config.database_wait);
            asio::post(services.lookups, [&devices = services.devices, gate = gate,
                                          pending = pending_lookups, c, device, protocol] {
                std::optional<DeviceAnswer> found;
                std::string failure;
                bool bad_input = false;
                try {
                    found = devices.resolve(device, protocol, c->ip);
                } catch (const InputError& e) {
                    failure = e.what();
                    bad_input = true;
                } catch (const Error& e) {
                    failure = e.what();
                }
                --*pending;
                gate->post(c->socket.get_executor(), [c, found, failure, bad_input] {
                    c->waited_done = true;
                    c->answer = found;
                    c->lookup_failure = failure;
                    c->lookup_bad_input = bad_input;
                    c->wait.cancel();
                });
            });
            boost::system::error_code ec;
            co_await c->wait.async_wait(asio::redirect_error(use_awaitable, ec));
            if (c->waited_done && c->lookup_bad_input) {
                ++c->counters.malformed_frames;
                log::warn(protocol, "closing " + c->peer + ": " + c->lookup_failure);
                co_return LookUp{std::nullopt, false, c->lookup_failure};
            }
            if (!c->waited_done || !c->answer) {
                refuse(c->counters, protocol, Refusal::database_unavailable,
                       "device " + device + " from " + c->peer + ": " +
                           (c->waited_done ? c->lookup_failure : "no answer from the database"));
                co_return LookUp{std::nullopt, true};
            }
            answer = c->answer;
        }
        switch (answer->verdict) {
            case DeviceVerdict::accepted:
                co_return LookUp{answer->vehicle_id, false};
            case DeviceVerdict::wrong_protocol:
                refuse(c->counters, protocol, Refusal::wrong_protocol,
                       "device " + device + " from " + c->peer +
                           " is registered for another "
                           "protocol");
                break;
            case DeviceVerdict::unknown:
                c->counters.reject(Rejection::unknown_device);
                refuse(c->counters, protocol, Refusal::unknown_device,
                       "unknown device " + device + " from " + c->peer);
                break;
        }
        co_return LookUp{};
    }

    // Hands a packet to the writer and waits for its commit at most database_wait. True when
    // committed; otherwise the refusal is counted and the connection must close unanswered.
    awaitable<bool> commit(std::shared_ptr<Connection> c, Packet packet) {
        c->waited_done = false;
        c->wait.expires_after(config.database_wait);
        const auto ticket =
            services.writer.submit(std::move(packet), [gate = gate, c](const WriteResult& result) {
                gate->post(c->socket.get_executor(), [c, result] {
                    c->waited_done = true;
                    c->commit = result;
                    c->wait.cancel();
                });
            });
        boost::system::error_code ec;
        co_await c->wait.async_wait(asio::redirect_error(use_awaitable, ec));
        const std::string protocol(c->protocol.name);
        if (!c->waited_done) {
            // The device resends; if the packet is being committed now it is stored twice,
            // which the key absorbs.
            services.writer.cancel(ticket);
            if (!draining) {
                refuse(c->counters, protocol, Refusal::commit_timeout,
                       c->peer + (c->device.empty() ? "" : " (" + c->device + ")") +
                           ": no commit within " + std::to_string(config.database_wait.count()) +
                           " ms");
            }
            co_return false;
        }
        if (c->commit.refused) {
            refuse(c->counters, protocol, Refusal::writer_full,
                   c->peer + ": the writer's queue is full (the database is slow or away)");
        }
        co_return c->commit.committed;
    }

    // ---- binary device protocols ------------------------------------------------------------

    // Cut frames, decode, store, acknowledge after the commit.
    awaitable<void> tcp_session(std::shared_ptr<Connection> c,
                                std::unique_ptr<Registration> registration) {
        // Held for the session's life: its place in the book and in the gauges.
        const auto held = std::move(registration);
        const ActiveConnection active(c->counters);
        const std::string protocol(c->protocol.name);
        FrameHandler& handler = *c->handler;
        std::vector<std::uint8_t> buffer;
        std::array<std::uint8_t, 4096> chunk;
        // What the complete frames in the buffer carry is committed together, then their replies
        // go out in order: a burst of GT06 locations costs one commit, not one each.
        std::vector<Position> pending;
        std::optional<DeviceStatus> pending_status;
        Bytes raw;
        auto store = [&]() -> awaitable<bool> {
            if (pending.empty() && !pending_status) {
                co_return true;
            }
            Packet packet;
            packet.counters = &c->counters;
            packet.vehicle_id = *c->vehicle;
            packet.protocol = protocol;
            packet.device = c->device;
            packet.raw = std::make_shared<const Bytes>(std::exchange(raw, {}));
            packet.positions = services.pipeline.prepare(
                c->counters, *c->vehicle, std::exchange(pending, {}), services.clock());
            packet.status = std::exchange(pending_status, std::nullopt);
            if (packet.positions.empty() && !packet.status) {
                co_return true;  // all rejected: answered, since resending cannot mend them
            }
            co_return co_await commit(c, std::move(packet));
        };
        Bytes replies;  // of the frames in `pending`, in order
        std::vector<SteadyClock::time_point> arrivals;
        auto flush = [&]() -> awaitable<bool> {
            if (!co_await store()) {
                co_return false;  // no commit: no acknowledgement, the device resends
            }
            if (replies.empty()) {
                co_return true;
            }
            if (!co_await async_send(c, std::exchange(replies, {}), use_awaitable)) {
                co_return false;
            }
            const auto now = SteadyClock::now();
            for (const auto at : std::exchange(arrivals, {})) {
                c->counters.ack_latency.observe(now - at);
            }
            co_return true;
        };
        bool done = false;
        try {
            while (!done) {
                while (auto length = handler.frame_length(buffer, config.max_frame_bytes)) {
                    const auto arrived = SteadyClock::now();
                    ++c->counters.frames;
                    const ByteView frame(buffer.data(), *length);
                    Step step = handler.on_frame(frame);
                    if (step.login) {
                        if (!co_await flush()) {
                            done = true;
                            break;
                        }
                        c->device = *step.login;
                        const LookUp found = co_await look_up(c, c->device);
                        if (found.retry_later) {
                            done = true;  // no answer at all: the device tries again later
                            break;
                        }
                        c->vehicle = found.vehicle;
                        handler.set_logged_in(c->vehicle.has_value());
                        if (c->vehicle) {
                            std::lock_guard lock(book_mutex);
                            by_vehicle[*c->vehicle] = c->id;
                        }
                        const Bytes reply = handler.login_reply(c->vehicle.has_value());
                        bool replied = true;
                        if (!reply.empty()) {
                            replied = co_await async_send(c, reply, use_awaitable);
                        }
                        if (!c->vehicle) {
                            done = true;
                            break;
                        }
                        if (replied && services.on_connected) {
                            services.on_connected(*c->vehicle);
                        }
                    }
                    if ((!step.positions.empty() || step.status || !step.receipts.empty()) &&
                        !c->vehicle) {
                        throw DecodeError(protocol, DecodeFault::bad_value, 0,
                                          "data before a successful login");
                    }
                    if (!step.positions.empty() || step.status) {
                        raw.insert(raw.end(), frame.begin(), frame.end());
                        pending.insert(pending.end(),
                                       std::make_move_iterator(step.positions.begin()),
                                       std::make_move_iterator(step.positions.end()));
                        if (step.status) {
                            pending_status = std::move(step.status);
                        }
                    }
                    buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(*length));
                    for (const auto& receipt : step.receipts) {
                        ++c->counters.receipts;
                        if (services.on_receipt) {
                            services.on_receipt(*c->vehicle, receipt);
                        }
                    }
                    if (!step.reply.empty()) {
                        replies.insert(replies.end(), step.reply.begin(), step.reply.end());
                        arrivals.push_back(arrived);
                    }
                    if (step.close) {
                        done = true;
                        break;
                    }
                }
                if (!co_await flush() || done || !c->socket.is_open() || draining) {
                    break;  // stopping: what was received is answered; nothing more is read
                }
                if (buffer.size() >= config.max_frame_bytes) {
                    throw DecodeError(
                        protocol, DecodeFault::oversized, 0,
                        "no complete frame in " + std::to_string(buffer.size()) + " bytes");
                }
                const std::size_t n = co_await read_some(c, asio::buffer(chunk));
                buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
            }
        } catch (const DecodeError& e) {
            ++c->counters.malformed_frames;
            log::warn(protocol, "closing " + c->peer +
                                    (c->device.empty() ? "" : " (" + c->device + ")") + ": " +
                                    e.what());
        } catch (const boost::system::system_error& e) {
            note_closed(*c, e.code());
        }
        c->close();
    }

    // Reads with the idle deadline; a stop closes a connection blocked here at once.
    template <typename Buffer>
    awaitable<std::size_t> read_some(const std::shared_ptr<Connection>& c, Buffer buffer) {
        arm_idle(c);
        c->reading = true;
        boost::system::error_code ec;
        const std::size_t n =
            co_await c->socket.async_read_some(buffer, asio::redirect_error(use_awaitable, ec));
        c->reading = false;
        c->idle.cancel();
        if (ec) {
            throw boost::system::system_error(ec);
        }
        co_return n;
    }

    void arm_idle(const std::shared_ptr<Connection>& c) {
        c->idle.expires_after(config.idle_timeout);
        c->idle.async_wait(
            [weak = std::weak_ptr<Connection>(c)](const boost::system::error_code& ec) {
                if (auto s = weak.lock(); s && !ec) {
                    s->timed_out = true;
                    boost::system::error_code ignored;
                    s->socket.close(ignored);
                }
            });
    }

    void note_closed(Connection& c, const boost::system::error_code& ec) {
        if (c.timed_out) {
            ++c.counters.idle_timeouts;
        } else if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
                   ec != asio::error::connection_reset && ec != asio::error::bad_descriptor) {
            log::debug(c.protocol.name, "connection " + c.peer + ": " + ec.message());
        }
    }

    // ---- OsmAnd / Traccar Client over HTTP ---------------------------------------------------

    // One position report per request, 200 only after the commit.
    awaitable<void> http_session(std::shared_ptr<Connection> c,
                                 std::unique_ptr<Registration> registration) {
        const auto held = std::move(registration);
        const ActiveConnection active(c->counters);
        beast::flat_buffer buffer;
        try {
            while (!draining) {
                http::request_parser<http::string_body> parser;
                parser.body_limit(config.max_frame_bytes);
                parser.header_limit(static_cast<std::uint32_t>(
                    std::min<std::size_t>(config.max_frame_bytes, 16384)));
                arm_idle(c);
                c->reading = true;
                boost::system::error_code ec;
                co_await http::async_read(c->socket, buffer, parser,
                                          asio::redirect_error(use_awaitable, ec));
                c->reading = false;
                c->idle.cancel();
                if (ec == http::error::body_limit || ec == http::error::header_limit) {
                    ++c->counters.malformed_frames;
                    co_await respond(c, 11, false, http::status::payload_too_large,
                                     "request larger than " +
                                         std::to_string(config.max_frame_bytes) + " bytes\n");
                    break;
                }
                if (ec) {
                    if (ec != http::error::end_of_stream && ec != http::error::partial_message) {
                        ++c->counters.malformed_frames;
                    }
                    note_closed(*c, ec);
                    break;
                }
                const auto arrived = SteadyClock::now();
                ++c->counters.frames;
                auto& request = parser.get();
                std::string body;
                const auto status = co_await handle_osmand(c, request, body);
                const bool keep_alive = request.keep_alive() && !draining &&
                                        status != http::status::service_unavailable &&
                                        status != http::status::forbidden;
                if (status == http::status::ok && c->vehicle) {
                    body += take_inbox(*c->vehicle);
                }
                if (!co_await respond(c, request.version(), keep_alive, status, body)) {
                    break;
                }
                if (status == http::status::ok) {
                    c->counters.ack_latency.observe(SteadyClock::now() - arrived);
                }
                if (!keep_alive) {
                    break;
                }
            }
        } catch (const boost::system::system_error& e) {
            note_closed(*c, e.code());
        }
        boost::system::error_code ignored;
        c->socket.shutdown(tcp::socket::shutdown_send, ignored);
        c->close();
    }

    awaitable<bool> respond(std::shared_ptr<Connection> c, unsigned version, bool keep_alive,
                            http::status status, std::string body) {
        http::response<http::string_body> response{status, version};
        response.keep_alive(keep_alive);
        response.set(http::field::content_type, "text/plain; charset=utf-8");
        response.body() = std::move(body);
        response.prepare_payload();
        std::ostringstream out;
        out << response;
        const std::string text = out.str();
        co_return co_await async_send(c, Bytes(text.begin(), text.end()), use_awaitable);
    }

    awaitable<http::status> handle_osmand(std::shared_ptr<Connection> c,
                                          const http::request<http::string_body>& request,
                                          std::string& body) {
        osmand::Request decoded_request{
            std::string(request.method_string()), std::string(request.target()),
            std::string(request[http::field::content_type]), request.body()};
        osmand::Report report;
        try {
            report = osmand::decode(decoded_request, services.clock(), config.max_frame_bytes);
        } catch (const DecodeError& e) {
            ++c->counters.malformed_frames;
            body = std::string(e.what()) + "\n";
            co_return e.fault() == DecodeFault::unsupported ? http::status::method_not_allowed
                                                            : http::status::bad_request;
        }
        const LookUp found = co_await look_up(c, report.device_id);
        if (!found.bad_input.empty()) {
            body = found.bad_input + "\n";
            co_return http::status::bad_request;
        }
        if (found.retry_later) {
            body = "storage unavailable, retry later\n";
            co_return http::status::service_unavailable;
        }
        if (!found.vehicle) {
            body = "unknown device '" + report.device_id + "'\n";
            co_return http::status::forbidden;
        }
        const auto vehicle = found.vehicle;
        c->vehicle = vehicle;
        c->device = report.device_id;
        bool returned = false;  // no live inbox: first seen, or silent for the idle timeout
        {
            std::lock_guard lock(book_mutex);
            const auto now = SteadyClock::now();
            auto [inbox, added] = inboxes.try_emplace(*vehicle);
            returned = added || now - inbox->second.seen >= config.idle_timeout;
            inbox->second.seen = now;
        }
        // After the inbox is live: what the hook sends waits there for the next response.
        if (returned && services.on_connected) {
            services.on_connected(*vehicle);
        }
        Packet packet;
        packet.counters = &c->counters;
        packet.vehicle_id = *vehicle;
        packet.protocol = "osmand";
        packet.device = report.device_id;
        const std::string raw = decoded_request.target + "\n" + decoded_request.body;
        packet.raw = std::make_shared<Bytes>(raw.begin(), raw.end());
        packet.positions = services.pipeline.prepare(c->counters, *vehicle,
                                                     std::move(report.positions), services.clock());
        if (packet.positions.empty()) {
            co_return http::status::ok;  // rejected records are answered: resending cannot help
        }
        if (!co_await commit(c, std::move(packet))) {
            body = "storage unavailable, retry later\n";
            co_return http::status::service_unavailable;
        }
        co_return http::status::ok;
    }

    // The messages waiting for an OsmAnd device, one line each, for the body of a response.
    std::string take_inbox(std::int64_t vehicle) {
        std::deque<std::pair<std::string, std::function<void(DownlinkResult)>>> messages;
        {
            std::lock_guard lock(book_mutex);
            auto it = inboxes.find(vehicle);
            if (it == inboxes.end()) {
                return "";
            }
            messages = std::exchange(it->second.messages, {});
        }
        std::string out;
        for (auto& [text, done] : messages) {
            out += text + "\n";
            if (done) {
                done(DownlinkResult::written);
            }
        }
        return out;
    }

    // ---- downlink ---------------------------------------------------------------------------

    void send(std::int64_t vehicle, DownlinkMessage message,
              std::function<void(DownlinkResult)> done) {
        std::shared_ptr<Connection> c;
        {
            std::lock_guard lock(book_mutex);
            if (auto it = by_vehicle.find(vehicle); it != by_vehicle.end()) {
                if (auto found = connections.find(it->second); found != connections.end()) {
                    c = found->second.lock();
                }
            }
            if (!c) {
                auto inbox = inboxes.find(vehicle);
                if (inbox != inboxes.end() &&
                    SteadyClock::now() - inbox->second.seen < config.idle_timeout) {
                    if (inbox->second.messages.size() >= max_inbox_messages) {
                        done(DownlinkResult::failed);  // the device does not come to fetch
                        return;
                    }
                    inbox->second.messages.emplace_back(message.text, std::move(done));
                    return;
                }
            }
        }
        if (!c) {
            done(DownlinkResult::not_connected);
            return;
        }
        auto shared_done = std::make_shared<std::function<void(DownlinkResult)>>(std::move(done));
        const bool posted = gate->post(
            c->socket.get_executor(), [this, c, message = std::move(message), shared_done] {
                if (!c->socket.is_open()) {
                    (*shared_done)(DownlinkResult::not_connected);
                    return;
                }
                std::optional<Bytes> bytes;
                if (c->protocol.encode_downlink) {
                    bytes = c->protocol.encode_downlink(message, c->downlink_serial++);
                }
                if (!bytes) {
                    (*shared_done)(DownlinkResult::unsupported);
                    return;
                }
                // Before the bytes can reach the device, so that its answer finds the message
                // outstanding.
                if (c->handler) {
                    c->handler->on_downlink(message);
                }
                enqueue(c, std::move(*bytes), [c, shared_done](bool written) {
                    ++(written ? c->counters.downlink_written : c->counters.downlink_failed);
                    (*shared_done)(written ? DownlinkResult::written : DownlinkResult::failed);
                });
            });
        if (!posted) {
            (*shared_done)(DownlinkResult::not_connected);
        }
    }

    // ---- stopping ---------------------------------------------------------------------------

    // Every open connection, to act on it on its own thread.
    std::vector<std::shared_ptr<Connection>> open_connections() {
        std::vector<std::shared_ptr<Connection>> out;
        std::lock_guard lock(book_mutex);
        for (const auto& [id, weak] : connections) {
            if (auto c = weak.lock()) {
                out.push_back(std::move(c));
            }
        }
        return out;
    }
};

Listeners::Listeners(ListenerConfig config, IngestServices services)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(services))) {}

Listeners::~Listeners() = default;

void Listeners::start() {
    auto& impl = *impl_;
    for (const auto& [name, endpoint] : impl.config.endpoints) {
        const ProtocolInfo* protocol = find_protocol(name);
        for (const auto& extra : impl.config.extra_protocols) {
            if (extra.name == name) {
                protocol = &extra;
            }
        }
        if (protocol == nullptr) {
            throw ConfigError(name + "-port", "no such protocol in this build");
        }
        if (!endpoint.enabled) {
            log::info(name, "listener disabled");
            continue;
        }
        const std::string where = impl.config.bind_address + ":" + std::to_string(endpoint.port);
        try {
            auto acceptor = std::make_unique<tcp::acceptor>(*impl.contexts.front());
            const tcp::endpoint ep(asio::ip::make_address(impl.config.bind_address), endpoint.port);
            acceptor->open(ep.protocol());
            acceptor->set_option(tcp::acceptor::reuse_address(true));
            acceptor->bind(ep);
            acceptor->listen(asio::socket_base::max_listen_connections);
            log::info(name, "listening on " + impl.config.bind_address + ":" +
                                std::to_string(acceptor->local_endpoint().port()) +
                                (protocol->transport == Transport::http ? " (HTTP)" : " (TCP)"));
            auto& ref = *acceptor;
            impl.acceptors[name] = std::move(acceptor);
            impl.spawn(*impl.contexts.front(), impl.accept_loop(*protocol, ref),
                       impl.services.counters.protocol(name), protocol->name);
        } catch (const boost::system::system_error& e) {
            throw Error(name + " listener: cannot listen on " + where + ": " + e.code().message());
        }
    }
    for (auto& context : impl.contexts) {
        impl.threads.emplace_back([&context] { context->run(); });
    }
}

void Listeners::stop_accepting() {
    auto& impl = *impl_;
    impl.draining = true;
    for (auto& [protocol, acceptor] : impl.acceptors) {
        asio::post(acceptor->get_executor(), [&a = *acceptor] {
            boost::system::error_code ignored;
            a.close(ignored);
        });
    }
    // Connections blocked in a read close now; the others once they have answered.
    for (auto& c : impl.open_connections()) {
        impl.gate->post(c->socket.get_executor(), [c] {
            if (c->reading) {
                c->close();
            }
        });
    }
}

void Listeners::drain(std::chrono::steady_clock::time_point deadline) {
    auto& impl = *impl_;
    if (!impl.draining) {
        stop_accepting();
    }
    {
        std::unique_lock lock(impl.book_mutex);
        impl.book_changed.wait_until(lock, deadline, [&] { return impl.open == 0; });
    }
    // What is left is closed: a connection waiting for a commit goes unanswered (its device
    // resends); then the threads stop once the sessions have ended, or after a short grace.
    for (auto& c : impl.open_connections()) {
        impl.gate->post(c->socket.get_executor(), [c] { c->close(); });
    }
    {
        std::unique_lock lock(impl.book_mutex);
        impl.book_changed.wait_for(lock, std::chrono::milliseconds(500),
                                   [&] { return impl.open == 0; });
    }
    impl.stop_threads();
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

std::size_t Listeners::open_connections() const {
    std::lock_guard lock(impl_->book_mutex);
    return impl_->open;
}

void Listeners::disconnect_devices(const std::vector<std::string>& identifiers) {
    if (identifiers.empty()) {
        return;
    }
    auto wanted =
        std::make_shared<const std::set<std::string>>(identifiers.begin(), identifiers.end());
    for (auto& c : impl_->open_connections()) {
        // The device's identifier belongs to the connection's own thread.
        impl_->gate->post(c->socket.get_executor(), [c, wanted] {
            if (!c->device.empty() && wanted->contains(c->device)) {
                log::info(c->protocol.name,
                          "closing " + c->peer + " (" + c->device +
                              "): the device was moved or removed in the register");
                c->close();
            }
        });
    }
}

void Listeners::send(std::int64_t vehicle_id, DownlinkMessage message,
                     std::function<void(DownlinkResult)> done) {
    impl_->send(vehicle_id, std::move(message), std::move(done));
}

}  // namespace fleet::ingest
