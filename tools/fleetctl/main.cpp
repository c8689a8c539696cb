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

std::string command_help() {
    std::string out = "\nCommands:\n";
    for (const auto& [name, command] : commands()) {
        out += "  " + command.usage + "\n      " + command.summary + "\n";
    }
    return out;
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
            std::cout << inv.help_text << ctl::command_help();
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
        // The longest command name the words start with: "import gtfs" before "import".
        const ctl::Command* chosen = nullptr;
        std::size_t words = 0;
        for (const auto& [name, command] : ctl::commands()) {
            std::string joined;
            for (std::size_t i = 0; i < inv.positional.size(); ++i) {
                joined += (i ? " " : "") + inv.positional[i];
                if (joined == name && i + 1 > words) {
                    chosen = &command;
                    words = i + 1;
                }
            }
        }
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
