#include "tools/fleetsim/engine.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include "geo/error.hpp"

namespace fleet::tools::fleetsim {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

void Report::merge(const Report& other) {
    records_sent += other.records_sent;
    records_acked += other.records_acked;
    records_resent += other.records_resent;
    packets_resent += other.packets_resent;
    packets_sent += other.packets_sent;
    packets_acked += other.packets_acked;
    packets_failed += other.packets_failed;
    connection_errors += other.connection_errors;
    ack_timeouts += other.ack_timeouts;
    ack_latencies_ms.insert(ack_latencies_ms.end(), other.ack_latencies_ms.begin(),
                            other.ack_latencies_ms.end());
    acked_records.insert(acked_records.end(), other.acked_records.begin(),
                         other.acked_records.end());
    for (const auto& [message, count] : other.errors) {
        errors[message] += count;
    }
}

void Report::note_error(const std::string& message) {
    // Bounded: a storm of distinct messages must not grow without limit.
    if (errors.size() < 32 || errors.contains(message)) {
        ++errors[message];
    }
}

namespace {

// One device's life: connect and log in, then packets paced by the plan, each waiting for its
// answer (one packet in flight, as trackers do). What the server did not acknowledge stays in
// the device's buffer and is resent, after reconnect_delay (and a reconnection when the
// connection is gone), before anything new; after sending ends the buffer is still delivered
// until the drain deadline.
class Device {
  public:
    Device(const Plan& plan, std::size_t index, asio::ip::tcp::endpoint server,
           Clock::time_point start, Report& report, Clock::time_point& last_answer,
           const std::atomic<bool>& stop)
        : plan_(plan),
          index_(index),
          server_(server),
          start_(start),
          report_(report),
          last_answer_(last_answer),
          stop_(stop),
          vehicle_(make_vehicle(plan, index % std::max<std::size_t>(1, plan.vehicles))),
          device_id_(
              std::to_string(plan.imei_base + index % std::max<std::size_t>(1, plan.vehicles))) {}

    awaitable<void> drive() {
        auto executor = co_await asio::this_coro::executor;
        auto link = make_link(plan_.protocol, executor, device_id_, {plan_.read_after});
        asio::steady_timer timer(executor);
        const Clock::time_point end_sending = start_ + plan_.duration;
        // Set when no new packet may be made any more: the buffer is delivered until then.
        std::optional<Clock::time_point> end_draining;
        Clock::time_point next_packet =
            start_ + plan_.packet_period * static_cast<long>(index_) /
                         static_cast<long>(std::max<std::size_t>(1, plan_.connections));
        Clock::time_point not_before = start_;  // after a failure: reconnect_delay later
        devices::Millis device_time = plan_.device_time_start;
        bool open = false;
        std::size_t packets = 0;
        std::vector<devices::Fix> unacked;  // the packet in the buffer, resent first
        bool resending = false;             // unacked was written before

        while (true) {
            const Clock::time_point now = Clock::now();
            const bool may_make_packet =
                !end_draining && !stop_ && now < end_sending && next_packet < end_sending &&
                (!plan_.packets_per_connection || packets < *plan_.packets_per_connection);
            if (!may_make_packet) {
                if (unacked.empty()) {
                    break;
                }
                if (!end_draining) {
                    end_draining = std::min(now, end_sending) + plan_.drain_timeout;
                }
            }
            const Clock::time_point answer_limit =
                end_draining ? *end_draining : end_sending + plan_.drain_timeout;
            const Clock::time_point wake =
                unacked.empty() ? std::max(next_packet, not_before) : not_before;
            if (end_draining && wake >= *end_draining) {
                break;
            }
            if (wake > now) {
                timer.expires_at(wake);
                co_await timer.async_wait(use_awaitable);
                continue;  // the stop flag and the deadlines may have changed meanwhile
            }
            if (!open) {
                open =
                    co_await try_open(*link, std::min(now + plan_.connect_timeout, answer_limit));
                if (!open) {
                    not_before = Clock::now() + plan_.reconnect_delay;
                    continue;
                }
            }
            if (unacked.empty()) {
                unacked.reserve(plan_.records_per_packet);
                for (std::size_t i = 0; i < plan_.records_per_packet; ++i) {
                    unacked.push_back(vehicle_.fix(device_time));
                    vehicle_.advance(plan_.fix_interval);
                    device_time += plan_.fix_interval;
                }
                ++packets;
                resending = false;
            }
            const Outcome outcome = co_await exchange(*link, unacked, resending, answer_limit);
            open = outcome.open;
            acknowledge(unacked, outcome.acked);
            if (unacked.empty()) {
                next_packet = plan_.packet_period > Clock::duration::zero()
                                  ? std::max(next_packet + plan_.packet_period,
                                             Clock::now() - plan_.packet_period)
                                  : Clock::now();
            } else {
                resending = true;
                not_before = Clock::now() + plan_.reconnect_delay;
            }
        }
        link->close();
    }

  private:
    struct Outcome {
        bool open = false;      // the connection is still usable
        std::size_t acked = 0;  // records at the front of the packet the server confirmed
    };

    static Vehicle make_vehicle(const Plan& plan, std::size_t vehicle) {
        if (plan.route) {
            const double spacing_m = plan.route->length_m() /
                                     static_cast<double>(std::max<std::size_t>(1, plan.vehicles));
            return Vehicle(plan.route, spacing_m * static_cast<double>(vehicle), plan.speed_kmh);
        }
        return Vehicle(plan.origin, plan.seed + static_cast<std::uint32_t>(vehicle),
                       plan.speed_kmh);
    }

    awaitable<bool> try_open(Link& link, Clock::time_point deadline) {
        try {
            co_await link.open(server_, deadline);
            co_return true;
        } catch (const boost::system::system_error& e) {
            report_.note_error(std::string("connect/login: ") + e.what());
        } catch (const fleet::Error& e) {
            report_.note_error(std::string("connect/login: ") + e.what());
        }
        ++report_.connection_errors;
        link.close();
        co_return false;
    }

    // The first `acked` records of the packet are delivered: out of the buffer, into the log.
    void acknowledge(std::vector<devices::Fix>& packet, std::size_t acked) {
        acked = std::min(acked, packet.size());
        report_.records_acked += acked;
        if (plan_.keep_acked) {
            for (std::size_t i = 0; i < acked; ++i) {
                report_.acked_records.push_back(
                    AckedRecord{device_id_, sent_fix(plan_.protocol, packet[i])});
            }
        }
        packet.erase(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(acked));
    }

    // Writes one packet and waits for its answer.
    awaitable<Outcome> exchange(Link& link, std::span<const devices::Fix> fixes, bool resend,
                                Clock::time_point answer_limit) {
        bool written = false;
        try {
            co_await link.write_packet(fixes,
                                       std::min(Clock::now() + plan_.ack_timeout, answer_limit));
            written = true;
            const Clock::time_point written_at = Clock::now();
            ++report_.packets_sent;
            if (resend) {
                ++report_.packets_resent;
                report_.records_resent += fixes.size();
            } else {
                report_.records_sent += fixes.size();
            }
            const auto answer =
                co_await link.read_answer(std::min(written_at + plan_.ack_timeout, answer_limit));
            const Clock::time_point answered_at = Clock::now();
            last_answer_ = std::max(last_answer_, answered_at);
            report_.ack_latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(answered_at - written_at).count());
            if (answer.failure) {
                ++report_.packets_failed;
                report_.note_error(*answer.failure);
            } else {
                ++report_.packets_acked;
            }
            co_return Outcome{true, answer.acked};
        } catch (const boost::system::system_error& e) {
            if (written && e.code() == boost::beast::error::timeout) {
                ++report_.ack_timeouts;
                report_.note_error("no answer in time");
            } else {
                ++report_.connection_errors;
                report_.note_error(e.what());
            }
        } catch (const fleet::Error& e) {
            ++report_.connection_errors;
            report_.note_error(e.what());
        }
        link.close();
        co_return Outcome{false, 0};
    }

    const Plan& plan_;
    std::size_t index_;
    asio::ip::tcp::endpoint server_;
    Clock::time_point start_;
    Report& report_;
    Clock::time_point& last_answer_;
    const std::atomic<bool>& stop_;
    Vehicle vehicle_;
    std::string device_id_;
};

asio::ip::tcp::endpoint resolve(const Plan& plan) {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto results = resolver.resolve(plan.host, std::to_string(plan.port), ec);
    if (ec || results.empty()) {
        throw InputError("cannot resolve host '" + plan.host + "': " + ec.message());
    }
    return *results.begin();
}

}  // namespace

Report run(const Plan& plan) {
    if (plan.records_per_packet == 0 ||
        plan.records_per_packet > max_records_per_packet(plan.protocol)) {
        throw InputError(std::to_string(plan.records_per_packet) +
                         " records per packet: " + protocol_name(plan.protocol) + " takes 1.." +
                         std::to_string(max_records_per_packet(plan.protocol)));
    }
    if (plan.connections == 0 || plan.vehicles == 0) {
        throw InputError("a run needs at least one connection and one vehicle");
    }
    const auto server = resolve(plan);
    // One io_context per thread, each device on one of them (round robin): a device's handlers
    // never run concurrently, without a strand per device and the locking that comes with it.
    const unsigned thread_count = std::max(1U, plan.threads);
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (unsigned t = 0; t < thread_count; ++t) {
        contexts.push_back(std::make_unique<asio::io_context>(1));
    }
    asio::io_context& first = *contexts.front();
    const Clock::time_point start = Clock::now();

    // Each device keeps its own counters (no sharing between threads); merged at the end.
    std::vector<Report> reports(plan.connections);
    std::vector<Clock::time_point> last_answers(plan.connections, start);
    // SIGINT/SIGTERM end sending early; answers already awaited still get their deadline.
    std::atomic<bool> stop{false};
    asio::signal_set signals(first);
    if (plan.handle_signals) {
        signals.add(SIGINT);
        signals.add(SIGTERM);
        signals.async_wait([&stop](const boost::system::error_code& ec, int) {
            if (!ec) {
                stop = true;
            }
        });
    }
    std::atomic<std::size_t> active{plan.connections};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    std::vector<std::unique_ptr<Device>> devices;
    devices.reserve(plan.connections);
    for (std::size_t i = 0; i < plan.connections; ++i) {
        devices.push_back(
            std::make_unique<Device>(plan, i, server, start, reports[i], last_answers[i], stop));
        asio::co_spawn(*contexts[i % thread_count], devices.back()->drive(),
                       [&](std::exception_ptr e) {
                           if (e) {
                               const std::lock_guard lock(failure_mutex);
                               failure = e;
                           }
                           // The last device to finish stops waiting for signals, so run ends.
                           if (--active == 0) {
                               asio::post(first, [&signals] { signals.cancel(); });
                           }
                       });
    }
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < thread_count; ++t) {
        threads.emplace_back([&context = *contexts[t]] { context.run(); });
    }
    first.run();
    for (auto& t : threads) {
        t.join();
    }
    if (failure) {
        std::rethrow_exception(failure);
    }

    Report total;
    Clock::time_point last_answer = start;
    for (std::size_t i = 0; i < plan.connections; ++i) {
        total.merge(reports[i]);
        last_answer = std::max(last_answer, last_answers[i]);
    }
    total.elapsed_s = std::chrono::duration<double>(
                          (total.records_acked > 0 ? last_answer : Clock::now()) - start)
                          .count();
    return total;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) {
        return 0;
    }
    std::sort(values.begin(), values.end());
    const double rank = std::ceil(p / 100 * static_cast<double>(values.size()));
    const auto index = static_cast<std::size_t>(std::clamp(rank, 1.0, double(values.size()))) - 1;
    return values[index];
}

std::string machine_line(const Report& r) {
    const double rate = r.elapsed_s > 0 ? static_cast<double>(r.records_acked) / r.elapsed_s : 0;
    // The fields the brief fixed come first, in its order; the others follow.
    char line[512];
    std::snprintf(
        line, sizeof line,
        "fleetsim: sent=%llu acked=%llu failed=%llu rate=%.1frec/s p50_ms=%.2f "
        "p99_ms=%.2f unacked=%llu conn_errors=%llu timeouts=%llu p90_ms=%.2f max_ms=%.2f "
        "resent=%llu records_resent=%llu packets=%llu",
        static_cast<unsigned long long>(r.records_sent),
        static_cast<unsigned long long>(r.records_acked),
        static_cast<unsigned long long>(r.packets_failed), rate, percentile(r.ack_latencies_ms, 50),
        percentile(r.ack_latencies_ms, 99), static_cast<unsigned long long>(r.records_unacked()),
        static_cast<unsigned long long>(r.connection_errors),
        static_cast<unsigned long long>(r.ack_timeouts), percentile(r.ack_latencies_ms, 90),
        percentile(r.ack_latencies_ms, 100), static_cast<unsigned long long>(r.packets_resent),
        static_cast<unsigned long long>(r.records_resent),
        static_cast<unsigned long long>(r.packets_sent));
    return line;
}

std::string format_report(const Report& r) {
    const double rate = r.elapsed_s > 0 ? static_cast<double>(r.records_acked) / r.elapsed_s : 0;
    char text[1024];
    std::snprintf(text, sizeof text,
                  "records:   %llu sent, %llu acknowledged, %llu unacknowledged, %llu resends\n"
                  "packets:   %llu sent (%llu of them resends), %llu acknowledged, %llu failed, "
                  "%llu timed out\n"
                  "errors:    %llu connection errors\n"
                  "throughput: %.1f acknowledged records/s over %.2f s\n"
                  "ACK latency (ms): p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  (%zu answers)\n",
                  static_cast<unsigned long long>(r.records_sent),
                  static_cast<unsigned long long>(r.records_acked),
                  static_cast<unsigned long long>(r.records_unacked()),
                  static_cast<unsigned long long>(r.records_resent),
                  static_cast<unsigned long long>(r.packets_sent),
                  static_cast<unsigned long long>(r.packets_resent),
                  static_cast<unsigned long long>(r.packets_acked),
                  static_cast<unsigned long long>(r.packets_failed),
                  static_cast<unsigned long long>(r.ack_timeouts),
                  static_cast<unsigned long long>(r.connection_errors), rate, r.elapsed_s,
                  percentile(r.ack_latencies_ms, 50), percentile(r.ack_latencies_ms, 90),
                  percentile(r.ack_latencies_ms, 99), percentile(r.ack_latencies_ms, 100),
                  r.ack_latencies_ms.size());
    std::string out = text;
    for (const auto& [message, count] : r.errors) {
        out += "  " + std::to_string(count) + " x " + message + "\n";
    }
    return out + machine_line(r) + "\n";
}

namespace {

template <typename T>
void put_field(std::ostream& out, const std::optional<T>& value) {
    out << ',';
    if (!value) {
        return;
    }
    if constexpr (std::is_same_v<T, bool>) {
        out << (*value ? "true" : "false");
    } else if constexpr (std::is_floating_point_v<T>) {
        std::array<char, 32> text{};
        const auto end = std::to_chars(text.data(), text.data() + text.size(), *value).ptr;
        out.write(text.data(), end - text.data());
    } else {
        out << *value;
    }
}

}  // namespace

void write_acked_log(std::ostream& out, Protocol protocol, const std::vector<AckedRecord>& acked) {
    out << acked_log_header << '\n';
    const char* name = protocol_name(protocol);
    for (const auto& [device, f] : acked) {
        // Device ids are digits in every plan (imei-base + i): no CSV quoting is needed.
        out << name << ',' << device << ',' << f.device_time.time_since_epoch().count();
        put_field(out, std::optional<double>(f.latitude_deg));
        put_field(out, std::optional<double>(f.longitude_deg));
        put_field(out, f.speed_kmh);
        put_field(out, f.course_deg);
        put_field(out, f.altitude_m);
        put_field(out, f.satellites);
        put_field(out, f.odometer_m);
        put_field(out, f.fuel_l);
        put_field(out, f.ignition);
        out << '\n';
    }
}

}  // namespace fleet::tools::fleetsim
