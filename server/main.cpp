#include <iostream>

#include "geo/error.hpp"
#include "server/app.hpp"
#include "server/config.hpp"

int main(int argc, char** argv) {
    using namespace fleet::server;
    try {
        const auto inv =
            parse_invocation(Program::fleetd, std::vector<std::string>(argv + 1, argv + argc),
                             process_environment());
        if (inv.help) {
            std::cout << inv.help_text;
            return 0;
        }
        if (inv.check_only) {
            std::cout << "configuration OK\n";
            return 0;
        }
        return run_fleetd(inv.config);
    } catch (const fleet::ConfigError& e) {
        std::cerr << "fleetd: " << e.what() << "\n";
        return 2;
    }
}
