// The register of the fleet through the API: vehicles, devices, drivers and groups, by the same
// functions as fleetctl's commands (dispatch/fleet_register.hpp), journalled with the user.
#include "dispatch/fleet_register.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

nlohmann::json vehicle_json(const dispatch::Vehicle& v) {
    return {{"id", v.vehicle_id},
            {"registration", v.registration},
            {"class", v.vehicle_class},
            {"model", v.make_model},
            {"garage_number", v.garage_number},
            {"fuel_grade", v.fuel_grade},
            {"region", v.region},
            {"built_on", v.built_on.empty() ? nlohmann::json() : nlohmann::json(v.built_on)},
            {"odometer_capacity_km", v.odometer_capacity_km},
            {"active", v.active},
            {"groups", v.groups},
            {"devices", v.devices},
            {"auto_registered", v.auto_registered}};
}

nlohmann::json device_json(const dispatch::Device& d) {
    return {{"id", d.device_id},
            {"identifier", d.identifier},
            {"protocol", d.protocol},
            {"vehicle", d.vehicle},
            {"registered_at", d.registered_at},
            {"auto_registered", d.auto_registered}};
}

nlohmann::json driver_json(const dispatch::Driver& d) {
    return {{"id", d.driver_id},
            {"personnel_number", d.personnel_number},
            {"full_name", d.full_name},
            {"licence_series", d.licence_series},
            {"licence_number", d.licence_number},
            {"licence_issued_on", d.licence_issued_on},
            {"terminal", d.terminal},
            {"active", d.active}};
}

nlohmann::json group_json(const dispatch::Group& g) {
    return {{"name", g.name}, {"description", g.description}, {"vehicles", g.vehicles}};
}

dispatch::VehicleFields vehicle_fields(const nlohmann::json& b) {
    dispatch::VehicleFields f;
    f.vehicle_class = body::text(b, "class", 32);
    f.make_model = body::text(b, "model", 200);
    f.garage_number = body::text(b, "garage_number", 64);
    f.fuel_grade = body::text(b, "fuel_grade", 64);
    f.region = body::text(b, "region", 200);
    f.built_on = body::text(b, "built_on", 10);
    f.odometer_capacity_km = body::integer(b, "odometer_capacity_km", 1, 1'000'000'000);
    f.groups = body::texts(b, "groups", 100);
    f.active = body::boolean(b, "active");
    return f;
}

dispatch::DriverFields driver_fields(const nlohmann::json& b) {
    dispatch::DriverFields f;
    f.full_name = body::text(b, "full_name", 200);
    f.licence_series = body::text(b, "licence_series", 32);
    f.licence_number = body::text(b, "licence_number", 32);
    f.licence_issued_on = body::text(b, "licence_issued_on", 10);
    f.terminal = body::text(b, "terminal", 128);
    f.active = body::boolean(b, "active");
    return f;
}

const std::vector<std::string_view> vehicle_keys = {
    "registration", "class",    "model",  "garage_number",        "fuel_grade",
    "region",       "built_on", "groups", "odometer_capacity_km", "active"};
const std::vector<std::string_view> driver_keys = {
    "personnel_number",  "full_name", "licence_series", "licence_number",
    "licence_issued_on", "terminal",  "active"};

// The vehicle `id` as the caller may see it: NotFoundError otherwise.
dispatch::Vehicle vehicle_by_id(const Call& call, std::int64_t id) {
    if (!call.user().sees(id)) {
        throw NotFoundError("no such vehicle " + std::to_string(id));
    }
    for (auto& v : dispatch::list_vehicles(call.db())) {
        if (v.vehicle_id == id) {
            return v;
        }
    }
    throw NotFoundError("no such vehicle " + std::to_string(id));
}

dispatch::Device device_by_id(const Call& call, std::int64_t id) {
    for (auto& d : dispatch::list_devices(call.db())) {
        if (d.device_id == id) {
            return d;
        }
    }
    throw NotFoundError("no such device " + std::to_string(id));
}

dispatch::Driver driver_by_id(const Call& call, std::int64_t id) {
    for (auto& d : dispatch::list_drivers(call.db())) {
        if (d.driver_id == id) {
            return d;
        }
    }
    throw NotFoundError("no such driver " + std::to_string(id));
}

dispatch::Group group_by_name(const Call& call, const std::string& name) {
    for (auto& g : dispatch::list_groups(call.db())) {
        if (g.name == name) {
            return g;
        }
    }
    throw NotFoundError("no such group '" + name.substr(0, 64) + "'");
}

// Whether a limited principal sees the vehicle with this registration.
bool sees_registration(const Call& call, const FleetDirectory& directory,
                       const std::string& registration) {
    const auto& user = call.user();
    if (!user.limited) {
        return true;
    }
    const auto vehicles = directory.vehicles();
    for (const auto& [id, v] : *vehicles) {
        if (v.registration == registration) {
            return user.sees(id);
        }
    }
    return false;
}

}  // namespace

void add_fleet_routes(Router& router, ApiServices& s) {
    // ---- vehicles (GET /api/vehicles, the live list, is in routes_live.cpp)
    router.add(
        {.method = Method::post,
         .pattern = "/api/vehicles",
         .roles = admins,
         .handler = [&s](Call& call) {
             const auto& b = call.body();
             body::only(b, vehicle_keys);
             dispatch::NewVehicle v{body::required_text(b, "registration", 32), vehicle_fields(b)};
             const auto id = dispatch::add_vehicle(call.db(), v, call.actor());
             s.directory.reload(call.db());
             return json_response({{"vehicle", vehicle_json(vehicle_by_id(call, id))}}, 201);
         }});
    router.add({.method = Method::get,
                .pattern = "/api/vehicles/{id}",
                .roles = all_roles,
                .handler = [](Call& call) {
                    return json_response(
                        {{"vehicle", vehicle_json(vehicle_by_id(call, call.id_param("id")))}});
                }});
    router.add({.method = Method::patch,
                .pattern = "/api/vehicles/{id}",
                .roles = admins,
                .handler = [&s](Call& call) {
                    const auto id = call.id_param("id");
                    const auto& b = call.body();
                    body::only(b, vehicle_keys);
                    const auto current = vehicle_by_id(call, id);
                    dispatch::VehicleChange c{current.registration,
                                              body::text(b, "registration", 32), vehicle_fields(b)};
                    dispatch::change_vehicle(call.db(), c, call.actor());
                    s.directory.reload(call.db());
                    return json_response({{"vehicle", vehicle_json(vehicle_by_id(call, id))}});
                }});
    router.add({.method = Method::del,
                .pattern = "/api/vehicles/{id}",
                .roles = admins,
                .handler = [&s](Call& call) {
                    const auto current = vehicle_by_id(call, call.id_param("id"));
                    dispatch::remove_vehicle(call.db(), current.registration, call.actor());
                    s.directory.reload(call.db());
                    return Response{204, "application/json", ""};
                }});

    // ---- devices
    router.add({.method = Method::get,
                .pattern = "/api/devices",
                .roles = all_roles,
                .handler = [&s](Call& call) {
                    nlohmann::json out = nlohmann::json::array();
                    const auto vehicle = call.query("vehicle").value_or("");
                    for (const auto& d : dispatch::list_devices(call.db(), vehicle)) {
                        if (sees_registration(call, s.directory, d.vehicle)) {
                            out.push_back(device_json(d));
                        }
                    }
                    return json_response({{"devices", out}});
                }});
    router.add({.method = Method::get,
                .pattern = "/api/devices/unknown",
                .roles = admins,
                .handler = [](Call& call) {
                    nlohmann::json out = nlohmann::json::array();
                    for (const auto& d : dispatch::list_unknown_devices(call.db())) {
                        out.push_back({{"identifier", d.identifier},
                                       {"protocol", d.protocol},
                                       {"address", d.peer_address},
                                       {"reason", d.reason},
                                       {"first_seen", d.first_seen},
                                       {"last_seen", d.last_seen},
                                       {"attempts", d.attempts}});
                    }
                    return json_response({{"devices", out}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/devices",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"identifier", "protocol", "vehicle"});
                    dispatch::NewDevice d{body::required_text(b, "identifier", 128),
                                          body::required_text(b, "protocol", 32),
                                          body::required_text(b, "vehicle", 32)};
                    const auto id = dispatch::add_device(call.db(), d, call.actor());
                    return json_response({{"device", device_json(device_by_id(call, id))}}, 201);
                }});
    router.add({.method = Method::patch,
                .pattern = "/api/devices/{id}",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto id = call.id_param("id");
                    const auto& b = call.body();
                    body::only(b, {"vehicle"});
                    const auto current = device_by_id(call, id);
                    dispatch::move_device(call.db(), current.identifier,
                                          body::required_text(b, "vehicle", 32), call.actor());
                    return json_response({{"device", device_json(device_by_id(call, id))}});
                }});
    router.add({.method = Method::del,
                .pattern = "/api/devices/{id}",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto current = device_by_id(call, call.id_param("id"));
                    dispatch::remove_device(call.db(), current.identifier, call.actor());
                    return Response{204, "application/json", ""};
                }});

    // ---- drivers
    router.add({.method = Method::get,
                .pattern = "/api/drivers",
                .roles = all_roles,
                .handler = [](Call& call) {
                    nlohmann::json out = nlohmann::json::array();
                    for (const auto& d :
                         dispatch::list_drivers(call.db(), call.query_bool("active"))) {
                        out.push_back(driver_json(d));
                    }
                    return json_response({{"drivers", out}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/drivers",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto& b = call.body();
                    body::only(b, driver_keys);
                    dispatch::NewDriver d{body::required_text(b, "personnel_number", 64),
                                          driver_fields(b)};
                    const auto id = dispatch::add_driver(call.db(), d, call.actor());
                    return json_response({{"driver", driver_json(driver_by_id(call, id))}}, 201);
                }});
    router.add({.method = Method::get,
                .pattern = "/api/drivers/{id}",
                .roles = all_roles,
                .handler = [](Call& call) {
                    return json_response(
                        {{"driver", driver_json(driver_by_id(call, call.id_param("id")))}});
                }});
    router.add({.method = Method::patch,
                .pattern = "/api/drivers/{id}",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto id = call.id_param("id");
                    const auto& b = call.body();
                    body::only(b, driver_keys);
                    const auto current = driver_by_id(call, id);
                    dispatch::DriverChange c{current.personnel_number,
                                             body::text(b, "personnel_number", 64),
                                             driver_fields(b)};
                    dispatch::change_driver(call.db(), c, call.actor());
                    return json_response({{"driver", driver_json(driver_by_id(call, id))}});
                }});
    router.add({.method = Method::del,
                .pattern = "/api/drivers/{id}",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto current = driver_by_id(call, call.id_param("id"));
                    dispatch::remove_driver(call.db(), current.personnel_number, call.actor());
                    return Response{204, "application/json", ""};
                }});

    // ---- groups
    router.add({.method = Method::get,
                .pattern = "/api/groups",
                .roles = all_roles,
                .handler = [](Call& call) {
                    const auto& user = call.user();
                    nlohmann::json out = nlohmann::json::array();
                    for (const auto& g : dispatch::list_groups(call.db())) {
                        if (!user.limited || std::find(user.groups.begin(), user.groups.end(),
                                                       g.name) != user.groups.end()) {
                            out.push_back(group_json(g));
                        }
                    }
                    return json_response({{"groups", out}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/groups",
                .roles = admins,
                .handler = [&s](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"name", "description"});
                    const auto name = body::required_text(b, "name", 64);
                    dispatch::add_group(call.db(), name,
                                        body::text(b, "description", 1000).value_or(""),
                                        call.actor());
                    s.directory.reload(call.db());
                    return json_response({{"group", group_json(group_by_name(call, name))}}, 201);
                }});
    router.add({.method = Method::del,
                .pattern = "/api/groups/{name}",
                .roles = admins,
                .handler = [&s](Call& call) {
                    dispatch::remove_group(call.db(), group_by_name(call, call.param("name")).name,
                                           call.actor());
                    s.directory.reload(call.db());
                    return Response{204, "application/json", ""};
                }});
    router.add({.method = Method::post,
                .pattern = "/api/groups/{name}/members",
                .roles = admins,
                .handler = [&s](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"add", "remove"});
                    const auto name = group_by_name(call, call.param("name")).name;
                    const auto changed = dispatch::change_group_members(
                        call.db(),
                        {.group = name,
                         .add = body::texts(b, "add").value_or(std::vector<std::string>{}),
                         .remove = body::texts(b, "remove").value_or(std::vector<std::string>{})},
                        call.actor());
                    s.directory.reload(call.db());
                    return json_response({{"added", changed.added},
                                          {"removed", changed.removed},
                                          {"group", group_json(group_by_name(call, name))}});
                }});
}

}  // namespace fleet::server::api
