#include "server/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "dispatch/speed_limits.hpp"
#include "dispatch/thresholds.hpp"
#include "geo/error.hpp"
#include "geo/number_text.hpp"
#include "geo/store.hpp"
#include "geo/utf8.hpp"
#include "ingest/protocols.hpp"

namespace fleet::server {

namespace po = boost::program_options;

namespace {

po::options_description config_options() {
    po::options_description d("Configuration (also accepted as `key = value` in --config FILE)");
    // clang-format off
    d.add_options()
        ("database-url", po::value<std::string>()->value_name("URL"),
         "PostgreSQL/PostGIS connection string (libpq key=value or postgresql:// URI); "
         "overridden by FLEET_DATABASE_URL unless given on the command line")
        ("database-wait", po::value<long>()->default_value(0)->value_name("SECONDS"),
         "give up when the database stays unreachable this long (0: keep retrying with back-off)")
        ("database-connect-timeout", po::value<long>()->default_value(10)->value_name("SECONDS"),
         "each attempt to connect to the database gives up after this long (0: no limit)")
        ("database-statement-timeout", po::value<long>()->default_value(60)->value_name("SECONDS"),
         "every database statement is cancelled after this long (0: no limit)")
        ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"),
         "debug, info, warn or error")
        ("partition-months-ahead", po::value<int>()->default_value(3)->value_name("N"),
         "monthly partitions of fleet.positions kept ready ahead of the current month (0-120)")
        ("shutdown-timeout", po::value<long>()->default_value(10)->value_name("SECONDS"),
         "bound on a clean stop after SIGINT/SIGTERM (1-3600)")
        ("bind", po::value<std::string>()->default_value("0.0.0.0")->value_name("ADDRESS"),
         "address the device listeners bind to (IPv4 or IPv6)")
        ("unknown-devices", po::value<std::string>()->default_value("refuse")->value_name("POLICY"),
         "a device not in fleet.devices: 'refuse' (remembered in fleet.unknown_devices for an "
         "operator to add) or 'register' (a new vehicle, journalled; for a local trial)")
        ("network-threads", po::value<long>()->default_value(0)->value_name("N"),
         "threads serving device connections (0: one per core; 0-256)")
        ("worker-threads", po::value<long>()->default_value(2)->value_name("N"),
         "threads for database work off the network threads: device lookups, partition "
         "upkeep, receipts (1-64)")
        ("max-connections", po::value<long>()->default_value(50000)->value_name("N"),
         "open device connections of all protocols together (1-1000000)")
        ("commit-timeout", po::value<long>()->default_value(30)->value_name("SECONDS"),
         "a device connection waiting this long for the database (its device's lookup, its "
         "packet's commit) is closed unanswered; the device resends (1-3600)")
        ("writer-queue", po::value<long>()->default_value(200000)->value_name("N"),
         "positions waiting for the database at most; packets beyond are refused and their "
         "connections closed unanswered (1000-100000000)")
        ("writer-connections", po::value<long>()->default_value(2)->value_name("N"),
         "database connections the position writer commits on in parallel, each vehicle always "
         "on the same one (1-16)")
        ("idle-timeout", po::value<long>()->default_value(600)->value_name("SECONDS"),
         "a device connection silent this long is closed (5-86400)")
        ("max-frame-bytes", po::value<long>()->default_value(65536)->value_name("BYTES"),
         "largest device frame or HTTP body; a larger one closes the connection (256-16777216)")
        ("max-connections-per-ip", po::value<long>()->default_value(256)->value_name("N"),
         "open device connections allowed from one address (1-100000)")
        ("max-future", po::value<long>()->default_value(300)->value_name("SECONDS"),
         "fixes dated further ahead of the server clock are rejected and counted (0-86400)")
        ("max-plausible-speed", po::value<double>()->default_value(250)->value_name("KMH"),
         "a jump implying a higher speed since the previous fix is stored flagged invalid")
        ("batch-size", po::value<long>()->default_value(5000)->value_name("N"),
         "positions per database transaction at most (1-100000)")
        ("batch-wait", po::value<long>()->default_value(50)->value_name("MS"),
         "how long the first position of a batch may wait for others (0-10000)")
        ("batch-quiet", po::value<long>()->default_value(2000)->value_name("US"),
         "commit a batch early once no position has arrived for this long (0-1000000 µs)")
        ("api-port", po::value<long>()->default_value(8082)->value_name("PORT"),
         "operator API: HTTP/JSON, the live WebSocket, GTFS-realtime and /metrics (0 disables)")
        ("api-bind", po::value<std::string>()->default_value("0.0.0.0")->value_name("ADDRESS"),
         "address the API binds to (IPv4 or IPv6)")
        ("tls-cert", po::value<std::string>()->value_name("FILE"),
         "API over HTTPS: the certificate chain (PEM); needs tls-key")
        ("tls-key", po::value<std::string>()->value_name("FILE"),
         "API over HTTPS: the private key (PEM); needs tls-cert")
        ("api-request-timeout", po::value<long>()->default_value(30)->value_name("SECONDS"),
         "an API request must arrive whole, and is answered, within this (1-600)")
        ("api-max-connections", po::value<long>()->default_value(1024)->value_name("N"),
         "open API connections at most (1-100000)")
        ("api-max-connections-per-ip", po::value<long>()->default_value(64)->value_name("N"),
         "open API connections from one address at most (1-100000)")
        ("api-body-budget", po::value<long>()->default_value(256)->value_name("MIB"),
         "request bodies being received at once, MiB in all (one address a quarter); a body beyond it is refused unread with 503 busy (4-65536)")
        ("api-stream-max-queued", po::value<long>()->default_value(4096)->value_name("KIB"),
         "a live-stream subscriber this far behind (unsent KiB) is closed with code 4001 (16-1048576)")
        ("message-replies", po::value<std::string>()->default_value("OK,On my way,Delayed,Call me")->value_name("LIST"),
         "the canned replies a message to drivers offers on the terminal, comma-separated (at most 8, each 1-40 characters; acknowledged and cannot comply are always offered)")
        ("eta-retention-days", po::value<long>()->default_value(14)->value_name("DAYS"),
         "stored arrival-time predictions (fleet.eta_predictions) older than this are deleted, hourly; 0 keeps them all (0-3650)")
        ("webhook-timeout", po::value<long>()->default_value(10)->value_name("SECONDS"),
         "a consignee's webhook receiver has this long to answer one attempt (1-300)")
        ("webhook-retry-base", po::value<long>()->default_value(10)->value_name("SECONDS"),
         "a failed webhook is tried again after this, doubled at every failure up to an hour (1-3600)")
        ("webhook-max-attempts", po::value<long>()->default_value(10)->value_name("N"),
         "a webhook not delivered after this many attempts is given up (1-100)")
        ("webhook-private-receivers", po::value<std::string>()->default_value("refuse")->value_name("POLICY"),
         "refuse: webhooks only to public addresses (not loopback, private, link-local or cloud metadata ones, checked after resolving); allow: to any")
        ("webhook-ca-file", po::value<std::string>()->default_value("")->value_name("FILE"),
         "PEM certificates that https webhook receivers are verified against (default: the system's)")
        ("web-root", po::value<std::string>()->default_value(FLEET_DEFAULT_WEB_ROOT)->value_name("FOLDER"),
         "the dashboard's built files (tools/web), served on the API's port; empty: the API only")
        ("map-tiles", po::value<std::string>()->default_value("")->value_name("URL"),
         "the dashboard's base map: a tile URL template (https://host/{z}/{x}/{y}.png); empty: a plain background that needs no network")
        ("map-attribution", po::value<std::string>()->default_value("")->value_name("TEXT"),
         "the credit line the base map's licence asks for (at most 200 characters)")
        ("api-database-threads", po::value<long>()->default_value(2)->value_name("N"),
         "threads (each with its own database connection) for the API's database work (1-64)")
        ("session-lifetime", po::value<long>()->default_value(12)->value_name("HOURS"),
         "a browser session after log-in lasts this long (1-720)")
        ("secure-cookie", po::value<bool>()->default_value(false)->value_name("BOOL"),
         "send the session cookie only over HTTPS (behind a TLS proxy; always so with tls-cert)")
        ("class-speed-limits",
         po::value<std::string>()->default_value("bus:70,truck:70,dump_truck:70")->value_name("LIST"),
         "dispatch: caps per vehicle class (CLASS:KMH,...), over zone, route and default limits");
    // clang-format on
    // One listener port per protocol of the registry.
    for (const auto& p : ingest::protocols()) {
        const std::string key = std::string(p.name) + "-port";
        d.add_options()(key.c_str(),
                        po::value<long>()->default_value(p.default_port)->value_name("PORT"),
                        (std::string(p.description) + " (0 disables)").c_str());
    }
    // The engine's thresholds, by the keys that routes use for their overrides too.
    po::options_description thresholds(
        "Dispatch thresholds (a route may override each one not marked \"not per route\": "
        "fleetctl route-threshold)");
    const dispatch::Thresholds defaults;
    for (const auto& k : dispatch::threshold_keys()) {
        const std::string unit(k.unit);
        const char* name = unit == "s"      ? "SECONDS"
                           : unit == "km/h" ? "KMH"
                           : unit == "%"    ? "PCT"
                           : unit == "m"    ? "M"
                                            : "N";
        thresholds.add_options()(
            std::string(k.key).c_str(),
            po::value<double>()->default_value(k.get(defaults))->value_name(name),
            (std::string(k.meaning) + (k.per_route ? "" : " (not per route)")).c_str());
    }
    d.add(thresholds);
    return d;
}

po::options_description general_options(Program program) {
    po::options_description d("General");
    // clang-format off
    d.add_options()
        ("help,h", program == Program::fleetd ? "print this help and exit"
                                             : "print this help (after a command: the command's) and exit")
        ("config,c", po::value<std::string>()->value_name("FILE"), "read configuration from FILE")
        ("check-config", "validate the configuration, print the result and exit");
    if (program == Program::fleetctl) {
        d.add_options()
            ("verbose,v", po::bool_switch(),
             "also log informational lines on standard error (database connected, migrations "
             "applied, partitions prepared), from --log-level down; without it fleetctl logs "
             "warnings and errors only");
    }
    // clang-format on
    return d;
}

// The configuration keys fleetctl's commands act on, shown in its --help; it accepts every
// other key too, so that fleetd's config file serves both.
constexpr const char* fleetctl_keys[] = {"database-url", "database-wait",
                                         "database-connect-timeout", "database-statement-timeout",
                                         "log-level"};

std::string help_text(Program program, const po::options_description& general,
                      const po::options_description& config) {
    std::ostringstream out;
    const std::string environment =
        std::string("\nEnvironment:\n  ") + geo::database_url_env +
        "   connection string of an existing server\n                       (overrides the "
        "config file; --database-url overrides it)\n";
    if (program == Program::fleetd) {
        out << "Usage: fleetd [OPTIONS]\n"
               "Fleet dispatch service: receives tracker telemetry, stores it in PostGIS and\n"
               "runs dispatch. Migrates the database schema at start-up.\n\n"
            << general << "\n"
            << config << environment;
        return out.str();
    }
    po::options_description shown("General options (before or after the command)");
    for (const auto& option : general.options()) {
        shown.add(option);
    }
    for (const char* key : fleetctl_keys) {
        for (const auto& option : config.options()) {
            if (option->long_name() == key) {
                shown.add(option);
            }
        }
    }
    out << shown << environment
        << "\nEvery other fleetd key (fleetd --help) is accepted too, on the command line or in "
           "the\nconfig file, so that one file serves both: route-threshold compares a route's "
           "values\nwith the dispatch thresholds configured, and partition-months-ahead says how "
           "far ahead\nthe position partitions are prepared.\n";
    return out.str();
}

// Re-throws program_options' errors as ConfigError naming the key.
[[noreturn]] void rethrow(const po::error_with_option_name& e, const std::string& where) {
    std::string key = e.get_option_name();
    while (!key.empty() && key.front() == '-') {
        key.erase(0, 1);
    }
    std::string what = e.what();
    throw ConfigError(key.empty() ? where : key,
                      what + (where.empty() ? "" : " (in " + where + ")"));
}

template <typename T>
std::string show(T v) {
    if constexpr (std::is_floating_point_v<T>) {
        return geo::plain_number(v);
    } else {
        return std::to_string(v);
    }
}

/// Why a `map-tiles` template cannot be used; nothing when it can (or is empty). It goes into
/// the page's Content-Security-Policy, so it may hold no space, quote, comma or semicolon.
std::optional<std::string> map_tiles_problem(const std::string& url) {
    if (url.empty()) {
        return std::nullopt;
    }
    if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
        return "not an http(s) URL: '" + url + "'";
    }
    for (const char c : url) {
        if (c <= ' ' || c == '"' || c == '\'' || c == ',' || c == ';' || c == '\\' ||
            static_cast<unsigned char>(c) >= 0x7f) {
            return "a URL template holds no spaces, quotes, commas, semicolons or non-ASCII "
                   "characters";
        }
    }
    for (const char* part : {"{z}", "{x}", "{y}"}) {
        if (url.find(part) == std::string::npos) {
            return std::string("the template needs {z}, {x} and {y}; ") + part + " is missing";
        }
    }
    return std::nullopt;
}

template <typename T>
T in_range(const po::variables_map& vm, const std::string& key, T lo, T hi) {
    const T v = vm[key].as<T>();
    if (!(v >= lo && v <= hi)) {
        throw ConfigError(key,
                          "must be between " + show(lo) + " and " + show(hi) + ", got " + show(v));
    }
    return v;
}

}  // namespace

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> env;
    if (const char* url = std::getenv(geo::database_url_env)) {
        env[geo::database_url_env] = url;
    }
    return env;
}

Invocation parse_invocation(Program program, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& environment) {
    const auto general = general_options(program);
    const auto config = config_options();
    po::options_description visible;
    visible.add(general).add(config);

    po::options_description cli;
    cli.add(visible);
    po::positional_options_description positional;
    if (program == Program::fleetctl) {
        cli.add_options()("command", po::value<std::vector<std::string>>(), "command");
        positional.add("command", -1);
    }

    Invocation inv;
    po::variables_map vm;
    try {
        // No abbreviations: a command's own option (`assign --stop`) must not be taken for a
        // configuration key it happens to begin (`--stop-radius`).
        auto parser = po::command_line_parser(args)
                          .options(cli)
                          .positional(positional)
                          .style(po::command_line_style::default_style &
                                 ~po::command_line_style::allow_guessing);
        if (program == Program::fleetctl) {
            // A command's own options (e.g. `import gtfs PATH --feed NAME`) are its to parse.
            parser.allow_unregistered();
        }
        const auto parsed = parser.run();
        po::store(parsed, vm);
        if (program == Program::fleetctl) {
            inv.positional = po::collect_unrecognized(parsed.options, po::include_positional);
        }
    } catch (const po::error_with_option_name& e) {
        rethrow(e, "");
    } catch (const po::error& e) {
        throw ConfigError("command line", e.what());
    }

    if (vm.count("help")) {
        inv.help = true;
        inv.help_text = help_text(program, general, config);
        return inv;
    }
    inv.verbose = vm.count("verbose") && vm["verbose"].as<bool>();

    // po::store keeps the first value stored for a key, so the command line wins over the file.
    const bool url_on_cli = vm.count("database-url") > 0;
    if (vm.count("config")) {
        const std::string path = vm["config"].as<std::string>();
        std::ifstream file(path);
        if (!file) {
            throw ConfigError("config", "cannot read file '" + path + "'");
        }
        try {
            po::store(po::parse_config_file(file, config, false), vm);
        } catch (const po::error_with_option_name& e) {
            rethrow(e, path);
        } catch (const po::error& e) {
            throw ConfigError("config", std::string(e.what()) + " (in " + path + ")");
        }
    }
    po::notify(vm);

    Config& c = inv.config;
    if (auto it = environment.find(geo::database_url_env);
        it != environment.end() && !it->second.empty() && !url_on_cli) {
        c.database.url = it->second;
    } else if (vm.count("database-url")) {
        c.database.url = vm["database-url"].as<std::string>();
    }
    if (c.database.url.empty()) {
        throw ConfigError("database-url",
                          "no database given: pass --database-url, set database-url in the config "
                          "file, or set FLEET_DATABASE_URL (tools/run starts a private PostGIS)");
    }
    geo::check_connection_string(c.database.url, "database-url");

    c.database_wait = std::chrono::seconds(in_range<long>(vm, "database-wait", 0, 86400 * 365));
    c.database.connect_timeout =
        std::chrono::seconds(in_range<long>(vm, "database-connect-timeout", 0, 3600));
    c.database.statement_timeout = std::chrono::milliseconds(
        1000 * in_range<long>(vm, "database-statement-timeout", 0, 86400));
    c.log_level = log::parse_level(vm["log-level"].as<std::string>(), "log-level");
    c.partition_months_ahead = in_range<int>(vm, "partition-months-ahead", 0, 120);
    c.shutdown_timeout = std::chrono::seconds(in_range<long>(vm, "shutdown-timeout", 1, 3600));

    c.listeners.bind_address = vm["bind"].as<std::string>();
    {
        boost::system::error_code ec;
        boost::asio::ip::make_address(c.listeners.bind_address, ec);
        if (ec) {
            throw ConfigError("bind", "not an IP address: '" + c.listeners.bind_address + "'");
        }
    }
    for (const auto& p : ingest::protocols()) {
        const std::string key = std::string(p.name) + "-port";
        const auto port = static_cast<std::uint16_t>(in_range<long>(vm, key, 0, 65535));
        c.listeners.endpoints[std::string(p.name)] = {port != 0, port};
    }
    c.listeners.threads = static_cast<unsigned>(in_range<long>(vm, "network-threads", 0, 256));
    c.worker_threads = static_cast<unsigned>(in_range<long>(vm, "worker-threads", 1, 64));
    c.listeners.max_connections =
        static_cast<std::size_t>(in_range<long>(vm, "max-connections", 1, 1000000));
    c.listeners.database_wait = std::chrono::seconds(in_range<long>(vm, "commit-timeout", 1, 3600));
    c.writer.max_queued =
        static_cast<std::size_t>(in_range<long>(vm, "writer-queue", 1000, 100000000));
    c.writer.connections =
        static_cast<std::size_t>(in_range<long>(vm, "writer-connections", 1, 16));
    c.unknown_devices =
        ingest::parse_unknown_devices(vm["unknown-devices"].as<std::string>(), "unknown-devices");
    c.listeners.idle_timeout = std::chrono::seconds(in_range<long>(vm, "idle-timeout", 5, 86400));
    c.listeners.max_frame_bytes =
        static_cast<std::size_t>(in_range<long>(vm, "max-frame-bytes", 256, 16 << 20));
    c.listeners.max_connections_per_ip =
        static_cast<std::size_t>(in_range<long>(vm, "max-connections-per-ip", 1, 100000));
    c.validation.max_future = std::chrono::seconds(in_range<long>(vm, "max-future", 0, 86400));
    c.validation.max_plausible_speed_kmh = in_range<double>(vm, "max-plausible-speed", 10, 2000);
    c.writer.max_batch = static_cast<std::size_t>(in_range<long>(vm, "batch-size", 1, 100000));
    c.writer.max_wait = std::chrono::milliseconds(in_range<long>(vm, "batch-wait", 0, 10000));
    c.writer.quiet = std::chrono::microseconds(in_range<long>(vm, "batch-quiet", 0, 1000000));

    const auto api_port = in_range<long>(vm, "api-port", 0, 65535);
    c.api.enabled = api_port != 0;
    c.api.port = static_cast<std::uint16_t>(api_port);
    c.api.bind_address = vm["api-bind"].as<std::string>();
    {
        boost::system::error_code ec;
        boost::asio::ip::make_address(c.api.bind_address, ec);
        if (ec) {
            throw ConfigError("api-bind", "not an IP address: '" + c.api.bind_address + "'");
        }
    }
    if (vm.count("tls-cert")) {
        c.api.tls_cert = vm["tls-cert"].as<std::string>();
    }
    if (vm.count("tls-key")) {
        c.api.tls_key = vm["tls-key"].as<std::string>();
    }
    if (c.api.tls_cert.empty() != c.api.tls_key.empty()) {
        throw ConfigError(c.api.tls_cert.empty() ? "tls-cert" : "tls-key",
                          "TLS needs both tls-cert and tls-key");
    }
    c.api.request_timeout = std::chrono::seconds(in_range<long>(vm, "api-request-timeout", 1, 600));
    c.api.max_connections =
        static_cast<std::size_t>(in_range<long>(vm, "api-max-connections", 1, 100000));
    c.api.max_connections_per_ip =
        static_cast<std::size_t>(in_range<long>(vm, "api-max-connections-per-ip", 1, 100000));
    c.api.body_budget_bytes =
        static_cast<std::size_t>(in_range<long>(vm, "api-body-budget", 4, 65536)) << 20;
    c.api.database_threads =
        static_cast<unsigned>(in_range<long>(vm, "api-database-threads", 1, 64));
    c.stream.max_queued_bytes =
        static_cast<std::size_t>(in_range<long>(vm, "api-stream-max-queued", 16, 1 << 20)) * 1024;
    c.message_replies.clear();
    {
        std::stringstream in(vm["message-replies"].as<std::string>());
        for (std::string item; std::getline(in, item, ',');) {
            const auto first = item.find_first_not_of(' ');
            const auto last = item.find_last_not_of(' ');
            item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
            if (item.empty() || geo::utf8_length(item) > 40 || !geo::is_valid_utf8(item)) {
                throw ConfigError(
                    "message-replies",
                    "each reply is 1 to 40 characters of UTF-8 text, comma-separated");
            }
            c.message_replies.push_back(item);
        }
        if (c.message_replies.empty() || c.message_replies.size() > 8) {
            throw ConfigError("message-replies", "1 to 8 replies, comma-separated");
        }
    }
    c.eta_retention_days = static_cast<int>(in_range<long>(vm, "eta-retention-days", 0, 3650));
    c.webhooks.timeout = std::chrono::seconds(in_range<long>(vm, "webhook-timeout", 1, 300));
    c.webhooks.retry_base = std::chrono::seconds(in_range<long>(vm, "webhook-retry-base", 1, 3600));
    c.webhooks.max_attempts = static_cast<int>(in_range<long>(vm, "webhook-max-attempts", 1, 100));
    c.webhooks.ca_file = vm["webhook-ca-file"].as<std::string>();
    if (const auto policy = vm["webhook-private-receivers"].as<std::string>(); policy == "allow") {
        c.webhooks.allow_private = true;
    } else if (policy != "refuse") {
        throw ConfigError("webhook-private-receivers", "refuse or allow, not '" + policy + "'");
    }
    c.web.root = vm["web-root"].as<std::string>();
    c.web.root_given = !vm["web-root"].defaulted();
    c.web.map_tiles = vm["map-tiles"].as<std::string>();
    if (const auto problem = map_tiles_problem(c.web.map_tiles)) {
        throw ConfigError("map-tiles", *problem);
    }
    c.web.map_attribution = vm["map-attribution"].as<std::string>();
    if (geo::utf8_length(c.web.map_attribution) > 200 ||
        !geo::is_valid_utf8(c.web.map_attribution)) {
        throw ConfigError("map-attribution", "at most 200 characters of UTF-8 text");
    }
    c.session_lifetime = std::chrono::hours(in_range<long>(vm, "session-lifetime", 1, 720));
    c.secure_cookie = vm["secure-cookie"].as<bool>() || !c.api.tls_cert.empty();

    for (const auto& k : dispatch::threshold_keys()) {
        const std::string key(k.key);
        const double v = vm[key].as<double>();
        if (const auto problem = dispatch::threshold_problem(k, v)) {
            throw ConfigError(key, *problem);
        }
        k.set(c.dispatch, v);
    }
    c.class_speed_caps = dispatch::parse_class_caps(vm["class-speed-limits"].as<std::string>(),
                                                    "class-speed-limits");

    inv.check_only = vm.count("check-config") > 0;
    return inv;
}

}  // namespace fleet::server
