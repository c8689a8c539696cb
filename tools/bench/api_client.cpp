// The API benchmark's client (tools/bench/api drives it):
//   bench_api_client http HOST PORT PATH TOKEN REQUESTS
//       REQUESTS sequential GETs on one kept-alive connection; prints
//       "http PATH requests=N p50_ms=.. p99_ms=.. max_ms=.. bytes=.."
//   bench_api_client ws HOST PORT TOKEN SUBSCRIBERS SECONDS
//       SUBSCRIBERS WebSocket subscribers of /api/socket for SECONDS; for every position a frame
//       carries, the time from its commit (committed_ms, fleetd's clock; the same machine) to
//       its arrival here; prints
//       "ws subscribers=N connected=.. closed_early=.. positions=.. frames=.. p50_ms=.. p99_ms=..
//       max_ms=.."
// Utilities of a benchmark, not of the product: errors end the run with a message.
#include <utility>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int run_http(const std::string& host, const std::string& port, const std::string& path,
             const std::string& token, int requests) {
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.connect(resolver.resolve(host, port));
    std::vector<double> ms;
    std::size_t bytes = 0;
    for (int i = 0; i < requests + 5; ++i) {
        http::request<http::empty_body> req{http::verb::get, path, 11};
        req.set(http::field::host, host);
        req.set(http::field::authorization, "Bearer " + token);
        req.keep_alive(true);
        const auto t0 = std::chrono::steady_clock::now();
        http::write(stream, req);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1u << 30);
        http::read(stream, buffer, parser);
        const auto t1 = std::chrono::steady_clock::now();
        const auto& res = parser.get();
        if (res.result_int() != 200) {
            std::cerr << "bench_api_client: " << path << " answered " << res.result_int() << ": "
                      << res.body().substr(0, 200) << "\n";
            return 1;
        }
        if (i >= 5) {  // the first few warm up
            ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            bytes = res.body().size();
        }
    }
    std::printf("http %s requests=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bytes=%zu\n", path.c_str(),
                requests, percentile(ms, 0.5), percentile(ms, 0.99),
                *std::max_element(ms.begin(), ms.end()), bytes);
    return 0;
}

struct WsTotals {
    std::vector<double> latency_ms;
    std::size_t frames = 0;
    std::size_t connected = 0;
    std::size_t closed_early = 0;
};

asio::awaitable<void> subscriber(std::string host, std::string port, std::string token,
                                 std::chrono::steady_clock::time_point until, WsTotals& totals) {
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    websocket::stream<beast::tcp_stream> ws(executor);
    boost::system::error_code ec;
    const auto endpoints =
        co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        co_return;
    }
    co_await beast::get_lowest_layer(ws).async_connect(
        endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        co_return;
    }
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
        req.set(http::field::authorization, "Bearer " + token);
    }));
    ws.read_message_max(64 << 20);
    co_await ws.async_handshake(host, "/api/socket", asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        std::cerr << "bench_api_client: handshake: " << ec.message() << "\n";
        co_return;
    }
    ++totals.connected;
    beast::flat_buffer buffer;
    constexpr std::string_view key = "\"committed_ms\":";
    while (std::chrono::steady_clock::now() < until) {
        co_await ws.async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            ++totals.closed_early;
            co_return;
        }
        const auto arrived = now_ms();
        const auto text = beast::buffers_to_string(buffer.data());
        buffer.consume(buffer.size());
        ++totals.frames;
        // A scan, not a parse: the client must not be what limits the run.
        for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
            std::int64_t committed = 0;
            const char* first = text.data() + at + key.size();
            std::from_chars(first, text.data() + text.size(), committed);
            totals.latency_ms.push_back(static_cast<double>(arrived - committed));
        }
    }
    ws.async_close(websocket::close_code::normal, asio::detached);
}

int run_ws(const std::string& host, const std::string& port, const std::string& token, int n,
           double seconds) {
    asio::io_context io;
    WsTotals totals;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(io, subscriber(host, port, token, until, totals), asio::detached);
    }
    asio::steady_timer stop(io);
    stop.expires_at(until + std::chrono::seconds(2));
    stop.async_wait([&io](const boost::system::error_code&) { io.stop(); });
    io.run();
    std::printf(
        "ws subscribers=%d connected=%zu closed_early=%zu positions=%zu frames=%zu "
        "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
        n, totals.connected, totals.closed_early, totals.latency_ms.size(), totals.frames,
        percentile(totals.latency_ms, 0.5), percentile(totals.latency_ms, 0.99),
        totals.latency_ms.empty()
            ? 0.0
            : *std::max_element(totals.latency_ms.begin(), totals.latency_ms.end()));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::vector<std::string> a(argv + 1, argv + argc);
        if (a.size() == 6 && a[0] == "http") {
            return run_http(a[1], a[2], a[3], a[4], std::stoi(a[5]));
        }
        if (a.size() == 6 && a[0] == "ws") {
            return run_ws(a[1], a[2], a[3], std::stoi(a[4]), std::stod(a[5]));
        }
        std::cerr << "usage: bench_api_client http HOST PORT PATH TOKEN REQUESTS\n"
                     "       bench_api_client ws HOST PORT TOKEN SUBSCRIBERS SECONDS\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "bench_api_client: " << e.what() << "\n";
        return 1;
    }
}
