#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill release";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill release ID");
    // clang-format off
    d.add_options()
        ("at", po::value<std::string>()->value_name("TIME"), "departure, ISO 8601 with the offset: \"2026-11-27 07:30+03\"")
        ("dispatcher", po::value<std::string>()->value_name("NAME"), "dispatcher releasing the vehicle (their mark)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    cli::add_clock_options(d);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::ReleaseRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    q.departed_at = cli::required(vm, "at", name);
    q.dispatcher = cli::required(vm, "dispatcher", name);
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    waybills::release(*db, q, cli::clock(vm));
    const auto w = waybills::load_waybill(*db, q.waybill_id);
    std::cout << "waybill " << w.issuer << "/" << w.number << ": " << w.registration
              << " released at " << w.departed_at << " by " << w.released_by << "\n";
    return 0;
}

const Registration registration(
    name,
    {"release the vehicle; refused (with every reason) without both pre-trip checks "
     "passed, outside the validity, while the vehicle or driver is out on another waybill, or "
     "for an implausible time",
     "waybill release ID --at TIME --dispatcher NAME", run,
     [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
