// Notices on the scene of tests/support/notice_scene.hpp: targeting by each rule, bad input,
// the steps of deliveries, expiry, withdrawal, and the append-only journal.
#include <doctest/doctest.h>

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "tests/support/notice_scene.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

using test::closure;
using test::closure_draft;
using test::msk;
using test::Scene;

std::map<std::string, std::string> rules_by_driver(const std::vector<Delivery>& deliveries) {
    std::map<std::string, std::string> out;
    for (const auto& d : deliveries) {
        out[d.driver] = d.rule;
    }
    return out;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a closure reaches exactly the drivers it concerns, each once") {
        Scene s;
        NoticeCreated made;
        {
            pqxx::work tx(s.db.conn());
            made = create_notice(tx, closure_draft(), msk(7, 30));
            tx.commit();
        }
        // Inside now: VAN-3's driver; passing through while it is valid: BUS-1's (T1 crosses the
        // closure at about 08:11). BUS-2 runs R2 at night, VAN-4 is at the depot.
        CHECK(rules_by_driver(made.deliveries) ==
              std::map<std::string, std::string>{{"0042", "assignment"}, {"0044", "inside"}});
        for (const auto& d : made.deliveries) {
            CHECK(d.state == "queued");
            CHECK(d.vehicle_id == (d.driver == "0042" ? s.bus1 : s.van3));
        }
        {
            pqxx::work tx(s.db.conn());
            // VAN-4 enters at 08:05: its driver gets it; a second fix inside changes nothing,
            // nor does VAN-3 (whose driver has it) or a fix after the validity.
            const auto entered = target_vehicle(tx, made.notice_id, s.van4, msk(8, 5));
            REQUIRE(entered.has_value());
            CHECK(entered->driver == "0045");
            CHECK(entered->rule == "entered");
            CHECK_FALSE(target_vehicle(tx, made.notice_id, s.van4, msk(8, 6)).has_value());
            CHECK_FALSE(target_vehicle(tx, made.notice_id, s.van3, msk(8, 6)).has_value());
            CHECK_FALSE(target_vehicle(tx, made.notice_id, s.bus2, msk(10, 1)).has_value());
            tx.commit();
        }
        pqxx::read_transaction tx(s.db.conn());
        const auto all = notice_deliveries(tx, made.notice_id);
        CHECK(rules_by_driver(all) == std::map<std::string, std::string>{{"0042", "assignment"},
                                                                         {"0044", "inside"},
                                                                         {"0045", "entered"}});
        const auto n = load_notice(tx, made.notice_id);
        REQUIRE(n.has_value());
        CHECK(n->deliveries.at("queued") == 3);
        CHECK(n->area["type"] == "Polygon");
        CHECK(tx.exec1("SELECT count(*) FROM fleet.journal WHERE kind = 'notice' AND action ="
                       " 'notice created' AND notice_id = " +
                       std::to_string(made.notice_id))[0]
                  .as<int>() == 1);
    }

    TEST_CASE("a buffered road section, a route and a stop each find their drivers") {
        Scene s;
        pqxx::work tx(s.db.conn());
        // The road north of B Terminal's approach: R1's last stretch (37.620, 55.760 → 55.770),
        // as a line with 30 m either side.
        auto road = closure_draft();
        road.category = NoticeCategory::road_works;
        road.area_geojson =
            R"({"type": "Feature", "properties": {}, "geometry": {"type": "LineString",
                "coordinates": [[37.6200, 55.7620], [37.6200, 55.7680]]}})";
        road.buffer_m = 30;
        const auto by_road = create_notice(tx, road, msk(7, 30));
        CHECK(rules_by_driver(by_road.deliveries) ==
              std::map<std::string, std::string>{{"0042", "assignment"}});
        const auto stored = load_notice(tx, by_road.notice_id);
        CHECK(stored->area["type"] == "Polygon");
        CHECK(stored->line["type"] == "LineString");
        CHECK(*stored->buffer_m == 30);

        // Route R2 tonight, and its stop Park Gate (S5) just after midnight.
        auto night = closure_draft();
        night.category = NoticeCategory::ice;
        night.area_geojson.clear();
        night.valid_from = "2024-03-05T23:00:00+03:00";
        night.valid_until = "2024-03-06T02:00:00+03:00";
        night.routes = {"R2"};
        night.feed = "city";
        CHECK(rules_by_driver(create_notice(tx, night, msk(7, 30)).deliveries) ==
              std::map<std::string, std::string>{{"0043", "assignment"}});
        night.routes.clear();
        night.stops = {"S5"};
        CHECK(rules_by_driver(create_notice(tx, night, msk(7, 30)).deliveries) ==
              std::map<std::string, std::string>{{"0043", "assignment"}});
        // The same stop, but the validity over before the bus calls there: nobody.
        night.valid_until = "2024-03-05T23:55:00+03:00";
        CHECK(create_notice(tx, night, msk(7, 30)).deliveries.empty());
    }

    TEST_CASE("bad notices are refused naming what is wrong, and store nothing") {
        Scene s;
        const auto refused = [&](NoticeDraft d, const std::string& message) {
            pqxx::work tx(s.db.conn());
            CHECK_THROWS_WITH_AS(create_notice(tx, d, msk(7, 30)),
                                 doctest::Contains(message.c_str()), InputError);
        };
        auto d = closure_draft();
        d.area_geojson = R"({"type": "Point", "coordinates": [37.61, 55.76]})";
        refused(d, "neither a polygon nor a line");
        d.area_geojson = R"({"type": "GeometryCollection", "geometries": []})";
        refused(d, "a GeoJSON geometry");
        d.area_geojson = "{not json";
        refused(d, "not GeoJSON");
        d.area_geojson = R"({"type": "Polygon", "coordinates": [[[37.60, 55.75], [37.62, 55.77],
            [37.62, 55.75], [37.60, 55.77], [37.60, 55.75]]]})";
        refused(d, "invalid geometry: Self-intersection");
        d.area_geojson = R"({"type": "Polygon", "coordinates": [[[190, 55.75], [191, 55.75],
            [191, 55.76], [190, 55.75]]]})";
        refused(d, "outside WGS 84");
        d = closure_draft();
        d.area_geojson = R"({"type": "LineString", "coordinates": [[37.6, 55.7], [37.7, 55.8]]})";
        refused(d, "a line needs a buffer");
        d.buffer_m = 6000;
        refused(d, "buffer must be between 0 and 5000");
        d = closure_draft();
        d.buffer_m = 10;
        refused(d, "a polygon takes no buffer");
        d = closure_draft();
        d.valid_until = "2024-03-05T07:00:00+03:00";
        refused(d, "is not after valid from");
        d = closure_draft();
        d.valid_from = "2024-03-05T05:00:00+03:00";
        d.valid_until = "2024-03-05T07:00:00+03:00";
        refused(d, "the validity ended already");
        d = closure_draft();
        d.valid_until = "2024-03-05 10:00";
        refused(d, "not an ISO 8601 time with its offset");
        d = closure_draft();
        d.short_text = std::string(161, 'x');
        refused(d, "short text is 161 characters; at most 160 fit");
        d.short_text = std::string(160, 'x');  // at the limit: would pass; the title spoils it
        d.title = "";
        refused(d, "title is empty");
        d = closure_draft();
        d.short_text = "line\nbreak";
        refused(d, "short text holds a control character");
        d = closure_draft();
        d.full_text = "\xff\xfe";
        refused(d, "full text is not valid UTF-8");
        d = closure_draft();
        d.severity = 4;
        refused(d, "severity must be 1");
        d = closure_draft();
        d.area_geojson.clear();
        refused(d, "needs an area, routes or stops");
        d.routes = {"R9"};
        d.feed = "city";
        {
            pqxx::work tx(s.db.conn());
            CHECK_THROWS_WITH_AS(create_notice(tx, d, msk(7, 30)), "no route 'R9' in feed 'city'",
                                 NotFoundError);
        }
        CHECK_THROWS_WITH_AS(parse_category("hail"), doctest::Contains("closure, road_works"),
                             InputError);
        CHECK(s.count("SELECT count(*) FROM fleet.notices") == 0);
        CHECK(s.count("SELECT count(*) FROM fleet.notice_deliveries") == 0);
        CHECK(s.count("SELECT count(*) FROM fleet.journal WHERE kind = 'notice'") == 0);
    }

    TEST_CASE("delivery steps move forward only; expiry and withdrawal end what was not sent") {
        Scene s;
        NoticeCreated made;
        {
            pqxx::work tx(s.db.conn());
            made = create_notice(tx, closure_draft(), msk(7, 30));
            target_vehicle(tx, made.notice_id, s.van4, msk(8, 5));
            tx.commit();
        }
        const auto id = made.notice_id;
        const auto apply = [&](std::vector<DeliveryStep> steps) {
            pqxx::work tx(s.db.conn());
            auto changes = apply_steps(tx, steps, "dispatch");
            tx.commit();
            return changes;
        };
        const auto state_of = [&](std::int64_t vehicle) {
            pqxx::read_transaction tx(s.db.conn());
            return tx
                .exec_params1(
                    "SELECT state || '/' || coalesce(withdrawal_state, '-')"
                    " FROM fleet.notice_deliveries WHERE notice_id = $1 AND vehicle_id"
                    " = $2",
                    id, vehicle)[0]
                .as<std::string>();
        };
        // VAN-3: sent, then the terminal's delivered and read receipts arrive in one batch
        // with a late "sent" after them: it ends read, sent once more counted as an attempt.
        auto changes = apply({{.kind = DeliveryStep::Kind::sent,
                               .notice_id = id,
                               .vehicle_id = s.van3,
                               .at = msk(8, 0)}});
        CHECK(changes.size() == 1);
        CHECK(changes[0].state == "sent");
        changes = apply({{.kind = DeliveryStep::Kind::delivered,
                          .notice_id = id,
                          .vehicle_id = s.van3,
                          .at = msk(8, 0) + 1s},
                         {.kind = DeliveryStep::Kind::read,
                          .notice_id = id,
                          .vehicle_id = s.van3,
                          .at = msk(8, 1),
                          .accepted = true},
                         {.kind = DeliveryStep::Kind::sent,
                          .notice_id = id,
                          .vehicle_id = s.van3,
                          .at = msk(8, 2)}});
        CHECK(changes.size() == 1);
        CHECK(changes[0].state == "read");
        CHECK(state_of(s.van3) == "read/-");
        // A repeated receipt moves nothing and journals nothing.
        CHECK(apply({{.kind = DeliveryStep::Kind::read,
                      .notice_id = id,
                      .vehicle_id = s.van3,
                      .at = msk(8, 3)}})
                  .empty());
        // A receipt for a notice the vehicle never got moves nothing.
        CHECK(apply({{.kind = DeliveryStep::Kind::delivered,
                      .notice_id = id,
                      .vehicle_id = s.bus2,
                      .at = msk(8, 3)}})
                  .empty());
        // VAN-4: its protocol cannot carry the text: failed, with the reason; failed stays.
        changes = apply({{.kind = DeliveryStep::Kind::failed,
                          .notice_id = id,
                          .vehicle_id = s.van4,
                          .at = msk(8, 6),
                          .failure = "ASCII only"}});
        CHECK(changes.size() == 1);
        CHECK(apply({{.kind = DeliveryStep::Kind::delivered,
                      .notice_id = id,
                      .vehicle_id = s.van4,
                      .at = msk(8, 7)}})
                  .empty());
        CHECK(state_of(s.van4) == "failed/-");

        // Withdrawn at 09:00: BUS-1's delivery, never sent, is withdrawn; VAN-3, which read it,
        // gets the withdrawal: queued, then sent, then the terminal's answer delivers it.
        {
            pqxx::work tx(s.db.conn());
            withdraw_notice(tx, id, "dispatcher-1", "water main repaired", msk(9, 0));
            tx.commit();
        }
        CHECK(state_of(s.bus1) == "withdrawn/-");
        CHECK(state_of(s.van3) == "read/queued");
        {
            pqxx::work tx(s.db.conn());
            CHECK_THROWS_WITH_AS(withdraw_notice(tx, id, "dispatcher-2", "", msk(9, 1)),
                                 doctest::Contains("withdrawn already, at 2024-03-05T06:00:00Z by "
                                                   "dispatcher-1"),
                                 ConflictError);
        }
        {
            pqxx::read_transaction tx(s.db.conn());
            const auto out = outgoing(tx, id, std::nullopt, msk(9, 1));
            REQUIRE(out.size() == 1);
            CHECK(out[0].vehicle_id == s.van3);
            CHECK(out[0].withdrawal);
        }
        // The terminal's answer may come in the same batch as the outcome of the write: it
        // answers the withdrawal all the same.
        apply({{.kind = DeliveryStep::Kind::withdrawal_sent,
                .notice_id = id,
                .vehicle_id = s.van3,
                .at = msk(9, 1)},
               {.kind = DeliveryStep::Kind::delivered,
                .notice_id = id,
                .vehicle_id = s.van3,
                .at = msk(9, 2)}});
        CHECK(state_of(s.van3) == "read/delivered");

        // A second notice, never sent: it expires with its validity, journalled once.
        NoticeCreated second;
        {
            pqxx::work tx(s.db.conn());
            auto d = closure_draft();
            d.valid_until = "2024-03-05T09:30:00+03:00";
            second = create_notice(tx, d, msk(7, 30));
            CHECK(expire_deliveries(tx, msk(9, 29)).empty());
            const auto expired = expire_deliveries(tx, msk(9, 31));
            CHECK(expired.size() == 2);
            CHECK(expire_deliveries(tx, msk(9, 32)).empty());
            CHECK(outgoing(tx, second.notice_id, std::nullopt, msk(9, 31), true).empty());
            tx.commit();
        }
        CHECK(s.count("SELECT count(*) FROM fleet.journal WHERE action = 'notice expired'") == 2);
        CHECK(s.count("SELECT count(*) FROM fleet.journal WHERE action = 'notice read'") == 1);
        CHECK(s.count("SELECT count(*) FROM fleet.journal WHERE action = 'notice failed'") == 1);
        CHECK(s.count("SELECT count(*) FROM fleet.journal WHERE action = 'notice withdrawn'") == 1);
        CHECK(s.count("SELECT count(*) FROM fleet.journal WHERE action ="
                      " 'notice withdrawal delivered'") == 1);
    }

    TEST_CASE("a message reaches the drivers addressed, and a reply is kept on the delivery") {
        Scene s;
        auto& conn = s.db.conn();
        add_group(conn, "vans", "", "test");
        change_group_members(conn, {.group = "vans", .add = {"VAN-3", "VAN-4"}}, "test");
        MessageDraft m;
        m.text = "Call the depot";
        m.actor = "dispatcher-1";
        m.drivers = {"0042"};  // on BUS-1 by its assignment at 08:05
        m.groups = {"vans"};   // VAN-3's and VAN-4's drivers by their terminals
        m.routes = {"R2"};     // BUS-2's driver only at night: not now
        m.feed = "city";
        NoticeCreated made;
        {
            pqxx::work tx(conn);
            made = create_message(tx, m, msk(8, 5));
            tx.commit();
        }
        std::map<std::string, std::int64_t> to;
        for (const auto& d : made.deliveries) {
            CHECK(d.rule == "addressed");
            to[d.driver] = d.vehicle_id;
        }
        CHECK(to == std::map<std::string, std::int64_t>{
                        {"0042", s.bus1}, {"0044", s.van3}, {"0045", s.van4}});
        {
            pqxx::read_transaction tx(conn);
            const auto out = outgoing(tx, made.notice_id, s.bus1, msk(8, 6));
            REQUIRE(out.size() == 1);
            CHECK(out[0].message);
            CHECK(out[0].replies == default_replies());
            // Messages are not road notices: not among the alerts.
            CHECK(list_notices(tx, {.in_force_at = msk(8, 6)}).empty());
            CHECK(list_notices(tx, {.kind = "message", .in_force_at = msk(8, 6)}).size() == 1);
        }
        std::vector<DeliveryChange> changes;
        {
            pqxx::work tx(conn);
            const DeliveryStep reply{.kind = DeliveryStep::Kind::replied,
                                     .notice_id = made.notice_id,
                                     .vehicle_id = s.van3,
                                     .at = msk(8, 7),
                                     .reply_kind = "free_text",
                                     .reply_text = "Stuck at the gate"};
            changes = apply_steps(tx, std::vector{reply}, "dispatch");
            tx.commit();
        }
        REQUIRE(changes.size() == 1);
        CHECK(changes[0].state == "read");
        CHECK(changes[0].reply_kind == "free_text");
        CHECK(changes[0].reply_text == "Stuck at the gate");
        pqxx::work tx(conn);
        for (const auto& d : notice_deliveries(tx, made.notice_id)) {
            if (d.driver == "0044") {
                CHECK(d.reply_kind == "free_text");
                CHECK(d.reply_text == "Stuck at the gate");
                CHECK(d.replied_at == "2024-03-05T05:07:00.000Z");
            }
        }
        CHECK(tx.exec1("SELECT count(*) FROM fleet.journal WHERE action = 'message replied'")[0]
                  .as<int>() == 1);

        const auto refused = [&](MessageDraft d, const char* message) {
            tx.exec0("SAVEPOINT bad");
            CHECK_THROWS_WITH_AS(create_message(tx, d, msk(8, 5)), doctest::Contains(message),
                                 InputError);
            tx.exec0("ROLLBACK TO SAVEPOINT bad");
        };
        auto d = m;
        d.drivers = {"0043"};  // BUS-2's driver works at night and has no terminal
        d.groups.clear();
        d.routes.clear();
        refused(d, "driver 0043 is on no vehicle now");
        d.drivers.clear();
        d.vehicles = {"BUS-2"};
        refused(d, "vehicle BUS-2 has no driver now");
        d.vehicles.clear();
        refused(d, "needs an addressee");
        d.drivers = {"0042"};
        d.text = std::string(161, 'x');
        refused(d, "text is 161 characters");
        d.text = "ok";
        d.replies = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
        refused(d, "at most 8 replies");
        d.replies = {""};
        refused(d, "reply is empty");
        d.replies.clear();
        d.validity = std::chrono::minutes(0);
        refused(d, "valid from 1 minute to 7 days");
        d = m;
        d.groups = {"no-such-group"};
        tx.exec0("SAVEPOINT bad");
        CHECK_THROWS_AS(create_message(tx, d, msk(8, 5)), NotFoundError);
        tx.exec0("ROLLBACK TO SAVEPOINT bad");
        CHECK(tx.exec1("SELECT count(*) FROM fleet.notices")[0].as<int>() == 1);
    }

    TEST_CASE("the journal is append-only: entries are never changed or deleted") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        const auto driver = add_driver(
            conn, {.personnel_number = "T-1", .fields = {.full_name = "Temp Driver"}}, "test");
        const auto refused = [&](const std::string& sql) {
            pqxx::work tx(conn);
            CHECK_THROWS_WITH_AS(tx.exec0(sql), doctest::Contains("the journal is append-only"),
                                 pqxx::sql_error);
        };
        refused("UPDATE fleet.journal SET action = 'nothing happened'");
        refused("UPDATE fleet.journal SET recorded_at = now() - interval '1 day'");
        refused("DELETE FROM fleet.journal");
        refused("TRUNCATE fleet.journal");
        // A correction is a new entry naming the one it corrects.
        std::int64_t first = 0;
        {
            pqxx::read_transaction tx(conn);
            first = tx.exec1("SELECT min(entry_id) FROM fleet.journal")[0].as<std::int64_t>();
        }
        {
            pqxx::work tx(conn);
            geo::record(tx, {.actor = "test",
                             .action = "note corrected",
                             .details = {{"text", "the driver's name is spelt Tempe"}},
                             .kind = "note",
                             .driver_id = driver,
                             .corrects = first});
            CHECK_THROWS_AS(
                geo::record(tx, {.actor = "test", .action = "note", .corrects = 999999}),
                NotFoundError);
        }
        // A link to a row that is deleted falls away; what the entry says stays.
        {
            pqxx::work tx(conn);
            tx.exec_params("DELETE FROM fleet.drivers WHERE driver_id = $1", driver);
            tx.commit();
        }
        pqxx::read_transaction tx(conn);
        CHECK(tx.exec1("SELECT count(*) FROM fleet.journal WHERE driver_id IS NOT NULL")[0]
                  .as<int>() == 0);
        CHECK(tx.exec1("SELECT count(*) FROM fleet.journal WHERE action = 'driver added'")[0]
                  .as<int>() == 1);
    }
}
