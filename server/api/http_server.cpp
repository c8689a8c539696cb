// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "server/api/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <deque>
#include <limits>
#include <list>
#include <thread>
#include <unordered_map>

#include "geo/log.hpp"
#include "geo/metrics.hpp"

namespace fleet::server::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

// ---- database threads

struct DatabaseThreads::Impl {
    Impl(const geo::ConnectionFactory& f, unsigned n) : factory(f), pool(n) {}
    geo::ConnectionFactory factory;
    asio::thread_pool pool;
    std::mutex mutex;
    std::vector<std::unique_ptr<pqxx::connection>> idle;
    std::atomic<bool> stopped{false};

    std::unique_ptr<pqxx::connection> take() {
        std::lock_guard lock(mutex);
        if (idle.empty()) {
            return nullptr;
        }
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
    }
    void give_back(std::unique_ptr<pqxx::connection> c) {
        if (c && c->is_open()) {
            std::lock_guard lock(mutex);
            idle.push_back(std::move(c));
        }
    }
};

DatabaseThreads::DatabaseThreads(const geo::ConnectionFactory& connections, unsigned threads)
    : impl_(std::make_unique<Impl>(connections, std::max(threads, 1u))) {}

DatabaseThreads::~DatabaseThreads() {
    stop();
}

void DatabaseThreads::run(std::function<void(pqxx::connection&)> work,
                          std::function<void(std::exception_ptr)> done) {
    asio::post(impl_->pool,
               [impl = impl_.get(), work = std::move(work), done = std::move(done)]() mutable {
                   std::exception_ptr error;
                   auto conn = impl->take();
                   try {
                       if (!conn || !conn->is_open()) {
                           conn = impl->factory.connect("fleetd api");
                       }
                       work(*conn);
                   } catch (const pqxx::broken_connection&) {
                       conn.reset();
                       error = std::current_exception();
                   } catch (...) {
                       error = std::current_exception();
                   }
                   impl->give_back(std::move(conn));
                   done(error);
               });
}

void DatabaseThreads::stop() {
    if (!impl_->stopped.exchange(true)) {
        // Jobs already posted still run (each bounded by the statement timeout), so that every
        // request waiting for one is answered or closed.
        impl_->pool.join();
    }
}

// ---- the server

namespace {

/// Paths of the API and the feeds: never answered with the page (a typo gets the API's 404).
bool is_api_path(std::string_view path) {
    return path.rfind("/api/", 0) == 0 || path == "/api" || path.rfind("/gtfs-rt/", 0) == 0 ||
           path == "/metrics";
}

// Runs `work` on the database threads and resumes the coroutine on `executor` with its result.
template <typename T>
awaitable<T> on_database(DatabaseThreads& database, asio::any_io_executor executor,
                         std::function<T(pqxx::connection&)> work) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, T)>(
        [&database, executor, work = std::move(work)](auto handler) mutable {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            auto result = std::make_shared<T>();
            database.run([work = std::move(work),
                          result](pqxx::connection& c) mutable { *result = work(c); },
                         [h, result, executor](std::exception_ptr e) {
                             asio::post(executor,
                                        [h, result, e]() mutable { (*h)(e, std::move(*result)); });
                         });
        },
        use_awaitable);
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

std::optional<Method> method_of(http::verb verb) {
    switch (verb) {
        case http::verb::get:
        case http::verb::head:
            return Method::get;
        case http::verb::post:
            return Method::post;
        case http::verb::put:
            return Method::put;
        case http::verb::patch:
            return Method::patch;
        case http::verb::delete_:
            return Method::del;
        default:
            return std::nullopt;
    }
}

// The value of cookie `name` in a Cookie header; empty when absent.
std::string cookie_value(std::string_view header, std::string_view name) {
    std::size_t at = 0;
    while (at < header.size()) {
        while (at < header.size() && (header[at] == ' ' || header[at] == ';')) {
            ++at;
        }
        const auto end = std::min(header.find(';', at), header.size());
        const auto pair = header.substr(at, end - at);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
            return std::string(pair.substr(eq + 1));
        }
        at = end + 1;
    }
    return "";
}

// A credential: what identifies the caller, and where it came from.
struct Credential {
    enum class Kind { none, token, session } kind = Kind::none;
    std::string secret;
};

Credential credential_of(const http::request_header<>& header) {
    const auto auth_field = header[http::field::authorization];
    const std::string_view auth(auth_field.data(), auth_field.size());
    if (!auth.empty()) {
        constexpr std::string_view bearer = "Bearer ";
        if (auth.size() > bearer.size() && lower(auth.substr(0, bearer.size())) == "bearer ") {
            return {Credential::Kind::token, std::string(auth.substr(bearer.size()))};
        }
        return {Credential::Kind::token, ""};  // malformed: refused as a wrong token
    }
    const auto cookie_field = header[http::field::cookie];
    const std::string_view cookie(cookie_field.data(), cookie_field.size());
    if (!cookie.empty()) {
        auto v = cookie_value(cookie, session_cookie);
        if (!v.empty()) {
            return {Credential::Kind::session, std::move(v)};
        }
    }
    return {};
}

// Errors that mean the peer went away or was too slow: nothing to answer.
bool closed(const boost::system::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
           ec == beast::error::timeout || ec == asio::error::broken_pipe ||
           ec == asio::ssl::error::stream_truncated;
}

// A WebSocket subscriber of the live stream. Everything runs on the API's one network thread:
// the stream's flush (on a timer there) queues frames, the writer coroutine sends them.
class Subscriber : public StreamSubscriber, public std::enable_shared_from_this<Subscriber> {
  public:
    /// A dropped subscriber gets this long for its close handshake (4001); one that reads
    /// nothing any more cannot take it, and its connection is cut then.
    static constexpr std::chrono::seconds close_grace{2};

    explicit Subscriber(asio::any_io_executor executor) : wake(executor), grace(executor) {
        wake.expires_at(asio::steady_timer::time_point::max());
    }
    void send(std::shared_ptr<const std::string> frame) override {
        if (dropped || closed) {
            return;
        }
        queued += frame->size();
        frames.push_back(std::move(frame));
        wake.cancel();
    }
    std::size_t queued_bytes() const override { return queued; }
    bool drop_slow() override { return end(4001, "too slow: resync from /api/vehicles"); }
    /// Ends the subscription with a close `code` after the frame being sent (cut after
    /// close_grace when the subscriber reads nothing); false when it was ending already.
    bool end(unsigned code, std::string reason) {
        if (dropped) {
            return false;
        }
        dropped = true;
        close_code = code;
        close_reason = std::move(reason);
        wake.cancel();
        grace.expires_after(close_grace);
        grace.async_wait([self = weak_from_this()](const boost::system::error_code& ec) {
            const auto s = self.lock();
            if (!ec && s && s->sever) {
                s->sever();
            }
        });
        return true;
    }

    asio::steady_timer wake;
    asio::steady_timer grace;
    /// Closes the connection under the WebSocket (set while the connection lives).
    std::function<void()> sever;
    std::deque<std::shared_ptr<const std::string>> frames;
    std::size_t queued = 0;
    bool dropped = false;
    bool closed = false;
    unsigned close_code = 4001;
    std::string close_reason;
    /// Who subscribed, as last checked, and the subscription they last asked for.
    std::shared_ptr<const Principal> principal;
    nlohmann::json subscription = nlohmann::json::object();
};

}  // namespace

// How often the live stream's subscribers are authenticated again without a notification. A
// credential's expiry is checked at its time besides.
constexpr std::chrono::seconds live_recheck{60};

using steady = std::chrono::steady_clock;

// When a principal's credential expires, on the steady clock; max() for none.
steady::time_point steady_expiry(const Principal* p) {
    if (!p || !p->expires) {
        return steady::time_point::max();
    }
    const auto left = *p->expires - std::chrono::system_clock::now();
    return steady::now() + std::chrono::duration_cast<steady::duration>(left);
}

struct HttpServer::Impl {
    Impl(HttpConfig c, const Router& r, DatabaseThreads& d, StreamHooks h)
        : config(std::move(c)),
          router(r),
          database(d),
          hooks(std::move(h)),
          acceptor(context),
          work_guard(asio::make_work_guard(context)),
          flush_timer(context) {}

    HttpConfig config;
    const Router& router;
    DatabaseThreads& database;
    StreamHooks hooks;
    // Declared before the context: the coroutine frames it destroys last (a server torn down
    // without its drain) still find what their guards erase from.
    // The network thread's: open connections, by address; each one's socket, to close at drain.
    std::size_t open = 0;
    std::unordered_map<std::string, std::size_t> per_address;
    std::uint64_t next_connection = 0;
    struct Open {
        tcp::socket* socket = nullptr;
        bool busy = false;  // between a request's first byte and its answer
    };
    std::unordered_map<std::uint64_t, Open> sockets;
    // Request bodies held, bytes: in all and by address (body_budget_bytes).
    std::size_t body_bytes = 0;
    std::unordered_map<std::string, std::size_t> body_bytes_per_address;
    // A body's share of the budget, from its reading to the end of its request.
    struct BodyShare {
        Impl& impl;
        std::string address;
        std::size_t bytes = 0;
        BodyShare(Impl& i, std::string a) : impl(i), address(std::move(a)) {}
        BodyShare(const BodyShare&) = delete;
        BodyShare& operator=(const BodyShare&) = delete;
        /// Takes `n` bytes of the budget; false (and nothing taken) when they are not free.
        bool take(std::size_t n) {
            auto& mine = impl.body_bytes_per_address[address];
            const auto budget = impl.config.body_budget_bytes;
            if (n > budget - impl.body_bytes || n > budget / 4 - std::min(mine, budget / 4)) {
                if (mine == 0) {
                    impl.body_bytes_per_address.erase(address);
                }
                return false;
            }
            impl.body_bytes += n;
            mine += n;
            bytes = n;
            return true;
        }
        ~BodyShare() {
            if (bytes == 0) {
                return;
            }
            impl.body_bytes -= bytes;
            if (auto it = impl.body_bytes_per_address.find(address);
                it != impl.body_bytes_per_address.end() && (it->second -= bytes) == 0) {
                impl.body_bytes_per_address.erase(it);
            }
        }
    };

    // Principals by credential, reused for principal_ttl. Network thread only.
    struct Cached {
        std::shared_ptr<const Principal> principal;  // null: the credential is refused
        std::chrono::steady_clock::time_point until;
    };
    std::unordered_map<std::string, Cached> principals;
    /// Counts the forgettings: a lookup that was under way across one is not kept, since it
    /// may have read the credential before its revocation.
    std::uint64_t principals_generation = 0;

    // The live stream's subscribers by stream id, with what they authenticated with: checked
    // again whenever credentials change (and every live_recheck), so that a revoked token, an
    // ended or expired session, or a role the route no longer admits ends its stream (4003),
    // and a changed dispatcher's groups narrow it. Network thread only.
    struct Live {
        Credential credential;
        const Route* route = nullptr;
        std::weak_ptr<Subscriber> subscriber;
        steady::time_point expires = steady::time_point::max();
    };
    std::unordered_map<std::uint64_t, Live> lives;
    bool rechecking = false;
    bool recheck_again = false;
    std::atomic<std::uint64_t> streams_ended{0};

    // Counters (read by write_metrics from another thread).
    mutable std::mutex metrics_mutex;
    std::map<std::tuple<std::string, std::string, unsigned>, std::uint64_t> requests;
    std::atomic<std::uint64_t> refused_connections{0};
    std::atomic<std::uint64_t> refused_bodies{0};
    std::atomic<std::uint64_t> open_gauge{0};
    std::atomic<std::uint64_t> timeouts{0};

    asio::io_context context;
    tcp::acceptor acceptor;
    asio::executor_work_guard<asio::io_context::executor_type> work_guard;
    asio::steady_timer flush_timer;
    std::optional<asio::ssl::context> tls;
    std::thread thread;
    std::uint16_t port = 0;
    std::atomic<bool> stopping{false};
    asio::steady_timer recheck_timer{context};

    void count(const std::string& method, const std::string& route, unsigned status) {
        std::lock_guard lock(metrics_mutex);
        ++requests[{method, route, status}];
    }

    awaitable<void> accept_loop();
    awaitable<void> session(tcp::socket socket, std::string address);
    template <typename Stream>
    awaitable<void> serve(Stream& stream, const std::string& address, std::uint64_t id);
    awaitable<std::shared_ptr<const Principal>> authenticate(const Credential& credential);
    template <typename Stream>
    awaitable<bool> answer(Stream& stream, Response response, unsigned version, bool keep_alive,
                           bool head);
    template <typename Stream>
    awaitable<void> live(Stream& stream, const http::request<http::string_body>& request,
                         std::shared_ptr<const Principal> principal, Credential credential,
                         const Route& route, std::uint64_t generation);
    awaitable<void> recheck_live();
    void forget_principals() {
        principals.clear();
        ++principals_generation;
        if (!lives.empty()) {
            asio::co_spawn(context, recheck_live(), asio::detached);
        }
    }
    // The next round of rechecks: every live_recheck, and just after the earliest expiry of a
    // live stream's credential (at most once a second, should the database's clock lag).
    steady::time_point next_round = steady::now() + live_recheck;
    void schedule_recheck() {
        auto at = next_round;
        for (const auto& [id, live] : lives) {
            at = std::min(at, live.expires);
        }
        if (at != next_round) {
            at = std::max(at + std::chrono::milliseconds(100),
                          steady::now() + std::chrono::seconds(1));
        }
        recheck_timer.expires_at(at);  // cancels the wait before (which then does nothing)
        recheck_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping) {
                return;
            }
            if (steady::now() >= next_round) {
                next_round = steady::now() + live_recheck;
            }
            if (!lives.empty()) {
                asio::co_spawn(context, recheck_live(), asio::detached);
            }
            schedule_recheck();
        });
    }
    void schedule_flush() {
        flush_timer.expires_after(hooks.stream->config().period);
        flush_timer.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopping) {
                return;
            }
            hooks.stream->flush(std::chrono::time_point_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now()));
            schedule_flush();
        });
    }
};

// A WebSocket subscriber's kernel send buffer, bytes (the kernel doubles it for its own use).
constexpr int stream_send_buffer = 64 * 1024;

// Sends a subscriber's frames, one in flight; a dropped subscriber is closed with 4001 after
// the frame being sent (or cut after Subscriber::close_grace when it reads nothing). (A function
// with its parameters in its frame: a lambda's captures would not outlive co_spawn.)
template <typename WebSocket>
awaitable<void> write_frames(WebSocket* ws, std::shared_ptr<Subscriber> subscriber, bool* done,
                             asio::steady_timer* finished) {
    boost::system::error_code ec;
    while (!subscriber->closed) {
        if (subscriber->dropped) {
            const websocket::close_reason reason(
                static_cast<websocket::close_code>(subscriber->close_code),
                subscriber->close_reason);
            co_await ws->async_close(reason, asio::redirect_error(use_awaitable, ec));
            break;
        }
        if (subscriber->frames.empty()) {
            subscriber->wake.expires_at(asio::steady_timer::time_point::max());
            co_await subscriber->wake.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        auto frame = std::move(subscriber->frames.front());
        subscriber->frames.pop_front();
        ws->text(true);
        co_await ws->async_write(asio::buffer(*frame), asio::redirect_error(use_awaitable, ec));
        subscriber->queued -= frame->size();
        if (ec) {
            break;
        }
    }
    subscriber->closed = true;
    *done = true;
    finished->cancel();
}

template <typename Stream>
awaitable<void> HttpServer::Impl::live(Stream& stream,
                                       const http::request<http::string_body>& request,
                                       std::shared_ptr<const Principal> principal,
                                       Credential credential, const Route& route,
                                       std::uint64_t generation) {
    beast::get_lowest_layer(stream).expires_never();
    // The kernel's send buffer bounded too: left to grow (to megabytes), it would hide a
    // subscriber that reads nothing from the stream's bound, in memory outside it.
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().set_option(
        asio::socket_base::send_buffer_size(stream_send_buffer), ignored);
    websocket::stream<Stream&> ws(stream);
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.read_message_max(64 * 1024);
    boost::system::error_code ec;
    co_await ws.async_accept(request, asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return;
    }
    StreamFilter filter;
    try {
        filter = hooks.make_filter(*principal, nlohmann::json::object());
    } catch (const std::exception&) {
        co_return;
    }
    auto subscriber = std::make_shared<Subscriber>(context.get_executor());
    subscriber->sever = [&stream] { beast::get_lowest_layer(stream).close(); };
    struct Unsever {
        Subscriber& s;
        ~Unsever() {
            s.sever = nullptr;
            s.grace.cancel();
        }
    } unsever{*subscriber};
    subscriber->principal = principal;
    const auto id = hooks.stream->subscribe(filter, subscriber);
    struct Unsubscribe {
        LiveStream& stream;
        std::unordered_map<std::uint64_t, Live>& lives;
        std::uint64_t id;
        ~Unsubscribe() {
            lives.erase(id);
            stream.unsubscribe(id);
        }
    } unsubscribe{*hooks.stream, lives, id};
    lives[id] = Live{std::move(credential), &route, subscriber, steady_expiry(principal.get())};
    if (lives[id].expires < recheck_timer.expiry()) {
        schedule_recheck();  // it ends before the next round: its round comes sooner
    }
    if (generation != principals_generation) {
        // Credentials changed while this one was checked or the handshake ran: not missed.
        asio::co_spawn(context, recheck_live(), asio::detached);
    }
    subscriber->send(std::make_shared<const std::string>(
        to_json_text({{"type", "hello"},
                      {"user", principal->name},
                      {"role", to_string(principal->role)},
                      {"period_ms", hooks.stream->config().period.count()},
                      {"resync", "/api/vehicles"}})));

    bool writer_done = false;
    asio::steady_timer writer_finished(context);
    writer_finished.expires_at(asio::steady_timer::time_point::max());
    asio::co_spawn(context, write_frames(&ws, subscriber, &writer_done, &writer_finished),
                   asio::detached);

    // The reader: subscription messages narrow the filter.
    beast::flat_buffer buffer;
    while (!subscriber->closed) {
        co_await ws.async_read(buffer, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            break;
        }
        const auto text = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
        auto message = nlohmann::json::parse(text, nullptr, false);
        nlohmann::json answer_json;
        if (message.is_discarded() || !message.is_object()) {
            answer_json = {
                {"type", "error"},
                {"error",
                 {{"code", "bad_request"}, {"message", "a subscription is a JSON object"}}}};
        } else {
            try {
                hooks.stream->refilter(id, hooks.make_filter(*subscriber->principal, message));
                subscriber->subscription = std::move(message);
                answer_json = {{"type", "subscribed"}};
            } catch (const ApiError& e) {
                answer_json = {{"type", "error"},
                               {"error", {{"code", e.code()}, {"message", e.what()}}}};
            }
        }
        subscriber->send(std::make_shared<const std::string>(to_json_text(answer_json)));
    }
    subscriber->closed = true;
    subscriber->wake.cancel();
    if (!writer_done) {
        // The writer's frame (ws, subscriber) lives here: wait for it to finish.
        co_await writer_finished.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

awaitable<void> HttpServer::Impl::recheck_live() {
    if (rechecking) {
        recheck_again = true;  // the round under way may have read before the change
        co_return;
    }
    rechecking = true;
    do {
        recheck_again = false;
        std::vector<std::pair<std::uint64_t, Live>> current(lives.begin(), lives.end());
        for (auto& [id, live] : current) {
            if (stopping) {
                break;
            }
            std::shared_ptr<const Principal> p;
            try {
                p = co_await authenticate(live.credential);
            } catch (const std::exception& e) {
                // The database cannot say: the stream goes on, the next round asks again.
                log::warn("api", std::string("live stream: credentials not checked: ") + e.what());
                continue;
            }
            const auto s = live.subscriber.lock();
            if (!s || s->closed || s->dropped || lives.count(id) == 0) {
                continue;  // ended meanwhile
            }
            if (!p || !live.route->roles.admits(p->role)) {
                s->end(4003, p ? "the role no longer admits the live stream"
                               : "the credential was revoked or has expired: log in again");
                ++streams_ended;
                continue;
            }
            // Groups or role changed: the same subscription as the user now may see it, or all
            // they may see when what they asked for is no longer theirs.
            StreamFilter filter;
            try {
                filter = hooks.make_filter(*p, s->subscription);
            } catch (const ApiError&) {
                filter = hooks.make_filter(*p, nlohmann::json::object());
                s->subscription = nlohmann::json::object();
            }
            hooks.stream->refilter(id, std::move(filter));
            lives[id].expires = steady_expiry(p.get());
            s->principal = std::move(p);
        }
    } while (recheck_again && !stopping);
    rechecking = false;
    if (!stopping) {
        schedule_recheck();  // the expiries may have changed, or gone with their streams
    }
}

awaitable<void> HttpServer::Impl::accept_loop() {
    asio::steady_timer backoff(context);
    while (!stopping) {
        boost::system::error_code ec;
        tcp::socket socket =
            co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
        if (stopping || ec == asio::error::operation_aborted) {
            co_return;
        }
        if (ec) {
            // Out of descriptors and the like: wait, then accept again; never stop.
            log::warn("api", "accept failed: " + ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        boost::system::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        const std::string address = peer_ec ? "" : peer.address().to_string();
        if (open >= config.max_connections ||
            per_address[address] >= config.max_connections_per_ip) {
            if (refused_connections++ == 0) {
                log::warn("api", "connection from " + address +
                                     " refused: too many open (counted from now on in "
                                     "fleet_api_connections_refused_total)");
            }
            socket.close(peer_ec);
            continue;
        }
        asio::co_spawn(context, session(std::move(socket), address), [](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    log::error("api", std::string("a connection failed: ") + x.what());
                }
            }
        });
    }
}

awaitable<void> HttpServer::Impl::session(tcp::socket socket, std::string address) {
    // The connection's place in the gauges, given back however the session ends.
    struct Slot {
        Impl& impl;
        std::string address;
        std::uint64_t id;
        Slot(Impl& i, std::string a, tcp::socket* s) : impl(i), address(std::move(a)) {
            id = impl.next_connection++;
            ++impl.open;
            ++impl.open_gauge;
            ++impl.per_address[address];
            impl.sockets[id] = {s, false};
        }
        ~Slot() {
            --impl.open;
            --impl.open_gauge;
            if (--impl.per_address[address] == 0) {
                impl.per_address.erase(address);
            }
            impl.sockets.erase(id);
        }
    };
    if (tls) {
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
        Slot slot(*this, address, &beast::get_lowest_layer(stream).socket());
        beast::get_lowest_layer(stream).expires_after(config.request_timeout);
        boost::system::error_code ec;
        co_await stream.async_handshake(asio::ssl::stream_base::server,
                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return;
        }
        co_await serve(stream, address, slot.id);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
    } else {
        beast::tcp_stream stream(std::move(socket));
        Slot slot(*this, address, &stream.socket());
        co_await serve(stream, address, slot.id);
        boost::system::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
}

awaitable<std::shared_ptr<const Principal>> HttpServer::Impl::authenticate(
    const Credential& credential) {
    if (credential.kind == Credential::Kind::none || credential.secret.empty()) {
        co_return nullptr;
    }
    const auto key = (credential.kind == Credential::Kind::token ? "t:" : "s:") + credential.secret;
    const auto now = std::chrono::steady_clock::now();
    if (auto it = principals.find(key); it != principals.end() && it->second.until > now) {
        co_return it->second.principal;
    }
    // Named, not a temporary of the co_await expression (GCC 12 destroys those twice).
    std::function<std::optional<Principal>(pqxx::connection&)> look_up =
        [credential](pqxx::connection& c) -> std::optional<Principal> {
        return credential.kind == Credential::Kind::token
                   ? principal_for_token(c, credential.secret)
                   : principal_for_session(c, credential.secret);
    };
    auto lookup =
        on_database<std::optional<Principal>>(database, context.get_executor(), std::move(look_up));
    const auto generation = principals_generation;
    const auto found = co_await std::move(lookup);
    std::shared_ptr<const Principal> p =
        found ? std::make_shared<const Principal>(*found) : nullptr;
    if (generation != principals_generation) {
        co_return p;  // this request goes by what it read; the next one reads again
    }
    if (principals.size() > 10000) {
        std::erase_if(principals, [&](const auto& e) { return e.second.until <= now; });
        if (principals.size() > 10000) {
            principals.clear();
        }
    }
    // Not kept past the credential's own end.
    principals[key] = {p, std::min(now + config.principal_ttl, steady_expiry(p.get()))};
    co_return p;
}

template <typename Stream>
awaitable<bool> HttpServer::Impl::answer(Stream& stream, Response response, unsigned version,
                                         bool keep_alive, bool head) {
    http::response<http::string_body> res{static_cast<http::status>(response.status), version};
    res.set(http::field::server, "fleetd");
    res.set(http::field::content_type, response.content_type);
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : response.headers) {
        res.insert(name, value);
    }
    res.keep_alive(keep_alive && !stopping);
    if (head) {
        // The headers of a GET, without its body.
        res.content_length(response.body.size());
    } else {
        res.body() = std::move(response.body);
        res.prepare_payload();
    }
    beast::get_lowest_layer(stream).expires_after(config.request_timeout);
    boost::system::error_code ec;
    if (head) {
        http::response_serializer<http::string_body> sr{res};
        co_await http::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
    } else {
        co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    }
    co_return !ec && res.keep_alive();
}

template <typename Stream>
awaitable<void> HttpServer::Impl::serve(Stream& stream, const std::string& address,
                                        std::uint64_t id) {
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping) {
        boost::system::error_code ec;
        http::request_parser<http::empty_body> header;
        header.header_limit(static_cast<std::uint32_t>(config.max_header_bytes));
        // The route's limit is applied once the route is known (a 413 that says so).
        header.body_limit(std::numeric_limits<std::uint64_t>::max());
        // The first request has request_timeout to arrive whole; a kept-alive connection may
        // wait idle_timeout for its next one.
        beast::get_lowest_layer(stream).expires_after(first ? config.request_timeout
                                                            : config.idle_timeout);
        first = false;
        co_await http::async_read_header(stream, buffer, header,
                                         asio::redirect_error(use_awaitable, ec));
        if (ec == beast::error::timeout) {
            ++timeouts;
        }
        if (ec == http::error::header_limit) {
            count("-", "-", 431);
            Response too_large =
                error_response(431, "headers_too_large",
                               "the request's headers exceed " +
                                   std::to_string(config.max_header_bytes) + " bytes");
            co_await answer(stream, std::move(too_large), 11, false, false);
            co_return;
        }
        if (ec) {
            if (!closed(ec)) {
                count("-", "-", 400);
                Response bad = error_response(400, "bad_request", "not an HTTP/1.1 request");
                co_await answer(stream, std::move(bad), 11, false, false);
            }
            co_return;
        }
        sockets[id].busy = true;
        struct Busy {
            Impl& impl;
            std::uint64_t id;
            ~Busy() {
                if (auto it = impl.sockets.find(id); it != impl.sockets.end()) {
                    it->second.busy = false;
                }
            }
        } busy{*this, id};
        beast::get_lowest_layer(stream).expires_after(config.request_timeout);
        const auto& h = header.get();
        const unsigned version = h.version();
        const bool head = h.method() == http::verb::head;
        auto keep_alive = h.keep_alive();

        const auto target = std::string_view(h.target().data(), h.target().size());
        const auto question = target.find('?');
        const auto raw_path = target.substr(0, question);
        auto path = percent_decode(raw_path, false);
        auto query = question == std::string_view::npos
                         ? std::optional<std::map<std::string, std::string>>(std::in_place)
                         : parse_query(target.substr(question + 1));
        const auto method = method_of(h.method());
        Response response;
        std::string route_name = "-";
        if (!path || path->empty() || path->front() != '/' || !query) {
            response = error_response(400, "bad_request",
                                      "the request target is not a well-formed path and query");
            keep_alive = false;
        } else if (!method) {
            response = error_response(405, "method_not_allowed",
                                      "the API answers GET, HEAD, POST, PUT, PATCH and DELETE");
            keep_alive = false;
        }
        Router::Match match;
        if (response.body.empty()) {
            match = router.match(*method, raw_path);
            std::optional<Response> page;
            if (!match.route && !match.other_method && config.site &&
                (*method == Method::get || head) && !is_api_path(*path)) {
                const auto tag = h[http::field::if_none_match];
                page = config.site->find(*path, std::string_view(tag.data(), tag.size()));
            }
            if (page) {
                response = std::move(*page);
                route_name = "page";
                keep_alive = keep_alive && header.is_done();  // a GET with a body: not read
            } else if (!match.route) {
                response =
                    match.other_method
                        ? error_response(405, "method_not_allowed",
                                         "the path does not take " + std::string(h.method_string()))
                        : error_response(404, "not_found", "no such path: " + path->substr(0, 200));
            } else {
                route_name = match.route->pattern;
            }
        }
        // Whoever may not use the route is answered before its body is read (and the connection
        // then closed when a body follows): an upload route would otherwise buffer a stranger's
        // megabytes on each of their connections first.
        Credential credential;
        std::shared_ptr<const Principal> principal;
        // A live stream checks its credential again when they changed after this.
        const auto generation = principals_generation;
        if (response.body.empty() && route_name != "page") {
            const Route& route = *match.route;
            credential = credential_of(header.get());
            try {
                principal = co_await authenticate(credential);
            } catch (const std::exception& e) {
                log::warn("api", std::string("could not check credentials: ") + e.what());
                response = error_response(503, "database_unavailable",
                                          "credentials cannot be checked now; try again "
                                          "shortly");
            }
            if (!response.body.empty()) {
            } else if (credential.kind != Credential::Kind::none && !principal && !route.open) {
                response = error_response(401, "unauthenticated",
                                          credential.kind == Credential::Kind::token
                                              ? "the API token is not valid (unknown, "
                                                "revoked or expired)"
                                              : "the session has ended; log in again");
            } else if (!principal && !route.open) {
                response = error_response(401, "unauthenticated",
                                          "log in (POST /api/session) or send an API "
                                          "token (Authorization: Bearer ...)");
            } else if (principal && !route.open && !route.roles.admits(principal->role)) {
                std::string roles;
                for (const auto& r : route.roles.names()) {
                    roles += (roles.empty() ? "" : ", ") + r;
                }
                response = error_response(403, "forbidden",
                                          "this needs the role " + roles + "; " + principal->name +
                                              " is " + to_string(principal->role));
            }
            if (!response.body.empty()) {
                keep_alive = keep_alive && header.is_done();  // a body not read: close after
            }
        }
        // The body is read only for a route that takes one of that size, and while the bodies
        // held for all requests leave room for it.
        Request request;
        BodyShare share(*this, address);
        if (response.body.empty() && route_name != "page") {
            const auto limit = match.route->max_body_bytes;
            const auto length = header.content_length();
            const auto chunked = header.get().chunked();
            if (length && *length > limit) {
                response =
                    error_response(413, "body_too_large",
                                   "the request body exceeds " + std::to_string(limit) + " bytes");
                keep_alive = false;
            } else if ((length.value_or(0) > 0 || chunked) &&
                       !share.take(chunked ? limit : static_cast<std::size_t>(*length))) {
                if (refused_bodies++ == 0) {
                    log::warn("api", "a request body from " + address +
                                         " refused: the bodies being received fill the budget "
                                         "(counted from now on in "
                                         "fleet_api_bodies_refused_total)");
                }
                response = error_response(503, "busy",
                                          "too many request bodies are being received now; send "
                                          "it again shortly");
                response.headers.emplace_back("Retry-After", "5");
                keep_alive = false;
            } else {
                http::request_parser<http::string_body> full(std::move(header));
                full.body_limit(limit);
                co_await http::async_read(stream, buffer, full,
                                          asio::redirect_error(use_awaitable, ec));
                if (ec == http::error::body_limit) {
                    response = error_response(
                        413, "body_too_large",
                        "the request body exceeds " + std::to_string(limit) + " bytes");
                    keep_alive = false;
                } else if (ec) {
                    if (ec == beast::error::timeout) {
                        ++timeouts;
                    }
                    co_return;
                } else {
                    auto req = full.release();
                    request.method = *method;
                    request.path = *path;
                    request.query = std::move(*query);
                    request.body = std::move(req.body());
                    auto type = std::string(req[http::field::content_type]);
                    request.content_type = lower(type.substr(0, type.find(';')));
                    while (!request.content_type.empty() && request.content_type.back() == ' ') {
                        request.content_type.pop_back();
                    }
                    request.address = address;
                    request.user_agent = std::string(req[http::field::user_agent]).substr(0, 200);
                    if (credential.kind == Credential::Kind::session) {
                        request.session = credential.secret;
                    }
                    const Route& route = *match.route;
                    if (route.websocket && websocket::is_upgrade(req) && hooks.stream &&
                        principal) {
                        count("GET", route.pattern, 101);
                        sockets[id].busy = false;  // a stop closes it at once
                        co_await live(stream, req, principal, credential, route, generation);
                        co_return;
                    } else if (route.runs == Runs::in_memory) {
                        Call call(request, principal.get(), match.params, nullptr);
                        response = Router::run(route, call);
                    } else {
                        try {
                            std::function<Response(pqxx::connection&)> work =
                                [&route, &request, principal,
                                 params = match.params](pqxx::connection& c) {
                                    Call call(request, principal.get(), params, &c);
                                    return Router::run(route, call);
                                };
                            auto job = on_database<Response>(database, context.get_executor(),
                                                             std::move(work));
                            response = co_await std::move(job);
                        } catch (const std::exception& e) {
                            log::warn("api", route.pattern + ": " + e.what());
                            response = error_response(503, "database_unavailable",
                                                      "the database cannot be reached; try "
                                                      "again shortly");
                        }
                    }
                }
            }
        }
        if (response.forget == Response::Forget::all) {
            forget_principals();
        } else if (response.forget == Response::Forget::this_credential) {
            principals.erase("s:" + request.session);
        }
        count(method ? to_string(*method) : "-", route_name, response.status);
        if (!co_await answer(stream, std::move(response), version, keep_alive, head)) {
            co_return;
        }
    }
}

HttpServer::HttpServer(HttpConfig config, const Router& router, DatabaseThreads& database,
                       StreamHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(config), router, database, std::move(hooks))) {}

HttpServer::~HttpServer() {
    if (impl_->thread.joinable()) {
        impl_->stopping = true;
        impl_->work_guard.reset();
        impl_->context.stop();
        impl_->thread.join();
    }
}

void HttpServer::start() {
    auto& c = impl_->config;
    if (!c.tls_cert.empty() || !c.tls_key.empty()) {
        if (c.tls_cert.empty() || c.tls_key.empty()) {
            throw ConfigError(c.tls_cert.empty() ? "tls-cert" : "tls-key",
                              "TLS needs both tls-cert and tls-key");
        }
        impl_->tls.emplace(asio::ssl::context::tls_server);
        impl_->tls->set_options(asio::ssl::context::default_workarounds |
                                asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                                asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        boost::system::error_code ec;
        impl_->tls->use_certificate_chain_file(c.tls_cert, ec);
        if (ec) {
            throw ConfigError("tls-cert", "cannot use '" + c.tls_cert + "': " + ec.message());
        }
        impl_->tls->use_private_key_file(c.tls_key, asio::ssl::context::pem, ec);
        if (ec) {
            throw ConfigError("tls-key", "cannot use '" + c.tls_key + "': " + ec.message());
        }
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(c.bind_address, ec);
    if (ec) {
        throw ConfigError("api-bind", "not an IP address: '" + c.bind_address + "'");
    }
    const tcp::endpoint endpoint(address, c.port);
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        acceptor.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw Error("api: cannot listen on " + c.bind_address + ":" + std::to_string(c.port) +
                    ": " + ec.message());
    }
    impl_->port = acceptor.local_endpoint().port();
    log::info("api", std::string("listening on ") + c.bind_address + ":" +
                         std::to_string(impl_->port) + (impl_->tls ? " (HTTPS)" : " (HTTP)"));
    asio::co_spawn(impl_->context, impl_->accept_loop(), asio::detached);
    if (impl_->hooks.stream) {
        impl_->schedule_flush();
        impl_->schedule_recheck();
    }
    impl_->thread = std::thread([impl = impl_.get()] { impl->context.run(); });
}

std::uint16_t HttpServer::port() const {
    return impl_->port;
}

void HttpServer::stop_accepting() {
    impl_->stopping = true;
    asio::post(impl_->context, [impl = impl_.get()] {
        boost::system::error_code ec;
        impl->acceptor.close(ec);
        impl->flush_timer.cancel();
        impl->recheck_timer.cancel();
    });
}

void HttpServer::forget_principals() {
    asio::post(impl_->context, [impl = impl_.get()] { impl->forget_principals(); });
}

void HttpServer::drain(std::chrono::steady_clock::time_point deadline) {
    if (!impl_->thread.joinable()) {
        return;
    }
    stop_accepting();
    // Connections idle between requests close now; those in a request get until the deadline.
    auto close_idle = [impl = impl_.get()](bool all) {
        asio::post(impl->context, [impl, all] {
            for (auto& [id, open] : impl->sockets) {
                if (all || !open.busy) {
                    boost::system::error_code ec;
                    open.socket->cancel(ec);
                    open.socket->close(ec);
                }
            }
        });
    };
    while (std::chrono::steady_clock::now() < deadline && impl_->open_gauge.load() > 0) {
        close_idle(false);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    close_idle(true);
    impl_->database.stop();
    impl_->work_guard.reset();
    // What is left to run is the cancelled sessions unwinding.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (impl_->open_gauge.load() > 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    impl_->context.stop();
    impl_->thread.join();
}

void HttpServer::write_metrics(std::string& out) const {
    std::vector<geo::Sample> requests;
    {
        std::lock_guard lock(impl_->metrics_mutex);
        for (const auto& [key, n] : impl_->requests) {
            const auto& [method, route, status] = key;
            requests.push_back({geo::label("method", method) + "," + geo::label("route", route) +
                                    "," + geo::label("status", std::to_string(status)),
                                static_cast<double>(n)});
        }
    }
    geo::write_family(out, "fleet_api_requests_total", "counter",
                      "API requests answered, by method, route pattern and status", requests);
    geo::write_family(out, "fleet_api_connections", "gauge", "open API connections",
                      {{"", static_cast<double>(impl_->open_gauge.load())}});
    geo::write_family(out, "fleet_api_connections_refused_total", "counter",
                      "API connections refused beyond max-connections or per address",
                      {{"", static_cast<double>(impl_->refused_connections.load())}});
    geo::write_family(out, "fleet_api_bodies_refused_total", "counter",
                      "API request bodies refused unread because those being received filled "
                      "api-body-budget (or the sender's quarter of it)",
                      {{"", static_cast<double>(impl_->refused_bodies.load())}});
    geo::write_family(out, "fleet_api_timeouts_total", "counter",
                      "API requests that did not arrive whole within the request timeout",
                      {{"", static_cast<double>(impl_->timeouts.load())}});
    geo::write_family(out, "fleet_api_stream_revoked_total", "counter",
                      "Live streams ended (4003) because their credential was revoked, expired "
                      "or its role no longer admits them",
                      {{"", static_cast<double>(impl_->streams_ended.load())}});
}

}  // namespace fleet::server::api
