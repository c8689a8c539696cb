#include <algorithm>
#include <iostream>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "server/config.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

std::map<std::string, Command>& commands() {
    static std::map<std::string, Command> all;
    return all;
}

namespace {

const char* const usage =
    "Usage: fleetctl [GENERAL OPTIONS] COMMAND [ARGUMENTS] [COMMAND OPTIONS]\n"
    "Administration of the fleet dispatch service: the fleet register, routes and timetables,\n"
    "shift assignments, waybills and reports, all in the PostGIS database fleetd uses.\n";

const char* const conventions =
    "\nFeeds: routes, zones and stops imported from GIS files (import routes|zones|stops) and\n"
    "freight routes belong to the feed 'local'; every --feed that is left out means 'local'\n"
    "(each command's --help says so). A GTFS import is a feed of its own, named by --feed or\n"
    "after its file; name it with --feed to reach its routes, blocks and trips.\n"
    "\nExit codes: 0 done; 1 refused (the reason on standard error; nothing was changed);\n"
    "2 bad usage (an unknown command or option, a missing or malformed argument).\n";

// A summary up to its first "; " outside parentheses: what the list of commands shows.
std::string headline(const std::string& summary) {
    int depth = 0;
    for (std::size_t i = 0; i + 1 < summary.size(); ++i) {
        depth += summary[i] == '(' ? 1 : summary[i] == ')' ? -1 : 0;
        if (depth == 0 && summary[i] == ';' && summary[i + 1] == ' ') {
            return summary.substr(0, i);
        }
    }
    return summary;
}

// "  waybill issue     issue a waybill": one line per command, its headline (the rest of the
// summary is for the command's own --help).
std::string command_list() {
    std::size_t width = 0;
    for (const auto& [name, command] : commands()) {
        width = std::max(width, name.size());
    }
    std::string out = "\nCommands (fleetctl COMMAND --help: its arguments and options):\n";
    for (const auto& [name, command] : commands()) {
        out += "  " + name + std::string(width - name.size() + 2, ' ') + headline(command.summary) +
               "\n";
    }
    return out;
}

// The commands whose name starts with the words `prefix` ("waybill"), with their usage and
// whole summary; empty when none does.
std::string group_help(const std::string& prefix) {
    std::string out;
    for (const auto& [name, command] : commands()) {
        if (name.rfind(prefix + " ", 0) == 0) {
            out += "  " + command.usage + "\n      " + command.summary + "\n";
        }
    }
    return out;
}

// The longest command name the words start with ("import gtfs" before "import"); sets `words`
// to the number of words it takes.
const Command* choose(const std::vector<std::string>& positional, std::size_t& words) {
    const Command* chosen = nullptr;
    words = 0;
    for (const auto& [name, command] : commands()) {
        std::string joined;
        for (std::size_t i = 0; i < positional.size(); ++i) {
            joined += (i ? " " : "") + positional[i];
            if (joined == name && i + 1 > words) {
                chosen = &command;
                words = i + 1;
            }
        }
    }
    return chosen;
}

// The words before the first option: a command's name and its positional arguments.
std::vector<std::string> leading_words(const std::vector<std::string>& positional) {
    std::vector<std::string> words;
    for (const auto& w : positional) {
        if (w.rfind("-", 0) == 0) {
            break;
        }
        words.push_back(w);
    }
    return words;
}

// The first `n` of `words`, joined by blanks.
std::string joined(const std::vector<std::string>& words, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n && i < words.size(); ++i) {
        out += (i ? " " : "") + words[i];
    }
    return out;
}

// "unknown command 'vehicle frobnicate' (the vehicle commands: vehicle add, ...)".
std::string unknown_command(const std::vector<std::string>& positional) {
    const auto words = leading_words(positional);
    for (std::size_t n = words.size(); n > 0; --n) {
        const auto prefix = joined(words, n);
        std::string names;
        for (const auto& [name, command] : commands()) {
            if (name.rfind(prefix + " ", 0) == 0) {
                names += (names.empty() ? "" : ", ") + name;
            }
        }
        if (names.empty()) {
            continue;
        }
        if (n == words.size()) {
            return "'" + prefix + "' needs a command: " + names + " (fleetctl " + prefix +
                   " --help)";
        }
        return "unknown command '" + prefix + " " + words[n] + "' (the " + prefix +
               " commands: " + names + ")";
    }
    return "unknown command '" + (words.empty() ? positional.front() : words.front()) +
           "' (fleetctl --help lists the commands)";
}

// `fleetctl COMMAND --help`: the command's usage, options and the general options;
// `fleetctl GROUP --help` ("waybill"): the group's commands and the general options; plain
// `fleetctl --help`: the general options and every command, a line each.
std::string help_for(const std::vector<std::string>& positional, const std::string& general) {
    std::size_t taken = 0;
    if (const Command* command = choose(positional, taken)) {
        std::string out =
            "Usage: fleetctl [GENERAL OPTIONS] " + command->usage + "\n" + command->summary + "\n";
        if (command->help) {
            out += "\n" + command->help();
        }
        return out + "\n" + general;
    }
    const auto words = leading_words(positional);
    const auto prefix = joined(words, words.size());
    if (const auto group = prefix.empty() ? std::string() : group_help(prefix); !group.empty()) {
        return "Usage: fleetctl [GENERAL OPTIONS] " + prefix +
               " COMMAND [ARGUMENTS] [COMMAND OPTIONS]\n\nCommands:\n" + group + "\n" + general;
    }
    return std::string(usage) + "\n" + general + conventions + command_list();
}

// Without --verbose only warnings and errors reach standard error: a command's own output is
// what a script reads, and its informational log lines (connected, migrated) are noise there.
log::Level log_level(const server::Invocation& inv) {
    if (inv.verbose) {
        return inv.config.log_level;
    }
    return inv.config.log_level == log::Level::error ? log::Level::error : log::Level::warn;
}

}  // namespace

}  // namespace fleet::tools::fleetctl

int main(int argc, char** argv) {
    using namespace fleet::server;
    namespace ctl = fleet::tools::fleetctl;
    try {
        const auto inv =
            parse_invocation(Program::fleetctl, std::vector<std::string>(argv + 1, argv + argc),
                             process_environment());
        if (inv.help) {
            std::cout << ctl::help_for(inv.positional, inv.help_text);
            return 0;
        }
        if (inv.check_only) {
            std::cout << "configuration OK\n";
            return 0;
        }
        if (inv.positional.empty()) {
            std::cerr << "fleetctl: no command given (fleetctl --help lists them)\n";
            return 2;
        }
        fleet::log::set_level(ctl::log_level(inv));
        std::size_t words = 0;
        const ctl::Command* chosen = ctl::choose(inv.positional, words);
        if (chosen == nullptr) {
            std::cerr << "fleetctl: " << ctl::unknown_command(inv.positional) << "\n";
            return 2;
        }
        return chosen->run(
            inv.config, std::vector<std::string>(inv.positional.begin() + static_cast<long>(words),
                                                 inv.positional.end()));
    } catch (const fleet::ConfigError& e) {
        // A command's bad usage names the command; a bad configuration value names its key.
        if (ctl::commands().count(e.key())) {
            std::cerr << "fleetctl " << e.key() << ": " << e.problem() << "\n";
        } else {
            std::cerr << "fleetctl: " << e.what() << "\n";
        }
        return 2;
    } catch (const fleet::Error& e) {
        std::cerr << "fleetctl: " << e.what() << "\n";
        return 1;
    } catch (const pqxx::failure& e) {
        std::cerr << "fleetctl: database: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        // A fault of fleetctl's own: said, never an abort with a core dump.
        std::cerr << "fleetctl: internal error (please report it): " << e.what() << "\n";
        return 70;  // EX_SOFTWARE
    }
}
