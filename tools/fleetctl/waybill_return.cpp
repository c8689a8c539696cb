#include <iostream>
#include <string>
#include <vector>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill return";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill return ID");
    // clang-format off
    d.add_options()
        ("at", po::value<std::string>()->value_name("TIME"), "return, ISO 8601 with the offset: \"2026-11-27 18:05+03\"")
        ("odometer", po::value<std::string>()->value_name("KM"), "odometer at return, whole km (below departure only with a rollover or replacement act: fleetctl waybill odometer)")
        ("fuel", po::value<double>()->value_name("L"), "fuel remainder at return, litres")
        ("handed-over", po::value<double>()->default_value(0)->value_name("L"), "fuel handed over (drained back or to another vehicle), litres")
        ("heater-hours", po::value<double>()->default_value(0)->value_name("H"), "buses: hours of the heater")
        ("equipment-hours", po::value<double>()->default_value(0)->value_name("H"), "special vehicles: hours of the equipment")
        ("idle-hours", po::value<double>()->default_value(0)->value_name("H"), "idling with the engine required (loading, warm-up)")
        ("work", po::value<double>()->default_value(0)->value_name("TKM"), "trucks: transport work, tonne-km")
        ("loaded-trips", po::value<int>()->default_value(0)->value_name("N"), "dump trucks: loaded trips")
        ("air-conditioning", "the air conditioning was used while driving")
        ("declare", po::value<std::vector<std::string>>()->value_name("CODE"),
         "a norm correction the trip's conditions call for (heavy_road, low_speed, frequent_stops, "
         "mountains, ...); repeatable")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    cli::add_clock_options(d);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::ReturnRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    q.returned_at = cli::required(vm, "at", name);
    if (!vm.count("odometer") || !vm.count("fuel")) {
        throw ConfigError(name,
                          "the return needs --odometer KM (the reading at return, whole "
                          "kilometres) and --fuel L (the fuel remaining, litres)");
    }
    q.odometer_in_km = cli::whole_km("odometer", vm["odometer"].as<std::string>());
    q.fuel_in_l = vm["fuel"].as<double>();
    q.fuel_handed_over_l = vm["handed-over"].as<double>();
    q.heater_h = vm["heater-hours"].as<double>();
    q.equipment_h = vm["equipment-hours"].as<double>();
    q.idle_h = vm["idle-hours"].as<double>();
    q.transport_work_tkm = vm["work"].as<double>();
    q.loaded_trips = vm["loaded-trips"].as<int>();
    q.air_conditioning = vm.count("air-conditioning") > 0;
    if (vm.count("declare")) {
        q.declared_corrections = vm["declare"].as<std::vector<std::string>>();
    }
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    waybills::return_vehicle(*db, q, cli::clock(vm));
    const auto w = waybills::load_waybill(*db, q.waybill_id);
    const auto km = [](const std::optional<std::int64_t>& v) {
        return v ? std::to_string(*v) : std::string("?");
    };
    const auto litres = [](const std::optional<double>& v) {
        return v ? cli::fixed(*v, 2) : std::string("?");
    };
    std::cout << "waybill " << w.issuer << "/" << w.number << ": " << w.registration
              << " returned at " << w.returned_at << "\n"
              << "odometer " << km(w.odometer_out_km) << " -> " << km(w.odometer_in_km)
              << " km, fuel " << litres(w.fuel_out_l) << " -> " << litres(w.fuel_in_l)
              << " L, issued on the trip " << cli::fixed(w.fuel_issued_l, 2) << " L\n";
    return 0;
}

const Registration registration(
    name, {"record the return: odometer, fuel remainder, hours and work; links the trip's fuel "
           "receipts",
           "waybill return ID --at TIME --odometer KM --fuel L [--handed-over L] [--heater-hours "
           "H] [--equipment-hours H] [--idle-hours H] [--work TKM] [--loaded-trips N] "
           "[--air-conditioning] [--declare CODE]...",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
