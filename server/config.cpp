#include "server/config.hpp"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "geo/error.hpp"
#include "geo/store.hpp"

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
        ("log-level", po::value<std::string>()->default_value("info")->value_name("LEVEL"),
         "debug, info, warn or error")
        ("partition-months-ahead", po::value<int>()->default_value(3)->value_name("N"),
         "monthly partitions of fleet.positions kept ready ahead of the current month (0-120)")
        ("shutdown-timeout", po::value<long>()->default_value(10)->value_name("SECONDS"),
         "bound on a clean stop after SIGINT/SIGTERM (1-3600)");
    // clang-format on
    return d;
}

po::options_description general_options(Program program) {
    po::options_description d("General");
    // clang-format off
    d.add_options()
        ("help,h", "print this help and exit")
        ("config,c", po::value<std::string>()->value_name("FILE"), "read configuration from FILE")
        ("check-config", "validate the configuration, print the result and exit");
    // clang-format on
    (void)program;
    return d;
}

std::string usage(Program program) {
    if (program == Program::fleetd) {
        return "Usage: fleetd [OPTIONS]\n"
               "Fleet dispatch service: receives tracker telemetry, stores it in PostGIS and\n"
               "runs dispatch. Migrates the database schema at start-up.\n";
    }
    return "Usage: fleetctl [OPTIONS] COMMAND [ARGS]\n"
           "Administration of the fleet dispatch service.\n\n"
           "Commands:\n"
           "  migrate              apply pending schema migrations and print the schema version\n"
           "  status               print the schema version and what the database holds\n";
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
T in_range(const po::variables_map& vm, const std::string& key, T lo, T hi) {
    const T v = vm[key].as<T>();
    if (v < lo || v > hi) {
        throw ConfigError(key, "must be between " + std::to_string(lo) + " and " +
                                   std::to_string(hi) + ", got " + std::to_string(v));
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
        po::store(po::command_line_parser(args).options(cli).positional(positional).run(), vm);
    } catch (const po::error_with_option_name& e) {
        rethrow(e, "");
    } catch (const po::error& e) {
        throw ConfigError("command line", e.what());
    }

    if (vm.count("help")) {
        std::ostringstream out;
        out << usage(program) << "\n"
            << visible << "\nEnvironment:\n  " << geo::database_url_env
            << "   connection string of an existing server (overrides the config file)\n";
        inv.help = true;
        inv.help_text = out.str();
        return inv;
    }

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
        c.database_url = it->second;
    } else if (vm.count("database-url")) {
        c.database_url = vm["database-url"].as<std::string>();
    }
    if (c.database_url.empty()) {
        throw ConfigError("database-url",
                          "no database given: pass --database-url, set database-url in the config "
                          "file, or set FLEET_DATABASE_URL (tools/run starts a private PostGIS)");
    }
    geo::check_connection_string(c.database_url, "database-url");

    c.database_wait = std::chrono::seconds(in_range<long>(vm, "database-wait", 0, 86400 * 365));
    c.log_level = log::parse_level(vm["log-level"].as<std::string>(), "log-level");
    c.partition_months_ahead = in_range<int>(vm, "partition-months-ahead", 0, 120);
    c.shutdown_timeout = std::chrono::seconds(in_range<long>(vm, "shutdown-timeout", 1, 3600));

    inv.check_only = vm.count("check-config") > 0;
    if (vm.count("command")) {
        inv.positional = vm["command"].as<std::vector<std::string>>();
    }
    return inv;
}

}  // namespace fleet::server
