// Vehicle models with their fuel norms (waybills/models.hpp): added, changed with the old values
// journalled, a new class carried to the model's vehicles; norms the methodology does not allow
// refused field by field, and nothing changed by a refusal.
#include <doctest/doctest.h>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "tests/support/db.hpp"
#include "waybills/models.hpp"

using namespace fleet;
using namespace fleet::waybills;

namespace {

std::string state(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    return tx
        .exec1(
            "SELECT (SELECT count(*) || md5(coalesce(string_agg(m::text, '|' ORDER BY"
            " m::text), '')) FROM fleet.vehicle_models m) || '/' || (SELECT count(*) ||"
            " md5(coalesce(string_agg(v::text, '|' ORDER BY v::text), '')) FROM"
            " fleet.vehicles v) || '/' || (SELECT count(*) FROM fleet.journal)")[0]
        .as<std::string>();
}

void refused(pqxx::connection& conn, const std::function<void()>& change,
             const std::string& message) {
    const auto before = state(conn);
    CHECK_THROWS_WITH_AS(change(), doctest::Contains(message.c_str()), InputError);
    CHECK(state(conn) == before);
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("models: norms stored by column, changed with the old values journalled") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        add_model(conn,
                  {.make_model = "LiAZ 5292",
                   .fields = {.vehicle_class = "bus",
                              .base_l_per_100km = 41.5,
                              .heater_l_per_h = 3.5,
                              .idle_l_per_h = 4,
                              .oil_l_per_100l = 2.4}},
                  "test");
        auto models = list_models(conn);
        REQUIRE(models.size() == 1);
        CHECK(models[0].fuel_grade == "diesel");  // the default
        CHECK(models[0].norms.vehicle_class == VehicleClass::bus);
        CHECK(models[0].norms.heater_l_per_h == 3.5);
        CHECK(models[0].norms.oil_l_per_100l == 2.4);
        CHECK(models[0].vehicles == 0);

        CHECK(change_model(conn, {.make_model = "LiAZ 5292", .fields = {.base_l_per_100km = 43}},
                           "test"));
        CHECK_FALSE(change_model(
            conn, {.make_model = "LiAZ 5292", .fields = {.base_l_per_100km = 43}}, "test"));
        {
            pqxx::read_transaction tx(conn);
            const auto r = tx.exec1(
                "SELECT details -> 'changes' -> 'base_l_per_100km' ->> 'from', details -> 'changes'"
                " -> 'base_l_per_100km' ->> 'to', kind FROM fleet.journal WHERE action = 'model"
                " changed'");
            CHECK(r[0].as<std::string>() == "41.5");
            CHECK(r[1].as<std::string>() == "43.0");
            CHECK(r[2].as<std::string>() == "model");
        }

        // A vehicle's class is its model's: a model that turns out to be a truck takes its
        // vehicles along, each journalled.
        add_model(
            conn,
            {.make_model = "GAZelle Next",
             .fields = {.vehicle_class = "car", .fuel_grade = "petrol", .base_l_per_100km = 12}},
            "test");
        dispatch::add_vehicle(
            conn, {.registration = "G1", .fields = {.make_model = "GAZelle Next"}}, "test");
        CHECK(change_model(conn,
                           {.make_model = "GAZelle Next",
                            .fields = {.vehicle_class = "truck", .work_l_per_100tkm = 2}},
                           "test"));
        CHECK(dispatch::list_vehicles(conn)[0].vehicle_class == "truck");
        {
            pqxx::read_transaction tx(conn);
            CHECK(tx.exec1("SELECT count(*) FROM fleet.journal j JOIN fleet.vehicles v USING"
                           " (vehicle_id) WHERE j.action = 'vehicle changed' AND"
                           " j.details -> 'changes' -> 'vehicle_class' ->> 'to' = 'truck'")[0]
                      .as<int>() == 1);
        }
        CHECK(list_models(conn)[0].vehicles == 1);  // GAZelle Next first by name
    }

    TEST_CASE("models: every norm the methodology does not allow is named; nothing is stored") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        add_model(
            conn,
            {.make_model = "LADA Largus",
             .fields = {.vehicle_class = "car", .fuel_grade = "petrol", .base_l_per_100km = 8.4}},
            "test");
        const auto add = [&](NewModel m) {
            return std::function<void()>([&conn, m] { add_model(conn, m, "test"); });
        };
        refused(conn,
                add({.make_model = "lada largus",
                     .fields = {.vehicle_class = "car", .base_l_per_100km = 8}}),
                "make_model: model 'LADA Largus' exists already");
        refused(conn,
                add({.make_model = "X", .fields = {.vehicle_class = "van", .base_l_per_100km = 8}}),
                "vehicle_class: 'van' is not one of car, bus, truck, dump_truck, special");
        refused(
            conn,
            add({.make_model = "X",
                 .fields = {.vehicle_class = "car", .fuel_grade = "AI-92", .base_l_per_100km = 8}}),
            "fuel_grade: 'AI-92' is not one of petrol, diesel, lpg");
        refused(conn, add({.make_model = "X", .fields = {.vehicle_class = "car"}}),
                "base_l_per_100km: is required");
        refused(
            conn,
            add({.make_model = "X", .fields = {.vehicle_class = "car", .base_l_per_100km = -8}}),
            "base_l_per_100km: must be a non-negative number (got -8)");
        refused(
            conn,
            add({.make_model = "X",
                 .fields = {.vehicle_class = "car", .base_l_per_100km = 8, .heater_l_per_h = 2}}),
            "heater_l_per_h: is 2, but only buses have that term, not a car (leave it 0)");
        refused(conn,
                add({.make_model = "X",
                     .fields = {.vehicle_class = "truck",
                                .base_l_per_100km = 25,
                                .work_l_per_100tkm = 1.5,
                                .trailer_l_per_100tkm = 1.3}}),
                "work_l_per_100tkm: 1.5 L/100 t·km is above the methodology's maximum of 1.3 for "
                "diesel");
        refused(conn,
                add({.make_model = "X",
                     .fields = {.vehicle_class = "dump_truck",
                                .base_l_per_100km = 38,
                                .loaded_trip_l = 0.3}}),
                "loaded_trip_l: 0.3 L is above the methodology's maximum of 0.25 L");
        refused(
            conn,
            add({.make_model = "X",
                 .fields = {.vehicle_class = "car", .base_l_per_100km = 8, .idle_l_per_h = 0.9}}),
            "idle_l_per_h: 0.9 L/h is above 10 % of base_l_per_100km (0.8)");
        refused(
            conn,
            add({.make_model = "X", .fields = {.vehicle_class = "car", .base_l_per_100km = 1200}}),
            "base_l_per_100km: 1200 is implausible");
        // All of a record's problems at once.
        refused(conn,
                add({.make_model = "X",
                     .fields = {.vehicle_class = "car",
                                .base_l_per_100km = 0,
                                .equipment_l_per_h = 3}}),
                "model 'X': equipment_l_per_h: is 3, but only special vehicles have that term, "
                "not a car (leave it 0); base_l_per_100km: must be positive (got 0)");
        refused(
            conn,
            [&] {
                change_model(conn, {.make_model = "LADA Largus", .fields = {.heater_l_per_h = 1}},
                             "test");
            },
            "heater_l_per_h: is 1, but only buses have that term");
        refused(
            conn, [&] { change_model(conn, {.make_model = "Volga"}, "test"); },
            "unknown model 'Volga'");
        // A batch with one bad record stores none.
        refused(
            conn,
            [&] {
                add_models(
                    conn,
                    {{.make_model = "A", .fields = {.vehicle_class = "car", .base_l_per_100km = 8}},
                     {.make_model = "B",
                      .fields = {.vehicle_class = "bus", .base_l_per_100km = -1}}},
                    "test");
            },
            "record 2 (model 'B'): base_l_per_100km: must be a non-negative number");
    }
}
