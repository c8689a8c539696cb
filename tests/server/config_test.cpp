#include <doctest/doctest.h>

#include <unistd.h>
#include <cstdio>
#include <fstream>

#include "geo/error.hpp"
#include "server/config.hpp"

using namespace fleet;
using namespace fleet::server;

namespace {

const std::map<std::string, std::string> no_env;

std::string config_key_error(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = no_env) {
    try {
        parse_invocation(Program::fleetd, args, env);
    } catch (const ConfigError& e) {
        return e.key() + " | " + e.what();
    }
    return "accepted";
}

struct TempFile {
    std::string path;
    explicit TempFile(const std::string& text) {
        char name[] = "/tmp/fleet-config-XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        close(fd);
        path = name;
        std::ofstream(path) << text;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("help documents every option and the environment") {
    const auto inv = parse_invocation(Program::fleetd, {"--help"}, no_env);
    CHECK(inv.help);
    for (const char* key :
         {"--config", "--check-config", "--database-url", "--database-wait", "--log-level",
          "--partition-months-ahead", "--shutdown-timeout", "FLEET_DATABASE_URL"}) {
        CAPTURE(key);
        CHECK(inv.help_text.find(key) != std::string::npos);
    }
}

TEST_CASE("bad values name the key and the problem") {
    CHECK(config_key_error({"--database-url", "dbname=x", "--database-wait", "soon"})
              .starts_with("database-wait | "));
    CHECK(
        config_key_error({"--database-url", "dbname=x", "--log-level", "loud"}) ==
        "log-level | configuration: 'log-level': unknown level 'loud' (debug, info, warn, error)");
    CHECK(config_key_error({"--database-url", "dbname=x", "--partition-months-ahead", "500"}) ==
          "partition-months-ahead | configuration: 'partition-months-ahead': must be between 0 "
          "and 120, got 500");
    CHECK(config_key_error({"--database-url", "dbname=x", "--webhook-private-receivers", "yes"}) ==
          "webhook-private-receivers | configuration: 'webhook-private-receivers': refuse or "
          "allow, not 'yes'");
    CHECK(config_key_error({"--database-url", "dbname=x", "--eta-retention-days", "-1"}) ==
          "eta-retention-days | configuration: 'eta-retention-days': must be between 0 and "
          "3650, got -1");
    CHECK(config_key_error({"--database-url", "dbname=x", "--api-body-budget", "2"}) ==
          "api-body-budget | configuration: 'api-body-budget': must be between 4 and 65536, "
          "got 2");
    CHECK(
        config_key_error({"--database-url", "host=/tmp port"})
            .find("database-url | configuration: 'database-url': not a valid connection string") ==
        0);
    CHECK(config_key_error({"--no-such-option"}).starts_with("no-such-option | "));
    CHECK(
        config_key_error({}).starts_with("database-url | configuration: 'database-url': no "
                                         "database given"));
}

TEST_CASE("the config file takes the same keys; bad keys in it are named with the file") {
    TempFile good("# fleetd\ndatabase-url = host=/tmp dbname=a\nlog-level = warn\n");
    const auto inv = parse_invocation(Program::fleetd, {"--config", good.path}, no_env);
    CHECK(inv.config.database.url == "host=/tmp dbname=a");
    CHECK(inv.config.log_level == log::Level::warn);

    TempFile bad("database-url = host=/tmp\nshutdown-timeout = 0\n");
    CHECK(
        config_key_error({"--config", bad.path}) ==
        "shutdown-timeout | configuration: 'shutdown-timeout': must be between 1 and 3600, got 0");

    TempFile unknown("database-url = host=/tmp\nlisten = 1\n");
    const auto err = config_key_error({"--config", unknown.path});
    CHECK(err.starts_with("listen | "));
    CHECK(err.find(unknown.path) != std::string::npos);

    CHECK(config_key_error({"--config", "/nonexistent/fleet.conf"}) ==
          "config | configuration: 'config': cannot read file '/nonexistent/fleet.conf'");
}

TEST_CASE("the command line beats FLEET_DATABASE_URL, which beats the config file") {
    TempFile file("database-url = dbname=from_file\n");
    const std::map<std::string, std::string> env = {{"FLEET_DATABASE_URL", "dbname=from_env"}};
    CHECK(parse_invocation(Program::fleetd, {"--config", file.path}, no_env).config.database.url ==
          "dbname=from_file");
    CHECK(parse_invocation(Program::fleetd, {"--config", file.path}, env).config.database.url ==
          "dbname=from_env");
    CHECK(parse_invocation(Program::fleetd, {"--config", file.path, "--database-url", "dbname=cli"},
                           env)
              .config.database.url == "dbname=cli");
}

TEST_CASE("fleetctl takes a command after its options") {
    const auto inv =
        parse_invocation(Program::fleetctl, {"--database-url", "dbname=x", "migrate"}, no_env);
    REQUIRE(inv.positional.size() == 1);
    CHECK(inv.positional[0] == "migrate");
}

TEST_CASE("fleetctl leaves a command's own options to the command, in order") {
    const auto inv = parse_invocation(
        Program::fleetctl,
        {"--database-url", "dbname=x", "import", "gtfs", "feed.zip", "--feed", "city"}, no_env);
    CHECK(inv.positional ==
          std::vector<std::string>{"import", "gtfs", "feed.zip", "--feed", "city"});
    CHECK(inv.config.database.url == "dbname=x");
}

TEST_CASE("every dispatch threshold is a key, from the command line or the file, checked") {
    const TempFile file("database-url = dbname=x\nlong-dwell-after = 600\noff-route-fixes = 4\n");
    const auto inv = parse_invocation(
        Program::fleetd, {"--config", file.path, "--late-after", "120", "--stop-radius", "35.5"},
        no_env);
    CHECK(inv.config.dispatch.late == std::chrono::seconds(120));
    CHECK(inv.config.dispatch.long_dwell == std::chrono::seconds(600));
    CHECK(inv.config.dispatch.off_route_fixes == 4);
    CHECK(inv.config.dispatch.stop_radius_m == 35.5);
    CHECK(inv.config.dispatch.early == std::chrono::seconds(60));  // the default
    CHECK(config_key_error({"--database-url", "dbname=x", "--late-after", "30.5"}) ==
          "late-after | configuration: 'late-after': must be a whole number of seconds, got 30.5");
    CHECK(config_key_error({"--database-url", "dbname=x", "--overspeed-hysteresis", "80"}) ==
          "overspeed-hysteresis | configuration: 'overspeed-hysteresis': must be between 0 and "
          "50 %, got 80");
}

TEST_CASE("a fleetctl command's own option is not taken for a key it begins") {
    // `assign --stop ...` must reach the command, not become --stop-radius.
    const auto inv = parse_invocation(
        Program::fleetctl, {"--database-url", "dbname=x", "assign", "--stop", "WH7;;;09:00;09:40"},
        no_env);
    CHECK(inv.positional == std::vector<std::string>{"assign", "--stop", "WH7;;;09:00;09:40"});
    CHECK(inv.config.dispatch.stop_radius_m == 50);
}

TEST_CASE("fleetctl's help shows its general options, --verbose among them, not fleetd's own") {
    const auto inv = parse_invocation(Program::fleetctl, {"--help"}, no_env);
    CHECK(inv.help);
    for (const char* key : {"--config", "--check-config", "--database-url", "--database-wait",
                            "--log-level", "--verbose", "FLEET_DATABASE_URL", "fleetd --help"}) {
        CAPTURE(key);
        CHECK(inv.help_text.find(key) != std::string::npos);
    }
    for (const char* key : {"--teltonika-port", "--writer-queue", "--late-after"}) {
        CAPTURE(key);
        CHECK(inv.help_text.find(key) == std::string::npos);
    }
    const auto fleetd = parse_invocation(Program::fleetd, {"--help"}, no_env);
    CHECK(fleetd.help_text.find("--verbose") == std::string::npos);
}

TEST_CASE("fleetctl --verbose, before or after the command; fleetd's keys still accepted") {
    CHECK_FALSE(
        parse_invocation(Program::fleetctl, {"--database-url", "dbname=x", "status"}, no_env)
            .verbose);
    const auto after = parse_invocation(
        Program::fleetctl, {"--database-url", "dbname=x", "status", "-v", "--late-after", "120"},
        no_env);
    CHECK(after.verbose);
    CHECK(after.positional == std::vector<std::string>{"status"});
    CHECK(after.config.dispatch.late == std::chrono::seconds(120));
    CHECK(config_key_error({"--database-url", "dbname=x", "--verbose"}) != "accepted");
}

TEST_CASE("range messages print numbers as people write them") {
    CHECK(config_key_error({"--database-url", "dbname=x", "--max-plausible-speed", "2500.5"}) ==
          "max-plausible-speed | configuration: 'max-plausible-speed': must be between 10 and "
          "2000, got 2500.5");
}
