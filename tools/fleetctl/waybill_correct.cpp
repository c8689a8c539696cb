#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill correct";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill correct ID");
    // clang-format off
    d.add_options()
        ("reason", po::value<std::string>()->value_name("TEXT"), "why the closed waybill is corrected (required)")
        ("odometer-out", po::value<std::string>()->value_name("KM"), "departure odometer, whole km")
        ("odometer-in", po::value<std::string>()->value_name("KM"), "return odometer, whole km")
        ("fuel-out", po::value<double>()->value_name("L"), "departure fuel remainder")
        ("fuel-in", po::value<double>()->value_name("L"), "return fuel remainder")
        ("handed-over", po::value<double>()->value_name("L"), "fuel handed over")
        ("heater-hours", po::value<double>()->value_name("H"), "heater hours")
        ("equipment-hours", po::value<double>()->value_name("H"), "equipment hours")
        ("idle-hours", po::value<double>()->value_name("H"), "idling hours")
        ("work", po::value<double>()->value_name("TKM"), "transport work, tonne-km")
        ("loaded-trips", po::value<int>()->value_name("N"), "loaded trips")
        ("departed-at", po::value<std::string>()->value_name("TIME"), "departure time")
        ("returned-at", po::value<std::string>()->value_name("TIME"), "return time")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    cli::add_clock_options(d);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::WaybillCorrection c;
    c.waybill_id = cli::waybill_id(vm, name);
    c.reason = cli::required(vm, "reason", name);
    c.odometer_out_km = cli::optional_km(vm, "odometer-out");
    c.odometer_in_km = cli::optional_km(vm, "odometer-in");
    c.fuel_out_l = cli::optional<double>(vm, "fuel-out");
    c.fuel_in_l = cli::optional<double>(vm, "fuel-in");
    c.fuel_handed_over_l = cli::optional<double>(vm, "handed-over");
    c.heater_h = cli::optional<double>(vm, "heater-hours");
    c.equipment_h = cli::optional<double>(vm, "equipment-hours");
    c.idle_h = cli::optional<double>(vm, "idle-hours");
    c.transport_work_tkm = cli::optional<double>(vm, "work");
    c.loaded_trips = cli::optional<int>(vm, "loaded-trips");
    c.departed_at = cli::text(vm, "departed-at");
    c.returned_at = cli::text(vm, "returned-at");
    c.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    const auto original = waybills::load_waybill(*db, c.waybill_id);
    const auto id = waybills::correct(*db, c, cli::clock(vm));
    const auto w = waybills::load_waybill(*db, id);
    std::cout << "waybill " << original.issuer << "/" << original.number
              << " superseded by the correction " << w.issuer << "/" << w.number << " (id " << id
              << "), status " << w.status << ": accept it again (fleetctl waybill accept " << id
              << ")\n";
    return 0;
}

const Registration registration(
    name, {"correct a closed waybill: a new linked waybill with the changed figures (the "
           "original is kept, superseded)",
           "waybill correct ID --reason TEXT [--odometer-out KM] [--odometer-in KM] [--fuel-out "
           "L] [--fuel-in L] [--handed-over L] [--heater-hours H] [--equipment-hours H] "
           "[--idle-hours H] [--work TKM] [--loaded-trips N] [--departed-at T] [--returned-at T]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
