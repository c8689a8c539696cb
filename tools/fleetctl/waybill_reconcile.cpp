#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/reconcile.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill reconcile";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill reconcile");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("DATE"), "first day, YYYY-MM-DD, or a month YYYY-MM (from its first day); waybills whose validity overlaps the period")
        ("to", po::value<std::string>()->value_name("DATE"), "last day, inclusive, or a month YYYY-MM (to its last day)");
    // clang-format on
    po::options_description tolerances("Reconciliation");
    cli::add_reconcile_options(tolerances);
    d.add(tolerances);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    const auto period = cli::period(vm, name);
    const auto tolerances = cli::reconcile_options(vm);
    cli::open(config);  // the schema up to date before reconcile() connects on its own
    cli::Progress progress;
    const auto results = waybills::reconcile(
        geo::ConnectionFactory(config.database).conninfo("fleetctl"),
        {.from = period.from, .to = period.to, .waybill_ids = {}}, tolerances, progress.callback());
    progress.finish(results.size());
    std::size_t flagged = 0;
    for (const auto& r : results) {
        if (r.discrepancies.empty()) {
            continue;
        }
        ++flagged;
        std::cout << r.issuer << "/" << r.number << "  " << r.valid_from << "  " << r.registration
                  << "  " << r.driver_name << ": ";
        for (std::size_t i = 0; i < r.discrepancies.size(); ++i) {
            std::cout << (i ? "; " : "") << r.discrepancies[i].code << " ("
                      << r.discrepancies[i].message << ")";
        }
        std::cout << "\n";
    }
    std::cout << results.size() << " waybills reconciled, " << flagged << " with discrepancies\n";
    return 0;
}

const Registration registration(
    name, {"reconcile the returned and closed waybills of a period (results stored); one line "
           "per waybill with discrepancies",
           "waybill reconcile --from D --to D [reconciliation options]", run,
           [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
