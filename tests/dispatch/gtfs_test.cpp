#include <doctest/doctest.h>

#include <algorithm>

#include "dispatch/gtfs/csv.hpp"
#include "dispatch/gtfs/feed.hpp"

using namespace fleet::dispatch::gtfs;
using namespace std::chrono;

namespace {

const std::string data = std::string(FLEET_TEST_DATA) + "/gtfs/";

/// A minimal valid feed held in memory, for tests that change one file of it.
FeedFiles minimal_files() {
    return {
        {"agency.txt",
         "agency_name,agency_url,agency_timezone\nMT,https://example.org,Europe/Moscow\n"},
        {"stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,A,55.75,37.60\nS2,B,55.76,37.60\n"},
        {"routes.txt", "route_id,route_short_name,route_type\nR1,1,3\n"},
        {"trips.txt", "route_id,service_id,trip_id\nR1,WD,T1\n"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
         "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,2\n"},
        {"calendar.txt",
         "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
         "end_date\nWD,1,1,1,1,1,0,0,20240101,20241231\n"},
    };
}

/// The FeedError parse_feed throws for `files`; fails the test when none is thrown.
FeedError error_of(const FeedFiles& files) {
    try {
        parse_feed(files);
    } catch (const FeedError& e) {
        return e;
    }
    FAIL("the feed was accepted");
    return FeedError("", 0, "", "");
}

FeedError error_reading(const std::string& path) {
    try {
        read_feed(path);
    } catch (const FeedError& e) {
        return e;
    }
    FAIL("the feed was accepted");
    return FeedError("", 0, "", "");
}

const Trip& trip(const Feed& feed, const std::string& id) {
    const Trip* t = feed.find_trip(id);
    REQUIRE(t != nullptr);
    return *t;
}

}  // namespace

TEST_CASE("CSV: quoted fields hold commas, doubled quotes and line breaks; BOM and CRLF") {
    const auto t = CsvTable::parse(
        "\xEF\xBB\xBF"
        "a, b ,c\r\n"
        "1,\"x, y\",\"say \"\"hi\"\"\"\r\n"
        "\r\n"
        "2,\"two\nlines\",\r\n"
        "3\n"
        "4,,\"\"",
        "t.txt");
    CHECK(t.header() == std::vector<std::string>{"a", "b", "c"});
    REQUIRE(t.size() == 4);
    CHECK(t.value(0, 0) == "1");
    CHECK(t.value(0, 1) == "x, y");
    CHECK(t.value(0, 2) == "say \"hi\"");
    CHECK(t.value(1, 1) == "two\nlines");
    CHECK(t.value(1, 2).empty());
    CHECK(t.value(2, 0) == "3");
    CHECK(t.value(2, 2).empty());  // short row: missing columns read as empty
    CHECK(t.value(3, 1).empty());
    CHECK(t.value(3, 2).empty());
    // Lines count physical lines: the blank line 3 is skipped, the record on line 4 spans two.
    CHECK(t.line(0) == 2);
    CHECK(t.line(1) == 4);
    CHECK(t.line(2) == 6);
    CHECK(t.line(3) == 7);
    CHECK(t.column("b") == 1u);
    CHECK_FALSE(t.column("d").has_value());
}

TEST_CASE("CSV: an unclosed quote and text after a closing quote are refused with their line") {
    try {
        CsvTable::parse("a,b\n1,\"open\n2,3\n", "t.txt");
        FAIL("accepted");
    } catch (const FeedError& e) {
        CHECK(e.file() == "t.txt");
        CHECK(e.line() == 2);
    }
    try {
        CsvTable::parse("a,b\n1,2\n3,\"x\"y\n", "t.txt");
        FAIL("accepted");
    } catch (const FeedError& e) {
        CHECK(e.line() == 3);
    }
    CHECK_THROWS_AS(CsvTable::parse("", "empty.txt"), FeedError);
}

TEST_CASE("times: H:MM:SS and HH:MM:SS, past 24:00:00; dates YYYYMMDD") {
    CHECK(parse_time("8:00:00") == 8 * 3600);
    CHECK(parse_time("08:05:30") == 8 * 3600 + 5 * 60 + 30);
    CHECK(parse_time("24:10:00") == 87000);
    CHECK(parse_time("25:35:00") == 25 * 3600 + 35 * 60);
    for (const char* bad :
         {"", "8:00", "08:60:00", "08:00:60", "8h00:00", "-1:00:00", "08:0:00", "123:00:00"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_time(bad).has_value());
    }
    CHECK(format_time(87000) == "24:10:00");
    CHECK(parse_date("20240229") == year_month_day{2024y, February, 29d});
    CHECK_FALSE(parse_date("20230229").has_value());
    CHECK_FALSE(parse_date("2024-01-01").has_value());
    CHECK_FALSE(parse_date("20241301").has_value());
}

TEST_CASE("the small feed: every file's fields as written") {
    const Feed feed = read_feed(data + "small");

    REQUIRE(feed.agencies.size() == 1);
    const auto& agency = feed.agencies.front();
    CHECK(agency.id == "MT");
    CHECK(agency.name == "Meridian Transit, Ltd.");  // quoted, behind a BOM, CRLF lines
    CHECK(agency.url == "https://transit.example.org");
    CHECK(agency.timezone == "Europe/Moscow");
    CHECK(agency.lang == "ru");
    CHECK(agency.phone == "+7 495 000-00-00");

    REQUIRE(feed.stops.size() == 6);
    const Stop* s3 = feed.find_stop("S3");
    REQUIRE(s3 != nullptr);
    CHECK(s3->code == "103");
    CHECK(s3->name == "Market \"Central\"");
    CHECK(s3->lat == doctest::Approx(55.76));
    CHECK(s3->lon == doctest::Approx(37.61));
    CHECK(s3->location_type == 0);

    REQUIRE(feed.routes.size() == 2);
    const Route* r1 = feed.find_route("R1");
    REQUIRE(r1 != nullptr);
    CHECK(r1->agency_id == "MT");
    CHECK(r1->short_name == "1");
    CHECK(r1->long_name == "A Terminal - B Terminal");
    CHECK(r1->type == 3);
    CHECK(r1->color == "0055AA");
    CHECK(r1->text_color == "FFFFFF");
    CHECK(feed.find_route("R2")->color.empty());

    REQUIRE(feed.trips.size() == 4);
    const Trip& t1 = trip(feed, "T1");
    CHECK(t1.route_id == "R1");
    CHECK(t1.service_id == "WD");
    CHECK(t1.headsign == "B Terminal, platform 2");
    CHECK(t1.direction_id == 0);
    CHECK(t1.block_id == "B1");
    CHECK(t1.shape_id == "SH1_AB");
    CHECK(trip(feed, "T4").direction_id == 1);
    CHECK(trip(feed, "T4").block_id.empty());

    REQUIRE(t1.stop_times.size() == 4);
    CHECK(t1.stop_times[0].stop_id == "S1");
    CHECK(t1.stop_times[0].arrival_s == 8 * 3600);  // written 8:00:00
    CHECK(t1.stop_times[1].timepoint == false);
    CHECK(t1.stop_times[2].arrival_s == 8 * 3600 + 10 * 60);
    CHECK(t1.stop_times[2].departure_s == 8 * 3600 + 11 * 60);
    CHECK(t1.stop_times[2].timepoint == true);
    CHECK(t1.stop_times[2].shape_dist_traveled == doctest::Approx(1.738));
    CHECK(t1.stop_times[3].stop_id == "S4");
    CHECK(feed.stop_time_count() == 14);

    // An untimed intermediate stop keeps no time; an empty timepoint means exact.
    const Trip& t2 = trip(feed, "T2");
    CHECK(t2.stop_times[1].stop_sequence == 20);
    CHECK_FALSE(t2.stop_times[1].arrival_s.has_value());
    CHECK_FALSE(t2.stop_times[1].departure_s.has_value());
    CHECK(trip(feed, "T4").stop_times[0].timepoint == true);

    REQUIRE(feed.calendars.size() == 1);
    const auto& wd = feed.calendars.front();
    CHECK(wd.service_id == "WD");
    CHECK(wd.days == std::array<bool, 7>{true, true, true, true, true, false, false});
    CHECK(wd.start_date == year_month_day{2024y, January, 1d});
    CHECK(wd.end_date == year_month_day{2024y, December, 31d});
    REQUIRE(feed.calendar_dates.size() == 2);
    CHECK(feed.calendar_dates[0].service_id == "WD");
    CHECK(feed.calendar_dates[0].date == year_month_day{2024y, May, 1d});
    CHECK(feed.calendar_dates[0].exception_type == 2);
    CHECK(feed.calendar_dates[1].service_id == "HOL");
    CHECK(feed.calendar_dates[1].exception_type == 1);
}

TEST_CASE("a trip past midnight keeps its service day: 24:10:00 is 87000 s") {
    const Feed feed = read_feed(data + "small");
    const Trip& t3 = trip(feed, "T3");
    CHECK(t3.first_departure_s() == 23 * 3600 + 50 * 60);
    CHECK(t3.stop_times[1].arrival_s == 86400);
    CHECK(t3.stop_times[1].departure_s == 86400 + 60);
    CHECK(t3.last_arrival_s() == 87000);
}

TEST_CASE("a block chains its trips by first departure, with the layover at the terminal") {
    const Feed feed = read_feed(data + "small");
    REQUIRE(feed.blocks.size() == 2);
    CHECK(feed.blocks[0].id == "B1");
    // trips.txt lists T2 first; T1 departs earlier.
    CHECK(feed.blocks[0].trip_ids == std::vector<std::string>{"T1", "T2"});
    CHECK(feed.blocks[1].id == "B2");
    CHECK(feed.blocks[1].trip_ids == std::vector<std::string>{"T3"});
    const Trip& t1 = trip(feed, "T1");
    const Trip& t2 = trip(feed, "T2");
    CHECK(t1.stop_times.back().stop_id == t2.stop_times.front().stop_id);
    CHECK(t2.first_departure_s() - t1.last_arrival_s() == 10 * 60);
}

TEST_CASE("shapes: from shapes.txt by shape_pt_sequence, or built from the stops") {
    const Feed feed = read_feed(data + "small");
    REQUIRE(feed.shapes.size() == 4);

    const Shape& ab = feed.shapes.at("SH1_AB");
    CHECK_FALSE(ab.built_from_stops);
    REQUIRE(ab.points.size() == 4);
    // The file lists sequence 20 before 10.
    CHECK(ab.points[0].lat == doctest::Approx(55.75));
    CHECK(ab.points[1].lat == doctest::Approx(55.76));
    CHECK(ab.points[1].lon == doctest::Approx(37.60));
    CHECK(ab.points[2].lon == doctest::Approx(37.62));
    CHECK(ab.points[3].dist_traveled == doctest::Approx(3.476));
    // Two 0.01° meridian arcs (1112 m each on the sphere) and 0.02° of the 55.76° N parallel.
    CHECK(ab.length_m() == doctest::Approx(3475.2).epsilon(0.001));

    // Route 2 has no shapes: T3 and T4 (reverse direction) get shapes through their stops.
    const Trip& t3 = trip(feed, "T3");
    const Trip& t4 = trip(feed, "T4");
    CHECK(t3.shape_id == "stops:T3");
    CHECK(t4.shape_id == "stops:T4");
    const Shape& built = feed.shapes.at("stops:T3");
    CHECK(built.built_from_stops);
    REQUIRE(built.points.size() == 3);
    const Stop* s5 = feed.find_stop("S5");
    CHECK(built.points[1].lat == doctest::Approx(*s5->lat));
    CHECK(built.points[1].lon == doctest::Approx(*s5->lon));
    CHECK(feed.shapes.at("stops:T4").points.front().lat == doctest::Approx(55.74));
}

TEST_CASE("trips with the same stops share one built shape; no shapes.txt builds them all") {
    FeedFiles files = minimal_files();
    files["trips.txt"] = "route_id,service_id,trip_id,shape_id\nR1,WD,T1,X\nR1,WD,T2,\n";
    files["stop_times.txt"] =
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,2\n"
        "T2,09:00:00,09:00:00,S1,1\nT2,09:10:00,09:10:00,S2,2\n";
    // shape_id X cannot be resolved without shapes.txt: built from the stops like T2's.
    const Feed feed = parse_feed(files);
    REQUIRE(feed.shapes.size() == 1);
    CHECK(trip(feed, "T1").shape_id == "stops:T1");
    CHECK(trip(feed, "T2").shape_id == "stops:T1");
}

TEST_CASE("a zipped feed reads the same as its folder") {
    const Feed folder = read_feed(data + "small");
    const Feed zip = read_feed(data + "small.zip");
    CHECK(zip.stops.size() == folder.stops.size());
    CHECK(zip.trips.size() == folder.trips.size());
    CHECK(zip.stop_time_count() == folder.stop_time_count());
    CHECK(zip.shapes.size() == folder.shapes.size());
    CHECK(zip.agencies.front().name == folder.agencies.front().name);
    CHECK(zip.blocks.front().trip_ids == folder.blocks.front().trip_ids);
}

TEST_CASE("bad fixtures are refused naming file, line and field") {
    SUBCASE("stop_times.txt without departure_time") {
        const auto e = error_reading(data + "bad_missing_column");
        CHECK(e.file() == "stop_times.txt");
        CHECK(e.line() == 1);
        CHECK(e.field() == "departure_time");
        CHECK(std::string(e.what()) ==
              "GTFS stop_times.txt line 1, field departure_time: required column is missing");
    }
    SUBCASE("a stop time going backwards") {
        const auto e = error_reading(data + "bad_backwards");
        CHECK(e.file() == "stop_times.txt");
        CHECK(e.line() == 4);
        CHECK(e.field() == "arrival_time");
        CHECK(std::string(e.what()).find("08:05:00 is before 08:10:00") != std::string::npos);
    }
    SUBCASE("an unknown stop") {
        const auto e = error_reading(data + "bad_unknown_stop");
        CHECK(e.file() == "stop_times.txt");
        CHECK(e.line() == 3);
        CHECK(e.field() == "stop_id");
        CHECK(std::string(e.what()).find("'S9'") != std::string::npos);
    }
    SUBCASE("a path that is no feed") {
        CHECK_THROWS_AS(read_feed(data + "nowhere"), FeedError);
        CHECK_THROWS_AS(read_feed(data + "nowhere.zip"), FeedError);
        CHECK_THROWS_AS(read_feed(data + "small/stops.txt"), FeedError);
    }
}

TEST_CASE("validation: each kind of problem names its file, line and field") {
    struct Case {
        const char* file;
        std::string text;
        std::string expect_file;
        std::size_t line;
        std::string field;
    };
    const std::vector<Case> cases = {
        {"stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,A,55.75,37.60\nS2,B,,37.60\n",
         "stops.txt", 3, "stop_lat"},
        {"stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,A,55.75,37.60\nS2,B,95,37.60\n",
         "stops.txt", 3, "stop_lat"},
        {"stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,A,55.75,37.60\nS1,B,55.76,37.6\n",
         "stops.txt", 3, "stop_id"},
        {"stops.txt", "stop_name,stop_lat,stop_lon\nA,55.75,37.60\n", "stops.txt", 1, "stop_id"},
        {"routes.txt", "route_id,route_short_name,route_type\nR1,1,bus\n", "routes.txt", 2,
         "route_type"},
        {"routes.txt", "route_id,route_short_name,route_type\nR1,,3\n", "routes.txt", 2,
         "route_short_name"},
        {"trips.txt", "route_id,service_id,trip_id\nR9,WD,T1\n", "trips.txt", 2, "route_id"},
        {"trips.txt", "route_id,service_id,trip_id\nR1,SUN,T1\n", "trips.txt", 2, "service_id"},
        {"trips.txt", "route_id,service_id,trip_id\nR1,WD,T1\nR1,WD,T1\n", "trips.txt", 3,
         "trip_id"},
        {"trips.txt", "route_id,service_id,trip_id,direction_id\nR1,WD,T1,2\n", "trips.txt", 2,
         "direction_id"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
         "T1,08:00:00,08:00:00,S1,1\nT9,08:10:00,08:10:00,S2,2\n",
         "stop_times.txt", 3, "trip_id"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
         "T1,08:00:00,08:00:00,S1,1\nT1,8:10,08:10:00,S2,2\n",
         "stop_times.txt", 3, "arrival_time"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
         "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:09:00,S2,2\n",
         "stop_times.txt", 3, "departure_time"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
         "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,1\n",
         "stop_times.txt", 3, "stop_sequence"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
         "T1,08:00:00,08:00:00,S1,1\nT1,,,S2,2\n",
         "stop_times.txt", 3, "arrival_time"},
        {"stop_times.txt",
         "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,08:00:00,08:00:00,S1,1\n",
         "trips.txt", 2, "trip_id"},
        {"calendar.txt",
         "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
         "end_date\nWD,1,1,1,1,1,0,0,20240101,2024-12-31\n",
         "calendar.txt", 2, "end_date"},
        {"calendar.txt",
         "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
         "end_date\nWD,1,1,1,1,yes,0,0,20240101,20241231\n",
         "calendar.txt", 2, "friday"},
        {"calendar_dates.txt", "service_id,date,exception_type\nWD,20240501,3\n",
         "calendar_dates.txt", 2, "exception_type"},
        {"shapes.txt",
         "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\nX,55.75,37.6,1\nX,55.76,37.6,1\n",
         "shapes.txt", 3, "shape_pt_sequence"},
        {"agency.txt", "agency_name,agency_url\nMT,https://example.org\n", "agency.txt", 1,
         "agency_timezone"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.file);
        CAPTURE(c.text);
        FeedFiles files = minimal_files();
        files[c.file] = c.text;
        const auto e = error_of(files);
        CHECK(e.file() == c.expect_file);
        CHECK(e.line() == c.line);
        CHECK(e.field() == c.field);
    }
}

TEST_CASE("required files: the five core files and a calendar of either kind") {
    for (const char* name :
         {"agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt"}) {
        CAPTURE(name);
        FeedFiles files = minimal_files();
        files.erase(name);
        const auto e = error_of(files);
        CHECK(e.file() == name);
        CHECK(e.line() == 0);
    }
    FeedFiles no_calendar = minimal_files();
    no_calendar.erase("calendar.txt");
    CHECK(error_of(no_calendar).file() == "calendar.txt");

    FeedFiles dates_only = minimal_files();
    dates_only.erase("calendar.txt");
    dates_only["calendar_dates.txt"] = "service_id,date,exception_type\nWD,20240501,1\n";
    CHECK(parse_feed(dates_only).calendar_dates.size() == 1);
}

TEST_CASE("unknown columns are ignored and progress is reported for long files") {
    FeedFiles files = minimal_files();
    files["routes.txt"] = "route_id,network_id,route_short_name,route_type,x\nR1,N,1,3,?\n";
    std::string stop_times = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n";
    for (int i = 0; i < 150000; ++i) {
        stop_times += "T1," + format_time(i) + "," + format_time(i) + "," + (i % 2 ? "S2" : "S1") +
                      "," + std::to_string(i) + "\n";
    }
    files["stop_times.txt"] = stop_times;
    std::vector<std::size_t> done;
    const Feed feed =
        parse_feed(files, [&](const std::string& stage, std::size_t d, std::size_t total) {
            CHECK(stage == "parsing stop_times.txt");
            CHECK(total == 150000);
            done.push_back(d);
        });
    CHECK(feed.stop_time_count() == 150000);
    CHECK(done == std::vector<std::size_t>{100000, 150000});
}
