#include "dispatch/fleet_register.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "geo/calendar.hpp"
#include "geo/error.hpp"
#include "geo/journal.hpp"

namespace fleet::dispatch {

namespace {

using Json = nlohmann::json;
using geo::FieldProblems;

#define FLEET_REGISTER_UTC(column) \
    "to_char((" column ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::optional<std::string> trim(const std::optional<std::string>& text) {
    return text ? std::optional<std::string>(trim(*text)) : std::nullopt;
}

// A nullable text column (libpqxx 6.4 cannot read one as std::optional<std::string>).
std::optional<std::string> nullable_text(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<std::string>(f.as<std::string>());
}

// Letter case folded for comparing registrations (the database's lower() does the same for
// the stored ones, beyond ASCII too).
std::string ascii_lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string in_quotes(const std::string& text) {
    return "'" + text + "'";
}

std::size_t characters(const std::string& text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// Free text of a field: at most `max_characters`, no control characters (they would break the
// tables, the CSV and the logs that show it), and no comma where lists of it are written
// with commas (--groups A,B). Valid UTF-8 is the database's check.
void check_text(FieldProblems& problems, const char* field, const std::string& value,
                std::size_t max_characters, bool comma_allowed = true) {
    if (characters(value) > max_characters) {
        problems.push_back({field, "is " + std::to_string(characters(value)) +
                                       " characters long; at most " +
                                       std::to_string(max_characters)});
    }
    if (std::any_of(value.begin(), value.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        problems.push_back({field, "contains control characters"});
    }
    if (!comma_allowed && value.find(',') != std::string::npos) {
        problems.push_back(
            {field, in_quotes(value) + " contains a comma (lists of it use commas)"});
    }
}

// A required text: present and not blank, then as check_text.
void check_required(FieldProblems& problems, const char* field, const std::string& value,
                    std::size_t max_characters, bool comma_allowed = true) {
    if (value.empty()) {
        problems.push_back({field, "is required"});
        return;
    }
    check_text(problems, field, value, max_characters, comma_allowed);
}

// A calendar day YYYY-MM-DD from 1900 up to `today` (a vehicle built, a licence issued).
void check_past_date(FieldProblems& problems, const char* field, const std::string& text,
                     const std::string& today) {
    if (!geo::is_calendar_date(text)) {
        problems.push_back({field, "expected a date YYYY-MM-DD, got " + in_quotes(text)});
    } else if (text < "1900-01-01") {
        problems.push_back({field, text + " is before 1900"});
    } else if (text > today) {
        problems.push_back({field, text + " is in the future (today is " + today + ")"});
    }
}

std::string today(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return tx.exec1("SELECT current_date::text")[0].as<std::string>();
}

bool known(std::string_view value, const auto& names) {
    return std::find(std::begin(names), std::end(names), value) != std::end(names);
}

std::string listed(const auto& names) {
    std::string out;
    for (const auto name : names) {
        out += (out.empty() ? "" : ", ") + std::string(name);
    }
    return out;
}

Json nullable(const std::optional<std::string>& text) {
    return text && !text->empty() ? Json(*text) : Json();
}

// One entry of the journal, in the caller's transaction.
void journal(pqxx::transaction_base& tx, const std::string& actor, const std::string& action,
             const std::string& kind, const std::string& subject, const Json& details,
             std::optional<std::int64_t> vehicle = {}, std::optional<std::int64_t> driver = {}) {
    geo::record(tx, {.actor = actor,
                     .action = action,
                     .subject = subject,
                     .details = details,
                     .kind = kind,
                     .vehicle_id = vehicle,
                     .driver_id = driver});
}

// A change of one field for the journal: {"from": ..., "to": ...}.
void changed(Json& changes, const char* field, const Json& from, const Json& to) {
    if (from != to) {
        changes[field] = {{"from", from}, {"to", to}};
    }
}

// Vehicles ----------------------------------------------------------------------------------

struct StoredVehicle {
    std::int64_t id = 0;
    std::string registration, vehicle_class;
    std::optional<std::string> make_model, garage_number, fuel_grade, region, built_on;
    std::int64_t odometer_capacity_km = 0;
    bool active = true;
    std::set<std::string> groups;
};

std::optional<StoredVehicle> load_vehicle(pqxx::transaction_base& tx,
                                          const std::string& registration) {
    const auto r = tx.exec_params(
        "SELECT vehicle_id, registration, vehicle_class, make_model, garage_number, fuel_grade,"
        " region, built_on::text, odometer_capacity_km, active FROM fleet.vehicles"
        " WHERE registration = $1 FOR UPDATE",
        registration);
    if (r.empty()) {
        return std::nullopt;
    }
    const auto row = r[0];
    StoredVehicle v{.id = row[0].as<std::int64_t>(),
                    .registration = row[1].as<std::string>(),
                    .vehicle_class = row[2].as<std::string>(),
                    .make_model = nullable_text(row[3]),
                    .garage_number = nullable_text(row[4]),
                    .fuel_grade = nullable_text(row[5]),
                    .region = nullable_text(row[6]),
                    .built_on = nullable_text(row[7]),
                    .odometer_capacity_km = row[8].as<std::int64_t>(),
                    .active = row[9].as<bool>(),
                    .groups = {}};
    for (const auto& g :
         tx.exec_params("SELECT g.name FROM fleet.vehicle_group_members m JOIN"
                        " fleet.vehicle_groups g USING (group_id) WHERE m.vehicle_id = $1",
                        v.id)) {
        v.groups.insert(g[0].as<std::string>());
    }
    return v;
}

std::string unknown_vehicle(const std::string& registration) {
    return "unknown vehicle " + in_quotes(registration) + " (fleetctl vehicle list shows them)";
}

// The registration of a vehicle being added or renamed: well formed and not taken (a
// registration that differs only in letter case is taken too).
void check_registration(pqxx::transaction_base& tx, FieldProblems& problems, const char* field,
                        const std::string& registration, std::optional<std::int64_t> self = {}) {
    const auto before = problems.size();
    check_required(problems, field, registration, 32, false);
    if (problems.size() != before) {
        return;
    }
    const auto taken = tx.exec_params(
        "SELECT registration FROM fleet.vehicles WHERE lower(registration) = lower($1)"
        " AND vehicle_id IS DISTINCT FROM $2",
        registration, self);
    if (!taken.empty()) {
        const auto other = taken[0][0].as<std::string>();
        problems.push_back({field, in_quotes(registration) + " is already registered" +
                                       (other == registration ? "" : " as " + in_quotes(other))});
    }
}

bool power_of_ten(std::int64_t value) {
    if (value <= 0) {
        return false;
    }
    while (value % 10 == 0) {
        value /= 10;
    }
    return value == 1;
}

// The fields given, on their own.
void check_vehicle_fields(const VehicleFields& f, const std::string& today,
                          FieldProblems& problems) {
    if (f.vehicle_class && !known(*f.vehicle_class, vehicle_classes)) {
        problems.push_back({"vehicle_class", in_quotes(*f.vehicle_class) + " is not one of " +
                                                 listed(vehicle_classes)});
    }
    if (f.make_model) {
        check_text(problems, "make_model", *f.make_model, 100);
    }
    if (f.garage_number) {
        check_text(problems, "garage_number", *f.garage_number, 32);
    }
    if (f.fuel_grade) {
        check_text(problems, "fuel_grade", *f.fuel_grade, 32);
    }
    if (f.region) {
        check_text(problems, "region", *f.region, 100);
    }
    if (f.built_on && !f.built_on->empty()) {
        check_past_date(problems, "built_on", *f.built_on, today);
    }
    if (f.odometer_capacity_km &&
        (!power_of_ten(*f.odometer_capacity_km) || *f.odometer_capacity_km < 10'000 ||
         *f.odometer_capacity_km > 1'000'000'000)) {
        problems.push_back({"odometer_capacity_km",
                            std::to_string(*f.odometer_capacity_km) +
                                " is not an odometer's capacity: a power of ten from 10000 to "
                                "1000000000 (a 99 999 km counter is 100000)"});
    }
    if (f.groups) {
        for (const auto& g : *f.groups) {
            check_required(problems, "groups", g, 64, false);
        }
    }
}

// The class of a known model; a problem naming the field when the model is unknown.
std::optional<std::string> model_class(pqxx::transaction_base& tx, FieldProblems& problems,
                                       const std::string& make_model) {
    const auto r = tx.exec_params(
        "SELECT make_model, vehicle_class FROM fleet.vehicle_models"
        " WHERE lower(make_model) = lower($1) ORDER BY make_model = $1 DESC LIMIT 1",
        make_model);
    if (!r.empty() && r[0][0].as<std::string>() == make_model) {
        return r[0][1].as<std::string>();
    }
    problems.push_back(
        {"make_model",
         "unknown make and model " + in_quotes(make_model) +
             (r.empty() ? "" : " (did you mean " + in_quotes(r[0][0].as<std::string>()) + "?)") +
             "; fleetctl model add registers one with its fuel norms"});
    return std::nullopt;
}

// Group ids by name; a problem for each unknown one.
std::map<std::string, std::int64_t> group_ids(pqxx::transaction_base& tx, FieldProblems& problems,
                                              const std::vector<std::string>& names) {
    std::map<std::string, std::int64_t> ids;
    for (const auto& name : names) {
        const auto r =
            tx.exec_params("SELECT group_id FROM fleet.vehicle_groups WHERE name = $1", name);
        if (r.empty()) {
            problems.push_back({"groups", "unknown group " + in_quotes(name) +
                                              " (fleetctl group add creates it)"});
        } else {
            ids[name] = r[0][0].as<std::int64_t>();
        }
    }
    return ids;
}

VehicleFields trimmed(const VehicleFields& f) {
    VehicleFields t = f;
    t.vehicle_class = trim(f.vehicle_class);
    t.make_model = trim(f.make_model);
    t.garage_number = trim(f.garage_number);
    t.fuel_grade = trim(f.fuel_grade);
    t.region = trim(f.region);
    t.built_on = trim(f.built_on);
    if (f.groups) {
        std::vector<std::string> groups;
        for (const auto& g : *f.groups) {
            const auto name = trim(g);
            if (std::find(groups.begin(), groups.end(), name) == groups.end()) {
                groups.push_back(name);
            }
        }
        t.groups = groups;
    }
    return t;
}

// An optional text as stored: NULL for absent or empty.
std::optional<std::string> stored(const std::optional<std::string>& text) {
    return text && !text->empty() ? text : std::nullopt;
}

void set_memberships(pqxx::transaction_base& tx, std::int64_t vehicle,
                     const std::map<std::string, std::int64_t>& groups) {
    tx.exec_params("DELETE FROM fleet.vehicle_group_members WHERE vehicle_id = $1", vehicle);
    for (const auto& [name, id] : groups) {
        tx.exec_params(
            "INSERT INTO fleet.vehicle_group_members (group_id, vehicle_id) VALUES ($1, $2)", id,
            vehicle);
    }
}

std::optional<std::int64_t> add_vehicle_step(pqxx::transaction_base& tx, const NewVehicle& input,
                                             FieldProblems& problems, const std::string& today,
                                             const std::string& actor) {
    const std::string registration = trim(input.registration);
    const VehicleFields f = trimmed(input.fields);
    check_vehicle_fields(f, today, problems);
    if (f.vehicle_class && f.vehicle_class->empty()) {
        problems.push_back({"vehicle_class", "is empty (leave it out for the model's class)"});
    }
    check_registration(tx, problems, "registration", registration);
    std::string vehicle_class = f.vehicle_class.value_or("");
    const auto make_model = stored(f.make_model);
    if (make_model) {
        if (const auto cls = model_class(tx, problems, *make_model)) {
            if (vehicle_class.empty()) {
                vehicle_class = *cls;
            } else if (vehicle_class != *cls) {
                problems.push_back(
                    {"vehicle_class", in_quotes(vehicle_class) + " is not the class of model " +
                                          in_quotes(*make_model) + " (" + *cls + ")"});
            }
        }
    }
    if (vehicle_class.empty()) {
        vehicle_class = "car";
    }
    const auto groups = group_ids(tx, problems, f.groups.value_or(std::vector<std::string>{}));
    if (!problems.empty()) {
        return std::nullopt;
    }
    const auto id =
        tx.exec_params1(
              "INSERT INTO fleet.vehicles (registration, vehicle_class, make_model, garage_number,"
              " fuel_grade, region, built_on, odometer_capacity_km, active)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7::date, $8, $9) RETURNING vehicle_id",
              registration, vehicle_class, make_model, stored(f.garage_number),
              stored(f.fuel_grade), stored(f.region), stored(f.built_on),
              f.odometer_capacity_km.value_or(1'000'000), f.active.value_or(true))[0]
            .as<std::int64_t>();
    set_memberships(tx, id, groups);
    Json group_names = Json::array();
    for (const auto& [name, group] : groups) {
        group_names.push_back(name);
    }
    journal(tx, actor, "vehicle added", "vehicle", registration,
            {{"registration", registration},
             {"vehicle_class", vehicle_class},
             {"make_model", nullable(make_model)},
             {"garage_number", nullable(f.garage_number)},
             {"fuel_grade", nullable(f.fuel_grade)},
             {"region", nullable(f.region)},
             {"built_on", nullable(f.built_on)},
             {"odometer_capacity_km", f.odometer_capacity_km.value_or(1'000'000)},
             {"groups", group_names},
             {"active", f.active.value_or(true)}},
            id);
    return id;
}

std::optional<bool> change_vehicle_step(pqxx::transaction_base& tx, const VehicleChange& input,
                                        FieldProblems& problems, const std::string& today,
                                        const std::string& actor) {
    const auto current = load_vehicle(tx, trim(input.registration));
    if (!current) {
        throw InputError(unknown_vehicle(trim(input.registration)));
    }
    const VehicleFields f = trimmed(input.fields);
    check_vehicle_fields(f, today, problems);
    if (f.vehicle_class && f.vehicle_class->empty()) {
        problems.push_back(
            {"vehicle_class", "cannot be cleared: give one of " + listed(vehicle_classes)});
    }
    std::string registration = current->registration;
    if (input.new_registration && trim(*input.new_registration) != registration) {
        registration = trim(*input.new_registration);
        // Letter case alone may change: the vehicle's own registration is no clash.
        check_registration(tx, problems, "new registration", registration, current->id);
    }
    const auto make_model = f.make_model ? stored(f.make_model) : current->make_model;
    std::string vehicle_class = f.vehicle_class.value_or(current->vehicle_class);
    if (make_model && (f.make_model || f.vehicle_class)) {
        if (const auto cls = model_class(tx, problems, *make_model)) {
            if (!f.vehicle_class) {
                vehicle_class = *cls;  // a new model brings its class
            } else if (vehicle_class != *cls) {
                problems.push_back(
                    {"vehicle_class", in_quotes(vehicle_class) + " is not the class of " +
                                          (f.make_model ? "model " : "its model ") +
                                          in_quotes(*make_model) + " (" + *cls + ")" +
                                          (f.make_model ? "" : "; change the model too")});
            }
        }
    }
    std::optional<std::map<std::string, std::int64_t>> groups;
    if (f.groups) {
        groups = group_ids(tx, problems, *f.groups);
    }
    if (!problems.empty()) {
        return std::nullopt;
    }
    const auto garage = f.garage_number ? stored(f.garage_number) : current->garage_number;
    const auto fuel = f.fuel_grade ? stored(f.fuel_grade) : current->fuel_grade;
    const auto region = f.region ? stored(f.region) : current->region;
    const auto built = f.built_on ? stored(f.built_on) : current->built_on;
    const auto capacity = f.odometer_capacity_km.value_or(current->odometer_capacity_km);
    const bool active = f.active.value_or(current->active);
    Json changes = Json::object();
    changed(changes, "registration", current->registration, registration);
    changed(changes, "vehicle_class", current->vehicle_class, vehicle_class);
    changed(changes, "make_model", nullable(current->make_model), nullable(make_model));
    changed(changes, "garage_number", nullable(current->garage_number), nullable(garage));
    changed(changes, "fuel_grade", nullable(current->fuel_grade), nullable(fuel));
    changed(changes, "region", nullable(current->region), nullable(region));
    changed(changes, "built_on", nullable(current->built_on), nullable(built));
    changed(changes, "odometer_capacity_km", current->odometer_capacity_km, capacity);
    changed(changes, "active", current->active, active);
    if (groups) {
        Json before = Json::array();
        Json after = Json::array();
        for (const auto& g : current->groups) {
            before.push_back(g);
        }
        for (const auto& [name, id] : *groups) {
            after.push_back(name);
        }
        changed(changes, "groups", before, after);
    }
    if (changes.empty()) {
        return false;
    }
    tx.exec_params(
        "UPDATE fleet.vehicles SET registration = $2, vehicle_class = $3, make_model = $4,"
        " garage_number = $5, fuel_grade = $6, region = $7, built_on = $8::date,"
        " odometer_capacity_km = $9, active = $10 WHERE vehicle_id = $1",
        current->id, registration, vehicle_class, make_model, garage, fuel, region, built, capacity,
        active);
    if (groups) {
        set_memberships(tx, current->id, *groups);
    }
    journal(tx, actor, "vehicle changed", "vehicle", registration, {{"changes", changes}},
            current->id);
    return true;
}

// Devices -----------------------------------------------------------------------------------

constexpr std::size_t max_identifier_bytes = 128;

bool digits(const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// What each protocol sends as its identifier (domain.md §6): an IMEI over Teltonika and GT06,
// free text over OsmAnd and the native protocol.
void check_identifier(FieldProblems& problems, const std::string& identifier,
                      const std::string& protocol) {
    if (identifier.empty()) {
        problems.push_back({"identifier", "is required"});
        return;
    }
    if (protocol == "teltonika" && !(digits(identifier) && identifier.size() == 15)) {
        problems.push_back({"identifier", "a Teltonika device sends its 15-digit IMEI, got " +
                                              in_quotes(identifier)});
    } else if (protocol == "gt06" &&
               !(digits(identifier) && (identifier.size() == 15 || identifier.size() == 16))) {
        problems.push_back({"identifier",
                            "a GT06 device logs in with its IMEI (15 digits, 16 "
                            "with a leading digit other than 0), got " +
                                in_quotes(identifier)});
    } else if (identifier.size() > max_identifier_bytes) {
        problems.push_back({"identifier", "is " + std::to_string(identifier.size()) +
                                              " bytes long; at most " +
                                              std::to_string(max_identifier_bytes)});
    }
    check_text(problems, "identifier", identifier, max_identifier_bytes);
}

void check_protocol(FieldProblems& problems, const std::string& protocol) {
    if (protocol.empty()) {
        problems.push_back({"protocol", "is required: one of " + listed(device_protocols)});
    } else if (!known(protocol, device_protocols)) {
        problems.push_back(
            {"protocol", in_quotes(protocol) + " is not one of " + listed(device_protocols)});
    }
}

// The vehicle a device or a query names; a problem naming `field` when unknown.
std::optional<std::int64_t> find_vehicle(pqxx::transaction_base& tx, FieldProblems& problems,
                                         const char* field, const std::string& registration) {
    if (registration.empty()) {
        problems.push_back({field, "is required (a registration)"});
        return std::nullopt;
    }
    const auto r = tx.exec_params("SELECT vehicle_id FROM fleet.vehicles WHERE registration = $1",
                                  registration);
    if (r.empty()) {
        problems.push_back({field, unknown_vehicle(registration)});
        return std::nullopt;
    }
    return r[0][0].as<std::int64_t>();
}

std::optional<std::int64_t> add_device_step(pqxx::transaction_base& tx, const NewDevice& input,
                                            FieldProblems& problems, const std::string& actor) {
    const auto identifier = trim(input.identifier);
    const auto protocol = trim(input.protocol);
    const auto registration = trim(input.vehicle);
    check_protocol(problems, protocol);
    check_identifier(problems, identifier, protocol);
    const auto vehicle = find_vehicle(tx, problems, "vehicle", registration);
    if (!identifier.empty()) {
        const auto taken = tx.exec_params(
            "SELECT v.registration, d.auto_registered FROM fleet.devices d JOIN fleet.vehicles v"
            " USING (vehicle_id) WHERE d.identifier = $1",
            identifier);
        if (!taken.empty()) {
            problems.push_back(
                {"identifier",
                 in_quotes(identifier) + " is already registered on vehicle " +
                     in_quotes(taken[0][0].as<std::string>()) +
                     (taken[0][1].as<bool>() ? " (by ingest, when it first connected)" : "") +
                     "; fleetctl device move puts it on another vehicle"});
        }
    }
    if (!problems.empty()) {
        return std::nullopt;
    }
    const auto id = tx.exec_params1(
                          "INSERT INTO fleet.devices (identifier, protocol, vehicle_id)"
                          " VALUES ($1, $2, $3) RETURNING device_id",
                          identifier, protocol, *vehicle)[0]
                        .as<std::int64_t>();
    journal(tx, actor, "device added", "device", identifier,
            {{"identifier", identifier}, {"protocol", protocol}, {"vehicle", registration}},
            vehicle);
    return id;
}

struct StoredDevice {
    std::int64_t id = 0;
    std::string identifier, protocol, registration;
    std::int64_t vehicle_id = 0;
};

StoredDevice load_device(pqxx::transaction_base& tx, const std::string& identifier) {
    const auto r = tx.exec_params(
        "SELECT d.device_id, d.identifier, coalesce(d.protocol, ''), v.registration, v.vehicle_id"
        " FROM fleet.devices d JOIN fleet.vehicles v USING (vehicle_id) WHERE d.identifier = $1"
        " FOR UPDATE OF d",
        identifier);
    if (r.empty()) {
        throw InputError("unknown device " + in_quotes(identifier) +
                         " (fleetctl device list shows them)");
    }
    return {.id = r[0][0].as<std::int64_t>(),
            .identifier = r[0][1].as<std::string>(),
            .protocol = r[0][2].as<std::string>(),
            .registration = r[0][3].as<std::string>(),
            .vehicle_id = r[0][4].as<std::int64_t>()};
}

// Drivers -----------------------------------------------------------------------------------

DriverFields trimmed(const DriverFields& f) {
    DriverFields t = f;
    t.full_name = trim(f.full_name);
    t.licence_series = trim(f.licence_series);
    t.licence_number = trim(f.licence_number);
    t.licence_issued_on = trim(f.licence_issued_on);
    t.terminal = trim(f.terminal);
    return t;
}

void check_driver_fields(const DriverFields& f, const std::string& today, FieldProblems& problems) {
    if (f.full_name) {
        check_required(problems, "full_name", *f.full_name, 200);
    }
    if (f.licence_series) {
        check_text(problems, "licence_series", *f.licence_series, 16);
    }
    if (f.licence_number) {
        check_text(problems, "licence_number", *f.licence_number, 32);
    }
    if (f.licence_issued_on && !f.licence_issued_on->empty()) {
        check_past_date(problems, "licence_issued_on", *f.licence_issued_on, today);
    }
    if (f.terminal) {
        check_text(problems, "terminal", *f.terminal, max_identifier_bytes);
    }
}

void check_personnel_number(pqxx::transaction_base& tx, FieldProblems& problems, const char* field,
                            const std::string& number, std::optional<std::int64_t> self = {}) {
    const auto before = problems.size();
    check_required(problems, field, number, 32, false);
    if (problems.size() != before) {
        return;
    }
    const auto taken = tx.exec_params(
        "SELECT full_name FROM fleet.drivers WHERE personnel_number = $1"
        " AND driver_id IS DISTINCT FROM $2",
        number, self);
    if (!taken.empty()) {
        problems.push_back({field, in_quotes(number) + " is already the personnel number of " +
                                       taken[0][0].as<std::string>()});
    }
}

// The device id of a terminal, when one is named; a problem when it is not registered.
std::optional<std::int64_t> terminal_id(pqxx::transaction_base& tx, FieldProblems& problems,
                                        const std::optional<std::string>& terminal) {
    if (!terminal || terminal->empty()) {
        return std::nullopt;
    }
    const auto r =
        tx.exec_params("SELECT device_id FROM fleet.devices WHERE identifier = $1", *terminal);
    if (r.empty()) {
        problems.push_back({"terminal", "unknown device " + in_quotes(*terminal) +
                                            " (fleetctl device add registers it)"});
        return std::nullopt;
    }
    return r[0][0].as<std::int64_t>();
}

std::optional<std::int64_t> add_driver_step(pqxx::transaction_base& tx, const NewDriver& input,
                                            FieldProblems& problems, const std::string& today,
                                            const std::string& actor) {
    const auto number = trim(input.personnel_number);
    const DriverFields f = trimmed(input.fields);
    check_personnel_number(tx, problems, "personnel_number", number);
    if (!f.full_name) {
        problems.push_back({"full_name", "is required"});
    }
    check_driver_fields(f, today, problems);
    const auto terminal = terminal_id(tx, problems, f.terminal);
    if (!problems.empty()) {
        return std::nullopt;
    }
    const auto id = tx.exec_params1(
                          "INSERT INTO fleet.drivers (full_name, personnel_number, licence_series,"
                          " licence_number, licence_issued_on, terminal_device_id, active)"
                          " VALUES ($1, $2, $3, $4, $5::date, $6, $7) RETURNING driver_id",
                          *f.full_name, number, stored(f.licence_series), stored(f.licence_number),
                          stored(f.licence_issued_on), terminal, f.active.value_or(true))[0]
                        .as<std::int64_t>();
    journal(tx, actor, "driver added", "driver", number,
            {{"personnel_number", number},
             {"full_name", *f.full_name},
             {"licence_series", nullable(f.licence_series)},
             {"licence_number", nullable(f.licence_number)},
             {"licence_issued_on", nullable(f.licence_issued_on)},
             {"terminal", nullable(f.terminal)},
             {"active", f.active.value_or(true)}},
            std::nullopt, id);
    return id;
}

struct StoredDriver {
    std::int64_t id = 0;
    std::string full_name;
    std::optional<std::string> personnel_number, licence_series, licence_number, licence_issued_on,
        terminal;
    bool active = true;
};

StoredDriver load_driver(pqxx::transaction_base& tx, const std::string& key) {
    const auto id = driver_id(tx, key);
    const auto r = tx.exec_params1(
        "SELECT d.full_name, d.personnel_number, d.licence_series, d.licence_number,"
        " d.licence_issued_on::text, t.identifier, d.active FROM fleet.drivers d"
        " LEFT JOIN fleet.devices t ON t.device_id = d.terminal_device_id"
        " WHERE d.driver_id = $1 FOR UPDATE OF d",
        id);
    return {.id = id,
            .full_name = r[0].as<std::string>(),
            .personnel_number = nullable_text(r[1]),
            .licence_series = nullable_text(r[2]),
            .licence_number = nullable_text(r[3]),
            .licence_issued_on = nullable_text(r[4]),
            .terminal = nullable_text(r[5]),
            .active = r[6].as<bool>()};
}

std::optional<bool> change_driver_step(pqxx::transaction_base& tx, const DriverChange& input,
                                       FieldProblems& problems, const std::string& today,
                                       const std::string& actor) {
    const auto current = load_driver(tx, trim(input.driver));
    const DriverFields f = trimmed(input.fields);
    check_driver_fields(f, today, problems);
    auto number = current.personnel_number;
    if (input.new_personnel_number) {
        number = trim(*input.new_personnel_number);
        check_personnel_number(tx, problems, "new personnel_number", *number, current.id);
    }
    std::optional<std::int64_t> terminal;
    if (f.terminal) {
        terminal = terminal_id(tx, problems, f.terminal);
    }
    if (!problems.empty()) {
        return std::nullopt;
    }
    const auto name = f.full_name.value_or(current.full_name);
    const auto series = f.licence_series ? stored(f.licence_series) : current.licence_series;
    const auto licence = f.licence_number ? stored(f.licence_number) : current.licence_number;
    const auto issued =
        f.licence_issued_on ? stored(f.licence_issued_on) : current.licence_issued_on;
    const auto terminal_name = f.terminal ? stored(f.terminal) : current.terminal;
    const bool active = f.active.value_or(current.active);
    Json changes = Json::object();
    changed(changes, "personnel_number", nullable(current.personnel_number), nullable(number));
    changed(changes, "full_name", current.full_name, name);
    changed(changes, "licence_series", nullable(current.licence_series), nullable(series));
    changed(changes, "licence_number", nullable(current.licence_number), nullable(licence));
    changed(changes, "licence_issued_on", nullable(current.licence_issued_on), nullable(issued));
    changed(changes, "terminal", nullable(current.terminal), nullable(terminal_name));
    changed(changes, "active", current.active, active);
    if (changes.empty()) {
        return false;
    }
    tx.exec_params(
        "UPDATE fleet.drivers SET personnel_number = $2, full_name = $3, licence_series = $4,"
        " licence_number = $5, licence_issued_on = $6::date, terminal_device_id = CASE WHEN $7"
        " THEN $8 ELSE terminal_device_id END, active = $9 WHERE driver_id = $1",
        current.id, stored(number), name, series, licence, issued, f.terminal.has_value(), terminal,
        active);
    journal(tx, actor, "driver changed", "driver", number.value_or(name), {{"changes", changes}},
            std::nullopt, current.id);
    return true;
}

// History ------------------------------------------------------------------------------------

// What refers to a vehicle or a driver and is kept: "3 waybills, 120 positions, ...". Tables
// are counted by the id column they have.
std::vector<std::string> history(pqxx::transaction_base& tx, const char* column, std::int64_t id,
                                 const std::vector<std::pair<const char*, const char*>>& tables) {
    std::vector<std::string> out;
    for (const auto& [table, what] : tables) {
        // Table and column names are this file's constants, never input.
        const auto n = tx.exec_params1(std::string("SELECT count(*) FROM (SELECT 1 FROM fleet.") +
                                           table + " WHERE " + column + " = $1 LIMIT 1000) x",
                                       id)[0]
                           .as<long>();
        if (n > 0) {
            out.push_back((n >= 1000 ? "1000 or more" : std::to_string(n)) + " " + what);
        }
    }
    return out;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

// The database's refusal to delete a row still referred to by a table this file does not
// count (added by a later migration): named, never a crash.
template <typename Delete>
void delete_or_explain(Delete&& remove, const std::string& what) {
    try {
        remove();
    } catch (const pqxx::foreign_key_violation& e) {
        throw ConflictError(what + " is still referred to (" + geo::detail::database_problem(e) +
                            "): deactivate it instead");
    }
}

}  // namespace

// Vehicles -------------------------------------------------------------------------------------

std::int64_t add_vehicle(pqxx::connection& conn, const NewVehicle& vehicle,
                         const std::string& actor) {
    const auto day = today(conn);
    return geo::store_one(
        conn, vehicle,
        [&](pqxx::transaction_base& tx, const NewVehicle& v, FieldProblems& p) {
            return add_vehicle_step(tx, v, p, day, actor);
        },
        [](const NewVehicle& v) { return "vehicle " + in_quotes(trim(v.registration)); });
}

std::vector<std::int64_t> add_vehicles(pqxx::connection& conn,
                                       const std::vector<NewVehicle>& vehicles,
                                       const std::string& actor, const geo::BatchOptions& options) {
    const auto day = today(conn);
    geo::BatchKeys registrations;
    return geo::store_all(
        conn, vehicles,
        [&](pqxx::transaction_base& tx, const NewVehicle& v,
            FieldProblems& p) -> std::optional<std::int64_t> {
            if (!registrations.first(ascii_lower(trim(v.registration)), trim(v.registration),
                                     "registration", p)) {
                return std::nullopt;
            }
            return add_vehicle_step(tx, v, p, day, actor);
        },
        [](const NewVehicle& v) { return "vehicle " + in_quotes(trim(v.registration)); }, options);
}

bool change_vehicle(pqxx::connection& conn, const VehicleChange& change, const std::string& actor) {
    const auto day = today(conn);
    return geo::store_one(
        conn, change,
        [&](pqxx::transaction_base& tx, const VehicleChange& c, FieldProblems& p) {
            return change_vehicle_step(tx, c, p, day, actor);
        },
        [](const VehicleChange& c) { return "vehicle " + in_quotes(trim(c.registration)); });
}

void remove_vehicle(pqxx::connection& conn, const std::string& registration,
                    const std::string& actor) {
    pqxx::work tx(conn);
    const auto v = load_vehicle(tx, trim(registration));
    if (!v) {
        throw InputError(unknown_vehicle(trim(registration)));
    }
    const std::string name = "vehicle " + in_quotes(v->registration);
    std::vector<std::string> kept;
    if (!tx.exec_params("SELECT 1 FROM fleet.positions WHERE vehicle_id = $1 LIMIT 1", v->id)
             .empty()) {
        kept.push_back("positions");
    }
    for (auto& item : history(tx, "vehicle_id", v->id,
                              {{"waybills", "waybills"},
                               {"shift_assignments", "assignments"},
                               {"events", "events"},
                               {"fuel_transactions", "fuel receipts"},
                               {"odometer_events", "odometer acts"},
                               {"shift_results", "shift results"},
                               {"notice_deliveries", "notice deliveries"}})) {
        kept.push_back(std::move(item));
    }
    if (!kept.empty()) {
        throw ConflictError(name + " has history (" + joined(kept) +
                            ") and is kept: deactivate it instead (fleetctl vehicle set " +
                            v->registration + " --inactive)");
    }
    std::vector<std::string> devices;
    for (const auto& d : tx.exec_params(
             "SELECT identifier FROM fleet.devices WHERE vehicle_id = $1 ORDER BY identifier",
             v->id)) {
        devices.push_back(d[0].as<std::string>());
    }
    if (!devices.empty()) {
        throw ConflictError(name + " has devices (" + joined(devices) +
                            "): move them to another vehicle or remove them first");
    }
    Json groups = Json::array();
    for (const auto& g : v->groups) {
        groups.push_back(g);
    }
    // The entry outlives the vehicle: its id stays in the details (the journal's link to the
    // vehicle is cleared with it).
    journal(tx, actor, "vehicle removed", "vehicle", v->registration,
            {{"vehicle_id", v->id},
             {"registration", v->registration},
             {"vehicle_class", v->vehicle_class},
             {"make_model", nullable(v->make_model)},
             {"groups", groups}});
    delete_or_explain(
        [&] { tx.exec_params0("DELETE FROM fleet.vehicles WHERE vehicle_id = $1", v->id); }, name);
    tx.commit();
}

std::vector<Vehicle> list_vehicles(pqxx::connection& conn, const VehicleFilter& filter) {
    pqxx::read_transaction tx(conn);
    if (!filter.vehicle_class.empty() && !known(filter.vehicle_class, vehicle_classes)) {
        throw InputError("vehicle_class: " + in_quotes(filter.vehicle_class) + " is not one of " +
                         listed(vehicle_classes));
    }
    if (!filter.group.empty() &&
        tx.exec_params("SELECT 1 FROM fleet.vehicle_groups WHERE name = $1", filter.group)
            .empty()) {
        throw InputError("unknown group " + in_quotes(filter.group) +
                         " (fleetctl group list shows them)");
    }
    std::map<std::int64_t, std::vector<std::string>> groups, devices;
    for (const auto& r : tx.exec("SELECT m.vehicle_id, g.name FROM fleet.vehicle_group_members m"
                                 " JOIN fleet.vehicle_groups g USING (group_id) ORDER BY g.name")) {
        groups[r[0].as<std::int64_t>()].push_back(r[1].as<std::string>());
    }
    for (const auto& r :
         tx.exec("SELECT vehicle_id, identifier FROM fleet.devices ORDER BY identifier")) {
        devices[r[0].as<std::int64_t>()].push_back(r[1].as<std::string>());
    }
    std::vector<Vehicle> out;
    for (const auto& r : tx.exec_params(
             "SELECT v.vehicle_id, v.registration, v.vehicle_class, coalesce(v.make_model, ''),"
             " coalesce(v.garage_number, ''), coalesce(v.fuel_grade, ''), coalesce(v.region, ''),"
             " coalesce(v.built_on::text, ''), v.odometer_capacity_km, v.active,"
             " coalesce(v.attributes ->> 'auto_registered' = 'true', false)"
             " FROM fleet.vehicles v"
             " WHERE ($1 = '' OR EXISTS (SELECT 1 FROM fleet.vehicle_group_members m"
             "  JOIN fleet.vehicle_groups g USING (group_id)"
             "  WHERE g.name = $1 AND m.vehicle_id = v.vehicle_id))"
             " AND ($2 = '' OR v.vehicle_class = $2) AND ($3::boolean IS NULL OR v.active = $3)"
             " ORDER BY v.registration",
             filter.group, filter.vehicle_class, filter.active)) {
        const auto id = r[0].as<std::int64_t>();
        out.push_back({.vehicle_id = id,
                       .registration = r[1].as<std::string>(),
                       .vehicle_class = r[2].as<std::string>(),
                       .make_model = r[3].as<std::string>(),
                       .garage_number = r[4].as<std::string>(),
                       .fuel_grade = r[5].as<std::string>(),
                       .region = r[6].as<std::string>(),
                       .built_on = r[7].as<std::string>(),
                       .odometer_capacity_km = r[8].as<std::int64_t>(),
                       .active = r[9].as<bool>(),
                       .groups = groups[id],
                       .devices = devices[id],
                       .auto_registered = r[10].as<bool>()});
    }
    return out;
}

std::int64_t vehicle_id(pqxx::transaction_base& tx, const std::string& registration) {
    FieldProblems problems;
    const auto id = find_vehicle(tx, problems, "vehicle", trim(registration));
    if (!id) {
        throw InputError(problems.front().problem);
    }
    return *id;
}

// Devices --------------------------------------------------------------------------------------

std::int64_t add_device(pqxx::connection& conn, const NewDevice& device, const std::string& actor) {
    return geo::store_one(
        conn, device,
        [&](pqxx::transaction_base& tx, const NewDevice& d, FieldProblems& p) {
            return add_device_step(tx, d, p, actor);
        },
        [](const NewDevice& d) { return "device " + in_quotes(trim(d.identifier)); });
}

std::vector<std::int64_t> add_devices(pqxx::connection& conn, const std::vector<NewDevice>& devices,
                                      const std::string& actor, const geo::BatchOptions& options) {
    geo::BatchKeys identifiers;
    return geo::store_all(
        conn, devices,
        [&](pqxx::transaction_base& tx, const NewDevice& d,
            FieldProblems& p) -> std::optional<std::int64_t> {
            if (!identifiers.first(trim(d.identifier), trim(d.identifier), "identifier", p)) {
                return std::nullopt;
            }
            return add_device_step(tx, d, p, actor);
        },
        [](const NewDevice& d) { return "device " + in_quotes(trim(d.identifier)); }, options);
}

bool move_device(pqxx::connection& conn, const std::string& identifier, const std::string& vehicle,
                 const std::string& actor) {
    pqxx::work tx(conn);
    const auto device = load_device(tx, trim(identifier));
    const auto registration = trim(vehicle);
    const auto target = vehicle_id(tx, registration);
    if (target == device.vehicle_id) {
        return false;
    }
    tx.exec_params0("UPDATE fleet.devices SET vehicle_id = $2 WHERE device_id = $1", device.id,
                    target);
    journal(tx, actor, "device moved", "device", device.identifier,
            {{"identifier", device.identifier},
             {"protocol", device.protocol},
             {"from_vehicle", device.registration},
             {"to_vehicle", registration},
             {"vehicle_ids", {device.vehicle_id, target}}},
            target);
    tx.commit();
    return true;
}

void remove_device(pqxx::connection& conn, const std::string& identifier,
                   const std::string& actor) {
    pqxx::work tx(conn);
    const auto device = load_device(tx, trim(identifier));
    std::vector<std::string> drivers;
    for (const auto& r :
         tx.exec_params("SELECT coalesce(personnel_number, full_name) FROM fleet.drivers"
                        " WHERE terminal_device_id = $1 ORDER BY 1",
                        device.id)) {
        drivers.push_back(r[0].as<std::string>());
    }
    if (!drivers.empty()) {
        throw InputError("device " + in_quotes(device.identifier) +
                         " is the terminal of driver(s) " + joined(drivers) +
                         ": give them another terminal first (fleetctl driver set" +
                         " N --terminal ID, or --terminal '' for none)");
    }
    journal(tx, actor, "device removed", "device", device.identifier,
            {{"identifier", device.identifier},
             {"protocol", device.protocol},
             {"vehicle", device.registration}},
            device.vehicle_id);
    delete_or_explain(
        [&] { tx.exec_params0("DELETE FROM fleet.devices WHERE device_id = $1", device.id); },
        "device " + in_quotes(device.identifier));
    tx.commit();
}

std::vector<Device> list_devices(pqxx::connection& conn, const std::string& vehicle) {
    pqxx::read_transaction tx(conn);
    if (!vehicle.empty()) {
        vehicle_id(tx, vehicle);
    }
    std::vector<Device> out;
    for (const auto& r : tx.exec_params(
             "SELECT d.device_id, d.identifier, coalesce(d.protocol, ''), v.registration,"
             " " FLEET_REGISTER_UTC(
                 "d.registered_at") ", d.auto_registered"
                                    " FROM fleet.devices d JOIN fleet.vehicles v USING (vehicle_id)"
                                    " WHERE $1 = '' OR v.registration = $1 ORDER BY d.identifier",
             trim(vehicle))) {
        out.push_back({.device_id = r[0].as<std::int64_t>(),
                       .identifier = r[1].as<std::string>(),
                       .protocol = r[2].as<std::string>(),
                       .vehicle = r[3].as<std::string>(),
                       .registered_at = r[4].as<std::string>(),
                       .auto_registered = r[5].as<bool>()});
    }
    return out;
}

std::vector<UnknownDevice> list_unknown_devices(pqxx::connection& conn) {
    // A row whose identifier is registered since (for its protocol, or for one bound at its
    // first login) is left out; a wrong_protocol row of a device bound to another stays.
    static const std::string query =
        "SELECT u.identifier, u.protocol, u.peer_address, " FLEET_REGISTER_UTC("u.first_seen") ", "
        FLEET_REGISTER_UTC("u.last_seen") ", u.attempts, u.reason FROM fleet.unknown_devices u"
        " WHERE NOT EXISTS (SELECT 1 FROM fleet.devices d WHERE d.identifier = u.identifier"
        " AND (d.protocol IS NULL OR d.protocol = u.protocol))"
        " ORDER BY u.last_seen DESC, u.identifier, u.protocol";
    pqxx::read_transaction tx(conn);
    std::vector<UnknownDevice> out;
    for (const auto& r : tx.exec(query)) {
        out.push_back({.identifier = r[0].as<std::string>(),
                       .protocol = r[1].as<std::string>(),
                       .peer_address = r[2].as<std::string>(),
                       .reason = r[6].as<std::string>(),
                       .first_seen = r[3].as<std::string>(),
                       .last_seen = r[4].as<std::string>(),
                       .attempts = r[5].as<std::int64_t>()});
    }
    return out;
}

// Drivers --------------------------------------------------------------------------------------

std::int64_t add_driver(pqxx::connection& conn, const NewDriver& driver, const std::string& actor) {
    const auto day = today(conn);
    return geo::store_one(
        conn, driver,
        [&](pqxx::transaction_base& tx, const NewDriver& d, FieldProblems& p) {
            return add_driver_step(tx, d, p, day, actor);
        },
        [](const NewDriver& d) { return "driver " + in_quotes(trim(d.personnel_number)); });
}

std::vector<std::int64_t> add_drivers(pqxx::connection& conn, const std::vector<NewDriver>& drivers,
                                      const std::string& actor, const geo::BatchOptions& options) {
    const auto day = today(conn);
    geo::BatchKeys numbers;
    return geo::store_all(
        conn, drivers,
        [&](pqxx::transaction_base& tx, const NewDriver& d,
            FieldProblems& p) -> std::optional<std::int64_t> {
            if (!numbers.first(trim(d.personnel_number), trim(d.personnel_number),
                               "personnel_number", p)) {
                return std::nullopt;
            }
            return add_driver_step(tx, d, p, day, actor);
        },
        [](const NewDriver& d) { return "driver " + in_quotes(trim(d.personnel_number)); },
        options);
}

bool change_driver(pqxx::connection& conn, const DriverChange& change, const std::string& actor) {
    const auto day = today(conn);
    return geo::store_one(
        conn, change,
        [&](pqxx::transaction_base& tx, const DriverChange& c, FieldProblems& p) {
            return change_driver_step(tx, c, p, day, actor);
        },
        [](const DriverChange& c) { return "driver " + in_quotes(trim(c.driver)); });
}

void remove_driver(pqxx::connection& conn, const std::string& driver, const std::string& actor) {
    pqxx::work tx(conn);
    const auto d = load_driver(tx, trim(driver));
    const std::string name =
        "driver " + in_quotes(d.personnel_number.value_or(d.full_name)) + " (" + d.full_name + ")";
    const auto kept = history(tx, "driver_id", d.id,
                              {{"waybills", "waybills"},
                               {"shift_assignments", "assignments"},
                               {"events", "events"},
                               {"shift_results", "shift results"},
                               {"notice_deliveries", "notice deliveries"}});
    if (!kept.empty()) {
        throw ConflictError(name + " has history (" + joined(kept) +
                            ") and is kept: deactivate them instead (fleetctl driver set " +
                            d.personnel_number.value_or(d.full_name) + " --inactive)");
    }
    journal(tx, actor, "driver removed", "driver", d.personnel_number.value_or(d.full_name),
            {{"driver_id", d.id},
             {"personnel_number", nullable(d.personnel_number)},
             {"full_name", d.full_name}});
    delete_or_explain(
        [&] { tx.exec_params0("DELETE FROM fleet.drivers WHERE driver_id = $1", d.id); }, name);
    tx.commit();
}

std::vector<Driver> list_drivers(pqxx::connection& conn, std::optional<bool> active) {
    pqxx::read_transaction tx(conn);
    std::vector<Driver> out;
    for (const auto& r : tx.exec_params(
             "SELECT d.driver_id, coalesce(d.personnel_number, ''), d.full_name,"
             " coalesce(d.licence_series, ''), coalesce(d.licence_number, ''),"
             " coalesce(d.licence_issued_on::text, ''), coalesce(t.identifier, ''), d.active"
             " FROM fleet.drivers d LEFT JOIN fleet.devices t ON t.device_id = d.terminal_device_id"
             " WHERE $1::boolean IS NULL OR d.active = $1"
             " ORDER BY d.personnel_number NULLS LAST, d.full_name",
             active)) {
        out.push_back({.driver_id = r[0].as<std::int64_t>(),
                       .personnel_number = r[1].as<std::string>(),
                       .full_name = r[2].as<std::string>(),
                       .licence_series = r[3].as<std::string>(),
                       .licence_number = r[4].as<std::string>(),
                       .licence_issued_on = r[5].as<std::string>(),
                       .terminal = r[6].as<std::string>(),
                       .active = r[7].as<bool>()});
    }
    return out;
}

std::int64_t driver_id(pqxx::transaction_base& tx, const std::string& driver) {
    const auto key = trim(driver);
    const auto by_number =
        tx.exec_params("SELECT driver_id FROM fleet.drivers WHERE personnel_number = $1", key);
    if (!by_number.empty()) {
        return by_number[0][0].as<std::int64_t>();
    }
    const auto by_name =
        tx.exec_params("SELECT driver_id FROM fleet.drivers WHERE full_name = $1 AND active", key);
    if (by_name.empty()) {
        throw InputError("unknown driver " + in_quotes(key) +
                         " (give the personnel number; fleetctl driver list shows them)");
    }
    if (by_name.size() > 1) {
        throw InputError("driver " + in_quotes(key) + " is ambiguous: give the personnel number");
    }
    return by_name[0][0].as<std::int64_t>();
}

// Groups ---------------------------------------------------------------------------------------

void add_group(pqxx::connection& conn, const std::string& name, const std::string& description,
               const std::string& actor) {
    const auto group = trim(name);
    const auto about = trim(description);
    FieldProblems problems;
    check_required(problems, "name", group, 64, false);
    check_text(problems, "description", about, 200);
    pqxx::work tx(conn);
    if (problems.empty() &&
        !tx.exec_params("SELECT 1 FROM fleet.vehicle_groups WHERE name = $1", group).empty()) {
        problems.push_back({"name", "group " + in_quotes(group) + " exists already"});
    }
    if (!problems.empty()) {
        throw InputError("group " + in_quotes(group) + ": " + geo::describe(problems));
    }
    tx.exec_params0("INSERT INTO fleet.vehicle_groups (name, description) VALUES ($1, $2)", group,
                    stored(about));
    journal(tx, actor, "group added", "group", group,
            {{"name", group}, {"description", nullable(about)}});
    tx.commit();
}

void remove_group(pqxx::connection& conn, const std::string& name, const std::string& actor) {
    const auto group = trim(name);
    pqxx::work tx(conn);
    const auto r = tx.exec_params(
        "SELECT group_id FROM fleet.vehicle_groups WHERE name = $1 FOR UPDATE", group);
    if (r.empty()) {
        throw InputError("unknown group " + in_quotes(group) + " (fleetctl group list shows them)");
    }
    const auto id = r[0][0].as<std::int64_t>();
    Json members = Json::array();
    for (const auto& m : tx.exec_params(
             "SELECT v.registration FROM fleet.vehicle_group_members m JOIN fleet.vehicles v"
             " USING (vehicle_id) WHERE m.group_id = $1 ORDER BY v.registration",
             id)) {
        members.push_back(m[0].as<std::string>());
    }
    journal(tx, actor, "group removed", "group", group, {{"name", group}, {"members", members}});
    tx.exec_params0("DELETE FROM fleet.vehicle_groups WHERE group_id = $1", id);
    tx.commit();
}

std::vector<Group> list_groups(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<Group> out;
    std::map<std::int64_t, std::size_t> index;
    for (const auto& r : tx.exec("SELECT group_id, name, coalesce(description, '')"
                                 " FROM fleet.vehicle_groups ORDER BY name")) {
        index[r[0].as<std::int64_t>()] = out.size();
        out.push_back({.name = r[1].as<std::string>(),
                       .description = r[2].as<std::string>(),
                       .vehicles = {}});
    }
    for (const auto& r :
         tx.exec("SELECT m.group_id, v.registration FROM fleet.vehicle_group_members m"
                 " JOIN fleet.vehicles v USING (vehicle_id) ORDER BY v.registration")) {
        out[index.at(r[0].as<std::int64_t>())].vehicles.push_back(r[1].as<std::string>());
    }
    return out;
}

GroupMembersChanged change_group_members(pqxx::connection& conn, const GroupMembersChange& change,
                                         const std::string& actor) {
    const auto group = trim(change.group);
    pqxx::work tx(conn);
    const auto r = tx.exec_params(
        "SELECT group_id FROM fleet.vehicle_groups WHERE name = $1 FOR UPDATE", group);
    if (r.empty()) {
        throw InputError("unknown group " + in_quotes(group) + " (fleetctl group list shows them)");
    }
    const auto id = r[0][0].as<std::int64_t>();
    FieldProblems problems;
    std::map<std::string, std::int64_t> add, remove;
    for (const auto& [list, field, ids] :
         {std::tuple{&change.add, "add", &add}, std::tuple{&change.remove, "remove", &remove}}) {
        for (const auto& reg : *list) {
            const auto registration = trim(reg);
            if (const auto v = find_vehicle(tx, problems, field, registration)) {
                (*ids)[registration] = *v;
            }
        }
    }
    for (const auto& [registration, vehicle] : add) {
        if (remove.count(registration)) {
            problems.push_back(
                {"remove", in_quotes(registration) + " is added and removed at once"});
        }
    }
    if (!problems.empty()) {
        throw InputError("group " + in_quotes(group) + ": " + geo::describe(problems));
    }
    GroupMembersChanged out;
    Json added = Json::array();
    Json removed = Json::array();
    Json vehicle_ids = Json::array();
    for (const auto& [registration, vehicle] : add) {
        if (!tx.exec_params("INSERT INTO fleet.vehicle_group_members (group_id, vehicle_id)"
                            " VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING vehicle_id",
                            id, vehicle)
                 .empty()) {
            ++out.added;
            added.push_back(registration);
            vehicle_ids.push_back(vehicle);
        }
    }
    for (const auto& [registration, vehicle] : remove) {
        if (!tx.exec_params("DELETE FROM fleet.vehicle_group_members WHERE group_id = $1"
                            " AND vehicle_id = $2 RETURNING vehicle_id",
                            id, vehicle)
                 .empty()) {
            ++out.removed;
            removed.push_back(registration);
            vehicle_ids.push_back(vehicle);
        }
    }
    if (out.added + out.removed > 0) {
        journal(tx, actor, "group members changed", "group", group,
                {{"name", group},
                 {"added", added},
                 {"removed", removed},
                 {"vehicle_ids", vehicle_ids}});
        tx.commit();
    }
    return out;
}

}  // namespace fleet::dispatch
