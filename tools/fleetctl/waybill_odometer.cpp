#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill odometer";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill odometer");
    // clang-format off
    d.add_options()
        ("vehicle", po::value<std::string>()->value_name("REG"), "vehicle registration")
        ("kind", po::value<std::string>()->value_name("K"), "replacement (a new odometer) or rollover (the counter passed its maximum)")
        ("at", po::value<std::string>()->value_name("TIME"), "when, ISO 8601 with the offset")
        ("old", po::value<std::int64_t>()->value_name("KM"), "last reading of the old counter")
        ("new", po::value<std::int64_t>()->value_name("KM"), "first reading of the new counter")
        ("document", po::value<std::string>()->value_name("REF"), "the act's reference")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    waybills::OdometerEventRequest q;
    q.vehicle = cli::required(vm, "vehicle", name);
    q.kind = cli::required(vm, "kind", name);
    q.occurred_at = cli::required(vm, "at", name);
    if (!vm.count("old") || !vm.count("new")) {
        throw ConfigError(name, "--old and --new are required");
    }
    q.old_reading_km = vm["old"].as<std::int64_t>();
    q.new_reading_km = vm["new"].as<std::int64_t>();
    q.document = cli::required(vm, "document", name);
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    const auto id = waybills::record_odometer_event(*db, q);
    std::cout << "odometer " << q.kind << " act " << q.document << " recorded for " << q.vehicle
              << " (id " << id << "): " << q.old_reading_km << " -> " << q.new_reading_km
              << " km\n";
    return 0;
}

const Registration registration(
    name, {"record an odometer replacement or rollover act (re-baselines the odometer chain)",
           "waybill odometer --vehicle REG --kind replacement|rollover --at TIME --old KM --new "
           "KM --document REF",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
