#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "server/config.hpp"

/// fleetctl's commands. Each lives in its own file and registers itself with a static
/// `Registration`, so adding a command touches no other file.
namespace fleet::tools::fleetctl {

struct Command {
    /// What it does, for --help: `fleetctl --help` shows it up to its first "; " outside
    /// parentheses (a line), the command's own --help in full.
    std::string summary;
    std::string usage;  ///< "import gtfs PATH [--feed NAME]"
    /// Runs with the configuration and the words after the command's name; returns the exit
    /// code. Throws fleet::Error (reported as "fleetctl: <what>", exit 1; ConfigError exit 2).
    std::function<int(const server::Config&, const std::vector<std::string>&)> run;
    /// The command's own options, shown by `fleetctl COMMAND --help`; may be left out.
    std::function<std::string()> help{};
};

/// All commands by name ("migrate", "import gtfs", ...): the longest registered name that the
/// command line starts with is chosen.
std::map<std::string, Command>& commands();

/// The feed a command means when --feed is left out: that of the routes, zones and stops
/// imported from GIS files and of freight routes (a GTFS import refuses the name).
inline constexpr const char* default_feed = "local";

/// The help of a --feed option: `what` it names, and what leaving it out means.
inline std::string feed_help(const std::string& what) {
    return what + " (default " + default_feed +
           ": routes, zones and stops from GIS files; a GTFS feed by the name it was imported "
           "under)";
}

struct Registration {
    Registration(const std::string& name, Command command) {
        commands().emplace(name, std::move(command));
    }
};

}  // namespace fleet::tools::fleetctl
