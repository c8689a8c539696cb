#include <iostream>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

const std::vector<std::string> columns{"identifier", "protocol", "vehicle"};

po::options_description add_options() {
    po::options_description d("device add IDENTIFIER");
    // clang-format off
    d.add_options()
        ("protocol", po::value<std::string>()->value_name("P"), "teltonika, gt06, osmand or native")
        ("vehicle", po::value<std::string>()->value_name("REG"), "the vehicle it is fitted to");
    // clang-format on
    reg::add_common_options(d);
    return d;
}

int add(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "device add";
    const auto vm = cli::parse(name, add_options(), args, {"identifier"});
    const dispatch::NewDevice d{.identifier = reg::word(vm, "identifier", name, "IDENTIFIER"),
                                .protocol = cli::required(vm, "protocol", name),
                                .vehicle = cli::required(vm, "vehicle", name)};
    auto db = cli::open(config);
    const auto id = dispatch::add_device(*db, d, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << d.protocol << " device " << d.identifier << " added on vehicle " << d.vehicle
                  << " (id " << id << ")\n";
    }
    return 0;
}

po::options_description move_options() {
    po::options_description d("device move IDENTIFIER");
    d.add_options()("vehicle", po::value<std::string>()->value_name("REG"),
                    "the vehicle it is fitted to now");
    reg::add_common_options(d);
    return d;
}

int move(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "device move";
    const auto vm = cli::parse(name, move_options(), args, {"identifier"});
    const auto identifier = reg::word(vm, "identifier", name, "IDENTIFIER");
    const auto vehicle = cli::required(vm, "vehicle", name);
    auto db = cli::open(config);
    const bool moved =
        dispatch::move_device(*db, identifier, vehicle, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "device " << identifier << (moved ? " moved to vehicle " : " is on vehicle ")
                  << vehicle << (moved ? "" : " already (nothing changed)") << "\n";
    }
    return 0;
}

po::options_description remove_options() {
    po::options_description d("device remove IDENTIFIER");
    reg::add_common_options(d);
    return d;
}

int remove(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "device remove";
    const auto vm = cli::parse(name, remove_options(), args, {"identifier"});
    const auto identifier = reg::word(vm, "identifier", name, "IDENTIFIER");
    auto db = cli::open(config);
    dispatch::remove_device(*db, identifier, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "device " << identifier << " removed (its positions stay with its vehicle)\n";
    }
    return 0;
}

po::options_description list_options() {
    po::options_description d("device list");
    // clang-format off
    d.add_options()
        ("vehicle", po::value<std::string>()->value_name("REG"), "only the devices of this vehicle")
        ("unknown", po::bool_switch(), "only the devices seen but not registered");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

waybills::Sheet unknown_sheet(const std::vector<dispatch::UnknownDevice>& devices) {
    waybills::Sheet sheet{.name = "unknown devices",
                          .columns = {"identifier", "protocol", "peer_address", "first_seen",
                                      "last_seen", "attempts", "reason"},
                          .rows = {}};
    for (const auto& u : devices) {
        sheet.rows.push_back({u.identifier, reg::text_cell(u.protocol),
                              reg::text_cell(u.peer_address), u.first_seen, u.last_seen, u.attempts,
                              reg::text_cell(u.reason)});
    }
    return sheet;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "device list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    const bool only_unknown = vm["unknown"].as<bool>();
    const auto vehicle = cli::text(vm, "vehicle");
    if (only_unknown && !vehicle.empty()) {
        throw ConfigError(name, "--unknown lists devices of no vehicle: leave out --vehicle");
    }
    auto db = cli::open(config);
    const auto unknown = vehicle.empty() ? dispatch::list_unknown_devices(*db)
                                         : std::vector<dispatch::UnknownDevice>{};
    if (only_unknown) {
        reg::print(std::cout, unknown_sheet(unknown), format);
        return 0;
    }
    waybills::Sheet sheet{.name = "devices", .columns = columns, .rows = {}};
    if (format == reg::Format::table) {
        sheet.columns.insert(sheet.columns.end(), {"registered_at", "auto_registered"});
    }
    for (const auto& d : dispatch::list_devices(*db, vehicle)) {
        std::vector<waybills::Cell> row{d.identifier, reg::text_cell(d.protocol), d.vehicle};
        if (format == reg::Format::table) {
            row.push_back(d.registered_at);
            row.push_back(reg::bool_cell(d.auto_registered));
        }
        sheet.rows.push_back(std::move(row));
    }
    reg::print(std::cout, sheet, format);
    // The table goes on with the devices seen but not registered; the CSV stays one sheet that
    // `device import` reads back.
    if (format == reg::Format::table && !unknown.empty()) {
        std::cout << "\nseen but not registered (fleetctl device add IDENTIFIER --protocol P"
                     " --vehicle REG):\n";
        reg::print(std::cout, unknown_sheet(unknown), format);
    }
    return 0;
}

po::options_description import_options() {
    po::options_description d("device import FILE.csv");
    d.add_options()("check", po::bool_switch(), "check every line, store nothing");
    reg::add_common_options(d);
    return d;
}

int import(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "device import";
    const auto vm = cli::parse(name, import_options(), args, {"file"});
    const reg::ImportFile file(reg::word(vm, "file", name, "FILE"), columns, columns);
    auto read =
        reg::read_rows<dispatch::NewDevice>(file, [&](std::size_t row, geo::FieldProblems& p) {
            return dispatch::NewDevice{.identifier = file.text(row, "identifier", p).value_or(""),
                                       .protocol = file.text(row, "protocol", p).value_or(""),
                                       .vehicle = file.text(row, "vehicle", p).value_or("")};
        });
    auto db = cli::open(config);
    reg::run_import(file, read.rows, std::move(read.problems),
                    [&](const geo::BatchOptions& options) {
                        dispatch::add_devices(*db, read.records, vm["actor"].as<std::string>(),
                                              options);
                    },
                    {.command = name,
                     .noun = "devices",
                     .check_only = vm["check"].as<bool>(),
                     .quiet = reg::quiet(vm)});
    return 0;
}

const Registration add_registration(
    "device add",
    {"register a tracker or terminal on a vehicle; IDENTIFIER: the IMEI for teltonika and gt06, "
     "the id for osmand and native; journalled",
     "device add IDENTIFIER --protocol P --vehicle REG", add,
     [] { return cli::describe(add_options()); }});
const Registration move_registration("device move",
                                     {"move a device to another vehicle (journalled with both)",
                                      "device move IDENTIFIER --vehicle REG", move,
                                      [] { return cli::describe(move_options()); }});
const Registration remove_registration("device remove",
                                       {"unregister a device; its positions stay with its vehicle",
                                        "device remove IDENTIFIER", remove,
                                        [] { return cli::describe(remove_options()); }});
const Registration list_registration("device list",
                                     {"the registered devices, then those seen but not registered",
                                      "device list [--vehicle REG] [--unknown] [--format csv]",
                                      list, [] { return cli::describe(list_options()); }});
const Registration import_registration(
    "device import",
    {"register devices from CSV (header identifier,protocol,vehicle), all or none",
     "device import FILE.csv [--check]", import, [] { return cli::describe(import_options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
