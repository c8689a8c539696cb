#include <iostream>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

const std::vector<std::string> columns{
    "personnel_number",  "full_name", "licence_series", "licence_number",
    "licence_issued_on", "terminal",  "active"};

void add_field_options(po::options_description& d) {
    // clang-format off
    d.add_options()
        ("name", po::value<std::string>()->value_name("FULL NAME"), "the driver's full name, as on the waybill")
        ("licence-series", po::value<std::string>()->value_name("S"), "driving licence series (\"77 12\")")
        ("licence-number", po::value<std::string>()->value_name("N"), "driving licence number")
        ("licence-issued", po::value<std::string>()->value_name("DATE"), "its issue date, YYYY-MM-DD")
        ("terminal", po::value<std::string>()->value_name("ID"), "identifier of the in-cab terminal (a registered device; '' for none)");
    // clang-format on
}

dispatch::DriverFields fields(const po::variables_map& vm) {
    return {.full_name = cli::optional<std::string>(vm, "name"),
            .licence_series = cli::optional<std::string>(vm, "licence-series"),
            .licence_number = cli::optional<std::string>(vm, "licence-number"),
            .licence_issued_on = cli::optional<std::string>(vm, "licence-issued"),
            .terminal = cli::optional<std::string>(vm, "terminal"),
            .active = std::nullopt};
}

po::options_description add_options() {
    po::options_description d("driver add NUMBER");
    add_field_options(d);
    d.add_options()("inactive", po::bool_switch(), "registered as inactive");
    reg::add_common_options(d);
    return d;
}

int add(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "driver add";
    const auto vm = cli::parse(name, add_options(), args, {"number"});
    dispatch::NewDriver d{.personnel_number = reg::word(vm, "number", name, "NUMBER"),
                          .fields = fields(vm)};
    if (!d.fields.full_name) {
        throw ConfigError(name, "--name is required (see fleetctl driver add --help)");
    }
    if (vm["inactive"].as<bool>()) {
        d.fields.active = false;
    }
    auto db = cli::open(config);
    const auto id = dispatch::add_driver(*db, d, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "driver " << d.personnel_number << " (" << *d.fields.full_name
                  << ") added (id " << id << ")\n";
    }
    return 0;
}

po::options_description set_options() {
    po::options_description d("driver set N");
    d.add_options()("personnel-number", po::value<std::string>()->value_name("NEW"),
                    "a new personnel number");
    add_field_options(d);
    d.add_options()("active", po::bool_switch(), "back at work")(
        "inactive", po::bool_switch(), "no longer driving (their history is kept)");
    reg::add_common_options(d);
    return d;
}

int set(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "driver set";
    const auto vm = cli::parse(name, set_options(), args, {"driver"});
    dispatch::DriverChange c{
        .driver = reg::word(vm, "driver", name, "N"),
        .new_personnel_number = cli::optional<std::string>(vm, "personnel-number"),
        .fields = fields(vm)};
    c.fields.active = reg::active_flag(vm, name);
    auto db = cli::open(config);
    const bool changed = dispatch::change_driver(*db, c, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "driver " << c.driver
                  << (changed ? " changed" : ": nothing to change (the values are as given)")
                  << "\n";
    }
    return 0;
}

po::options_description list_options() {
    po::options_description d("driver list");
    d.add_options()("active", po::bool_switch(), "only drivers at work")(
        "inactive", po::bool_switch(), "only drivers no longer driving");
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "driver list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    const auto active = reg::active_flag(vm, name);
    auto db = cli::open(config);
    waybills::Sheet sheet{.name = "drivers", .columns = columns, .rows = {}};
    for (const auto& d : dispatch::list_drivers(*db, active)) {
        sheet.rows.push_back({reg::text_cell(d.personnel_number), d.full_name,
                              reg::text_cell(d.licence_series), reg::text_cell(d.licence_number),
                              reg::text_cell(d.licence_issued_on), reg::text_cell(d.terminal),
                              reg::bool_cell(d.active)});
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

po::options_description remove_options() {
    po::options_description d("driver remove N");
    reg::add_common_options(d);
    return d;
}

int remove(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "driver remove";
    const auto vm = cli::parse(name, remove_options(), args, {"driver"});
    const auto driver = reg::word(vm, "driver", name, "N");
    auto db = cli::open(config);
    dispatch::remove_driver(*db, driver, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "driver " << driver << " removed\n";
    }
    return 0;
}

po::options_description import_options() {
    po::options_description d("driver import FILE.csv");
    d.add_options()("check", po::bool_switch(), "check every line, store nothing");
    reg::add_common_options(d);
    return d;
}

int import(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "driver import";
    const auto vm = cli::parse(name, import_options(), args, {"file"});
    const reg::ImportFile file(reg::word(vm, "file", name, "FILE"), columns,
                               {"personnel_number", "full_name"});
    auto read =
        reg::read_rows<dispatch::NewDriver>(file, [&](std::size_t row, geo::FieldProblems& p) {
            dispatch::NewDriver d;
            d.personnel_number = file.text(row, "personnel_number", p).value_or("");
            d.fields.full_name = file.text(row, "full_name", p).value_or("");
            d.fields.licence_series = file.text(row, "licence_series", p);
            d.fields.licence_number = file.text(row, "licence_number", p);
            d.fields.licence_issued_on = file.text(row, "licence_issued_on", p);
            d.fields.terminal = file.text(row, "terminal", p);
            d.fields.active = file.boolean(row, "active", p);
            return d;
        });
    auto db = cli::open(config);
    reg::run_import(file, read.rows, std::move(read.problems),
                    [&](const geo::BatchOptions& options) {
                        dispatch::add_drivers(*db, read.records, vm["actor"].as<std::string>(),
                                              options);
                    },
                    {.command = name,
                     .noun = "drivers",
                     .check_only = vm["check"].as<bool>(),
                     .quiet = reg::quiet(vm)});
    return 0;
}

const char* const import_help =
    "\nThe CSV's header names its columns, in any order: personnel_number and full_name\n"
    "(required), licence_series, licence_number, licence_issued_on, terminal, active. All lines\n"
    "are stored or none; `driver list --format csv` writes the same columns.\n";

const Registration add_registration(
    "driver add", {"register a driver by personnel number (journalled)",
                   "driver add NUMBER --name \"FULL NAME\" [--licence-series S --licence-number N"
                   " --licence-issued D] [--terminal ID] [--inactive]",
                   add, [] { return cli::describe(add_options()); }});
const Registration set_registration(
    "driver set", {"change a driver's fields (N: personnel number or full name); '' clears one",
                   "driver set N [--personnel-number NEW] [--name ...] ... [--active|--inactive]",
                   set, [] { return cli::describe(set_options()); }});
const Registration list_registration("driver list",
                                     {"the registered drivers",
                                      "driver list [--active|--inactive] [--format csv]", list,
                                      [] { return cli::describe(list_options()); }});
const Registration remove_registration(
    "driver remove",
    {"remove a driver registered by mistake; one with history is kept: driver set --inactive",
     "driver remove N", remove, [] { return cli::describe(remove_options()); }});
const Registration import_registration(
    "driver import", {"register drivers from CSV, all or none, progress on stderr",
                      "driver import FILE.csv [--check]", import,
                      [] { return cli::describe(import_options()) + import_help; }});

}  // namespace

}  // namespace fleet::tools::fleetctl
