#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"
#include "waybills/models.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;
using waybills::ModelFields;

// The norms by column (as fleet.vehicle_models and the CSV name them), with their option and
// meaning.
struct Norm {
    const char* column;
    const char* option;
    std::optional<double> ModelFields::*field;
    double waybills::ModelNorms::*stored;
    const char* meaning;
};

constexpr Norm norms[] = {
    {"base_l_per_100km", "base-l-per-100km", &ModelFields::base_l_per_100km,
     &waybills::ModelNorms::base_l_per_100km,
     "base norm Hs, L/100 km (dump trucks Hsanc, special vehicles Hsc); required to add"},
    {"heater_l_per_h", "heater-l-per-h", &ModelFields::heater_l_per_h,
     &waybills::ModelNorms::heater_l_per_h, "buses: heater norm Hh, L/h"},
    {"work_l_per_100tkm", "work-l-per-100tkm", &ModelFields::work_l_per_100tkm,
     &waybills::ModelNorms::work_l_per_100tkm,
     "trucks: transport work norm Hw, L/100 t·km (petrol ≤ 2, diesel ≤ 1.3, lpg ≤ 2.64)"},
    {"trailer_l_per_100tkm", "trailer-l-per-100tkm", &ModelFields::trailer_l_per_100tkm,
     &waybills::ModelNorms::trailer_l_per_100tkm,
     "trucks: trailer mass norm Hg, L/100 t·km (same maxima)"},
    {"loaded_trip_l", "loaded-trip-l", &ModelFields::loaded_trip_l,
     &waybills::ModelNorms::loaded_trip_l, "dump trucks: per loaded trip Hz, L (≤ 0.25)"},
    {"equipment_l_per_h", "equipment-l-per-h", &ModelFields::equipment_l_per_h,
     &waybills::ModelNorms::equipment_l_per_h, "special vehicles: equipment norm Ht, L/h"},
    {"idle_l_per_h", "idle-l-per-h", &ModelFields::idle_l_per_h,
     &waybills::ModelNorms::idle_l_per_h,
     "idling with the engine required, L/h (≤ 10 % of the base norm)"},
    {"oil_l_per_100l", "oil-l-per-100l", &ModelFields::oil_l_per_100l,
     &waybills::ModelNorms::oil_l_per_100l, "engine oil, L per 100 L of normative fuel"},
    {"grease_kg_per_100l", "grease-kg-per-100l", &ModelFields::grease_kg_per_100l,
     &waybills::ModelNorms::grease_kg_per_100l, "greases, kg per 100 L of normative fuel"},
};

std::vector<std::string> columns() {
    std::vector<std::string> out{"make_model", "vehicle_class", "fuel_grade"};
    for (const auto& n : norms) {
        out.push_back(n.column);
    }
    return out;
}

void add_field_options(po::options_description& d) {
    d.add_options()("class", po::value<std::string>()->value_name("C"),
                    "car, bus, truck, dump_truck or special: the formula of its norm")(
        "fuel-grade", po::value<std::string>()->value_name("F"),
        "petrol, diesel or lpg (default diesel)");
    for (const auto& n : norms) {
        d.add_options()(n.option, po::value<double>()->value_name("X"), n.meaning);
    }
}

ModelFields fields(const po::variables_map& vm) {
    ModelFields f;
    f.vehicle_class = cli::optional<std::string>(vm, "class");
    f.fuel_grade = cli::optional<std::string>(vm, "fuel-grade");
    for (const auto& n : norms) {
        f.*n.field = cli::optional<double>(vm, n.option);
    }
    return f;
}

po::options_description add_options() {
    po::options_description d("model add \"MAKE MODEL\"");
    add_field_options(d);
    reg::add_common_options(d);
    return d;
}

int add(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "model add";
    const auto vm = cli::parse(name, add_options(), args, {"model"});
    const waybills::NewModel m{.make_model = reg::word(vm, "model", name, "MAKE MODEL"),
                               .fields = fields(vm)};
    if (!m.fields.vehicle_class || !m.fields.base_l_per_100km) {
        throw ConfigError(name,
                          "--class and --base-l-per-100km are required (see fleetctl "
                          "model add --help)");
    }
    auto db = cli::open(config);
    waybills::add_model(*db, m, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "model " << m.make_model << " added\n";
    }
    return 0;
}

po::options_description set_options() {
    po::options_description d("model set \"MAKE MODEL\"");
    add_field_options(d);
    reg::add_common_options(d);
    return d;
}

int set(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "model set";
    const auto vm = cli::parse(name, set_options(), args, {"model"});
    const waybills::ModelChange c{.make_model = reg::word(vm, "model", name, "MAKE MODEL"),
                                  .fields = fields(vm)};
    auto db = cli::open(config);
    const bool changed = waybills::change_model(*db, c, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "model " << c.make_model
                  << (changed ? " changed (reconciliations from now on use the new norms)"
                              : ": nothing to change (the values are as given)")
                  << "\n";
    }
    return 0;
}

po::options_description list_options() {
    po::options_description d("model list");
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "model list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    auto db = cli::open(config);
    waybills::Sheet sheet{.name = "models", .columns = columns(), .rows = {}};
    if (format == reg::Format::table) {
        sheet.columns.push_back("vehicles");
    }
    for (const auto& m : waybills::list_models(*db)) {
        std::vector<waybills::Cell> row{
            m.make_model, std::string(waybills::to_string(m.norms.vehicle_class)), m.fuel_grade};
        for (const auto& n : norms) {
            row.push_back(reg::number_cell(m.norms.*n.stored));
        }
        if (format == reg::Format::table) {
            row.push_back(m.vehicles);
        }
        sheet.rows.push_back(std::move(row));
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

po::options_description import_options() {
    po::options_description d("model import FILE.csv");
    d.add_options()("check", po::bool_switch(), "check every line, store nothing");
    reg::add_common_options(d);
    return d;
}

int import(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "model import";
    const auto vm = cli::parse(name, import_options(), args, {"file"});
    const reg::ImportFile file(reg::word(vm, "file", name, "FILE"), columns(),
                               {"make_model", "vehicle_class", "base_l_per_100km"});
    auto read =
        reg::read_rows<waybills::NewModel>(file, [&](std::size_t row, geo::FieldProblems& p) {
            waybills::NewModel m;
            m.make_model = file.text(row, "make_model", p).value_or("");
            m.fields.vehicle_class = file.text(row, "vehicle_class", p);
            m.fields.fuel_grade = file.text(row, "fuel_grade", p);
            for (const auto& n : norms) {
                m.fields.*n.field = file.number(row, n.column, p);
            }
            return m;
        });
    auto db = cli::open(config);
    reg::run_import(file, read.rows, std::move(read.problems),
                    [&](const geo::BatchOptions& options) {
                        waybills::add_models(*db, read.records, vm["actor"].as<std::string>(),
                                             options);
                    },
                    {.command = name,
                     .noun = "models",
                     .check_only = vm["check"].as<bool>(),
                     .quiet = reg::quiet(vm)});
    return 0;
}

const char* const import_help =
    "\nThe CSV's header names its columns, in any order: make_model, vehicle_class and\n"
    "base_l_per_100km (required), fuel_grade, heater_l_per_h, work_l_per_100tkm,\n"
    "trailer_l_per_100tkm, loaded_trip_l, equipment_l_per_h, idle_l_per_h, oil_l_per_100l,\n"
    "grease_kg_per_100l (empty: 0). All lines are stored or none; `model list --format csv`\n"
    "writes the same columns.\n";

const Registration add_registration(
    "model add",
    {"register a make and model with its fuel norms (AM-23-r; journalled)",
     "model add \"MAKE MODEL\" --class C --base-l-per-100km X [--fuel-grade F] [--heater-l-per-h"
     " X] ...",
     add, [] { return cli::describe(add_options()); }});
const Registration set_registration(
    "model set", {"change a model's class, fuel grade or norms (journalled with the old values)",
                  "model set \"MAKE MODEL\" [--class C] [--base-l-per-100km X] ...", set,
                  [] { return cli::describe(set_options()); }});
const Registration list_registration("model list", {"the vehicle models with their norms",
                                                    "model list [--format csv]", list,
                                                    [] { return cli::describe(list_options()); }});
const Registration import_registration("model import",
                                       {"register models from CSV, all or none, progress on stderr",
                                        "model import FILE.csv [--check]", import, [] {
                                            return cli::describe(import_options()) + import_help;
                                        }});

}  // namespace

}  // namespace fleet::tools::fleetctl
