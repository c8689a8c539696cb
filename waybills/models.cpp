#include "waybills/models.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "geo/error.hpp"
#include "geo/journal.hpp"

namespace fleet::waybills {

namespace {

using Json = nlohmann::json;
using geo::FieldProblems;

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string in_quotes(const std::string& text) {
    return "'" + text + "'";
}

// The norms by column, in the order of fleet.vehicle_models, with where each lives.
struct Column {
    const char* name;
    std::optional<double> ModelFields::*field;
    double ModelNorms::*norm;
};

constexpr Column norm_columns[] = {
    {"base_l_per_100km", &ModelFields::base_l_per_100km, &ModelNorms::base_l_per_100km},
    {"heater_l_per_h", &ModelFields::heater_l_per_h, &ModelNorms::heater_l_per_h},
    {"work_l_per_100tkm", &ModelFields::work_l_per_100tkm, &ModelNorms::work_l_per_100tkm},
    {"trailer_l_per_100tkm", &ModelFields::trailer_l_per_100tkm, &ModelNorms::trailer_l_per_100tkm},
    {"loaded_trip_l", &ModelFields::loaded_trip_l, &ModelNorms::loaded_trip_l},
    {"equipment_l_per_h", &ModelFields::equipment_l_per_h, &ModelNorms::equipment_l_per_h},
    {"idle_l_per_h", &ModelFields::idle_l_per_h, &ModelNorms::idle_l_per_h},
    {"oil_l_per_100l", &ModelFields::oil_l_per_100l, &ModelNorms::oil_l_per_100l},
    {"grease_kg_per_100l", &ModelFields::grease_kg_per_100l, &ModelNorms::grease_kg_per_100l},
};

constexpr const char* select_model =
    "SELECT make_model, vehicle_class, fuel_grade, base_l_per_100km, heater_l_per_h,"
    " work_l_per_100tkm, trailer_l_per_100tkm, loaded_trip_l, equipment_l_per_h, idle_l_per_h,"
    " oil_l_per_100l, grease_kg_per_100l,"
    " (SELECT count(*) FROM fleet.vehicles v WHERE v.make_model = m.make_model)"
    " FROM fleet.vehicle_models m";

VehicleModel model_of(const pqxx::row& r) {
    VehicleModel m;
    m.make_model = r[0].as<std::string>();
    m.fuel_grade = r[2].as<std::string>();
    m.norms.vehicle_class = parse_vehicle_class(r[1].as<std::string>());
    // A grade stored before the register checked it reads as the reconciliation reads it.
    const auto grade = m.fuel_grade;
    m.norms.fuel = grade == "petrol" ? FuelKind::petrol
                   : grade == "lpg"  ? FuelKind::lpg
                                     : FuelKind::diesel;
    for (std::size_t i = 0; i < std::size(norm_columns); ++i) {
        m.norms.*norm_columns[i].norm = r[static_cast<int>(3 + i)].as<double>();
    }
    m.vehicles = r[12].as<std::int64_t>();
    return m;
}

Json to_json(const std::string& fuel_grade, const ModelNorms& n) {
    Json out = {{"vehicle_class", std::string(to_string(n.vehicle_class))},
                {"fuel_grade", fuel_grade}};
    for (const auto& c : norm_columns) {
        out[c.name] = n.*c.norm;
    }
    return out;
}

// The class and fuel grade given, parsed; a problem naming the field for a bad one.
template <typename Enum, typename Parse>
std::optional<Enum> parsed(FieldProblems& problems, const char* field,
                           const std::optional<std::string>& text, Parse parse) {
    if (!text) {
        return std::nullopt;
    }
    try {
        return parse(trim(*text));
    } catch (const InputError&) {
        problems.push_back({field, in_quotes(trim(*text)) + " is not one of " +
                                       (std::string(field) == "vehicle_class"
                                            ? "car, bus, truck, dump_truck, special"
                                            : "petrol, diesel, lpg")});
        return std::nullopt;
    }
}

// The norms with the fields given put over `base`; the problems of the result.
ModelNorms merged(const ModelNorms& base, const ModelFields& f, FieldProblems& problems) {
    ModelNorms n = base;
    if (const auto cls =
            parsed<VehicleClass>(problems, "vehicle_class", f.vehicle_class, parse_vehicle_class)) {
        n.vehicle_class = *cls;
    }
    if (const auto fuel = parsed<FuelKind>(problems, "fuel_grade", f.fuel_grade, parse_fuel_kind)) {
        n.fuel = *fuel;
    }
    for (const auto& c : norm_columns) {
        if (f.*c.field) {
            n.*c.norm = *(f.*c.field);
        }
    }
    if (problems.empty()) {
        for (auto& [column, problem] : model_norm_problems(n)) {
            problems.push_back({std::move(column), std::move(problem)});
        }
    }
    return n;
}

void check_name(FieldProblems& problems, const std::string& name) {
    if (name.empty()) {
        problems.push_back({"make_model", "is required"});
    } else if (name.size() > 100 * 4 || std::count_if(name.begin(), name.end(), [](char c) {
                                            return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
                                        }) > 100) {
        problems.push_back({"make_model", "is longer than 100 characters"});
    } else if (std::any_of(name.begin(), name.end(), [](char c) {
                   return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
               })) {
        problems.push_back({"make_model", "contains control characters"});
    }
}

void store(pqxx::transaction_base& tx, const std::string& name, const ModelNorms& n, bool insert) {
    const std::string fuel(to_string(n.fuel));
    const std::string cls(to_string(n.vehicle_class));
    tx.exec_params0(
        insert ? "INSERT INTO fleet.vehicle_models (make_model, vehicle_class, fuel_grade,"
                 " base_l_per_100km, heater_l_per_h, work_l_per_100tkm, trailer_l_per_100tkm,"
                 " loaded_trip_l, equipment_l_per_h, idle_l_per_h, oil_l_per_100l,"
                 " grease_kg_per_100l) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
               : "UPDATE fleet.vehicle_models SET vehicle_class = $2, fuel_grade = $3,"
                 " base_l_per_100km = $4, heater_l_per_h = $5, work_l_per_100tkm = $6,"
                 " trailer_l_per_100tkm = $7, loaded_trip_l = $8, equipment_l_per_h = $9,"
                 " idle_l_per_h = $10, oil_l_per_100l = $11, grease_kg_per_100l = $12"
                 " WHERE make_model = $1",
        name, cls, fuel, n.base_l_per_100km, n.heater_l_per_h, n.work_l_per_100tkm,
        n.trailer_l_per_100tkm, n.loaded_trip_l, n.equipment_l_per_h, n.idle_l_per_h,
        n.oil_l_per_100l, n.grease_kg_per_100l);
}

std::optional<bool> add_step(pqxx::transaction_base& tx, const NewModel& input,
                             FieldProblems& problems, const std::string& actor) {
    const auto name = trim(input.make_model);
    check_name(problems, name);
    if (!input.fields.vehicle_class) {
        problems.push_back(
            {"vehicle_class", "is required: car, bus, truck, dump_truck or special"});
    }
    if (!input.fields.base_l_per_100km) {
        problems.push_back({"base_l_per_100km", "is required (the base norm, L/100 km)"});
    }
    if (!name.empty()) {
        const auto taken = tx.exec_params(
            "SELECT make_model FROM fleet.vehicle_models WHERE lower(make_model) = lower($1)",
            name);
        if (!taken.empty()) {
            problems.push_back({"make_model", "model " + in_quotes(taken[0][0].as<std::string>()) +
                                                  " exists already (fleetctl model set changes "
                                                  "it)"});
        }
    }
    const auto norms = merged(ModelNorms{}, input.fields, problems);
    if (!problems.empty()) {
        return std::nullopt;
    }
    store(tx, name, norms, true);
    auto details = to_json(std::string(to_string(norms.fuel)), norms);
    details["make_model"] = name;
    geo::record(tx, {.actor = actor,
                     .action = "model added",
                     .subject = name,
                     .details = details,
                     .kind = "model"});
    return true;
}

std::optional<bool> change_step(pqxx::transaction_base& tx, const ModelChange& input,
                                FieldProblems& problems, const std::string& actor) {
    const auto name = trim(input.make_model);
    const auto r =
        tx.exec_params(std::string(select_model) + " WHERE make_model = $1 FOR UPDATE", name);
    if (r.empty()) {
        throw InputError("unknown model " + in_quotes(name) + " (fleetctl model list shows them)");
    }
    const auto current = model_of(r[0]);
    const auto norms = merged(current.norms, input.fields, problems);
    if (!problems.empty()) {
        return std::nullopt;
    }
    const auto before = to_json(current.fuel_grade, current.norms);
    const auto after = to_json(std::string(to_string(norms.fuel)), norms);
    Json changes = Json::object();
    for (const auto& [key, value] : after.items()) {
        if (before[key] != value) {
            changes[key] = {{"from", before[key]}, {"to", value}};
        }
    }
    if (changes.empty()) {
        return false;
    }
    store(tx, name, norms, false);
    // A vehicle's class is its model's: the vehicles of the model follow a new class.
    Json vehicles = Json::array();
    if (norms.vehicle_class != current.norms.vehicle_class) {
        const std::string from(to_string(current.norms.vehicle_class));
        const std::string to(to_string(norms.vehicle_class));
        for (const auto& v : tx.exec_params(
                 "UPDATE fleet.vehicles SET vehicle_class = $2 WHERE make_model = $1"
                 " AND vehicle_class <> $2 RETURNING vehicle_id, registration, vehicle_class",
                 name, to)) {
            vehicles.push_back(v[1].as<std::string>());
            geo::record(tx,
                        {.actor = actor,
                         .action = "vehicle changed",
                         .subject = v[1].as<std::string>(),
                         .details = {{"changes", {{"vehicle_class", {{"from", from}, {"to", to}}}}},
                                     {"because", "model " + name + " changed its class"}},
                         .kind = "vehicle",
                         .vehicle_id = v[0].as<std::int64_t>()});
        }
    }
    geo::record(
        tx,
        {.actor = actor,
         .action = "model changed",
         .subject = name,
         .details = {{"make_model", name}, {"changes", changes}, {"vehicles_reclassed", vehicles}},
         .kind = "model"});
    return true;
}

std::string label(const std::string& make_model) {
    return "model " + in_quotes(trim(make_model));
}

}  // namespace

void add_model(pqxx::connection& conn, const NewModel& model, const std::string& actor) {
    geo::store_one(
        conn, model,
        [&](pqxx::transaction_base& tx, const NewModel& m, FieldProblems& p) {
            return add_step(tx, m, p, actor);
        },
        [](const NewModel& m) { return label(m.make_model); });
}

void add_models(pqxx::connection& conn, const std::vector<NewModel>& models,
                const std::string& actor, const geo::BatchOptions& options) {
    geo::BatchKeys names;
    geo::store_all(
        conn, models,
        [&](pqxx::transaction_base& tx, const NewModel& m,
            FieldProblems& p) -> std::optional<bool> {
            const std::string name = trim(m.make_model);
            std::string key = name;
            std::transform(key.begin(), key.end(), key.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (!names.first(key, name, "make_model", p)) {
                return std::nullopt;
            }
            return add_step(tx, m, p, actor);
        },
        [](const NewModel& m) { return label(m.make_model); }, options);
}

bool change_model(pqxx::connection& conn, const ModelChange& change, const std::string& actor) {
    return geo::store_one(
        conn, change,
        [&](pqxx::transaction_base& tx, const ModelChange& c, FieldProblems& p) {
            return change_step(tx, c, p, actor);
        },
        [](const ModelChange& c) { return label(c.make_model); });
}

std::vector<VehicleModel> list_models(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<VehicleModel> out;
    for (const auto& r : tx.exec(std::string(select_model) + " ORDER BY make_model")) {
        out.push_back(model_of(r));
    }
    return out;
}

}  // namespace fleet::waybills
