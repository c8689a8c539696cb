#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <pqxx/pqxx>

#include "geo/store.hpp"

/// Consignees' webhooks, sent from the outbox fleet.webhook_deliveries (migration 0018; the rows
/// are queued by server/eta_feed.hpp). Each is an HTTP POST of its payload, signed, retried with
/// back-off until the receiver answers 2xx, every attempt logged in fleet.webhook_attempts.
///
/// The request: `Content-Type: application/json`, `X-Fleet-Event` (eta, eta_changed, arrived),
/// `X-Fleet-Delivery` (the delivery's id: the same on every attempt, for the receiver to ignore
/// a repeat), `X-Fleet-Timestamp` (Unix seconds of the attempt) and `X-Fleet-Signature`:
/// "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret. A
/// receiver recomputes it and refuses a stale timestamp, so a captured request cannot be
/// replayed later.
///
/// Outcomes: 2xx delivered; 410 Gone failed at once and the subscription deactivated; anything
/// else (another status, a redirect, no answer within the timeout, a refused connection, a
/// certificate that does not verify) tried again after retry_base · 2^(attempts − 1), at most
/// retry_max, until max_attempts. Rows are claimed with a lease (FOR UPDATE SKIP LOCKED), so
/// several fleetd may share the outbox, and a row whose sender died is taken up again.
namespace fleet::server {

/// An http(s) URL taken apart.
struct WebhookUrl {
    bool tls = false;
    std::string host;  ///< a name, an IPv4 address, or an IPv6 address without its brackets
    std::uint16_t port = 0;
    std::string target;  ///< path and query; "/" when empty
};
/// Checks a webhook URL: http:// or https://, a host, an optional port 1–65535, no user
/// information, no fragment, printable ASCII without spaces, at most 2048 characters. Throws
/// InputError saying what is wrong.
WebhookUrl parse_webhook_url(std::string_view url);

/// Lowercase hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
/// "sha256=" + hmac_sha256_hex(secret, timestamp + "." + body).
std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body);

/// Whether a receiver at `address` may be sent to without webhook-private-receivers = allow:
/// false for loopback, unspecified, private (10/8, 172.16/12, 192.168/16, fc00::/7), shared
/// (100.64/10), link-local (169.254/16, fe80::/10, where cloud metadata services answer),
/// multicast, broadcast, reserved (0/8, 240/4) and documentation addresses, IPv4-mapped and
/// NAT64 ones judged by the IPv4 address they carry.
bool is_public_receiver(const boost::asio::ip::address& address);

/// The addresses of a host name (getaddrinfo, blocking); throws std::runtime_error saying why
/// when there are none.
std::vector<boost::asio::ip::address> resolve_host(const std::string& host);

struct WebhookOptions {
    /// The whole of one attempt: resolving, connecting, TLS, writing, reading the answer.
    std::chrono::milliseconds timeout{10000};
    /// Looks a receiver's name up (blocking). Each lookup runs on a thread of its own, at most
    /// max_lookups at once, and is given up at the attempt's deadline: a name server that does
    /// not answer delays no other receiver and no shutdown. Tests put their own here.
    std::function<std::vector<boost::asio::ip::address>(const std::string&)> resolve = resolve_host;
    std::size_t max_lookups = 16;
    std::chrono::milliseconds retry_base{10000};
    std::chrono::milliseconds retry_max{std::chrono::hours(1)};
    int max_attempts = 10;
    /// Requests in flight at most.
    std::size_t concurrency = 8;
    /// The outbox looked at this often.
    std::chrono::milliseconds poll{1000};
    /// Certificates of https receivers are verified against this file (PEM); empty: the
    /// system's store.
    std::string ca_file{};
    /// Receivers whose names resolve only to addresses that are not public (is_public_receiver)
    /// are refused, so that a subscription cannot aim fleetd at the services beside it; the
    /// addresses are checked after resolving, and only the checked ones are connected to.
    bool allow_private = false;
    /// Of a receiver's answer, at most this much is read (and dropped).
    std::size_t max_response_bytes = 64 * 1024;
};

class WebhookSender {
  public:
    /// Throws ConfigError when ca_file cannot be read.
    WebhookSender(geo::ConnectionFactory connections, WebhookOptions options = {});
    ~WebhookSender();
    WebhookSender(const WebhookSender&) = delete;
    WebhookSender& operator=(const WebhookSender&) = delete;

    void start();
    /// Stops polling, lets the attempts in flight finish within `deadline` and cancels the
    /// rest (their rows come due again when their lease ends).
    void stop(std::chrono::milliseconds deadline);

    /// Claims the rows due (at most `concurrency`), sends them all at once and records each
    /// outcome; returns the attempts made. For tests; never while started.
    std::size_t run_once(pqxx::connection& conn);

    struct Figures {
        std::uint64_t delivered = 0, retried = 0, failed = 0;
        std::size_t in_flight = 0;
    };
    Figures figures() const;
    /// fleet_webhook_* families.
    void write_metrics(std::string& out) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::server
