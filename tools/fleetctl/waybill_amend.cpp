#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill amend";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill amend ID");
    // clang-format off
    d.add_options()
        ("odometer", po::value<std::string>()->value_name("KM"), "odometer at return, whole km")
        ("fuel", po::value<double>()->value_name("L"), "fuel remainder at return, litres")
        ("handed-over", po::value<double>()->value_name("L"), "fuel handed over, litres")
        ("at", po::value<std::string>()->value_name("TIME"), "return time, ISO 8601 with the offset: \"2026-11-27 18:05+03\"")
        ("departed-at", po::value<std::string>()->value_name("TIME"), "departure time, likewise")
        ("reason", po::value<std::string>()->value_name("TEXT"), "why (journalled with the old and new values)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    cli::add_clock_options(d);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::AmendRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    q.odometer_in_km = cli::optional_km(vm, "odometer");
    q.fuel_in_l = cli::optional<double>(vm, "fuel");
    q.fuel_handed_over_l = cli::optional<double>(vm, "handed-over");
    q.returned_at = cli::text(vm, "at");
    q.departed_at = cli::text(vm, "departed-at");
    q.reason = cli::required(vm, "reason", name);
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    const auto changes = waybills::amend(*db, q, cli::clock(vm));
    const auto w = waybills::load_waybill(*db, q.waybill_id);
    if (changes.empty()) {
        std::cout << "waybill " << w.issuer << "/" << w.number
                  << ": nothing differs from what is recorded; nothing amended\n";
        return 0;
    }
    std::cout << "waybill " << w.issuer << "/" << w.number << " amended (" << q.reason << "):\n";
    for (const auto& c : changes) {
        std::cout << "  " << c.field << ": " << (c.old_value.empty() ? "-" : c.old_value) << " -> "
                  << c.new_value << "\n";
    }
    std::cout << "the next reconciliation (waybill reconcile, waybill accept) uses the amended "
                 "values\n";
    return 0;
}

const Registration registration(
    name, {"amend a returned waybill before acceptance (return odometer, fuel, times), "
           "journalled with the old and new values; after acceptance: waybill correct",
           "waybill amend ID --reason TEXT [--odometer KM] [--fuel L] [--handed-over L] [--at "
           "TIME] [--departed-at TIME]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
