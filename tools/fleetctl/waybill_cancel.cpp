#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill cancel";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill cancel ID");
    // clang-format off
    d.add_options()
        ("reason", po::value<std::string>()->value_name("TEXT"), "why it is cancelled (kept with it and in the journal)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::CancelRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    q.reason = cli::required(vm, "reason", name);
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    waybills::cancel(*db, q);
    const auto w = waybills::load_waybill(*db, q.waybill_id);
    std::cout << "waybill " << w.issuer << "/" << w.number << " cancelled: " << w.cancel_reason
              << "\n(its number stays used; it is listed as cancelled and refuses every later "
                 "step)\n";
    return 0;
}

const Registration registration(
    name, {"cancel an issued waybill with a reason (kept and listed as cancelled, never erased)",
           "waybill cancel ID --reason TEXT", run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
