#pragma once

// The notices scene shared by the dispatch and server tests, on the small GTFS fixture (feed
// "city", Europe/Moscow): route R1's trip T1 runs 08:00–08:20 on 2024-03-05 from A Terminal
// (55.750, 37.600) north, then east along 55.760 from 37.600 to 37.620, then north to B
// Terminal; route R2's trip T3 runs at 23:50 south-west of A Terminal. The closure polygon lies
// across R1's eastward stretch (37.605–37.615, 55.755–55.765):
//  - vehicle BUS-1 runs block B1 (R1) with driver 0042: its assignment passes through;
//  - vehicle BUS-2 runs block B2 (R2) with driver 0043: not concerned;
//  - van VAN-3, driver 0044 on its terminal cab-3, stands inside the polygon at 07:29;
//  - van VAN-4, driver 0045 on its terminal cab-4, is at the depot and can enter it later.
#include <map>
#include <string>
#include <tuple>

#include "dispatch/assignments.hpp"
#include "dispatch/fleet_register.hpp"
#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "dispatch/notices.hpp"
#include "geo/iso_time.hpp"
#include "tests/support/db.hpp"

namespace fleet::test {

inline const char* const closure =
    R"({"type": "Polygon", "coordinates": [[[37.605, 55.755], [37.615, 55.755], [37.615, 55.765],
        [37.605, 55.765], [37.605, 55.755]]]})";

// 2024-03-05 hh:mm Moscow time (UTC+3).
inline dispatch::Millis msk(int h, int m) {
    return *geo::parse_iso_time("2024-03-05T" + std::string(h < 10 ? "0" : "") + std::to_string(h) +
                                ":" + (m < 10 ? "0" : "") + std::to_string(m) + "+03:00");
}

struct Scene {
    test::MigratedDatabase db;
    std::int64_t bus1 = 0, bus2 = 0, van3 = 0, van4 = 0;

    Scene() {
        auto& conn = db.conn();
        const auto feed = dispatch::gtfs::read_feed(std::string(FLEET_TEST_DATA) + "/gtfs/small");
        dispatch::gtfs::import_feed(conn, feed, "city",
                                    {.actor = "test", .source = "small", .progress = {}});
        bus1 = dispatch::add_vehicle(conn, {.registration = "BUS-1"}, "test");
        bus2 = dispatch::add_vehicle(conn, {.registration = "BUS-2"}, "test");
        van3 = dispatch::add_vehicle(conn, {.registration = "VAN-3"}, "test");
        van4 = dispatch::add_vehicle(conn, {.registration = "VAN-4"}, "test");
        dispatch::add_device(
            conn, {.identifier = "cab-3", .protocol = "native", .vehicle = "VAN-3"}, "test");
        dispatch::add_device(
            conn, {.identifier = "cab-4", .protocol = "native", .vehicle = "VAN-4"}, "test");
        dispatch::add_drivers(
            conn,
            {{.personnel_number = "0042", .fields = {.full_name = "Ivan Petrov"}},
             {.personnel_number = "0043", .fields = {.full_name = "Anna Smirnova"}},
             {.personnel_number = "0044",
              .fields = {.full_name = "Oleg Orlov", .terminal = "cab-3"}},
             {.personnel_number = "0045",
              .fields = {.full_name = "Vera Lis", .terminal = "cab-4"}}},
            "test");
        for (const auto& [vehicle, block, driver] :
             {std::tuple{"BUS-1", "B1", "0042"}, std::tuple{"BUS-2", "B2", "0043"}}) {
            dispatch::AssignmentRequest q;
            q.service_date = "2024-03-05";
            q.vehicle = vehicle;
            q.driver = driver;
            q.feed = "city";
            q.block = block;
            q.actor = "test";
            dispatch::save_assignment(conn, q);
        }
        // Where each vehicle was last seen, at 07:29 Moscow time.
        place(bus1, 37.600, 55.750);  // A Terminal: outside
        place(bus2, 37.600, 55.750);
        place(van3, 37.610, 55.760);  // inside the closure
        place(van4, 37.580, 55.740);  // the depot: outside
    }

    void place(std::int64_t vehicle, double lon, double lat) {
        pqxx::work tx(db.conn());
        tx.exec_params(
            "INSERT INTO fleet.latest_positions (vehicle_id, device_time, server_time, geom, valid)"
            " VALUES ($1, $2::timestamptz, $2::timestamptz, ST_SetSRID(ST_MakePoint($3, $4), 4326),"
            " true)",
            vehicle, geo::iso_utc(msk(7, 29)), lon, lat);
        tx.commit();
    }

    long count(const std::string& sql) {
        pqxx::read_transaction tx(db.conn());
        return tx.exec1(sql)[0].as<long>();
    }
};

inline dispatch::NoticeDraft closure_draft() {
    dispatch::NoticeDraft d;
    d.category = dispatch::NoticeCategory::closure;
    d.severity = 3;
    d.title = "Market Street closed";
    d.short_text = "Market St closed 07:30-10:00, detour via Park Gate";
    d.full_text = "Water main burst at the market; the street is closed both ways.";
    d.valid_from = "2024-03-05T07:30:00+03:00";
    d.valid_until = "2024-03-05T10:00:00+03:00";
    d.area_geojson = closure;
    d.actor = "dispatcher-1";
    return d;
}

}  // namespace fleet::test
