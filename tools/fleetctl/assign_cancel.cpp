#include <iostream>

#include "dispatch/assignments.hpp"
#include "tools/fleetctl/assign_cli.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "assign cancel";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("assign cancel ID");
    // clang-format off
    d.add_options()
        ("reason", po::value<std::string>()->value_name("TEXT"), "why (required; journalled)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    const auto id = assign_cli::assignment_id(vm, name);
    const auto reason = cli::required(vm, "reason", name);
    auto db = cli::open(config);
    dispatch::cancel_assignment(*db, id, reason, vm["actor"].as<std::string>());
    std::cout << "assignment " << id << " cancelled: " << reason << "\n";
    return 0;
}

const Registration registration(
    name, {"cancel an assignment, with the reason (journalled); a running fleetd withdraws it "
           "within seconds; refused for an unknown or cancelled one",
           "assign cancel ID --reason TEXT", run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
