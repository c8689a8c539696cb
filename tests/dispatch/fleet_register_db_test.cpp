// The register of the fleet without SQL: vehicles, devices, drivers and groups added, changed,
// listed and removed through dispatch/fleet_register.hpp, each change journalled, and every
// refusal leaving the database exactly as it was (every register table and the journal
// compared before and after); batches stored all or none with every problem named; the
// journal read back by period, vehicle, driver and kind.
#include <doctest/doctest.h>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "tests/support/db.hpp"
#include "waybills/models.hpp"

using namespace fleet;
using namespace fleet::dispatch;

namespace {

const std::string actor = "test";

// Everything the register writes, as one text: a refusal must leave it as it was.
std::string state(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::string out;
    for (const char* table : {"vehicles", "devices", "drivers", "vehicle_models", "vehicle_groups",
                              "vehicle_group_members", "journal"}) {
        out += table;
        out += ":" +
               tx.exec1(std::string("SELECT count(*) || '/' || coalesce(md5(string_agg(t::text, "
                                    "'|' ORDER BY t::text)), '') FROM fleet.") +
                        table + " t")[0]
                   .as<std::string>() +
               "\n";
    }
    return out;
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

std::string text(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<std::string>();
}

// Two models of different classes, by the model store.
void prepare_models(pqxx::connection& conn) {
    waybills::add_model(conn,
                        {.make_model = "LiAZ 5292",
                         .fields = {.vehicle_class = "bus",
                                    .fuel_grade = "diesel",
                                    .base_l_per_100km = 41.5,
                                    .heater_l_per_h = 3.5}},
                        actor);
    waybills::add_model(
        conn,
        {.make_model = "LADA Largus",
         .fields = {.vehicle_class = "car", .fuel_grade = "petrol", .base_l_per_100km = 8.4}},
        actor);
}

// Checks that `change` is refused with an InputError containing `message` and stores nothing.
template <typename Change>
void refused(pqxx::connection& conn, Change&& change, const std::string& message) {
    const auto before = state(conn);
    CHECK_THROWS_WITH_AS(change(), doctest::Contains(message.c_str()), InputError);
    CHECK(state(conn) == before);
}

std::vector<geo::JournalRecord> journal(pqxx::connection& conn, geo::JournalQuery q) {
    if (q.from.empty()) {
        q.from = "2000-01-01 00:00Z";
        q.to = "2100-01-01 00:00Z";
    }
    pqxx::read_transaction tx(conn);
    return geo::read(tx, q);
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("vehicles: added with their model's class, changed field by field, journalled") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        prepare_models(conn);
        add_group(conn, "depot-1", "Northern depot", actor);

        const auto bus = add_vehicle(conn,
                                     {.registration = " A123BC77 ",
                                      .fields = {.make_model = "LiAZ 5292",
                                                 .garage_number = "17",
                                                 .fuel_grade = "diesel",
                                                 .region = "Moscow",
                                                 .built_on = "2019-05-01",
                                                 .odometer_capacity_km = 1'000'000,
                                                 .groups = std::vector<std::string>{"depot-1"}}},
                                     actor);
        const auto plain = add_vehicle(conn, {.registration = "B456CD77"}, actor);
        auto vehicles = list_vehicles(conn);
        REQUIRE(vehicles.size() == 2);
        CHECK(vehicles[0].vehicle_id == bus);
        CHECK(vehicles[0].registration == "A123BC77");  // trimmed
        CHECK(vehicles[0].vehicle_class == "bus");      // the model's
        CHECK(vehicles[0].groups == std::vector<std::string>{"depot-1"});
        CHECK(vehicles[0].built_on == "2019-05-01");
        CHECK(vehicles[1].vehicle_id == plain);
        CHECK(vehicles[1].vehicle_class == "car");
        CHECK(vehicles[1].odometer_capacity_km == 1'000'000);
        CHECK(list_vehicles(conn, {.group = "depot-1"}).size() == 1);
        CHECK(list_vehicles(conn, {.vehicle_class = "car"}).size() == 1);

        auto entries = journal(conn, {.vehicle_id = bus});
        REQUIRE(entries.size() == 1);
        CHECK(entries[0].action == "vehicle added");
        CHECK(entries[0].kind == "vehicle");
        CHECK(entries[0].registration == "A123BC77");
        CHECK(entries[0].details["make_model"] == "LiAZ 5292");
        CHECK(entries[0].details["groups"] == nlohmann::json::array({"depot-1"}));

        // A change names each field from and to; the garage number is cleared, the plate
        // changes, the model (a car) brings its class.
        CHECK(change_vehicle(conn,
                             {.registration = "B456CD77",
                              .new_registration = "B456CD99",
                              .fields = {.make_model = "LADA Largus",
                                         .garage_number = "",
                                         .odometer_capacity_km = 100'000,
                                         .groups = std::vector<std::string>{"depot-1"},
                                         .active = false}},
                             actor));
        vehicles = list_vehicles(conn, {.active = false});
        REQUIRE(vehicles.size() == 1);
        CHECK(vehicles[0].registration == "B456CD99");
        CHECK(vehicles[0].make_model == "LADA Largus");
        CHECK(vehicles[0].odometer_capacity_km == 100'000);
        CHECK_FALSE(vehicles[0].active);
        entries = journal(conn, {.vehicle_id = plain, .kind = "vehicle"});
        REQUIRE(entries.size() == 2);
        CHECK(entries[1].action == "vehicle changed");
        const auto changes = entries[1].details["changes"];
        CHECK(changes["registration"]["from"] == "B456CD77");
        CHECK(changes["registration"]["to"] == "B456CD99");
        CHECK(changes["odometer_capacity_km"]["to"] == 100'000);
        CHECK(changes["active"]["to"] == false);
        CHECK(changes["groups"]["to"] == nlohmann::json::array({"depot-1"}));
        CHECK_FALSE(changes.contains("vehicle_class"));  // car before and after
        // Letter case alone may change; the same values again change nothing.
        CHECK(change_vehicle(conn, {.registration = "B456CD99", .new_registration = "b456cd99"},
                             actor));
        const auto before = state(conn);
        CHECK_FALSE(change_vehicle(
            conn, {.registration = "b456cd99", .fields = {.make_model = "LADA Largus"}}, actor));
        CHECK(state(conn) == before);
    }

    TEST_CASE("vehicles: every refusal says why and changes nothing") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        prepare_models(conn);
        add_vehicle(conn, {.registration = "A123BC77", .fields = {.make_model = "LiAZ 5292"}},
                    actor);
        const auto add = [&](NewVehicle v) { return [&conn, v] { add_vehicle(conn, v, actor); }; };
        refused(conn, add({.registration = "A123BC77"}), "'A123BC77' is already registered");
        refused(conn, add({.registration = "a123bc77"}),
                "'a123bc77' is already registered as 'A123BC77'");
        refused(conn, add({.registration = "  "}), "registration: is required");
        refused(conn, add({.registration = "A1,B2"}), "registration: 'A1,B2' contains a comma");
        refused(conn, add({.registration = "X\tY"}), "contains control characters");
        refused(conn, add({.registration = std::string(33, 'X')}), "at most 32");
        refused(conn, add({.registration = "C1", .fields = {.vehicle_class = "van"}}),
                "vehicle_class: 'van' is not one of car, bus, truck, dump_truck, special");
        refused(conn, add({.registration = "C1", .fields = {.make_model = "liaz 5292"}}),
                "make_model: unknown make and model 'liaz 5292' (did you mean 'LiAZ 5292'?)");
        refused(conn,
                add({.registration = "C1",
                     .fields = {.vehicle_class = "car", .make_model = "LiAZ 5292"}}),
                "vehicle_class: 'car' is not the class of model 'LiAZ 5292' (bus)");
        refused(conn, add({.registration = "C1", .fields = {.built_on = "2019-02-30"}}),
                "built_on: expected a date YYYY-MM-DD, got '2019-02-30'");
        refused(conn, add({.registration = "C1", .fields = {.built_on = "2999-01-01"}}),
                "built_on: 2999-01-01 is in the future");
        refused(conn, add({.registration = "C1", .fields = {.odometer_capacity_km = 99'999}}),
                "odometer_capacity_km: 99999 is not an odometer's capacity");
        refused(
            conn,
            add({.registration = "C1", .fields = {.groups = std::vector<std::string>{"nowhere"}}}),
            "groups: unknown group 'nowhere'");
        // Every problem of the record at once, each with its field.
        refused(conn,
                add({.registration = "A123BC77",
                     .fields = {.vehicle_class = "van", .built_on = "yesterday"}}),
                "vehicle 'A123BC77': vehicle_class: 'van' is not one of car, bus, truck, "
                "dump_truck, special; built_on: expected a date YYYY-MM-DD, got 'yesterday'; "
                "registration: 'A123BC77' is already registered");

        const auto set = [&](VehicleChange c) {
            return [&conn, c] { change_vehicle(conn, c, actor); };
        };
        refused(conn, set({.registration = "Z999"}), "unknown vehicle 'Z999'");
        refused(conn, set({.registration = "A123BC77", .fields = {.vehicle_class = "car"}}),
                "vehicle_class: 'car' is not the class of its model 'LiAZ 5292' (bus); change the "
                "model too");
        refused(conn, set({.registration = "A123BC77", .fields = {.vehicle_class = ""}}),
                "vehicle_class: cannot be cleared");
        add_vehicle(conn, {.registration = "B1"}, actor);
        refused(conn, set({.registration = "B1", .new_registration = "A123BC77"}),
                "new registration: 'A123BC77' is already registered");
    }

    TEST_CASE("vehicles: one registered by mistake is removed; one with history is kept") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        add_group(conn, "night", "", actor);
        const auto mistake = add_vehicle(
            conn,
            {.registration = "TYPO1", .fields = {.groups = std::vector<std::string>{"night"}}},
            actor);
        remove_vehicle(conn, "TYPO1", actor);
        CHECK(count(conn, "SELECT count(*) FROM fleet.vehicles") == 0);
        CHECK(count(conn, "SELECT count(*) FROM fleet.vehicle_group_members") == 0);
        // The entries stay; the removal keeps the id in its details.
        const auto entries = journal(conn, {.kind = "vehicle"});
        REQUIRE(entries.size() == 2);
        CHECK(entries[1].action == "vehicle removed");
        CHECK(entries[1].details["vehicle_id"] == mistake);
        CHECK(entries[1].details["groups"] == nlohmann::json::array({"night"}));
        CHECK_FALSE(entries[0].vehicle_id.has_value());  // its link went with the vehicle

        add_vehicle(conn, {.registration = "A123BC77"}, actor);
        add_device(
            conn, {.identifier = "356307042441013", .protocol = "teltonika", .vehicle = "A123BC77"},
            actor);
        refused(
            conn, [&] { remove_vehicle(conn, "A123BC77", actor); },
            "vehicle 'A123BC77' has devices (356307042441013): move them to another vehicle "
            "or remove them first");
        {
            pqxx::work tx(conn);
            tx.exec0(
                "INSERT INTO fleet.positions (vehicle_id, device_time, geom) SELECT"
                " vehicle_id, now(), ST_SetSRID(ST_MakePoint(37.6, 55.7), 4326)"
                " FROM fleet.vehicles");
            tx.exec0(
                "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, kind)"
                " SELECT current_date, vehicle_id, 'timetable' FROM fleet.vehicles");
            tx.commit();
        }
        refused(
            conn, [&] { remove_vehicle(conn, "A123BC77", actor); },
            "vehicle 'A123BC77' has history (positions, 1 assignments) and is kept: "
            "deactivate it instead (fleetctl vehicle set A123BC77 --inactive)");
        refused(
            conn, [&] { remove_vehicle(conn, "nope", actor); }, "unknown vehicle 'nope'");
    }

    TEST_CASE("devices: bound to their protocol, moved with both vehicles journalled") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        const auto a = add_vehicle(conn, {.registration = "A1"}, actor);
        const auto b = add_vehicle(conn, {.registration = "B2"}, actor);
        add_device(conn,
                   {.identifier = "356307042441013", .protocol = "teltonika", .vehicle = "A1"},
                   actor);
        add_device(conn, {.identifier = "0123456789012345", .protocol = "gt06", .vehicle = "A1"},
                   actor);
        add_device(conn, {.identifier = "phone-17", .protocol = "osmand", .vehicle = "B2"}, actor);
        CHECK(list_devices(conn).size() == 3);
        CHECK(list_devices(conn, "A1").size() == 2);

        const auto add = [&](NewDevice d) { return [&conn, d] { add_device(conn, d, actor); }; };
        refused(conn,
                add({.identifier = "35630704244101", .protocol = "teltonika", .vehicle = "A1"}),
                "identifier: a Teltonika device sends its 15-digit IMEI, got '35630704244101'");
        refused(conn, add({.identifier = "IMEI356307", .protocol = "gt06", .vehicle = "A1"}),
                "identifier: a GT06 device logs in with its IMEI");
        refused(conn, add({.identifier = "x", .protocol = "traccar", .vehicle = "A1"}),
                "protocol: 'traccar' is not one of teltonika, gt06, osmand, native");
        refused(conn, add({.identifier = "phone-17", .protocol = "osmand", .vehicle = "A1"}),
                "identifier: 'phone-17' is already registered on vehicle 'B2'");
        refused(conn, add({.identifier = "phone-18", .protocol = "osmand", .vehicle = "Z9"}),
                "vehicle: unknown vehicle 'Z9'");
        refused(conn,
                add({.identifier = std::string(129, 'x'), .protocol = "native", .vehicle = "A1"}),
                "identifier: is 129 bytes long; at most 128");

        CHECK(move_device(conn, "356307042441013", "B2", actor));
        CHECK_FALSE(move_device(conn, "356307042441013", "B2", actor));
        CHECK(list_devices(conn, "B2").size() == 2);
        // The move is read in the journal of either vehicle.
        const auto moved_to = journal(conn, {.vehicle_id = b, .kind = "device"});
        const auto moved_from = journal(conn, {.vehicle_id = a, .kind = "device"});
        REQUIRE(moved_to.size() == 2);
        CHECK(moved_to[1].action == "device moved");
        CHECK(moved_to[1].details["from_vehicle"] == "A1");
        CHECK(moved_to[1].details["to_vehicle"] == "B2");
        REQUIRE(moved_from.size() == 3);
        CHECK(moved_from[2].action == "device moved");
        refused(
            conn, [&] { move_device(conn, "356307042441013", "Z9", actor); },
            "unknown vehicle 'Z9'");
        refused(
            conn, [&] { move_device(conn, "999", "A1", actor); }, "unknown device '999'");

        add_driver(conn,
                   {.personnel_number = "T-17",
                    .fields = {.full_name = "Ivanov Ivan", .terminal = "phone-17"}},
                   actor);
        refused(
            conn, [&] { remove_device(conn, "phone-17", actor); },
            "device 'phone-17' is the terminal of driver(s) T-17");
        remove_device(conn, "0123456789012345", actor);
        CHECK(list_devices(conn).size() == 2);
        CHECK(journal(conn, {.vehicle_id = a, .kind = "device"}).back().action == "device removed");
    }

    TEST_CASE("devices refused at login are listed until registered for their protocol") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        CHECK(list_unknown_devices(conn).empty());
        {
            // As ingest's device registry keeps them (migration 0010).
            pqxx::work tx(conn);
            tx.exec0(
                "INSERT INTO fleet.unknown_devices VALUES"
                " ('356307042441013', 'teltonika', '10.0.0.7:50123', '2026-11-27 06:00Z',"
                "  '2026-11-27 07:00Z', 12, 'unknown'),"
                " ('phone-9', 'osmand', '10.0.0.8', '2026-11-27 05:00Z', '2026-11-27 08:00Z',"
                "  2, 'unknown')");
            tx.commit();
        }
        auto unknown = list_unknown_devices(conn);
        REQUIRE(unknown.size() == 2);
        CHECK(unknown[0].identifier == "phone-9");  // most recent first
        CHECK(unknown[1].attempts == 12);
        CHECK(unknown[1].last_seen == "2026-11-27T07:00:00Z");
        add_vehicle(conn, {.registration = "A1"}, actor);
        add_device(conn,
                   {.identifier = "356307042441013", .protocol = "teltonika", .vehicle = "A1"},
                   actor);
        unknown = list_unknown_devices(conn);
        REQUIRE(unknown.size() == 1);
        CHECK(unknown[0].identifier == "phone-9");
    }

    TEST_CASE("drivers: personnel number, licence and terminal; refusals change nothing") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        add_vehicle(conn, {.registration = "A1"}, actor);
        add_device(conn, {.identifier = "cab-1", .protocol = "native", .vehicle = "A1"}, actor);
        const auto id = add_driver(conn,
                                   {.personnel_number = "T-17",
                                    .fields = {.full_name = "Ivanov Ivan Ivanovich",
                                               .licence_series = "77 12",
                                               .licence_number = "345678",
                                               .licence_issued_on = "2015-03-01",
                                               .terminal = "cab-1"}},
                                   actor);
        auto drivers = list_drivers(conn);
        REQUIRE(drivers.size() == 1);
        CHECK(drivers[0].driver_id == id);
        CHECK(drivers[0].terminal == "cab-1");
        CHECK(drivers[0].licence_issued_on == "2015-03-01");

        const auto add = [&](NewDriver d) { return [&conn, d] { add_driver(conn, d, actor); }; };
        refused(
            conn, add({.personnel_number = "T-17", .fields = {.full_name = "Other"}}),
            "personnel_number: 'T-17' is already the personnel number of Ivanov Ivan Ivanovich");
        refused(conn, add({.personnel_number = "T-18"}), "full_name: is required");
        refused(conn, add({.personnel_number = "", .fields = {.full_name = "X"}}),
                "personnel_number: is required");
        refused(conn,
                add({.personnel_number = "T-18",
                     .fields = {.full_name = "X", .licence_issued_on = "2999-01-01"}}),
                "licence_issued_on: 2999-01-01 is in the future");
        refused(
            conn,
            add({.personnel_number = "T-18", .fields = {.full_name = "X", .terminal = "cab-9"}}),
            "terminal: unknown device 'cab-9'");

        // By full name too; '' clears the terminal and the licence series.
        CHECK(change_driver(conn,
                            {.driver = "Ivanov Ivan Ivanovich",
                             .new_personnel_number = "T-170",
                             .fields = {.licence_series = "", .terminal = ""}},
                            actor));
        drivers = list_drivers(conn);
        CHECK(drivers[0].personnel_number == "T-170");
        CHECK(drivers[0].terminal.empty());
        CHECK(drivers[0].licence_series.empty());
        const auto entries = journal(conn, {.driver_id = id});
        REQUIRE(entries.size() == 2);
        CHECK(entries[1].details["changes"]["terminal"]["from"] == "cab-1");
        CHECK(entries[1].details["changes"]["terminal"]["to"].is_null());
        CHECK(entries[1].personnel_number == "T-170");
        refused(
            conn, [&] { change_driver(conn, {.driver = "T-17"}, actor); }, "unknown driver 'T-17'");

        {
            pqxx::work tx(conn);
            tx.exec0(
                "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, driver_id,"
                " kind) SELECT current_date, v.vehicle_id, d.driver_id, 'timetable'"
                " FROM fleet.vehicles v, fleet.drivers d");
            tx.commit();
        }
        refused(
            conn, [&] { remove_driver(conn, "T-170", actor); },
            "has history (1 assignments) and is kept: deactivate them instead");
        add_driver(conn, {.personnel_number = "T-99", .fields = {.full_name = "Typo"}}, actor);
        remove_driver(conn, "T-99", actor);
        CHECK(list_drivers(conn).size() == 1);
    }

    TEST_CASE("groups: created, members added and removed in one step, every unknown named") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        add_group(conn, "depot-1", "Northern depot", actor);
        add_vehicle(conn, {.registration = "A1"}, actor);
        const auto b2 = add_vehicle(conn, {.registration = "B2"}, actor);
        refused(
            conn, [&] { add_group(conn, "depot-1", "", actor); },
            "name: group 'depot-1' exists already");
        refused(
            conn, [&] { add_group(conn, "a,b", "", actor); }, "contains a comma");
        auto changed = change_group_members(conn, {.group = "depot-1", .add = {"A1", "B2"}}, actor);
        CHECK(changed.added == 2);
        changed = change_group_members(conn, {.group = "depot-1", .add = {"A1"}, .remove = {"B2"}},
                                       actor);
        CHECK(changed.added == 0);
        CHECK(changed.removed == 1);
        // Each vehicle's journal shows its own membership changes.
        const auto b2_groups = journal(conn, {.vehicle_id = b2, .kind = "group"});
        REQUIRE(b2_groups.size() == 2);
        CHECK(b2_groups[1].details["removed"] == nlohmann::json::array({"B2"}));
        auto groups = list_groups(conn);
        REQUIRE(groups.size() == 1);
        CHECK(groups[0].vehicles == std::vector<std::string>{"A1"});
        CHECK(groups[0].description == "Northern depot");
        refused(
            conn,
            [&] {
                change_group_members(conn, {.group = "depot-1", .add = {"X1", "B2", "Y2"}}, actor);
            },
            "group 'depot-1': add: unknown vehicle 'X1' (fleetctl vehicle list shows them); "
            "add: unknown vehicle 'Y2'");
        refused(
            conn,
            [&] {
                change_group_members(conn, {.group = "depot-1", .add = {"B2"}, .remove = {"B2"}},
                                     actor);
            },
            "'B2' is added and removed at once");
        refused(
            conn, [&] { change_group_members(conn, {.group = "none", .add = {"A1"}}, actor); },
            "unknown group 'none'");
        const auto journalled = count(conn, "SELECT count(*) FROM fleet.journal");
        change_group_members(conn, {.group = "depot-1", .add = {"A1"}}, actor);  // no change
        CHECK(count(conn, "SELECT count(*) FROM fleet.journal") == journalled);
        remove_group(conn, "depot-1", actor);
        CHECK(list_groups(conn).empty());
        CHECK(list_vehicles(conn).size() == 2);
        CHECK(
            text(conn, "SELECT details::text FROM fleet.journal ORDER BY entry_id DESC LIMIT 1") ==
            R"({"name": "depot-1", "members": ["A1"]})");
    }

    TEST_CASE("a batch is stored all or none, with every problem of every record in order") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        prepare_models(conn);
        const std::vector<NewVehicle> batch{
            {.registration = "A1", .fields = {.make_model = "LiAZ 5292"}},
            {.registration = "B2", .fields = {.vehicle_class = "van", .built_on = "2019-13-01"}},
            {.registration = "C3"},
            {.registration = "A1"},  // the first record's registration again
            {.registration = "D4", .fields = {.make_model = "LiAZ 5293"}},
        };
        const auto before = state(conn);
        try {
            add_vehicles(conn, batch, actor);
            FAIL("the batch was stored");
        } catch (const geo::BatchError& e) {
            const auto& p = e.problems();
            REQUIRE(p.size() == 4);
            CHECK(p[0].record == 1);
            CHECK(p[0].problem.field == "vehicle_class");
            CHECK(p[1].record == 1);
            CHECK(p[1].problem.field == "built_on");
            CHECK(p[2].record == 3);
            CHECK(p[2].problem.problem == "'A1' appears earlier in this batch");
            CHECK(p[2].label == "vehicle 'A1'");
            CHECK(p[3].record == 4);
            CHECK(p[3].problem.field == "make_model");
        }
        CHECK(state(conn) == before);

        // A dry run checks and stores nothing; then the good records are stored, with progress.
        const std::vector<NewVehicle> good{batch[0], batch[2]};
        CHECK(add_vehicles(conn, good, actor, {.progress = {}, .dry_run = true}).size() == 2);
        CHECK(state(conn) == before);
        std::vector<std::size_t> progress;
        const auto ids = add_vehicles(
            conn, good, actor,
            {.progress = [&](std::size_t done, std::size_t) { progress.push_back(done); },
             .dry_run = false});
        CHECK(ids.size() == 2);
        CHECK(progress == std::vector<std::size_t>{1, 2});
        CHECK(list_vehicles(conn).size() == 2);
        CHECK(count(conn, "SELECT count(*) FROM fleet.journal WHERE action = 'vehicle added'") ==
              2);
    }

    TEST_CASE("the journal read by period, vehicle, driver and kind, times in the zone asked") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        const auto a = add_vehicle(conn, {.registration = "A1"}, actor);
        add_vehicle(conn, {.registration = "B2"}, actor);
        const auto d =
            add_driver(conn, {.personnel_number = "T-1", .fields = {.full_name = "X"}}, actor);
        {
            pqxx::work tx(conn);
            // Back-dated for the test: the append-only trigger refuses this by design.
            tx.exec0("ALTER TABLE fleet.journal DISABLE TRIGGER journal_append_only");
            tx.exec0("UPDATE fleet.journal SET recorded_at = '2026-11-27 04:30:00Z'");
            tx.exec0("ALTER TABLE fleet.journal ENABLE TRIGGER journal_append_only");
            tx.commit();
        }
        add_group(conn, "later", "", actor);
        auto all = journal(conn, {.from = "2026-11-27 07:30+03", .to = "2026-11-27 07:30:01+03"});
        REQUIRE(all.size() == 3);
        CHECK(all[0].recorded_at == "2026-11-27T04:30:00+00:00");
        CHECK(journal(conn, {.from = "2026-11-27 07:30+03",
                             .to = "2026-11-27 07:30:01+03",
                             .time_zone = "Europe/Moscow"})[0]
                  .recorded_at == "2026-11-27T07:30:00+03:00");
        CHECK(journal(conn, {.from = "2026-11-27T04:30:00Z", .to = "2026-11-27T04:30:00.5Z"})
                  .size() == 3);
        CHECK(journal(conn, {.from = "2026-11-27T04:30:01Z", .to = "2100-01-01T00:00Z"}).size() ==
              1);  // the group, added now
        CHECK(journal(conn, {.vehicle_id = a}).size() == 1);
        CHECK(journal(conn, {.driver_id = d}).size() == 1);
        CHECK(journal(conn, {.kind = "group"}).size() == 1);
        CHECK(journal(conn, {.limit = 2}).size() == 2);

        const auto bad = [&](geo::JournalQuery q, const char* message) {
            CHECK_THROWS_WITH_AS(journal(conn, q), doctest::Contains(message), InputError);
        };
        bad({.from = "2026-11-27 07:30", .to = "2026-11-28 07:30+03"},
            "from: expected a time with its offset");
        bad({.from = "2026-11-27 07:30+03", .to = "tomorrow"},
            "to: expected a time with its offset");
        bad({.from = "2026-11-28 07:30+03", .to = "2026-11-27 07:30+03"}, "is not before to");
        bad({.from = "2026-11-27 07:30+03", .to = "2026-11-28 07:30+03", .time_zone = "Mars/Base"},
            "time zone: unknown zone 'Mars/Base'");
        bad({.from = "2026-13-27 07:30+03", .to = "2026-11-28 07:30+03"}, "from/to:");
    }
}
