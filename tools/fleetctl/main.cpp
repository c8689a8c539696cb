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

// The commands whose name starts with `prefix` ("" for all), for --help; empty when none does.
std::string command_help(const std::string& prefix = "") {
    std::string out;
    for (const auto& [name, command] : commands()) {
        if (name.rfind(prefix, 0) == 0) {
            out += "  " + command.usage + "\n      " + command.summary + "\n";
        }
    }
    return out.empty() ? out : "\nCommands:\n" + out;
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

// `fleetctl COMMAND --help`: the command's usage and options; `fleetctl GROUP --help` ("waybill"):
// the commands of the group; empty when the words name neither.
std::string help_for(const std::vector<std::string>& positional) {
    std::size_t words = 0;
    if (const Command* command = choose(positional, words)) {
        std::string out =
            "Usage: fleetctl [GENERAL OPTIONS] " + command->usage + "\n" + command->summary + "\n";
        if (command->help) {
            out += "\n" + command->help();
        }
        return out + "\nGeneral options (--database-url, --config, ...): fleetctl --help\n";
    }
    std::string prefix;
    for (const auto& word : positional) {
        prefix += (prefix.empty() ? "" : " ") + word;
    }
    return command_help(prefix);
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
            const auto specific = ctl::help_for(inv.positional);
            std::cout << (specific.empty() ? inv.help_text + ctl::command_help() : specific);
            return 0;
        }
        if (inv.check_only) {
            std::cout << "configuration OK\n";
            return 0;
        }
        if (inv.positional.empty()) {
            std::cerr << "fleetctl: no command given (see fleetctl --help)\n";
            return 2;
        }
        fleet::log::set_level(inv.config.log_level);
        std::size_t words = 0;
        const ctl::Command* chosen = ctl::choose(inv.positional, words);
        if (chosen == nullptr) {
            std::cerr << "fleetctl: unknown command '" << inv.positional.front()
                      << "' (see fleetctl --help)\n";
            return 2;
        }
        return chosen->run(
            inv.config, std::vector<std::string>(inv.positional.begin() + static_cast<long>(words),
                                                 inv.positional.end()));
    } catch (const fleet::ConfigError& e) {
        std::cerr << "fleetctl: " << e.what() << "\n";
        return 2;
    } catch (const fleet::Error& e) {
        std::cerr << "fleetctl: " << e.what() << "\n";
        return 1;
    } catch (const pqxx::failure& e) {
        std::cerr << "fleetctl: database: " << e.what() << "\n";
        return 1;
    }
}
