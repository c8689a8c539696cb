#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <sys/resource.h>

#include <boost/program_options.hpp>

#include "geo/error.hpp"
#include "geo/ogr_lines.hpp"
#include "tools/fleetsim/echo.hpp"
#include "tools/fleetsim/engine.hpp"

namespace {

namespace po = boost::program_options;
using namespace fleet::tools::fleetsim;

constexpr const char* usage =
    R"(fleetsim: simulated vehicles and a load generator speaking real device protocols.

Usage:
  fleetsim run  --protocol P [--host H] [--port N] [--vehicles N] [--route FILE]
                [--speed-kmh V] [--interval-s S] [--duration-s S] [--time-scale K] ...
  fleetsim load --protocol P [--host H] [--port N] --connections C [--records-per-packet R]
                [--rate RPS] [--duration-s S] ...
  fleetsim echo --protocol P [--host H] [--port N] [--threads T] [--duration-s S]

run:  N vehicles drive along the first line of --route (GeoJSON, GPX track or route, KML,
      Shapefile; read through OGR), spaced evenly along it and turning round at its ends, or
      on random walks from --origin-lat/--origin-lon when no route is given. Each reports one
      fix every --interval-s of device time, for --duration-s of device time. --time-scale K
      runs K times faster than real time: device timestamps advance by the interval, wall time
      by interval/K; timestamps start at now - duration*(1 - 1/K) so none lies in the future.
load: C connections, each its own device, send packets of R records paced so the total record
      rate is about RPS (0: each connection sends its next packet as soon as the previous one is
      acknowledged), for --duration-s wall seconds, then deliver what is still unacknowledged
      for up to --drain-timeout-s. Device timestamps start 24 h ago and advance by --interval-s
      per record.
echo: a trivial server for measuring fleetsim itself: it answers every login and every packet
      of --protocol at once, positively and completely, and stores nothing (Teltonika: the
      record count; GT06: the echo reply; OsmAnd: 200; native: Ack with every record stored).
      Listens on --host (default 127.0.0.1) and --port (0: a free one, printed) until SIGINT or
      SIGTERM, or for --duration-s when given; then prints
        fleetsim echo: connections=.. packets=.. records=.. errors=..

Delivery, as real trackers with a buffer of unsent records do: each connection has one packet
in flight; a record counts as acknowledged once any of its sends was acknowledged. After a
connection error, an ACK timeout or a negative answer the device waits --reconnect-delay-s,
reconnects if the connection is gone, and resends the records of that packet not yet
acknowledged before any new one. Per protocol:
  teltonika  Codec 8 Extended, up to 255 records per packet; delivered when the 4-byte ACK
             equals the packet's record count (any other count fails the whole packet, which
             is resent).
  gt06       login 0x01, then one location 0x12 per packet (R is 1); delivered when the
             server's echo reply to that location (0x12 and its serial) arrives.
  osmand     one HTTP GET per record (R is 1); delivered on 200, any other status fails.
  native     protobuf PositionBatch (batch_id); delivered records = Ack.stored of the
             matching batch_id (the first ones; the rest are resent).
Downlink, answered while a device waits for an answer (as the device would):
  native     each Notice at once with NoticeAck{delivered}, then --read-after seconds later
             (sent before the next packet or after an answer) with NoticeAck{read_at_ms,
             accepted}; a withdrawal (severity 0) gets only the first.
  teltonika  a Codec 12 command with a Codec 12 response "OK <command>".
  gt06       an online command 0x80 with 0x21 echoing its server flag, "OK <command>".
Output: a summary, then the line
  fleetsim: sent=.. acked=.. failed=.. rate=..rec/s p50_ms=.. p99_ms=.. unacked=..
            conn_errors=.. timeouts=.. p90_ms=.. max_ms=.. resent=.. records_resent=..
            packets=..
(sent/acked/unacked count distinct records, failed counts packets with a negative answer,
timeouts packets whose answer did not come in time, resent packets written again and
records_resent their records, packets every packet written; rate is acknowledged records per
second.) ACK latency is from the packet's last byte written to its answer.
--acked-log FILE writes a CSV with the header
  protocol,device,device_time_ms,latitude_deg,longitude_deg,speed_kmh,course_deg,altitude_m,
  satellites,odometer_m,fuel_l,ignition
and one line per acknowledged record (each once): what its packet carried, in the protocol's
units and precision as a server decodes it (GT06 degrees in 1/1800000 and whole km/h, OsmAnd
speed in knots with 2 decimals converted to km/h, ...); fields the protocol lacks are empty.
SIGINT/SIGTERM stop sending early; unacknowledged records are still delivered for up to
--drain-timeout-s, then the summary is printed.
The open-file limit is raised to its hard limit when more connections are asked for.
Exit status: 0 when records were sent and all were acknowledged (echo: on a clean stop), 1
otherwise, 2 on bad usage.

Options)";

po::options_description describe() {
    po::options_description o(usage);
    // clang-format off
    o.add_options()
        ("help,h", "show this help")
        ("protocol", po::value<std::string>(), "teltonika | gt06 | osmand | native")
        ("host", po::value<std::string>()->default_value("127.0.0.1"), "server address")
        ("port", po::value<unsigned>(),
         "server port (default: teltonika 5027, gt06 5023, osmand 5055, native 5100)")
        ("vehicles", po::value<std::size_t>(),
         "vehicles (run: default 1; load: distinct device ids, default --connections)")
        ("imei-base", po::value<std::uint64_t>()->default_value(356307042441000),
         "device id of vehicle 0; vehicle i is imei-base + i")
        ("route", po::value<std::string>(), "line file to drive along (run and load)")
        ("route-layer", po::value<std::string>()->default_value(""),
         "layer of --route to read (default: all layers, first line used)")
        ("origin-lat", po::value<double>()->default_value(59.9375, "59.9375"), "random-walk start latitude")
        ("origin-lon", po::value<double>()->default_value(30.3086, "30.3086"), "random-walk start longitude")
        ("seed", po::value<std::uint32_t>()->default_value(1), "random-walk seed")
        ("speed-kmh", po::value<double>()->default_value(40), "vehicle speed")
        ("interval-s", po::value<double>()->default_value(5), "device time between fixes")
        ("duration-s", po::value<double>()->default_value(60),
         "run: device time simulated; load: wall time spent sending; echo: serve this long")
        ("time-scale", po::value<double>()->default_value(1), "run: speed-up over real time")
        ("connections", po::value<std::size_t>()->default_value(1), "load: concurrent connections")
        ("packets-per-connection", po::value<std::size_t>(),
         "load: stop each connection after this many packets (default: until --duration-s)")
        ("acked-log", po::value<std::string>(),
         "write every acknowledged record, with what its packet carried, to this CSV file")
        ("records-per-packet", po::value<std::size_t>()->default_value(1),
         "load: records in one packet")
        ("rate", po::value<double>()->default_value(0),
         "load: total records/s over all connections (0: as fast as ACKs allow)")
        ("ack-timeout-s", po::value<double>()->default_value(30), "wait for one packet's answer")
        ("drain-timeout-s", po::value<double>()->default_value(10),
         "after sending ends, keep delivering what is unacknowledged this long")
        ("connect-timeout-s", po::value<double>()->default_value(10), "connect and login")
        ("reconnect-delay-s", po::value<double>()->default_value(1),
         "wait after a failure before reconnecting and resending")
        ("read-after", po::value<double>()->default_value(2),
         "native: seconds from a notice's arrival to the driver's read receipt (negative: never)")
        ("threads", po::value<unsigned>()->default_value(1),
         "I/O threads (load: each device on one of them; echo: the server's)");
    // clang-format on
    return o;
}

Clock::duration seconds(double s, const char* key) {
    if (!(s >= 0) || !std::isfinite(s)) {
        throw fleet::ConfigError(key, "must be a non-negative number of seconds");
    }
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

Plan make_plan(const std::string& mode, const po::variables_map& vm) {
    Plan plan;
    if (!vm.count("protocol")) {
        throw fleet::ConfigError("protocol", "required (teltonika, gt06, osmand or native)");
    }
    try {
        plan.protocol = parse_protocol(vm["protocol"].as<std::string>());
    } catch (const fleet::InputError& e) {
        throw fleet::ConfigError("protocol", e.what());
    }
    plan.host = vm["host"].as<std::string>();
    const unsigned port =
        vm.count("port") ? vm["port"].as<unsigned>() : default_port(plan.protocol);
    if (port == 0 || port > 65535) {
        throw fleet::ConfigError("port", "must be 1..65535");
    }
    plan.port = static_cast<std::uint16_t>(port);
    plan.imei_base = vm["imei-base"].as<std::uint64_t>();
    plan.speed_kmh = vm["speed-kmh"].as<double>();
    if (!(plan.speed_kmh >= 0)) {
        throw fleet::ConfigError("speed-kmh", "must not be negative");
    }
    const double interval_s = vm["interval-s"].as<double>();
    if (!(interval_s > 0)) {
        throw fleet::ConfigError("interval-s", "must be positive");
    }
    plan.fix_interval = std::chrono::milliseconds(std::llround(interval_s * 1000));
    const double duration_s = vm["duration-s"].as<double>();
    if (!(duration_s > 0)) {
        throw fleet::ConfigError("duration-s", "must be positive");
    }
    plan.ack_timeout = seconds(vm["ack-timeout-s"].as<double>(), "ack-timeout-s");
    plan.drain_timeout = seconds(vm["drain-timeout-s"].as<double>(), "drain-timeout-s");
    plan.connect_timeout = seconds(vm["connect-timeout-s"].as<double>(), "connect-timeout-s");
    plan.reconnect_delay = seconds(vm["reconnect-delay-s"].as<double>(), "reconnect-delay-s");
    plan.threads = std::max(1U, vm["threads"].as<unsigned>());
    const double read_after_s = vm["read-after"].as<double>();
    if (std::isnan(read_after_s)) {
        throw fleet::ConfigError("read-after", "must be a number of seconds");
    }
    plan.read_after =
        read_after_s < 0 ? std::nullopt : std::optional(seconds(read_after_s, "read-after"));
    plan.origin = {vm["origin-lon"].as<double>(), vm["origin-lat"].as<double>()};
    plan.seed = vm["seed"].as<std::uint32_t>();
    if (vm.count("route")) {
        const auto lines = fleet::geo::read_lines(vm["route"].as<std::string>(),
                                                  vm["route-layer"].as<std::string>());
        plan.route = std::make_shared<const Path>(lines.front());
    }

    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    if (mode == "run") {
        const double scale = vm["time-scale"].as<double>();
        if (!(scale > 0)) {
            throw fleet::ConfigError("time-scale", "must be positive");
        }
        plan.vehicles = vm.count("vehicles") ? vm["vehicles"].as<std::size_t>() : 1;
        plan.connections = plan.vehicles;
        plan.records_per_packet = 1;
        const auto fixes =
            static_cast<std::size_t>(std::max(1.0, std::floor(duration_s / interval_s)));
        plan.packets_per_connection = fixes;
        plan.packet_period = seconds(interval_s / scale, "interval-s");
        // One period of slack: connections are staggered within the first period.
        plan.duration = plan.packet_period * static_cast<long>(fixes + 1);
        plan.device_time_start = std::chrono::time_point_cast<std::chrono::milliseconds>(
            now - std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::duration<double>(duration_s * (1 - 1 / scale))));
    } else {
        plan.connections = vm["connections"].as<std::size_t>();
        plan.vehicles = vm.count("vehicles") ? vm["vehicles"].as<std::size_t>() : plan.connections;
        plan.records_per_packet = vm["records-per-packet"].as<std::size_t>();
        if (plan.records_per_packet == 0 ||
            plan.records_per_packet > max_records_per_packet(plan.protocol)) {
            throw fleet::ConfigError("records-per-packet",
                                     "must be 1.." +
                                         std::to_string(max_records_per_packet(plan.protocol)) +
                                         " for " + protocol_name(plan.protocol));
        }
        const double rate = vm["rate"].as<double>();
        if (!(rate >= 0)) {
            throw fleet::ConfigError("rate", "must not be negative");
        }
        if (rate > 0) {
            plan.packet_period = seconds(
                static_cast<double>(plan.connections * plan.records_per_packet) / rate, "rate");
        }
        plan.duration = seconds(duration_s, "duration-s");
        if (vm.count("packets-per-connection")) {
            plan.packets_per_connection = vm["packets-per-connection"].as<std::size_t>();
        }
        plan.device_time_start =
            std::chrono::time_point_cast<std::chrono::milliseconds>(now - std::chrono::hours(24));
    }
    if (plan.connections == 0) {
        throw fleet::ConfigError(mode == "run" ? "vehicles" : "connections", "must be at least 1");
    }
    if (plan.vehicles == 0) {
        throw fleet::ConfigError("vehicles", "must be at least 1");
    }
    return plan;
}

// Each connection is a file descriptor: a soft limit below what the run needs is raised to the
// hard limit, and a shortfall is said before it shows as connection errors (a server cannot
// know how many will come: it takes what it gets, quietly).
void raise_open_file_limit(std::size_t connections, bool warn = true) {
    const rlim_t wanted = static_cast<rlim_t>(connections) + 64;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) {
        return;
    }
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (warn && limit.rlim_cur < wanted) {
        std::cerr << "fleetsim: warning: open-file limit " << limit.rlim_cur << " is below the "
                  << wanted << " that " << connections
                  << " connections need (raise the hard limit: ulimit -Hn)\n";
    }
}

int run_echo(const po::variables_map& vm) {
    if (!vm.count("protocol")) {
        throw fleet::ConfigError("protocol", "required (teltonika, gt06, osmand or native)");
    }
    Protocol protocol{};
    try {
        protocol = parse_protocol(vm["protocol"].as<std::string>());
    } catch (const fleet::InputError& e) {
        throw fleet::ConfigError("protocol", e.what());
    }
    const unsigned port = vm.count("port") ? vm["port"].as<unsigned>() : default_port(protocol);
    if (port > 65535) {
        throw fleet::ConfigError("port", "must be 0..65535");
    }
    const unsigned threads = std::max(1U, vm["threads"].as<unsigned>());
    std::optional<Clock::duration> duration;
    if (!vm["duration-s"].defaulted()) {
        duration = seconds(vm["duration-s"].as<double>(), "duration-s");
    }
    raise_open_file_limit(1000000, /*warn=*/false);
    // An address that does not parse or cannot be bound is the caller's choice: a usage error.
    std::unique_ptr<EchoServer> made;
    try {
        made = std::make_unique<EchoServer>(protocol, vm["host"].as<std::string>(),
                                            static_cast<std::uint16_t>(port), threads);
    } catch (const fleet::InputError& e) {
        throw fleet::ConfigError("host", e.what());
    }
    EchoServer& server = *made;
    std::cout << "fleetsim echo: " << protocol_name(protocol) << " listening on "
              << vm["host"].as<std::string>() << ":" << server.port() << std::endl;
    std::thread timer;
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    if (duration) {
        timer = std::thread([&] {
            std::unique_lock lock(mutex);
            if (!done.wait_for(lock, *duration, [&] { return finished; })) {
                server.stop();
            }
        });
    }
    const EchoReport report = server.run(/*handle_signals=*/true);
    {
        const std::lock_guard lock(mutex);
        finished = true;
    }
    done.notify_all();
    if (timer.joinable()) {
        timer.join();
    }
    std::cout << echo_line(report) << std::endl;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        auto options = describe();
        po::options_description hidden;
        hidden.add_options()("mode", po::value<std::string>());
        po::options_description all;
        all.add(options).add(hidden);
        po::positional_options_description positional;
        positional.add("mode", 1);
        po::variables_map vm;
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
                  vm);
        po::notify(vm);
        if (vm.count("help")) {
            std::cout << options << "\n";
            return 0;
        }
        if (!vm.count("mode")) {
            std::cerr << "fleetsim: no mode given: run, load or echo (see fleetsim --help)\n";
            return 2;
        }
        const std::string mode = vm["mode"].as<std::string>();
        if (mode == "echo") {
            return run_echo(vm);
        }
        if (mode != "run" && mode != "load") {
            std::cerr << "fleetsim: unknown mode '" << mode << "': run, load or echo\n";
            return 2;
        }
        Plan plan = make_plan(mode, vm);
        plan.handle_signals = true;
        plan.keep_acked = vm.count("acked-log") > 0;
        // Opened first: a log that cannot be written is known before anything is sent.
        std::ofstream log;
        std::string log_path;
        if (plan.keep_acked) {
            log_path = vm["acked-log"].as<std::string>();
            log.open(log_path);
            if (!log) {
                std::cerr << "fleetsim: cannot open acked-log '" << log_path << "' for writing\n";
                return 2;
            }
        }
        raise_open_file_limit(plan.connections);
        std::cerr << "fleetsim " << mode << ": " << protocol_name(plan.protocol) << " to "
                  << plan.host << ":" << plan.port << ", " << plan.connections << " connection(s), "
                  << plan.records_per_packet << " record(s) per packet\n";
        const Report report = run(plan);
        std::cout << format_report(report);
        if (plan.keep_acked) {
            write_acked_log(log, plan.protocol, report.acked_records);
            log.close();
            if (!log) {
                std::cerr << "fleetsim: cannot write acked-log '" << log_path << "'\n";
                return 1;
            }
        }
        return report.all_acked() ? 0 : 1;
    } catch (const po::error& e) {
        std::cerr << "fleetsim: " << e.what() << " (see fleetsim --help)\n";
        return 2;
    } catch (const fleet::ConfigError& e) {
        std::cerr << "fleetsim: " << e.what() << "\n";
        return 2;
    } catch (const fleet::Error& e) {
        std::cerr << "fleetsim: " << e.what() << "\n";
        return 1;
    }
}
