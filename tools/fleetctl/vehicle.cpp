#include <iostream>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;
using dispatch::VehicleFields;

const std::vector<std::string> columns{
    "registration", "vehicle_class", "make_model",           "garage_number", "fuel_grade",
    "region",       "built_on",      "odometer_capacity_km", "groups",        "active"};

// The options every command that sets fields takes.
void add_field_options(po::options_description& d) {
    // clang-format off
    d.add_options()
        ("class", po::value<std::string>()->value_name("C"), "car, bus, truck, dump_truck or special (default: the model's, else car)")
        ("model", po::value<std::string>()->value_name("M"), "make and model, as fleetctl model list names it (its fuel norms apply)")
        ("garage-number", po::value<std::string>()->value_name("N"), "the depot's number of the vehicle")
        ("fuel-grade", po::value<std::string>()->value_name("G"), "fuel as the waybills name it (AI-92, diesel)")
        ("region", po::value<std::string>()->value_name("R"), "for the winter and city norm corrections")
        ("built-on", po::value<std::string>()->value_name("DATE"), "YYYY-MM-DD, for the age correction")
        ("odometer-capacity", po::value<std::int64_t>()->value_name("KM"), "the counter's capacity: 100000 for a 99 999 km odometer (default 1000000)")
        ("groups", po::value<std::string>()->value_name("G1,G2"), "the groups it belongs to (replaces its groups; '' for none)");
    // clang-format on
}

VehicleFields fields(const po::variables_map& vm) {
    VehicleFields f;
    const auto text = [&](const char* key) {
        return vm.count(key) ? std::optional<std::string>(vm[key].as<std::string>()) : std::nullopt;
    };
    f.vehicle_class = text("class");
    f.make_model = text("model");
    f.garage_number = text("garage-number");
    f.fuel_grade = text("fuel-grade");
    f.region = text("region");
    f.built_on = text("built-on");
    f.odometer_capacity_km = cli::optional<std::int64_t>(vm, "odometer-capacity");
    if (const auto groups = text("groups")) {
        f.groups = reg::split_list(*groups);
    }
    return f;
}

// add ---------------------------------------------------------------------------------------

po::options_description add_options() {
    po::options_description d("vehicle add REG");
    add_field_options(d);
    d.add_options()("inactive", po::bool_switch(), "registered as inactive");
    reg::add_common_options(d);
    return d;
}

int add(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "vehicle add";
    const auto vm = cli::parse(name, add_options(), args, {"registration"});
    dispatch::NewVehicle v{.registration = reg::word(vm, "registration", name, "REG"),
                           .fields = fields(vm)};
    if (vm["inactive"].as<bool>()) {
        v.fields.active = false;
    }
    auto db = cli::open(config);
    const auto id = dispatch::add_vehicle(*db, v, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "vehicle " << v.registration << " added (id " << id << ")\n";
    }
    return 0;
}

// set ---------------------------------------------------------------------------------------

po::options_description set_options() {
    po::options_description d("vehicle set REG");
    d.add_options()("registration", po::value<std::string>()->value_name("NEW"),
                    "a new registration plate");
    add_field_options(d);
    d.add_options()("active", po::bool_switch(), "back in service")(
        "inactive", po::bool_switch(), "out of service (its history is kept)");
    reg::add_common_options(d);
    return d;
}

int set(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "vehicle set";
    const auto vm = cli::parse(name, set_options(), args, {"vehicle"});
    dispatch::VehicleChange c{.registration = reg::word(vm, "vehicle", name, "REG"),
                              .new_registration = cli::optional<std::string>(vm, "registration"),
                              .fields = fields(vm)};
    c.fields.active = reg::active_flag(vm, name);
    auto db = cli::open(config);
    const bool changed = dispatch::change_vehicle(*db, c, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "vehicle " << c.registration
                  << (changed ? " changed" : ": nothing to change (the values are as given)")
                  << "\n";
    }
    return 0;
}

// list --------------------------------------------------------------------------------------

po::options_description list_options() {
    po::options_description d("vehicle list");
    // clang-format off
    d.add_options()
        ("group", po::value<std::string>()->value_name("G"), "only the vehicles of this group")
        ("class", po::value<std::string>()->value_name("C"), "only this class")
        ("active", po::bool_switch(), "only vehicles in service")
        ("inactive", po::bool_switch(), "only vehicles out of service");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "vehicle list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    dispatch::VehicleFilter filter{.group = cli::text(vm, "group"),
                                   .vehicle_class = cli::text(vm, "class"),
                                   .active = reg::active_flag(vm, name)};
    auto db = cli::open(config);
    waybills::Sheet sheet{.name = "vehicles", .columns = columns, .rows = {}};
    if (format == reg::Format::table) {
        sheet.columns.push_back("devices");
    }
    for (const auto& v : dispatch::list_vehicles(*db, filter)) {
        std::string groups;
        for (const auto& g : v.groups) {
            groups += (groups.empty() ? "" : ",") + g;
        }
        std::vector<waybills::Cell> row{v.registration,
                                        v.vehicle_class,
                                        reg::text_cell(v.make_model),
                                        reg::text_cell(v.garage_number),
                                        reg::text_cell(v.fuel_grade),
                                        reg::text_cell(v.region),
                                        reg::text_cell(v.built_on),
                                        v.odometer_capacity_km,
                                        reg::text_cell(groups),
                                        reg::bool_cell(v.active)};
        if (format == reg::Format::table) {
            std::string devices;
            for (const auto& d : v.devices) {
                devices += (devices.empty() ? "" : ",") + d;
            }
            row.push_back(reg::text_cell(devices));
        }
        sheet.rows.push_back(std::move(row));
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

// remove ------------------------------------------------------------------------------------

po::options_description remove_options() {
    po::options_description d("vehicle remove REG");
    reg::add_common_options(d);
    return d;
}

int remove(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "vehicle remove";
    const auto vm = cli::parse(name, remove_options(), args, {"vehicle"});
    const auto registration = reg::word(vm, "vehicle", name, "REG");
    auto db = cli::open(config);
    dispatch::remove_vehicle(*db, registration, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "vehicle " << registration << " removed\n";
    }
    return 0;
}

// import ------------------------------------------------------------------------------------

po::options_description import_options() {
    po::options_description d("vehicle import FILE.csv");
    d.add_options()("check", po::bool_switch(), "check every line, store nothing");
    reg::add_common_options(d);
    return d;
}

int import(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "vehicle import";
    const auto vm = cli::parse(name, import_options(), args, {"file"});
    const reg::ImportFile file(reg::word(vm, "file", name, "FILE"), columns, {"registration"});
    auto read =
        reg::read_rows<dispatch::NewVehicle>(file, [&](std::size_t row, geo::FieldProblems& p) {
            dispatch::NewVehicle v;
            v.registration = file.text(row, "registration", p).value_or("");
            v.fields.vehicle_class = file.text(row, "vehicle_class", p);
            v.fields.make_model = file.text(row, "make_model", p);
            v.fields.garage_number = file.text(row, "garage_number", p);
            v.fields.fuel_grade = file.text(row, "fuel_grade", p);
            v.fields.region = file.text(row, "region", p);
            v.fields.built_on = file.text(row, "built_on", p);
            v.fields.odometer_capacity_km = file.integer(row, "odometer_capacity_km", p);
            v.fields.groups = file.list(row, "groups", p);
            v.fields.active = file.boolean(row, "active", p);
            return v;
        });
    auto db = cli::open(config);
    reg::run_import(file, read.rows, std::move(read.problems),
                    [&](const geo::BatchOptions& options) {
                        dispatch::add_vehicles(*db, read.records, vm["actor"].as<std::string>(),
                                               options);
                    },
                    {.command = name,
                     .noun = "vehicles",
                     .check_only = vm["check"].as<bool>(),
                     .quiet = reg::quiet(vm)});
    return 0;
}

const char* const import_help =
    "\nThe CSV's header names its columns, in any order: registration (required), vehicle_class,\n"
    "make_model, garage_number, fuel_grade, region, built_on, odometer_capacity_km, groups\n"
    "(quoted, comma-separated), active (true/false); an empty cell is the default. All lines\n"
    "are stored or none; every bad line is named with its line number and field. `vehicle\n"
    "list --format csv` writes the same columns.\n";

const Registration add_registration(
    "vehicle add", {"register a vehicle (journalled)",
                    "vehicle add REG [--class C] [--model M] [--garage-number N] [--fuel-grade G]"
                    " [--region R] [--built-on D] [--odometer-capacity KM] [--groups G1,G2]"
                    " [--inactive]",
                    add, [] { return cli::describe(add_options()); }});
const Registration set_registration(
    "vehicle set",
    {"change a vehicle's fields: those given; '' clears one (journalled)",
     "vehicle set REG [--registration NEW] [--class C] [--model M] ... [--active|--inactive]", set,
     [] { return cli::describe(set_options()); }});
const Registration list_registration(
    "vehicle list", {"the registered vehicles, with their groups and devices",
                     "vehicle list [--group G] [--class C] [--active|--inactive] [--format csv]",
                     list, [] { return cli::describe(list_options()); }});
const Registration remove_registration(
    "vehicle remove",
    {"remove a vehicle registered by mistake; one with history is kept: vehicle set --inactive",
     "vehicle remove REG", remove, [] { return cli::describe(remove_options()); }});
const Registration import_registration(
    "vehicle import", {"register vehicles from CSV, all or none, progress on stderr",
                       "vehicle import FILE.csv [--check]", import,
                       [] { return cli::describe(import_options()) + import_help; }});

}  // namespace

}  // namespace fleet::tools::fleetctl
