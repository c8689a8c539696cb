#include "tools/fleetctl/assign_cli.hpp"

#include <charconv>
#include <sstream>

#include "dispatch/assignment_input.hpp"
#include "geo/error.hpp"

namespace fleet::tools::fleetctl::assign_cli {

std::int64_t assignment_id(const po::variables_map& vm, const std::string& command) {
    if (!vm.count("id")) {
        throw ConfigError(command,
                          "the assignment ID is required (fleetctl assign list --date D shows "
                          "them)");
    }
    const auto& word = vm["id"].as<std::string>();
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), id);
    if (ec != std::errc() || end != word.data() + word.size() || id <= 0) {
        throw ConfigError(command, "an assignment ID is a positive integer, not '" + word + "'");
    }
    return id;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');) {
        if (!part.empty()) {
            out.push_back(part);
        }
    }
    return out;
}

std::vector<dispatch::StopRequest> stops(const po::variables_map& vm) {
    std::vector<dispatch::StopRequest> out;
    if (vm.count("stop")) {
        for (const auto& text : vm["stop"].as<std::vector<std::string>>()) {
            out.push_back(dispatch::parse_stop(text));
        }
    }
    return out;
}

}  // namespace fleet::tools::fleetctl::assign_cli
