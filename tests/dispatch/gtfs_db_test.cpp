#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::dispatch::gtfs;

namespace {

const std::string data = std::string(FLEET_TEST_DATA) + "/gtfs/";

long count(pqxx::connection& conn, const std::string& sql, const std::string& feed) {
    pqxx::read_transaction tx(conn);
    return tx.exec_params1(sql, feed)[0].as<long>();
}

/// Rows per table of one feed, in a fixed order of tables.
std::vector<long> counts(pqxx::connection& conn, const std::string& feed) {
    std::vector<long> out;
    for (const char* sql : {
             "SELECT count(*) FROM fleet.stops WHERE feed = $1",
             "SELECT count(*) FROM fleet.routes WHERE feed = $1",
             "SELECT count(*) FROM fleet.shapes WHERE feed = $1",
             "SELECT count(*) FROM fleet.trips WHERE feed = $1",
             "SELECT count(*) FROM fleet.stop_times st JOIN fleet.trips t USING (trip_id)"
             " WHERE t.feed = $1",
             "SELECT count(*) FROM fleet.calendar WHERE feed = $1",
             "SELECT count(*) FROM fleet.calendar_dates WHERE feed = $1",
             "SELECT count(*) FROM fleet.feeds WHERE feed = $1",
         }) {
        out.push_back(count(conn, sql, feed));
    }
    return out;
}

const std::vector<long> small_counts = {6, 2, 4, 4, 14, 1, 2, 1};

/// Everything a feed's rows say, without database ids or the feed name, one line per row.
std::vector<std::string> contents(pqxx::connection& conn, const std::string& feed) {
    pqxx::read_transaction tx(conn);
    std::vector<std::string> out;
    for (const char* sql : {
             "SELECT concat_ws('|', code, name, ST_AsText(geom)) FROM fleet.stops"
             " WHERE feed = $1 ORDER BY code",
             "SELECT concat_ws('|', code, short_name, long_name, route_type, ST_AsText(geom),"
             " attributes::text) FROM fleet.routes WHERE feed = $1 ORDER BY code",
             "SELECT concat_ws('|', code, ST_AsText(geom)) FROM fleet.shapes"
             " WHERE feed = $1 ORDER BY code",
             "SELECT concat_ws('|', t.code, r.code, service_code, block_code, s.code, headsign,"
             " direction) FROM fleet.trips t JOIN fleet.routes r USING (route_id)"
             " JOIN fleet.shapes s ON s.shape_id = t.shape_id WHERE t.feed = $1 ORDER BY t.code",
             "SELECT concat_ws('|', t.code, st.stop_sequence, s.code, arrival_s, departure_s,"
             " timepoint, round(shape_dist_m::numeric, 3)) FROM fleet.stop_times st"
             " JOIN fleet.trips t USING (trip_id) JOIN fleet.stops s ON s.stop_id = st.stop_id"
             " WHERE t.feed = $1 ORDER BY t.code, st.stop_sequence",
             "SELECT concat_ws('|', service_code, monday, saturday, start_date, end_date)"
             " FROM fleet.calendar WHERE feed = $1 ORDER BY service_code",
             "SELECT concat_ws('|', service_code, date, exception_type) FROM fleet.calendar_dates"
             " WHERE feed = $1 ORDER BY service_code, date",
             "SELECT concat_ws('|', agency::text, counts::text) FROM fleet.feeds WHERE feed = $1",
         }) {
        for (const auto& row : tx.exec_params(sql, feed)) {
            out.push_back(row[0].as<std::string>());
        }
    }
    return out;
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("GTFS: the small feed is stored with its times, blocks, shapes and service days") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        const Feed feed = read_feed(data + "small");
        const auto report =
            import_feed(conn, feed, "city", {.actor = "tester", .source = "x", .progress = {}});

        CHECK(report.feed == "city");
        CHECK_FALSE(report.replaced);
        CHECK(report.stops == 6);
        CHECK(report.routes == 2);
        CHECK(report.trips == 4);
        CHECK(report.stop_times == 14);
        CHECK(report.shapes == 4);
        CHECK(report.shapes_from_stops == 2);
        CHECK(report.blocks == 2);
        CHECK(counts(conn, "city") == small_counts);

        pqxx::read_transaction tx(conn);
        // Past midnight: the last stop of T3 at 24:10:00 on the day the trip started.
        CHECK(tx.exec1("SELECT max(arrival_s) FROM fleet.stop_times st JOIN fleet.trips t"
                       " USING (trip_id) WHERE t.code = 'T3'")[0]
                  .as<int>() == 87000);
        // The untimed stop of T2 has no times and is no timepoint.
        const auto untimed = tx.exec1(
            "SELECT arrival_s IS NULL, departure_s IS NULL, timepoint FROM fleet.stop_times st"
            " JOIN fleet.trips t USING (trip_id) WHERE t.code = 'T2' AND stop_sequence = 20");
        CHECK(untimed[0].as<bool>());
        CHECK(untimed[1].as<bool>());
        CHECK_FALSE(untimed[2].as<bool>());
        // The block, in departure order, is what a vehicle's shift is built from.
        const auto block = tx.exec(
            "SELECT t.code FROM fleet.trips t JOIN fleet.stop_times st USING (trip_id)"
            " WHERE t.feed = 'city' AND t.block_code = 'B1' AND st.stop_sequence ="
            " (SELECT min(stop_sequence) FROM fleet.stop_times WHERE trip_id = t.trip_id)"
            " ORDER BY st.departure_s");
        REQUIRE(block.size() == 2);
        CHECK(block[0][0].as<std::string>() == "T1");
        CHECK(block[1][0].as<std::string>() == "T2");
        // Route 2's geometry is a shape built from its stops; route 1's is a shapes.txt shape.
        CHECK(
            tx.exec1("SELECT ST_NPoints(geom) FROM fleet.routes WHERE code = 'R2'")[0].as<int>() ==
            3);
        CHECK(tx.exec1("SELECT ST_Equals(r.geom, s.geom) FROM fleet.routes r, fleet.shapes s"
                       " WHERE r.code = 'R1' AND s.code = 'SH1_AB'")[0]
                  .as<bool>());
        CHECK(tx.exec1("SELECT attributes->>'route_color' FROM fleet.routes WHERE code = 'R1'")[0]
                  .as<std::string>() == "0055AA");
        // Service days: 1 May 2024 (a Wednesday) is a holiday in calendar_dates.
        const auto services = [&](const char* day) {
            std::vector<std::string> out;
            for (const auto& row : tx.exec_params(
                     "SELECT s FROM fleet.services_on('city', $1::date) s ORDER BY s", day)) {
                out.push_back(row[0].as<std::string>());
            }
            return out;
        };
        CHECK(services("2024-05-01") == std::vector<std::string>{"HOL"});
        CHECK(services("2024-05-02") == std::vector<std::string>{"WD"});
        CHECK(services("2024-05-04").empty());
        CHECK(services("2025-01-06").empty());
        // The journal says who imported what.
        const auto entry = tx.exec1(
            "SELECT actor, subject, details::text FROM fleet.journal"
            " WHERE action = 'gtfs imported'");
        CHECK(entry[0].as<std::string>() == "tester");
        CHECK(entry[1].as<std::string>() == "city");
        const auto details = nlohmann::json::parse(entry[2].as<std::string>());
        CHECK(details["trips"] == 4);
        CHECK(details["stop_times"] == 14);
        CHECK(details["replaced"] == false);
        CHECK(tx.exec1("SELECT agency->0->>'agency_name' FROM fleet.feeds")[0].as<std::string>() ==
              "Meridian Transit, Ltd.");
    }

    TEST_CASE("GTFS: re-importing a feed replaces it: same counts, same ids, no duplicates") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        const Feed feed = read_feed(data + "small");
        import_feed(conn, feed, "city");
        const long trip_id =
            count(conn, "SELECT trip_id FROM fleet.trips WHERE feed = $1 AND code = 'T1'", "city");
        const auto again = import_feed(conn, feed, "city");
        CHECK(again.replaced);
        CHECK(counts(conn, "city") == small_counts);
        CHECK(count(conn, "SELECT trip_id FROM fleet.trips WHERE feed = $1 AND code = 'T1'",
                    "city") == trip_id);
        CHECK(count(conn, "SELECT count(*) FROM fleet.journal WHERE subject = $1", "city") == 2);

        // A smaller version of the feed: the trip, stop times and shape it drops are gone.
        Feed smaller = feed;
        smaller.trips.erase(smaller.trips.begin() + 3);  // T4, the only HOL trip
        smaller.shapes.erase("stops:T4");
        import_feed(conn, smaller, "city");
        CHECK(counts(conn, "city") == std::vector<long>{6, 2, 3, 3, 11, 1, 2, 1});
    }

    TEST_CASE("GTFS: a failed import changes nothing; the earlier import stays whole") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        const Feed good = read_feed(data + "small");
        import_feed(conn, good, "city");
        const auto before = contents(conn, "city");

        // Refused while reading: the database is never reached.
        CHECK_THROWS_AS(read_feed(data + "bad_backwards"), FeedError);

        // Refused inside the transaction, after stops, routes and shapes were written: a trip
        // whose route the feed lacks (only possible for a Feed built in code).
        Feed broken = good;
        broken.stops.push_back({"S7", "", "New stop", 55.8, 37.7, 0, ""});
        broken.trips[0].route_id = "R9";
        CHECK_THROWS_AS(import_feed(conn, broken, "city"), InputError);
        CHECK(contents(conn, "city") == before);
        CHECK(count(conn, "SELECT count(*) FROM fleet.stops WHERE code = $1", "S7") == 0);
        CHECK(count(conn, "SELECT count(*) FROM fleet.journal WHERE subject = $1", "city") == 1);

        CHECK_THROWS_AS(import_feed(conn, good, "local"), InputError);
        CHECK(counts(conn, "local") == std::vector<long>{0, 0, 0, 0, 0, 0, 0, 0});
    }

    TEST_CASE("GTFS: the zip and the folder store identical rows; feeds stay apart") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        import_feed(conn, read_feed(data + "small"), "folder");
        import_feed(conn, read_feed(data + "small.zip"), "zip");
        CHECK(contents(conn, "zip") == contents(conn, "folder"));
        CHECK(contents(conn, "zip").size() == 34);
        // Re-importing one feed leaves the other alone.
        import_feed(conn, read_feed(data + "small.zip"), "zip");
        CHECK(counts(conn, "folder") == small_counts);
        CHECK(counts(conn, "zip") == small_counts);
    }

    TEST_CASE("GTFS: a shape's PostGIS length is its length on the ground, within 1 %") {
        test::MigratedDatabase db;
        auto& conn = db.conn();
        import_feed(conn, read_feed(data + "small"), "city");
        pqxx::read_transaction tx(conn);
        // SH1_AB: two 0.01° meridian arcs at 55.75° N (1113.4 m each on WGS 84) and 0.02° of
        // the 55.76° N parallel (1255.7 m): 3482.5 m.
        const double length_m =
            tx.exec1("SELECT ST_Length(geom::geography) FROM fleet.shapes WHERE code = 'SH1_AB'")[0]
                .as<double>();
        CHECK(length_m == doctest::Approx(3482.5).epsilon(0.01));
        // Stop distances along it: shape_dist_traveled (km here) scaled to metres.
        const double last_stop_m = tx.exec1(
                                         "SELECT shape_dist_m FROM fleet.stop_times st"
                                         " JOIN fleet.trips t USING (trip_id)"
                                         " WHERE t.code = 'T1' AND stop_sequence = 4")[0]
                                       .as<double>();
        CHECK(last_stop_m == doctest::Approx(length_m).epsilon(0.01));
        // Along a shape built from stops, the distance is the one between the stops.
        const auto built = tx.exec1(
            "SELECT st.shape_dist_m, ST_Length(sh.geom::geography) FROM fleet.stop_times st"
            " JOIN fleet.trips t USING (trip_id) JOIN fleet.shapes sh ON sh.shape_id = t.shape_id"
            " WHERE t.code = 'T3' AND stop_sequence = 3");
        CHECK(built[0].as<double>() == doctest::Approx(built[1].as<double>()).epsilon(0.01));
    }
}
