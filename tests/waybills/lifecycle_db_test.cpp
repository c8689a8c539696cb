// The waybill lifecycle against a real PostGIS: issue, checks, release, return, acceptance,
// corrections; refusals name their reasons and change nothing.
#include <doctest/doctest.h>

#include "geo/error.hpp"
#include "tests/support/db.hpp"
#include "tests/waybills/fleet_fixture.hpp"
#include "waybills/reconcile.hpp"
#include "waybills/store.hpp"

using namespace fleet;
using namespace fleet::waybills;

TEST_SUITE("db") {
    TEST_CASE("release is refused while the pre-trip medical examination is missing") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = issue(db.conn(), test::issue_request());
        CHECK(w.number == 1);
        record_check(db.conn(), {.waybill_id = w.waybill_id,
                                 .kind = "technical",
                                 .checked_at = "2026-11-20 07:10+03",
                                 .person = "P. Mechanic",
                                 .passed = true,
                                 .odometer_km = 120000,
                                 .notes = "",
                                 .actor = "test"});
        const auto journal_before = test::count(db.conn(), "SELECT count(*) FROM fleet.journal");
        ReleaseRequest r{.waybill_id = w.waybill_id,
                         .departed_at = "2026-11-20 07:30+03",
                         .dispatcher = "D. Dispatcher",
                         .actor = "test"};
        CHECK_THROWS_WITH_AS(release(db.conn(), r),
                             doctest::Contains("pre-trip medical examination missing"), InputError);
        CHECK(load_waybill(db.conn(), w.waybill_id).status == "issued");
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.journal") == journal_before);

        // A failed examination blocks it too; a passed one after it releases.
        CheckRequest medical{.waybill_id = w.waybill_id,
                             .kind = "medical_pre",
                             .checked_at = "2026-11-20 07:15+03",
                             .person = "M. Medic",
                             .passed = false,
                             .odometer_km = {},
                             .notes = "blood pressure",
                             .actor = "test"};
        record_check(db.conn(), medical);
        CHECK_THROWS_WITH_AS(release(db.conn(), r),
                             doctest::Contains("pre-trip medical examination failed"), InputError);
        medical.checked_at = "2026-11-20 07:25+03";
        medical.passed = true;
        record_check(db.conn(), medical);
        release(db.conn(), r);
        const auto released = load_waybill(db.conn(), w.waybill_id);
        CHECK(released.status == "released");
        CHECK(released.departed_at == "2026-11-20T04:30:00Z");
        CHECK(released.released_by == "D. Dispatcher");

        // The same vehicle cannot leave on a second waybill while this one is open.
        const auto second = issue(db.conn(), test::issue_request());
        CHECK(second.number == 2);
        test::pass_pre_trip_checks(db.conn(), second.waybill_id, 120000);
        CHECK_THROWS_WITH_AS(release(db.conn(), {.waybill_id = second.waybill_id,
                                                 .departed_at = "2026-11-20 09:00+03",
                                                 .dispatcher = "D. Dispatcher",
                                                 .actor = "test"}),
                             doctest::Contains("still out on waybill FLEET/1"), InputError);
    }

    TEST_CASE("validity dates are days of the issuer's time zone") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = issue(db.conn(), test::issue_request());  // valid on 2026-11-20
        for (const char* kind : {"technical", "medical_pre"}) {
            record_check(db.conn(), {.waybill_id = w.waybill_id,
                                     .kind = kind,
                                     .checked_at = "2026-11-20 00:05+03",
                                     .person = "P. Night Shift",
                                     .passed = true,
                                     .odometer_km = 120000,
                                     .notes = "",
                                     .actor = "test"});
        }
        ReleaseRequest r{.waybill_id = w.waybill_id,
                         .departed_at = "2026-11-21 00:30+03",  // the next day in Moscow
                         .dispatcher = "D. Dispatcher",
                         .actor = "test"};
        CHECK_THROWS_WITH_AS(release(db.conn(), r),
                             doctest::Contains("is outside the validity period"), InputError);
        r.departed_at = "2026-11-20 00:30+03";  // 2026-11-19 in UTC, but 20 November in Moscow
        release(db.conn(), r);
        CHECK(load_waybill(db.conn(), w.waybill_id).status == "released");
        CHECK_THROWS_WITH_AS(save_issuer(db.conn(),
                                         {.code = "X",
                                          .name = "X",
                                          .legal_form = "",
                                          .address = "",
                                          .phone = "",
                                          .ogrn = "",
                                          .ogrnip = "",
                                          .time_zone = "Mars/Olympus"},
                                         "test"),
                             doctest::Contains("time zone 'Mars/Olympus' is unknown"), InputError);
    }

    TEST_CASE("bad input is refused with a clear message and changes nothing") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        auto q = test::issue_request();
        q.vehicle = "X999XX";
        CHECK_THROWS_WITH_AS(issue(db.conn(), q), "unknown vehicle 'X999XX'", InputError);
        q = test::issue_request();
        q.fuel_out_l = -5;
        CHECK_THROWS_WITH_AS(issue(db.conn(), q),
                             doctest::Contains("departure fuel cannot be negative"), InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.waybills") == 0);
        CHECK(test::count(db.conn(), "SELECT last_number FROM fleet.issuers") == 0);

        const auto issued = issue(db.conn(), test::issue_request());
        CheckRequest local{.waybill_id = issued.waybill_id,
                           .kind = "medical_pre",
                           .checked_at = "2026-11-20 07:15",  // whose 07:15?
                           .person = "M. Medic",
                           .passed = true,
                           .odometer_km = {},
                           .notes = "",
                           .actor = "test"};
        CHECK_THROWS_WITH_AS(record_check(db.conn(), local),
                             doctest::Contains("is not a date and time with its offset"),
                             InputError);
        local.checked_at = "infinity";
        CHECK_THROWS_AS(record_check(db.conn(), local), InputError);
        test::pass_pre_trip_checks(db.conn(), issued.waybill_id, 120000);  // at 07:10 and 07:15
        CHECK_THROWS_WITH_AS(release(db.conn(), {.waybill_id = issued.waybill_id,
                                                 .departed_at = "2026-11-20 07:00+03",
                                                 .dispatcher = "D. Dispatcher",
                                                 .actor = "test"}),
                             doctest::Contains("medical examination is dated after the departure"),
                             InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.waybill_checks") == 2);

        const auto w = test::released_waybill(db.conn(), 120000, 40);
        ReturnRequest back = test::return_request(w, 119990, 30);
        CHECK_THROWS_WITH_AS(
            return_vehicle(db.conn(), back),
            doctest::Contains("below the departure odometer 120000 km, and no rollover or "
                              "replacement act"),
            InputError);
        back = test::return_request(w, 120100, -1);
        CHECK_THROWS_WITH_AS(return_vehicle(db.conn(), back),
                             doctest::Contains("return fuel cannot be negative"), InputError);
        back = test::return_request(w, 120100, 30);
        back.returned_at = "yesterday-ish";
        CHECK_THROWS_AS(return_vehicle(db.conn(), back), InputError);
        const auto still = load_waybill(db.conn(), w);
        CHECK(still.status == "released");
        CHECK_FALSE(still.odometer_in_km.has_value());
    }

    TEST_CASE("a rollover act lets the odometer come back lower, and the mileage counts over it") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        {
            pqxx::work tx(db.conn());
            tx.exec0("UPDATE fleet.vehicles SET odometer_capacity_km = 100000");
            tx.commit();
        }
        const auto w = test::released_waybill(db.conn(), 99950, 40);
        record_odometer_event(db.conn(), {.vehicle = "A123BC",
                                          .kind = "rollover",
                                          .occurred_at = "2026-11-20 10:00+03",
                                          .old_reading_km = 99999,
                                          .new_reading_km = 0,
                                          .document = "act 7",
                                          .actor = "test"});
        return_vehicle(db.conn(), test::return_request(w, 70, 30));
        const auto r = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {w}}, {});
        REQUIRE(r.size() == 1);
        CHECK(r[0].mileage_km == 120);
        REQUIRE(r[0].notes.size() == 1);
        CHECK(r[0].notes[0] == "odometer rolled over during the trip (act 'act 7')");
    }

    TEST_CASE("acceptance names every missing detail, then needs a reason for discrepancies") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = test::released_waybill(db.conn(), 120000, 40);
        return_vehicle(db.conn(), test::return_request(w, 120100, 30));
        AcceptRequest a{.waybill_id = w, .person = "A. Accountant", .reason = "", .actor = "test"};
        {
            pqxx::work tx(db.conn());
            tx.exec0("UPDATE fleet.issuers SET phone = NULL");
            tx.exec0("UPDATE fleet.drivers SET licence_number = NULL");
            tx.commit();
        }
        try {
            accept(db.url(), a, {});
            FAIL("accepted without mandatory details");
        } catch (const InputError& e) {
            const std::string m = e.what();
            CHECK(m.find("issuer phone") != std::string::npos);
            CHECK(m.find("driving licence series, number and issue date") != std::string::npos);
            CHECK(m.find("post-trip medical examination") != std::string::npos);
        }
        {
            pqxx::work tx(db.conn());
            tx.exec0("UPDATE fleet.issuers SET phone = '+7 495 000-00-00'");
            tx.exec0("UPDATE fleet.drivers SET licence_number = '123456'");
            tx.commit();
        }
        record_check(db.conn(), {.waybill_id = w,
                                 .kind = "medical_post",
                                 .checked_at = "2026-11-20 18:40+03",
                                 .person = "M. Medic",
                                 .passed = true,
                                 .odometer_km = {},
                                 .notes = "",
                                 .actor = "test"});
        // No positions were stored for the trip: 100 km by odometer, none by GPS.
        CHECK_THROWS_WITH_AS(accept(db.url(), a, {}), doctest::Contains("gps_mileage"), InputError);
        CHECK(load_waybill(db.conn(), w).status == "returned");
        a.reason = "tracker under repair, see act 12";
        const auto r = accept(db.url(), a, {});
        CHECK(r.status == "closed");
        const auto closed = load_waybill(db.conn(), w);
        CHECK(closed.status == "closed");
        CHECK(closed.accepted_by == "A. Accountant");
        CHECK(closed.acceptance_reason == "tracker under repair, see act 12");
        CHECK(test::count(db.conn(),
                          "SELECT count(*) FROM fleet.journal WHERE action = 'waybill accepted'") ==
              1);
    }

    TEST_CASE("a closed waybill refuses edits; a correction is a new linked record") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = test::closed_waybill(db.conn(), 120000, 40, 120100, 30);
        CHECK_THROWS_AS(
            [&] {
                pqxx::work tx(db.conn());
                tx.exec0("UPDATE fleet.waybills SET odometer_in_km = 120200");
                tx.commit();
            }(),
            pqxx::sql_error);
        CHECK_THROWS_AS(
            [&] {
                pqxx::work tx(db.conn());
                tx.exec0("DELETE FROM fleet.waybills");
                tx.commit();
            }(),
            pqxx::sql_error);
        CHECK_THROWS_WITH_AS(record_check(db.conn(), {.waybill_id = w,
                                                      .kind = "technical",
                                                      .checked_at = "2026-11-20 07:10+03",
                                                      .person = "P. Mechanic",
                                                      .passed = true,
                                                      .odometer_km = 1,
                                                      .notes = "",
                                                      .actor = "test"}),
                             doctest::Contains("is closed: cannot record a pre-trip check"),
                             InputError);
        const auto fixed = correct(db.conn(), {.waybill_id = w,
                                               .odometer_out_km = {},
                                               .odometer_in_km = 120110,
                                               .fuel_out_l = {},
                                               .fuel_in_l = {},
                                               .fuel_handed_over_l = {},
                                               .heater_h = {},
                                               .equipment_h = {},
                                               .idle_h = {},
                                               .transport_work_tkm = {},
                                               .loaded_trips = {},
                                               .returned_at = "",
                                               .departed_at = "",
                                               .reason = "odometer misread",
                                               .actor = "test"});
        const auto original = load_waybill(db.conn(), w);
        const auto correction = load_waybill(db.conn(), fixed);
        CHECK(original.status == "superseded");
        CHECK(original.odometer_in_km == 120100);
        CHECK(correction.status == "returned");
        CHECK(correction.corrects_waybill_id == w);
        CHECK(correction.odometer_in_km == 120110);
        CHECK(correction.number == 2);
        CHECK(correction.checks.size() == original.checks.size());
    }

    TEST_CASE("departure values carry over from the previous waybill; a broken chain is flagged") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto first = test::closed_waybill(db.conn(), 120000, 40, 120100, 30);
        (void)first;
        auto q = test::issue_request();
        q.odometer_out_km.reset();
        q.fuel_out_l.reset();
        q.valid_from = q.valid_to = "2026-11-21";
        const auto carried = issue(db.conn(), q);
        CHECK(carried.carried_over);
        CHECK(carried.odometer_out_km == 120100);
        CHECK(carried.fuel_out_l == doctest::Approx(30));

        // The next one is issued with a departure odometer that does not follow.
        const auto second = test::returned_waybill_from(db.conn(), carried.waybill_id, 120100,
                                                        "2026-11-21", 120200, 25);
        (void)second;
        q.valid_from = q.valid_to = "2026-11-22";
        q.odometer_out_km = 120350;
        q.fuel_out_l = 25;
        const auto jumped = issue(db.conn(), q);
        const auto third = test::returned_waybill_from(db.conn(), jumped.waybill_id, 120350,
                                                       "2026-11-22", 120400, 20);
        auto r = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {third}}, {});
        REQUIRE(r.size() == 1);
        auto has = [](const Reconciliation& x, const std::string& code) {
            for (const auto& d : x.discrepancies) {
                if (d.code == code) {
                    return true;
                }
            }
            return false;
        };
        CHECK(has(r[0], "odometer_chain"));
        CHECK_FALSE(has(r[0], "fuel_chain"));

        // A replacement act between the two explains the break.
        record_odometer_event(db.conn(), {.vehicle = "A123BC",
                                          .kind = "replacement",
                                          .occurred_at = "2026-11-22 06:00+03",
                                          .old_reading_km = 120200,
                                          .new_reading_km = 120350,
                                          .document = "act 9",
                                          .actor = "test"});
        r = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {third}}, {});
        CHECK_FALSE(has(r[0], "odometer_chain"));
        REQUIRE(r[0].notes.size() == 1);
        CHECK(r[0].notes[0] ==
              "odometer re-baselined from 120200 to 120350 km after waybill FLEET/2 by the"
              " replacement act 'act 9'");
    }
}
