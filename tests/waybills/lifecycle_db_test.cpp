// The waybill lifecycle against a real PostGIS: issue, checks, release, return, acceptance,
// corrections; refusals name their reasons and change nothing.
#include <doctest/doctest.h>

#include <chrono>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "tests/support/db.hpp"
#include "tests/waybills/fleet_fixture.hpp"
#include "waybills/reconcile.hpp"
#include "waybills/store.hpp"

using namespace fleet;
using namespace fleet::waybills;
using namespace std::chrono;

namespace {

// 2026-11-20 at hh:mm in Moscow (UTC+3), as a UTC instant for the test clocks.
sys_seconds moscow(int hh, int mm = 0) {
    return sys_days{2026y / November / 20} + hours(hh - 3) + minutes(mm);
}

CheckRequest check(std::int64_t waybill_id, const char* kind, const std::string& at) {
    return {.waybill_id = waybill_id,
            .kind = kind,
            .checked_at = at,
            .person = "M. Medic",
            .passed = true,
            .odometer_km = std::string(kind) == "technical" ? std::optional<std::int64_t>(120000)
                                                            : std::nullopt,
            .notes = "",
            .actor = "test"};
}

ReleaseRequest release_at(std::int64_t waybill_id, const std::string& at) {
    return {.waybill_id = waybill_id,
            .departed_at = at,
            .dispatcher = "D. Dispatcher",
            .actor = "test"};
}

long journal(pqxx::connection& conn, const std::string& action) {
    pqxx::read_transaction tx(conn);
    return tx.exec_params1("SELECT count(*) FROM fleet.journal WHERE action = $1", action)[0]
        .as<long>();
}

}  // namespace

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
                             doctest::Contains("medical examination (check 2) at "
                                               "2026-11-20T04:15:00Z is after the departure "
                                               "2026-11-20T04:00:00Z"),
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

    TEST_CASE("a waybill issued by mistake is cancelled with its reason and refuses every step") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = issue(db.conn(), test::issue_request());
        CHECK_THROWS_WITH_AS(
            cancel(db.conn(), {.waybill_id = w.waybill_id, .reason = "", .actor = "test"}),
            doctest::Contains("needs its reason"), InputError);
        cancel(
            db.conn(),
            {.waybill_id = w.waybill_id, .reason = "typed for the wrong vehicle", .actor = "test"});
        const auto cancelled = load_waybill(db.conn(), w.waybill_id);
        CHECK(cancelled.status == "cancelled");
        CHECK(cancelled.cancel_reason == "typed for the wrong vehicle");
        CHECK_FALSE(cancelled.cancelled_at.empty());
        CHECK(cancelled.cancelled_by == "test");
        // Still listed, its number still used.
        const auto listed = list_waybills(
            db.conn(),
            {.from = "", .to = "", .vehicle = "A123BC", .driver = "", .status = "cancelled"});
        REQUIRE(listed.size() == 1);
        CHECK(listed[0].number == 1);
        CHECK(issue(db.conn(), test::issue_request()).number == 2);
        CHECK(test::text_of(db.conn(),
                            "SELECT details ->> 'reason' FROM fleet.journal WHERE action ="
                            " 'waybill cancelled'") == "typed for the wrong vehicle");

        const auto journal_before = test::count(db.conn(), "SELECT count(*) FROM fleet.journal");
        CHECK_THROWS_WITH_AS(
            record_check(db.conn(), check(w.waybill_id, "technical", "2026-11-20 07:10+03")),
            "waybill FLEET/1 is cancelled (cancelled: typed for the wrong vehicle): cannot record "
            "a pre-trip check",
            InputError);
        CHECK_THROWS_WITH_AS(release(db.conn(), release_at(w.waybill_id, "2026-11-20 07:30+03")),
                             doctest::Contains("is cancelled"), InputError);
        CHECK_THROWS_WITH_AS(
            cancel(db.conn(), {.waybill_id = w.waybill_id, .reason = "again", .actor = "test"}),
            doctest::Contains("is cancelled"), InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.journal") == journal_before);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.waybill_checks") == 0);
        // Not even SQL edits or erases it.
        CHECK_THROWS_AS(
            [&] {
                pqxx::work tx(db.conn());
                tx.exec0("DELETE FROM fleet.waybills WHERE number = 1");
                tx.commit();
            }(),
            pqxx::sql_error);

        // Once released the vehicle has left: no cancelling then.
        const auto out = test::released_waybill(db.conn(), 120000, 40);
        CHECK_THROWS_WITH_AS(
            cancel(db.conn(), {.waybill_id = out, .reason = "oops", .actor = "test"}),
            doctest::Contains("is released: cannot cancel it (only an issued "
                              "waybill is cancelled"),
            InputError);
        CHECK(load_waybill(db.conn(), out).status == "released");
    }

    TEST_CASE("a check typed wrong is withdrawn with its reason, kept, and no longer counted") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = issue(db.conn(), test::issue_request()).waybill_id;
        record_check(db.conn(), check(w, "technical", "2026-11-20 07:10+03"));
        // 23:59 typed instead of 07:59: the waybill could never be released.
        const auto wrong = record_check(db.conn(), check(w, "medical_pre", "2026-11-20 23:59+03"));
        CHECK_THROWS_WITH_AS(
            release(db.conn(), release_at(w, "2026-11-20 08:10+03")),
            doctest::Contains(("the pre-trip medical examination (check " + std::to_string(wrong) +
                               ") at 2026-11-20T20:59:00Z is after the departure")
                                  .c_str()),
            InputError);
        CHECK_THROWS_WITH_AS(
            withdraw_check(db.conn(),
                           {.waybill_id = w, .check_id = wrong, .reason = "", .actor = "test"}),
            doctest::Contains("needs its reason"), InputError);
        CHECK_THROWS_WITH_AS(
            withdraw_check(
                db.conn(),
                {.waybill_id = w, .check_id = wrong + 100, .reason = "x", .actor = "test"}),
            doctest::Contains("has no check"), InputError);
        withdraw_check(db.conn(), {.waybill_id = w,
                                   .check_id = wrong,
                                   .reason = "23:59 typed for 07:59",
                                   .actor = "test"});
        // Withdrawn and not replaced yet: the examination is missing.
        CHECK_THROWS_WITH_AS(release(db.conn(), release_at(w, "2026-11-20 08:10+03")),
                             doctest::Contains("pre-trip medical examination missing"), InputError);
        CHECK_THROWS_WITH_AS(
            withdraw_check(
                db.conn(),
                {.waybill_id = w, .check_id = wrong, .reason = "again", .actor = "test"}),
            doctest::Contains("is already withdrawn"), InputError);
        record_check(db.conn(), check(w, "medical_pre", "2026-11-20 07:59+03"));
        release(db.conn(), release_at(w, "2026-11-20 08:10+03"));
        const auto released = load_waybill(db.conn(), w);
        CHECK(released.status == "released");
        REQUIRE(released.checks.size() == 3);  // the withdrawn one kept
        CHECK(released.checks[2].check_id == wrong);
        CHECK(released.checks[2].withdrawn_reason == "23:59 typed for 07:59");
        CHECK(released.checks[2].withdrawn_by == "test");
        CHECK(test::text_of(db.conn(),
                            "SELECT details ->> 'reason' FROM fleet.journal WHERE action ="
                            " 'waybill check withdrawn'") == "23:59 typed for 07:59");
        // After release a pre-trip check stays as it is.
        CHECK_THROWS_WITH_AS(withdraw_check(db.conn(), {.waybill_id = w,
                                                        .check_id = released.checks[0].check_id,
                                                        .reason = "late",
                                                        .actor = "test"}),
                             doctest::Contains("is released: cannot withdraw its pre-trip "
                                               "technical inspection (only before release)"),
                             InputError);
    }

    TEST_CASE("a returned waybill is amended before acceptance, each change journalled") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = test::released_waybill(db.conn(), 120000, 40);
        return_vehicle(db.conn(), test::return_request(w, 120100, 25));  // 25 typed for 30
        const auto journal_before = test::count(db.conn(), "SELECT count(*) FROM fleet.journal");
        AmendRequest a{.waybill_id = w,
                       .odometer_in_km = 119990,
                       .fuel_in_l = {},
                       .fuel_handed_over_l = {},
                       .departed_at = "",
                       .returned_at = "",
                       .reason = "typo",
                       .actor = "test"};
        CHECK_THROWS_WITH_AS(amend(db.conn(), a),
                             doctest::Contains("waybill FLEET/1 cannot be amended:\n  - the return "
                                               "odometer 119990 km is below the departure"),
                             InputError);
        a.odometer_in_km.reset();
        a.returned_at = "2026-11-20 07:00+03";
        CHECK_THROWS_WITH_AS(amend(db.conn(), a),
                             doctest::Contains("the return 2026-11-20T04:00:00Z is not after the "
                                               "departure 2026-11-20T04:30:00Z"),
                             InputError);
        a.returned_at = "";
        a.reason = "";
        a.fuel_in_l = 30;
        CHECK_THROWS_WITH_AS(amend(db.conn(), a), doctest::Contains("needs its reason"),
                             InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.journal") == journal_before);
        CHECK(load_waybill(db.conn(), w).fuel_in_l == doctest::Approx(25));

        a.reason = "fuel remainder misread: 30 L, not 25";
        a.returned_at = "2026-11-20 18:45+03";
        const auto changes = amend(db.conn(), a);
        REQUIRE(changes.size() == 2);
        CHECK(changes[0].field == "fuel_in_l");
        CHECK(changes[0].old_value == "25");
        CHECK(changes[0].new_value == "30");
        CHECK(changes[1].field == "returned_at");
        CHECK(changes[1].old_value == "2026-11-20T15:30:00Z");
        CHECK(changes[1].new_value == "2026-11-20T15:45:00Z");
        const auto amended = load_waybill(db.conn(), w);
        CHECK(amended.status == "returned");
        CHECK(amended.fuel_in_l == doctest::Approx(30));
        CHECK(amended.returned_at == "2026-11-20T15:45:00Z");
        CHECK(test::text_of(db.conn(),
                            "SELECT details -> 'changes' -> 0 ->> 'old' || ' -> ' ||"
                            " (details -> 'changes' -> 0 ->> 'new') || ': ' || (details ->> "
                            "'reason') FROM fleet.journal WHERE action = 'waybill amended'") ==
              "25 -> 30: fuel remainder misread: 30 L, not 25");
        // The same values again change nothing and journal nothing.
        CHECK(amend(db.conn(), a).empty());
        CHECK(journal(db.conn(), "waybill amended") == 1);
        // Reconciliation takes the amended values: 40 out, 30 back, 10 L used.
        const auto r = reconcile(db.url(), {.from = "", .to = "", .waybill_ids = {w}}, {});
        REQUIRE(r.size() == 1);
        CHECK(r[0].actual_l == doctest::Approx(10));

        test::close_returned(db.conn(), db.url(), w, "2026-11-20");
        a.fuel_in_l = 31;
        CHECK_THROWS_WITH_AS(amend(db.conn(), a),
                             doctest::Contains("is closed (accepted): it is amended no more; "
                                               "correct it instead (fleetctl waybill correct"),
                             InputError);
        // An issued waybill has no return to amend.
        const auto issued = issue(db.conn(), test::issue_request()).waybill_id;
        a.waybill_id = issued;
        CHECK_THROWS_WITH_AS(amend(db.conn(), a), doctest::Contains("is issued: cannot amend it"),
                             InputError);
    }

    TEST_CASE("times in the future beyond the tolerance are refused at every step") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto at_nine = test::clock_at(moscow(9));  // 06:00 UTC
        const auto w = issue(db.conn(), test::issue_request()).waybill_id;
        record_check(db.conn(), check(w, "technical", "2026-11-20 07:10+03"), at_nine);
        CHECK_THROWS_WITH_AS(
            record_check(db.conn(), check(w, "medical_pre", "2026-11-20 12:30+03"), at_nine),
            "waybill FLEET/1: the pre-trip medical examination cannot be recorded:\n  - the "
            "pre-trip medical examination at 2026-11-20T09:30:00Z is in the future "
            "(now 2026-11-20T06:00:00Z)",
            InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.waybill_checks") == 1);
        // Within the tolerance (a watch a few minutes fast) it passes.
        record_check(db.conn(), check(w, "medical_pre", "2026-11-20 09:04+03"), at_nine);
        CHECK_THROWS_WITH_AS(release(db.conn(), release_at(w, "2026-11-20 09:30+03"), at_nine),
                             doctest::Contains("the departure 2026-11-20T06:30:00Z is in the "
                                               "future (now 2026-11-20T06:00:00Z, 5 min "
                                               "tolerance)"),
                             InputError);
        auto strict = at_nine;
        strict.future_tolerance = seconds(0);
        CHECK_THROWS_WITH_AS(release(db.conn(), release_at(w, "2026-11-20 09:04+03"), strict),
                             doctest::Contains("is in the future"), InputError);
        CHECK(load_waybill(db.conn(), w).status == "issued");
        release(db.conn(), release_at(w, "2026-11-20 09:05+03"), at_nine);

        // The bus is still driving at noon: a return typed for the evening is refused.
        const auto at_noon = test::clock_at(moscow(12));
        auto back = test::return_request(w, 120100, 30);
        CHECK_THROWS_WITH_AS(return_vehicle(db.conn(), back, at_noon),
                             doctest::Contains("the return 2026-11-20T15:30:00Z is in the future"),
                             InputError);
        CHECK(load_waybill(db.conn(), w).status == "released");
        return_vehicle(db.conn(), back, test::clock_at(moscow(18, 31)));
        // And acceptance looks again: on a clock that stands before the return, it refuses.
        record_check(db.conn(), check(w, "medical_post", "2026-11-20 18:40+03"));
        CHECK_THROWS_WITH_AS(
            accept(
                db.url(),
                {.waybill_id = w, .person = "A. Accountant", .reason = "no track", .actor = "test"},
                {}, at_noon),
            doctest::Contains("waybill FLEET/1 cannot be accepted:"), InputError);
        CHECK(load_waybill(db.conn(), w).status == "returned");
    }

    TEST_CASE("pre-trip checks come before the departure and post-trip ones after it") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto w = test::released_waybill(db.conn(), 120000, 40);  // departed 07:30
        const auto journal_before = test::count(db.conn(), "SELECT count(*) FROM fleet.journal");
        CHECK_THROWS_WITH_AS(
            record_check(db.conn(), check(w, "medical_post", "2026-11-20 07:00+03")),
            doctest::Contains("the post-trip medical examination at "
                              "2026-11-20T04:00:00Z is before the departure 2026-11-20T04:30:00Z"),
            InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.waybill_checks") == 2);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.journal") == journal_before);
        // An amended departure is held to the checks as well.
        return_vehicle(db.conn(), test::return_request(w, 120100, 30));
        CHECK_THROWS_WITH_AS(amend(db.conn(), {.waybill_id = w,
                                               .odometer_in_km = {},
                                               .fuel_in_l = {},
                                               .fuel_handed_over_l = {},
                                               .departed_at = "2026-11-20 07:12+03",
                                               .returned_at = "",
                                               .reason = "typo",
                                               .actor = "test"}),
                             doctest::Contains("the pre-trip medical examination (check 2) at "
                                               "2026-11-20T04:15:00Z is after the departure "
                                               "2026-11-20T04:12:00Z"),
                             InputError);
        CHECK(load_waybill(db.conn(), w).departed_at == "2026-11-20T04:30:00Z");
    }

    TEST_CASE("overlapping trips of one vehicle or one driver are refused") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        dispatch::add_vehicle(
            db.conn(), {.registration = "B456CD", .fields = {.make_model = "LADA Largus"}}, "test");
        dispatch::add_driver(db.conn(),
                             {.personnel_number = "0043", .fields = {.full_name = "Oleg Sidorov"}},
                             "test");
        const auto first = test::released_waybill(db.conn(), 120000, 40);    // A123BC, 0042, 07:30
        return_vehicle(db.conn(), test::return_request(first, 120100, 30));  // 18:30

        // The same driver in another vehicle at noon.
        auto q = test::issue_request();
        q.vehicle = "B456CD";
        const auto other_vehicle = issue(db.conn(), q).waybill_id;
        record_check(db.conn(), check(other_vehicle, "technical", "2026-11-20 11:40+03"));
        record_check(db.conn(), check(other_vehicle, "medical_pre", "2026-11-20 11:45+03"));
        CHECK_THROWS_WITH_AS(
            release(db.conn(), release_at(other_vehicle, "2026-11-20 12:00+03")),
            doctest::Contains("the trip overlaps that of the driver on waybill FLEET/1 "
                              "(2026-11-20T04:30:00Z to 2026-11-20T15:30:00Z)"),
            InputError);
        // Another driver in the same vehicle at noon.
        q = test::issue_request();
        q.driver = "0043";
        const auto other_driver = issue(db.conn(), q).waybill_id;
        record_check(db.conn(), check(other_driver, "technical", "2026-11-20 11:40+03"));
        record_check(db.conn(), check(other_driver, "medical_pre", "2026-11-20 11:45+03"));
        CHECK_THROWS_WITH_AS(
            release(db.conn(), release_at(other_driver, "2026-11-20 12:00+03")),
            doctest::Contains("the trip overlaps that of the vehicle on waybill FLEET/1"),
            InputError);
        CHECK(load_waybill(db.conn(), other_driver).status == "issued");
        // After the first trip, the second is plausible.
        release(db.conn(), release_at(other_driver, "2026-11-20 18:45+03"));
        CHECK(load_waybill(db.conn(), other_driver).status == "released");
        // A return amended into the next trip's time is refused as well.
        CHECK_THROWS_WITH_AS(amend(db.conn(), {.waybill_id = first,
                                               .odometer_in_km = {},
                                               .fuel_in_l = {},
                                               .fuel_handed_over_l = {},
                                               .departed_at = "",
                                               .returned_at = "2026-11-20 19:00+03",
                                               .reason = "late",
                                               .actor = "test"}),
                             doctest::Contains("the vehicle is still out on waybill FLEET/3"),
                             InputError);
    }

    TEST_CASE("a waybill issued for a vehicle and driver links their assignment of the day") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto assignment = [&](const char* date) {
            pqxx::work tx(db.conn());
            const auto id =
                tx.exec_params1(
                      "INSERT INTO fleet.shift_assignments (service_date, vehicle_id, driver_id,"
                      " kind) SELECT $1::date, v.vehicle_id, d.driver_id, 'timetable' FROM"
                      " fleet.vehicles v, fleet.drivers d WHERE v.registration = 'A123BC'"
                      " AND d.personnel_number = '0042' RETURNING assignment_id",
                      date)[0]
                    .as<std::int64_t>();
            tx.commit();
            return id;
        };
        const auto planned = assignment("2026-11-20");
        const auto w = issue(db.conn(), test::issue_request());
        CHECK(w.assignment_found);
        CHECK(w.assignment_id == planned);
        CHECK(load_waybill(db.conn(), w.waybill_id).assignment_id == planned);
        // The assignment is served: the next waybill of the day is not linked to it.
        const auto second = issue(db.conn(), test::issue_request());
        CHECK_FALSE(second.assignment_id.has_value());
        CHECK(second.assignment_candidates.empty());
        // Two open assignments: none is chosen, both are named.
        const auto a = assignment("2026-11-21");
        const auto b = assignment("2026-11-21");
        auto q = test::issue_request();
        q.valid_from = q.valid_to = "2026-11-21";
        const auto third = issue(db.conn(), q);
        CHECK_FALSE(third.assignment_id.has_value());
        CHECK(third.assignment_candidates == std::vector<std::int64_t>{a, b});
    }

    TEST_CASE("the waybill list names an unknown vehicle or driver") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        CHECK_THROWS_WITH_AS(
            list_waybills(db.conn(),
                          {.from = "", .to = "", .vehicle = "X999", .driver = "", .status = ""}),
            doctest::Contains("no such vehicle 'X999'"), InputError);
        CHECK_THROWS_WITH_AS(
            list_waybills(db.conn(),
                          {.from = "", .to = "", .vehicle = "", .driver = "Nobody", .status = ""}),
            doctest::Contains("no such driver 'Nobody'"), InputError);
        issue(db.conn(), test::issue_request());
        CHECK(list_waybills(db.conn(),
                            {.from = "", .to = "", .vehicle = "", .driver = "0042", .status = ""})
                  .size() == 1);
    }

    TEST_CASE("a fuel import names every bad transaction and imports nothing") {
        test::MigratedDatabase db;
        test::prepare_fleet(db.conn());
        const auto receipt = [](const char* vehicle, const char* at, double volume_l) {
            return FuelTransaction{.vehicle = vehicle,
                                   .occurred_at = at,
                                   .volume_l = volume_l,
                                   .fuel_grade = "petrol",
                                   .card_or_coupon = "CARD-1",
                                   .odometer_km = {},
                                   .source = "card",
                                   .external_id = ""};
        };
        const std::vector<FuelTransaction> batch{receipt("X999", "2026-11-20 10:00+03", 20),
                                                 receipt("A123BC", "2026-11-20 11:00+03", 20),
                                                 receipt("A123BC", "noon", -1)};
        const auto problems = fuel_transaction_problems(db.conn(), batch);
        REQUIRE(problems.size() == 3);
        CHECK(problems[0].index == 0);
        CHECK(problems[0].message == "vehicle: unknown vehicle 'X999'");
        CHECK(problems[1].index == 2);
        CHECK(problems[1].message.rfind("occurred_at 'noon' is not a date and time", 0) == 0);
        CHECK(problems[2].message == "volume_l: -1 is not a positive number of litres");
        CHECK_THROWS_WITH_AS(import_fuel_transactions(db.conn(), batch, "test"),
                             doctest::Contains("transaction 3: volume_l: -1"), InputError);
        CHECK(test::count(db.conn(), "SELECT count(*) FROM fleet.fuel_transactions") == 0);
    }
}
