#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dispatch/thresholds.hpp"
#include "geo/log.hpp"
#include "geo/store.hpp"
#include "ingest/devices.hpp"
#include "ingest/listeners.hpp"
#include "ingest/validate.hpp"
#include "ingest/writer.hpp"
#include "server/api/http_server.hpp"
#include "server/api/stream.hpp"
#include "server/webhooks.hpp"

/// Configuration of fleetd and fleetctl: command-line options, a config file with the same keys
/// (`key = value` lines, `#` comments), and the FLEET_DATABASE_URL environment variable.
/// Precedence: command line, then environment, then config file, then the documented default.
namespace fleet::server {

/// The dashboard's files and base map (`web-root`, `map-tiles`, `map-attribution`).
struct WebOptions {
    std::string root;         ///< empty: the API only
    bool root_given = false;  ///< set in the configuration (a missing folder is then an error)
    std::string map_tiles;    ///< empty: a plain background
    std::string map_attribution;
};

struct Config {
    geo::DatabaseOptions database;          ///< server and timeouts of every connection
    std::chrono::seconds database_wait{0};  ///< give up connecting after; 0 = never
    log::Level log_level = log::Level::info;
    int partition_months_ahead = 3;             ///< position partitions prepared ahead
    int eta_retention_days = 14;                ///< stored arrival-time predictions kept; 0: all
    std::chrono::seconds shutdown_timeout{10};  ///< bound on a clean stop

    ingest::ListenerConfig listeners;
    ingest::UnknownDevices unknown_devices = ingest::UnknownDevices::refuse;
    unsigned worker_threads = 2;  ///< database work off the network threads
    ingest::ValidationConfig validation;
    ingest::WriterConfig writer;
    dispatch::Thresholds dispatch;
    std::map<std::string, double> class_speed_caps;  ///< vehicle class → cap (km/h)
    /// The canned replies a message to drivers offers (`message-replies`).
    std::vector<std::string> message_replies;
    /// Consignees' webhooks (`webhook-*`).
    WebhookOptions webhooks;

    api::HttpConfig api;       ///< the operator API; api.enabled false with api-port 0
    api::StreamConfig stream;  ///< the API's live stream
    WebOptions web;            ///< the dashboard
    std::chrono::seconds session_lifetime{12 * 3600};
    bool secure_cookie = false;  ///< also true whenever the API speaks TLS
};

/// What the command line asked for besides the configuration itself.
struct Invocation {
    Config config;
    bool help = false;        ///< --help: print `help_text` and exit 0
    bool check_only = false;  ///< --check-config: validate and exit
    bool verbose = false;     ///< fleetctl --verbose: log informational lines too
    /// fleetd: its whole reference. fleetctl: its general options, the environment and a note on
    /// fleetd's other keys (fleetctl adds its usage and commands, or a command's own options).
    std::string help_text;
    std::vector<std::string> positional;  ///< fleetctl's command and its arguments
};

/// Which program is parsing (their options differ slightly).
enum class Program { fleetd, fleetctl };

/// Parses argv (without the program name) with `environment` standing for getenv. Throws
/// ConfigError naming the offending key and the problem.
Invocation parse_invocation(Program program, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& environment);

/// The process environment variables that configuration reads.
std::map<std::string, std::string> process_environment();

}  // namespace fleet::server
