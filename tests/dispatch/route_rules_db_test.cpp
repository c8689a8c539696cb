// A route's own thresholds and speed limits in PostGIS: set by operators (checked, journalled),
// and loaded with the plans onto the trips of the route.
#include <doctest/doctest.h>

#include <cmath>

#include "dispatch/assignments.hpp"
#include "dispatch/fleet_register.hpp"
#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "dispatch/route_rules.hpp"
#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch;

namespace {

const RouteRef f1{.feed = "local", .code = "F1"};

// Route F1: 3 km due east; route BARE without a line.
void prepare(pqxx::connection& conn) {
    const geo::LonLat west{37.60, 55.75};
    const geo::LonLat east = geo::destination(west, 90, 3000);
    pqxx::work tx(conn);
    tx.exec_params("INSERT INTO fleet.routes (code, geom) VALUES ('F1', ST_GeomFromText($1, 4326))",
                   "LINESTRING(" + std::to_string(west.lon_deg) + " " +
                       std::to_string(west.lat_deg) + ", " + std::to_string(east.lon_deg) + " " +
                       std::to_string(east.lat_deg) + ")");
    tx.exec0("INSERT INTO fleet.routes (code) VALUES ('BARE')");
    tx.commit();
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

// "from-to:limit" of each stored stretch of F1.
std::vector<std::string> stretches(pqxx::connection& conn) {
    std::vector<std::string> out;
    for (const auto& l : list_route_speed_limits(conn, "local", "F1")) {
        out.push_back(std::to_string(std::lround(l.segment.from_m)) + "-" +
                      std::to_string(std::lround(l.segment.to_m)) + ":" +
                      std::to_string(std::lround(l.segment.limit_kmh)));
    }
    return out;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("a route's thresholds: set, replaced, listed, unset, each journalled") {
        test::MigratedDatabase db;
        prepare(db.conn());
        set_route_threshold(db.conn(), f1, "late-after", 600, "test");
        set_route_threshold(db.conn(), f1, "late-after", 900, "test");
        set_route_threshold(db.conn(), f1, "on-route-distance", 120.5, "test");
        auto listed = list_route_thresholds(db.conn(), "", "");
        REQUIRE(listed.size() == 2);
        CHECK(listed[0].name == "late-after");
        CHECK(listed[0].value == 900);
        CHECK(listed[1].route.code == "F1");
        CHECK(listed[1].value == 120.5);
        CHECK(unset_route_threshold(db.conn(), f1, "late-after", "test"));
        CHECK_FALSE(unset_route_threshold(db.conn(), f1, "late-after", "test"));
        CHECK(list_route_thresholds(db.conn(), "local", "F1").size() == 1);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'route threshold set'"
                    " AND subject = 'local/F1'") == 3);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'route threshold set'"
                    " AND (details->>'previous')::float = 600 AND (details->>'value')::float = "
                    "900") == 1);
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'route threshold unset'") ==
              1);
    }

    TEST_CASE("unknown routes, names and values out of range are refused, nothing stored") {
        test::MigratedDatabase db;
        prepare(db.conn());
        CHECK_THROWS_WITH_AS(set_route_threshold(db.conn(), f1, "late", 600, "test"),
                             doctest::Contains("unknown threshold 'late'; a route may set: "
                                               "on-route-distance, max-match-speed"),
                             InputError);
        CHECK_THROWS_WITH_AS(set_route_threshold(db.conn(), f1, "moving-speed", 10, "test"),
                             doctest::Contains("set it in fleetd's configuration"), InputError);
        CHECK_THROWS_WITH_AS(set_route_threshold(db.conn(), f1, "on-route-distance", 2, "test"),
                             doctest::Contains("'on-route-distance' must be between 5 and 5000 m"),
                             InputError);
        CHECK_THROWS_WITH_AS(set_route_threshold(db.conn(), f1, "late-after", 1.5, "test"),
                             doctest::Contains("whole number of seconds"), InputError);
        CHECK_THROWS_WITH_AS(
            set_route_threshold(db.conn(), {.feed = "city", .code = "F1"}, "late-after", 60, "t"),
            doctest::Contains("unknown route 'F1' in feed 'city'"), InputError);
        CHECK_THROWS_WITH_AS(unset_route_threshold(db.conn(), f1, "nope", "test"),
                             doctest::Contains("unknown threshold 'nope'"), InputError);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.route_thresholds") == 0);
        CHECK(count(db.conn(), "SELECT count(*) FROM fleet.journal") == 0);
    }

    TEST_CASE("speed limits along a route: a stretch set over others replaces what it covers") {
        test::MigratedDatabase db;
        prepare(db.conn());
        set_route_speed_limit(db.conn(), f1, 0, 2500, 50, "test");
        set_route_speed_limit(db.conn(), f1, 1000, 2000, 30, "test");  // a school in the middle
        CHECK(stretches(db.conn()) ==
              std::vector<std::string>{"0-1000:50", "1000-2000:30", "2000-2500:50"});
        const auto cut = set_route_speed_limit(db.conn(), f1, 2800, 99999, 70, "test");
        CHECK(cut.to_m == doctest::Approx(3000).epsilon(0.001));  // to the line's end
        CHECK(unset_route_speed_limit(db.conn(), f1, 500, 1500, "test") == 2);
        CHECK(stretches(db.conn()) ==
              std::vector<std::string>{"0-500:50", "1500-2000:30", "2000-2500:50", "2800-3000:70"});
        CHECK(unset_route_speed_limit(db.conn(), f1, 2500, 2800, "test") == 0);  // none there
        CHECK(count(db.conn(),
                    "SELECT count(*) FROM fleet.journal WHERE action = 'route speed limit set'"
                    " AND jsonb_array_length(details->'previous') = 1") == 1);

        const auto before = stretches(db.conn());
        CHECK_THROWS_WITH_AS(
            set_route_speed_limit(db.conn(), f1, 3100, 3200, 40, "test"),
            doctest::Contains("route 'F1' is 3000 m long; 3100 m is beyond its end"), InputError);
        CHECK_THROWS_WITH_AS(set_route_speed_limit(db.conn(), f1, 200, 100, 40, "test"),
                             doctest::Contains("0 <= from < to"), InputError);
        CHECK_THROWS_WITH_AS(set_route_speed_limit(db.conn(), f1, 0, 100, 400, "test"),
                             doctest::Contains("between 5 and 300 km/h"), InputError);
        CHECK_THROWS_WITH_AS(
            set_route_speed_limit(db.conn(), {.feed = "local", .code = "BARE"}, 0, 100, 40, "t"),
            doctest::Contains("route 'BARE' has no line"), InputError);
        CHECK(stretches(db.conn()) == before);
    }

    TEST_CASE("a GTFS route's rules reach its trips, the way back measured from the other end") {
        test::MigratedDatabase db;
        const auto feed = gtfs::read_feed(std::string(FLEET_TEST_DATA) + "/gtfs/small");
        gtfs::import_feed(db.conn(), feed, "city",
                          {.actor = "test", .source = "small", .progress = {}});
        add_vehicle(db.conn(), {.registration = "A123BC"}, "test");
        // R1's line is its longest shape, A Terminal to B Terminal (T1's); T2 runs back.
        const RouteRef r1{.feed = "city", .code = "R1"};
        set_route_speed_limit(db.conn(), r1, 0, 300, 20, "test");  // the terminal's yard
        set_route_threshold(db.conn(), r1, "long-dwell-after", 600, "test");
        AssignmentRequest q;
        q.service_date = "2024-03-05";
        q.vehicle = "A123BC";
        q.feed = "city";
        q.block = "B1";
        save_assignment(db.conn(), q);
        const auto a = load_assignments(db.conn(), "2024-03-05").at(0);
        REQUIRE(a->trips.size() == 2);
        const TripPlan& out = a->trips[0];
        const TripPlan& back = a->trips[1];
        CHECK(out.code == "T1");
        CHECK(out.thresholds.at("long-dwell-after") == 600);
        CHECK(back.thresholds.at("long-dwell-after") == 600);
        REQUIRE(out.speed_segments.size() == 1);
        CHECK(out.speed_segments[0].from_m == 0);
        CHECK(out.speed_segments[0].to_m == 300);
        REQUIRE(back.speed_segments.size() == 1);
        const double length = back.shape->length_m();
        CHECK(back.speed_segments[0].from_m == doctest::Approx(length - 300).epsilon(0.001));
        CHECK(back.speed_segments[0].to_m == doctest::Approx(length).epsilon(0.001));
        CHECK(back.speed_segments[0].limit_kmh == 20);
    }
}
