#include "server/webhooks.hpp"

#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"

namespace fleet::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

bool public_v4(const asio::ip::address_v4& a) {
    const std::uint32_t v = a.to_uint();
    auto in = [v](std::uint32_t net, int bits) {
        const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
        return (v & mask) == net;
    };
    return !(in(0x00000000, 8) ||   // "this network", 0.0.0.0
             in(0x0a000000, 8) ||   // 10/8
             in(0x64400000, 10) ||  // 100.64/10, carrier-grade NAT
             in(0x7f000000, 8) ||   // loopback
             in(0xa9fe0000, 16) ||  // link-local, cloud metadata
             in(0xac100000, 12) ||  // 172.16/12
             in(0xc0000000, 24) ||  // 192.0.0/24, protocol assignments
             in(0xc0000200, 24) ||  // 192.0.2/24, documentation
             in(0xc0a80000, 16) ||  // 192.168/16
             in(0xc6120000, 15) ||  // 198.18/15, benchmarking
             in(0xc6336400, 24) ||  // 198.51.100/24, documentation
             in(0xcb007100, 24) ||  // 203.0.113/24, documentation
             in(0xe0000000, 4) ||   // multicast
             in(0xf0000000, 4));    // reserved, broadcast
}

}  // namespace

bool is_public_receiver(const asio::ip::address& address) {
    if (address.is_v4()) {
        return public_v4(address.to_v4());
    }
    const auto v6 = address.to_v6();
    const auto b = v6.to_bytes();
    if (v6.is_v4_mapped()) {
        return public_v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    }
    // 64:ff9b::/96, NAT64: the IPv4 address it reaches is in the last four bytes.
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
        std::all_of(b.begin() + 4, b.begin() + 12, [](unsigned char x) { return x == 0; })) {
        return public_v4(asio::ip::address_v4({b[12], b[13], b[14], b[15]}));
    }
    if (v6.is_loopback() || v6.is_unspecified() || v6.is_link_local() || v6.is_site_local() ||
        v6.is_multicast() || v6.is_v4_compatible()) {
        return false;
    }
    if ((b[0] & 0xfe) == 0xfc) {
        return false;  // fc00::/7, unique local
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
        return false;  // 2001:db8::/32, documentation
    }
    return true;
}

WebhookUrl parse_webhook_url(std::string_view url) {
    const std::string shown(url.substr(0, 200));
    if (url.size() > 2048) {
        throw InputError("webhook URL: at most 2048 characters");
    }
    for (const char c : url) {
        if (c <= 0x20 || c >= 0x7f) {
            throw InputError("webhook URL: printable ASCII without spaces is wanted: " + shown);
        }
    }
    WebhookUrl out;
    std::string_view rest;
    if (url.starts_with("https://")) {
        out.tls = true;
        rest = url.substr(8);
    } else if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else {
        throw InputError("webhook URL must be http or https: " + shown);
    }
    if (rest.find('#') != std::string_view::npos) {
        throw InputError("webhook URL: no fragment (#) is allowed: " + shown);
    }
    const auto slash = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (out.target.front() == '?') {
        out.target.insert(0, "/");
    }
    if (authority.find('@') != std::string_view::npos) {
        throw InputError("webhook URL: no user name or password in it (sign with the secret): " +
                         shown);
    }
    std::string_view host = authority;
    std::string_view port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            throw InputError("webhook URL: an IPv6 address needs its closing bracket: " + shown);
        }
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                throw InputError("webhook URL: a port follows the address after ':': " + shown);
            }
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) {
        throw InputError("webhook URL: a host is needed: " + shown);
    }
    for (const char c : host) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' ||
              c == '_')) {
            throw InputError("webhook URL: the host may hold letters, digits, '-', '.' and '_': " +
                             shown);
        }
    }
    out.host = std::string(host);
    out.port = out.tls ? 443 : 80;
    if (!port.empty() || authority.ends_with(':')) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
            throw InputError("webhook URL: the port must be 1 to 65535: " + shown);
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

std::vector<asio::ip::address> resolve_host(const std::string& host) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0) {
        throw std::runtime_error(rc == EAI_SYSTEM ? std::string(std::strerror(errno))
                                                  : std::string(gai_strerror(rc)));
    }
    std::vector<asio::ip::address> out;
    for (auto* a = found; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(a->ai_addr);
            out.emplace_back(asio::ip::address_v4(ntohl(in->sin_addr.s_addr)));
        } else if (a->ai_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr);
            asio::ip::address_v6::bytes_type bytes;
            std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, bytes.size());
            out.emplace_back(asio::ip::address_v6(bytes, in6->sin6_scope_id));
        }
    }
    freeaddrinfo(found);
    // In getaddrinfo's order of preference, each once.
    std::vector<asio::ip::address> unique;
    for (const auto& a : out) {
        if (std::find(unique.begin(), unique.end(), a) == unique.end()) {
            unique.push_back(a);
        }
    }
    out = std::move(unique);
    if (out.empty()) {
        throw std::runtime_error("no address");
    }
    return out;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                  message.size());
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&state, mac);
    std::string hex(2 * sizeof mac + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), mac, sizeof mac);
    hex.pop_back();
    return hex;
}

std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body) {
    std::string message(timestamp);
    message += '.';
    message += body;
    return "sha256=" + hmac_sha256_hex(secret, message);
}

namespace {

// One claimed row.
struct Claimed {
    std::int64_t delivery_id = 0;
    std::int64_t subscription_id = 0;
    std::string event, body, url, secret;
    bool active = true;
    int attempts = 0;  // before this one
};

// Name lookups of the sender, each on a thread of its own: getaddrinfo blocks and cannot be
// cancelled, so a lookup given up at its deadline finishes (or hangs) there, and its answer is
// then dropped. The thread posts its answer to the sender's io_context while that still exists
// (`io` under the mutex, cleared by the sender's destructor).
struct Lookups {
    std::mutex mutex;
    asio::io_context* io = nullptr;
    std::size_t running = 0;
};

struct Lookup {
    bool done = false;
    std::vector<asio::ip::address> addresses;
    std::string error;
    asio::steady_timer* waiting = nullptr;  // the io thread's only
};

struct Outcome {
    std::optional<int> status;
    std::string error;
    std::chrono::system_clock::time_point started;
    std::chrono::milliseconds duration{0};
};

std::string unix_seconds(std::chrono::system_clock::time_point t) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

}  // namespace

struct WebhookSender::Impl {
    geo::ConnectionFactory connections;
    WebhookOptions options;
    asio::io_context io;
    std::shared_ptr<Lookups> lookups = std::make_shared<Lookups>();
    asio::ssl::context tls{asio::ssl::context::tls_client};
    std::unique_ptr<pqxx::connection> db;
    std::thread thread;
    std::atomic<bool> stopping{false};
    std::atomic<std::uint64_t> delivered{0}, retried{0}, failed{0};
    std::atomic<std::size_t> in_flight{0};
    bool failing = false;

    Impl(geo::ConnectionFactory c, WebhookOptions o)
        : connections(std::move(c)), options(std::move(o)) {
        tls.set_verify_mode(asio::ssl::verify_peer);
        boost::system::error_code ec;
        if (options.ca_file.empty()) {
            tls.set_default_verify_paths(ec);
        } else {
            tls.load_verify_file(options.ca_file, ec);
        }
        if (ec) {
            throw ConfigError("webhook-ca-file", "cannot read the certificates: " + ec.message());
        }
        lookups->io = &io;
    }
    ~Impl() {
        std::lock_guard lock(lookups->mutex);
        lookups->io = nullptr;  // a lookup still running drops its answer
    }

    // The addresses of `host` by `until`: at once for an address; otherwise from a lookup on
    // its own thread, given up at `until`. Throws std::runtime_error saying why there are none.
    asio::awaitable<std::vector<asio::ip::address>> resolve(
        const std::string& host, std::chrono::steady_clock::time_point until) {
        boost::system::error_code ec;
        const auto literal = asio::ip::make_address(host, ec);
        if (!ec) {
            co_return std::vector<asio::ip::address>{literal};
        }
        auto lookup = std::make_shared<Lookup>();
        {
            std::lock_guard lock(lookups->mutex);
            if (lookups->running >= options.max_lookups) {
                throw std::runtime_error("resolving " + host + ": " +
                                         std::to_string(lookups->running) +
                                         " earlier name lookups still pending; tried "
                                         "again later");
            }
            ++lookups->running;
        }
        std::thread([lookups = lookups, lookup, host, resolve = options.resolve] {
            std::vector<asio::ip::address> addresses;
            std::string error;
            try {
                addresses = resolve(host);
            } catch (const std::exception& e) {
                error = e.what();
            }
            std::lock_guard lock(lookups->mutex);
            --lookups->running;
            if (lookups->io) {
                asio::post(*lookups->io, [lookup, addresses = std::move(addresses),
                                          error = std::move(error)]() mutable {
                    lookup->done = true;
                    lookup->addresses = std::move(addresses);
                    lookup->error = std::move(error);
                    if (lookup->waiting) {
                        lookup->waiting->cancel();
                    }
                });
            }
        }).detach();
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_at(until);
        lookup->waiting = &timer;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        lookup->waiting = nullptr;
        if (!lookup->done) {
            throw std::runtime_error("resolving " + host + ": no answer within " +
                                     std::to_string(options.timeout.count()) + " ms");
        }
        if (!lookup->error.empty()) {
            throw std::runtime_error("resolving " + host + ": " + lookup->error);
        }
        co_return std::move(lookup->addresses);
    }

    // Claims what is due: the lease keeps another sender (or this one) off them meanwhile.
    std::vector<Claimed> claim(pqxx::connection& conn, std::size_t limit) {
        std::vector<Claimed> out;
        if (limit == 0) {
            return out;
        }
        pqxx::work tx(conn);
        const auto lease_ms = static_cast<std::int64_t>(2 * options.timeout.count() + 1000);
        for (const auto& r : tx.exec_params(
                 "UPDATE fleet.webhook_deliveries d"
                 " SET next_attempt_at = now() + $2 * interval '1 millisecond'"
                 " FROM fleet.eta_subscriptions s WHERE s.subscription_id = d.subscription_id"
                 " AND d.delivery_id IN (SELECT delivery_id FROM fleet.webhook_deliveries"
                 "   WHERE state = 'pending' AND next_attempt_at <= now()"
                 "   ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
                 " RETURNING d.delivery_id, d.subscription_id, d.event, d.payload::text, s.url,"
                 " s.secret, s.active, d.attempts",
                 static_cast<std::int64_t>(limit), lease_ms)) {
            out.push_back({r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>(),
                           r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                           r[6].as<bool>(), r[7].as<int>()});
        }
        tx.commit();
        return out;
    }

    template <class Stream>
    asio::awaitable<void> exchange(Stream& stream, const Claimed& c, const WebhookUrl& url,
                                   Outcome& out) {
        http::request<http::string_body> req{http::verb::post, url.target, 11};
        const bool default_port = url.port == (url.tls ? 443 : 80);
        const std::string host =
            url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
        req.set(http::field::host, default_port ? host : host + ":" + std::to_string(url.port));
        req.set(http::field::user_agent, "fleetd-webhooks");
        req.set(http::field::content_type, "application/json");
        req.set(http::field::connection, "close");
        const auto timestamp = unix_seconds(out.started);
        req.set("X-Fleet-Event", c.event);
        req.set("X-Fleet-Delivery", std::to_string(c.delivery_id));
        req.set("X-Fleet-Timestamp", timestamp);
        req.set("X-Fleet-Signature", webhook_signature(c.secret, timestamp, c.body));
        req.body() = c.body;
        req.prepare_payload();
        boost::system::error_code ec;
        co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            out.error = "sending: " + ec.message();
            co_return;
        }
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(options.max_response_bytes);
        co_await http::async_read_header(stream, buffer, parser,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            out.error = "reading the answer: " + ec.message();
            co_return;
        }
        out.status = static_cast<int>(parser.get().result_int());
        // The rest of the answer is read (up to the limit) and dropped; the status decides.
        co_await http::async_read(stream, buffer, parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
    }

    asio::awaitable<Outcome> attempt(Claimed c) {
        Outcome out;
        out.started = std::chrono::system_clock::now();
        const auto began = std::chrono::steady_clock::now();
        auto finish = [&] {
            out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - began);
        };
        WebhookUrl url;
        try {
            url = parse_webhook_url(c.url);
        } catch (const InputError& e) {
            out.error = e.what();
            finish();
            co_return out;
        }
        auto ex = co_await asio::this_coro::executor;
        beast::tcp_stream tcp_stream(ex);
        std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
        // One deadline for the whole attempt, from connecting to the end of the answer (a
        // beast stream's expiry holds for every operation after it is set).
        const auto until = std::chrono::steady_clock::now() + options.timeout;
        boost::system::error_code ec;
        std::vector<asio::ip::address> addresses;
        try {
            addresses = co_await resolve(url.host, until);
        } catch (const std::exception& e) {
            out.error = e.what();
        }
        // Only the addresses that may be sent to are connected to (checked here, after the
        // name was resolved, so that a name that resolves differently later gains nothing).
        std::vector<tcp::endpoint> endpoints_allowed;
        std::string refused;
        for (const auto& a : addresses) {
            if (options.allow_private || is_public_receiver(a)) {
                endpoints_allowed.emplace_back(a, url.port);
            } else if (refused.empty()) {
                refused = a.to_string();
            }
        }
        if (!out.error.empty()) {
        } else if (endpoints_allowed.empty()) {
            out.error = "refused: " + url.host + " is at " + refused +
                        ", not a public address (webhook-private-receivers = allow permits it)";
        } else if (!url.tls) {
            tcp_stream.expires_at(until);
            co_await tcp_stream.async_connect(endpoints_allowed,
                                              asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                out.error = "connecting: " + ec.message();
            } else {
                co_await exchange(tcp_stream, c, url, out);
            }
        } else {
            tls_stream.emplace(std::move(tcp_stream), tls);
            auto& s = *tls_stream;
            if (!SSL_set_tlsext_host_name(s.native_handle(), url.host.c_str())) {
                out.error = "TLS: the server name could not be set";
            } else {
                s.set_verify_callback(asio::ssl::host_name_verification(url.host));
                beast::get_lowest_layer(s).expires_at(until);
                co_await beast::get_lowest_layer(s).async_connect(
                    endpoints_allowed, asio::redirect_error(asio::use_awaitable, ec));
                if (ec) {
                    out.error = "connecting: " + ec.message();
                } else {
                    co_await s.async_handshake(asio::ssl::stream_base::client,
                                               asio::redirect_error(asio::use_awaitable, ec));
                    if (ec) {
                        out.error = "TLS handshake: " + ec.message();
                    } else {
                        co_await exchange(s, c, url, out);
                    }
                }
            }
        }
        if (!out.status && out.error.find(beast::error_code(beast::error::timeout).message()) !=
                               std::string::npos) {
            out.error = "no answer within " + std::to_string(options.timeout.count()) + " ms";
        }
        finish();
        co_return out;
    }

    void record(pqxx::connection& conn, const Claimed& c, const Outcome& o) {
        const int attempt = c.attempts + 1;
        const bool ok = o.status && *o.status >= 200 && *o.status < 300;
        const bool gone = o.status && *o.status == 410;
        std::string error = o.error;
        if (o.status && !ok) {
            error = "HTTP " + std::to_string(*o.status) +
                    (*o.status >= 300 && *o.status < 400 ? " (redirects are not followed)" : "");
        }
        const bool last = !ok && (gone || attempt >= options.max_attempts || !c.active);
        const auto backoff = std::min<std::int64_t>(
            options.retry_max.count(),
            options.retry_base.count() * (std::int64_t{1} << std::min(attempt - 1, 30)));
        pqxx::work tx(conn);
        tx.exec_params0(
            "INSERT INTO fleet.webhook_attempts (delivery_id, attempt, started_at,"
            " duration_ms, http_status, error) VALUES ($1, $2,"
            " to_timestamp($3::float8 / 1000), $4, $5, $6)"
            " ON CONFLICT DO NOTHING",
            c.delivery_id, attempt,
            static_cast<double>(
                std::chrono::duration_cast<std::chrono::milliseconds>(o.started.time_since_epoch())
                    .count()),
            static_cast<std::int64_t>(o.duration.count()), o.status,
            error.empty() ? std::optional<std::string>() : std::optional(error));
        if (ok) {
            tx.exec_params0(
                "UPDATE fleet.webhook_deliveries SET state = 'delivered',"
                " attempts = $2, delivered_at = now(), last_error = NULL"
                " WHERE delivery_id = $1",
                c.delivery_id, attempt);
            delivered.fetch_add(1);
        } else if (last) {
            tx.exec_params0(
                "UPDATE fleet.webhook_deliveries SET state = 'failed', attempts = $2,"
                " failed_at = now(), last_error = $3 WHERE delivery_id = $1",
                c.delivery_id, attempt, error);
            if (gone) {
                tx.exec_params0(
                    "UPDATE fleet.eta_subscriptions SET active = false"
                    " WHERE subscription_id = $1",
                    c.subscription_id);
            }
            failed.fetch_add(1);
        } else {
            tx.exec_params0(
                "UPDATE fleet.webhook_deliveries SET attempts = $2, last_error = $3,"
                " next_attempt_at = now() + $4 * interval '1 millisecond'"
                " WHERE delivery_id = $1",
                c.delivery_id, attempt, error, backoff);
            retried.fetch_add(1);
        }
        tx.commit();
    }

    // An inactive subscription's deliveries fail without a request.
    static Outcome inactive() {
        Outcome o;
        o.started = std::chrono::system_clock::now();
        o.error = "the subscription is inactive";
        return o;
    }

    void spawn(pqxx::connection& conn, Claimed c) {
        in_flight.fetch_add(1);
        if (!c.active) {
            record(conn, c, inactive());
            in_flight.fetch_sub(1);
            return;
        }
        asio::co_spawn(
            io,
            [this, c]() -> asio::awaitable<void> {
                const Outcome o = co_await attempt(c);
                try {
                    if (!db) {
                        db = connections.connect("fleetd webhooks");
                    }
                    record(*db, c, o);
                } catch (const std::exception& e) {
                    // The lease runs out and the delivery is tried again.
                    db.reset();
                    log::warn("webhooks", "delivery " + std::to_string(c.delivery_id) +
                                              ": outcome not recorded: " + e.what());
                }
                in_flight.fetch_sub(1);
            },
            asio::detached);
    }

    // The thread: polls the outbox and keeps up to `concurrency` requests in flight.
    asio::awaitable<void> poll_loop() {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex);
        while (!stopping.load()) {
            try {
                if (!db) {
                    db = connections.connect("fleetd webhooks");
                }
                const std::size_t busy = in_flight.load();
                for (auto& c :
                     claim(*db, options.concurrency - std::min(busy, options.concurrency))) {
                    spawn(*db, std::move(c));
                }
                if (failing) {
                    log::info("webhooks", "sending again");
                    failing = false;
                }
            } catch (const std::exception& e) {
                db.reset();
                if (!failing) {
                    log::warn("webhooks", std::string("outbox not read, retrying: ") + e.what());
                    failing = true;
                }
            }
            timer.expires_after(options.poll);
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
    }
};

WebhookSender::WebhookSender(geo::ConnectionFactory connections, WebhookOptions options)
    : impl_(std::make_unique<Impl>(std::move(connections), std::move(options))) {}

WebhookSender::~WebhookSender() {
    if (impl_->thread.joinable()) {
        stop(std::chrono::milliseconds(0));
    }
}

void WebhookSender::start() {
    asio::co_spawn(impl_->io, impl_->poll_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

void WebhookSender::stop(std::chrono::milliseconds deadline) {
    impl_->stopping.store(true);
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    impl_->io.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

std::size_t WebhookSender::run_once(pqxx::connection& conn) {
    auto claimed = impl_->claim(conn, impl_->options.concurrency);
    const std::size_t n = claimed.size();
    impl_->io.restart();
    for (auto& c : claimed) {
        impl_->spawn(conn, std::move(c));
    }
    impl_->io.run();
    return n;
}

WebhookSender::Figures WebhookSender::figures() const {
    return {impl_->delivered.load(), impl_->retried.load(), impl_->failed.load(),
            impl_->in_flight.load()};
}

void WebhookSender::write_metrics(std::string& out) const {
    const auto f = figures();
    geo::write_family(out, "fleet_webhook_attempts_total", "counter",
                      "Consignee webhook attempts by outcome",
                      {{geo::label("result", "delivered"), static_cast<double>(f.delivered)},
                       {geo::label("result", "retry"), static_cast<double>(f.retried)},
                       {geo::label("result", "failed"), static_cast<double>(f.failed)}});
    geo::write_family(out, "fleet_webhook_in_flight", "gauge", "Webhook requests in flight",
                      {{"", static_cast<double>(f.in_flight)}});
}

}  // namespace fleet::server
