#include <charconv>
#include <cmath>
#include <iostream>

#include "dispatch/fleet_register.hpp"
#include "dispatch/transport.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "server/transport_sheet.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

po::options_description list_options() {
    po::options_description d("transport list");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("T"), "stays that began from this time on, with its offset")
        ("to", po::value<std::string>()->value_name("T"), "up to this time, exclusive")
        ("vehicle", po::value<std::string>()->value_name("REG"), "of this vehicle")
        ("waybill", po::value<std::int64_t>()->value_name("ID"), "under this waybill (its ID)");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "transport list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    dispatch::TransportQuery q{.from = cli::time(vm, "from", name),
                               .to = cli::time(vm, "to", name)};
    if (vm.count("waybill")) {
        q.waybill_id = vm["waybill"].as<std::int64_t>();
    }
    auto db = cli::open(config);
    pqxx::read_transaction tx(*db);
    if (vm.count("vehicle")) {
        q.vehicle_id = dispatch::vehicle_id(tx, vm["vehicle"].as<std::string>());
    }
    reg::print(std::cout, server::transport_sheet(dispatch::transport_records(tx, q)), format);
    return 0;
}

po::options_description detect_options() {
    po::options_description d("transport detect");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("T"), "look at the positions from this time on, with its offset")
        ("to", po::value<std::string>()->value_name("T"), "up to this time (at most 31 days later)");
    // clang-format on
    return d;
}

int detect(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "transport detect";
    const auto vm = cli::parse(name, detect_options(), args);
    const auto from = cli::time(vm, "from", name);
    const auto to = cli::time(vm, "to", name);
    auto db = cli::open(config);
    pqxx::work tx(*db);
    const int changed = dispatch::detect_zone_visits(tx, from, to);
    tx.commit();
    std::cerr << changed << " stay" << (changed == 1 ? "" : "s")
              << " in loading zones added or updated\n";
    return 0;
}

po::options_description cargo_options() {
    po::options_description d("transport cargo");
    // clang-format off
    d.add_options()
        ("operation", po::value<std::string>()->value_name("OP"), "loading or unloading")
        ("cargo", po::value<std::string>()->value_name("TEXT"), "what (1-200 characters)")
        ("quantity", po::value<double>()->value_name("N"), "how much")
        ("unit", po::value<std::string>()->default_value("")->value_name("U"), "of the quantity: t, m3, pallets")
        ("documents", po::value<std::string>()->default_value("")->value_name("TEXT"), "consignment notes and other documents")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int cargo(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "transport cargo";
    const auto vm = cli::parse(name, cargo_options(), args, {"id"});
    const std::string text = cli::required(vm, "id", name);
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) {
        throw InputError(name + ": the stay's ID is a positive whole number, not '" + text + "'");
    }
    dispatch::CargoDetails d;
    d.operation = cli::required(vm, "operation", name);
    d.cargo = cli::required(vm, "cargo", name);
    if (vm.count("quantity")) {
        d.quantity = vm["quantity"].as<double>();
    }
    d.unit = vm["unit"].as<std::string>();
    d.documents = vm["documents"].as<std::string>();
    d.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    pqxx::work tx(*db);
    dispatch::record_cargo(tx, id, d);
    tx.commit();
    return 0;
}

const Registration list_registration(
    "transport list",
    {"the transport-process records of a period: each stay in a loading zone with its arrival, "
     "departure, dwell, waybill and cargo",
     "transport list --from T --to T [--vehicle REG] [--waybill ID] [--format csv]", list,
     [] { return cli::describe(list_options()); }});
const Registration detect_registration(
    "transport detect",
    {"finds the stays in loading zones among the positions of a period (fleetd does this every "
     "minute for the last hours)",
     "transport detect --from T --to T", detect, [] { return cli::describe(detect_options()); }});
const Registration cargo_registration(
    "transport cargo",
    {"records the cargo loaded or unloaded during a stay (journalled)",
     "transport cargo ID --operation loading|unloading --cargo TEXT [--quantity N --unit U] "
     "[--documents TEXT]",
     cargo, [] { return cli::describe(cargo_options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
