#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/reconcile.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill accept";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill accept ID");
    // clang-format off
    d.add_options()
        ("person", po::value<std::string>()->value_name("NAME"), "who accepts (dispatcher or accountant)")
        ("reason", po::value<std::string>()->value_name("TEXT"), "written reason, required to accept with discrepancies")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    cli::add_clock_options(d);
    po::options_description tolerances("Reconciliation");
    cli::add_reconcile_options(tolerances);
    d.add(tolerances);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::AcceptRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    q.person = cli::required(vm, "person", name);
    q.reason = cli::text(vm, "reason");
    q.actor = vm["actor"].as<std::string>();
    const auto tolerances = cli::reconcile_options(vm);
    cli::open(config);  // the schema up to date before accept() connects on its own
    const auto r = waybills::accept(geo::ConnectionFactory(config.database).conninfo("fleetctl"), q,
                                    tolerances, cli::clock(vm));
    std::cout << "waybill " << r.issuer << "/" << r.number << " accepted by " << q.person
              << " and closed" << (r.discrepancies.empty() ? "" : ", with discrepancies") << "\n";
    cli::print_figures(std::cout, r, "  ");
    if (!q.reason.empty()) {
        std::cout << "  reason:         " << q.reason << "\n";
    }
    return 0;
}

const Registration registration(
    name, {"check every mandatory detail, reconcile and close a returned waybill; refusals name "
           "every missing detail or discrepancy",
           "waybill accept ID --person NAME [--reason TEXT] [reconciliation options]", run,
           [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
