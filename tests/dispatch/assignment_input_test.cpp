// Assignments as operators write them: planned stops on fleetctl's command line and CSV files
// holding timetabled and freight work.
#include <doctest/doctest.h>

#include "dispatch/assignment_input.hpp"
#include "geo/error.hpp"

using namespace fleet;
using namespace fleet::dispatch;

TEST_CASE("a planned stop is a place of its own or a known stop, with its window") {
    const auto own = parse_stop("Bakery on Lenin St;37.61;55.75;08:20;08:50;80");
    CHECK(own.name == "Bakery on Lenin St");
    REQUIRE(own.position);
    CHECK(own.position->lon_deg == 37.61);
    CHECK(own.position->lat_deg == 55.75);
    CHECK(own.window_from == "08:20");
    CHECK(own.window_to == "08:50");
    CHECK(own.radius_m == 80);
    CHECK(own.stop.empty());

    const auto known = parse_stop("WH7;;;2024-03-05T09:00+03:00;2024-03-05T09:40+03:00");
    CHECK(known.stop == "WH7");
    CHECK_FALSE(known.position);
    CHECK_FALSE(known.radius_m);
    CHECK(known.window_to == "2024-03-05T09:40+03:00");

    CHECK_THROWS_WITH_AS(parse_stop("Bakery;37.61;55.75;08:20"),
                         doctest::Contains("is not NAME;LON;LAT;FROM;TO"), InputError);
    CHECK_THROWS_WITH_AS(parse_stop("Bakery;east;55.75;08:20;08:50"),
                         doctest::Contains("is not a longitude and latitude"), InputError);
    CHECK_THROWS_WITH_AS(parse_stop("Bakery;37.61;;08:20;08:50"),
                         doctest::Contains("both longitude and latitude"), InputError);
    CHECK_THROWS_WITH_AS(parse_stop("Bakery;37.61;55.75;;08:50"),
                         doctest::Contains("needs its window"), InputError);
    CHECK_THROWS_WITH_AS(parse_stop("Bakery;37.61;55.75;08:20;08:50;-5"),
                         doctest::Contains("radius '-5'"), InputError);
}

TEST_CASE("the CSV of timetabled assignments reads as it always has") {
    const auto rows = read_assignment_csv(
        "date,vehicle,driver,feed,block,trips\n"
        "2024-03-05,A123BC,0042,city,B1,\n"
        "2024-03-05,B456CD,,city,,T1;T2\n",
        "day.csv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].block == "B1");
    CHECK(rows[0].driver == "0042");
    CHECK(rows[0].origin == "day.csv:2");
    CHECK(rows[1].trips == std::vector<std::string>{"T1", "T2"});
    CHECK(rows[1].route.empty());
}

TEST_CASE("a timetabled row may give its shift's own start and end") {
    const auto rows = read_assignment_csv(
        "date,vehicle,feed,block,start,end\n"
        "2024-03-05,A123BC,city,B1,07:30,09:00\n"
        "2024-03-05,A123BC,city,B2,,\n",
        "day.csv");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].start == "07:30");
    CHECK(rows[0].end == "09:00");
    CHECK(rows[0].route.empty());
    CHECK(rows[1].start.empty());
}

TEST_CASE("freight rows: one per planned stop, the first naming the route and the shift") {
    const auto rows = read_assignment_csv(
        "date,vehicle,driver,feed,block,trips,route,start,end,tz,stop,lon,lat,from,to,radius\n"
        "2024-03-05,A123BC,0042,city,B1,,,,,,,,,,,\n"
        "2024-03-05,T-7,Ivan Petrov,local,,,F1,07:45,12:00,Europe/Moscow,YARD,,,08:00,08:20,\n"
        "2024-03-05,T-7,,,,,,,,,\"Bakery, Lenin St 5\",37.61,55.75,08:20,08:50,80\n"
        "2024-03-05,T-7,,,,,F1,07:45,,,WH7,,,09:00,09:40,\n"
        "2024-03-05,T-9,,,,,F2,10:00,14:00,,Shop,37.7,55.8,11:00,11:30,\n",
        "day.csv");
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].block == "B1");
    const auto& t7 = rows[1];
    CHECK(t7.route == "F1");
    CHECK(t7.start == "07:45");
    CHECK(t7.end == "12:00");
    CHECK(t7.time_zone == "Europe/Moscow");
    CHECK(t7.driver == "Ivan Petrov");
    CHECK(t7.origin == "day.csv:3");
    REQUIRE(t7.stops.size() == 3);
    CHECK(t7.stops[0].stop == "YARD");
    CHECK(t7.stops[1].name == "Bakery, Lenin St 5");
    CHECK(t7.stops[1].radius_m == 80);
    CHECK(t7.stops[2].stop == "WH7");
    CHECK(rows[2].route == "F2");
    CHECK(rows[2].stops.size() == 1);
}

TEST_CASE("bad CSV names the file and line") {
    CHECK_THROWS_WITH_AS(read_assignment_csv("vehicle,block\nA,B1\n", "x.csv"),
                         doctest::Contains("x.csv:1: the header needs a 'date' column"),
                         InputError);
    CHECK_THROWS_WITH_AS(read_assignment_csv("date,vehicle,colour\n2024-03-05,A,red\n", "x.csv"),
                         doctest::Contains("x.csv:1: unknown column 'colour'"), InputError);
    CHECK_THROWS_WITH_AS(
        read_assignment_csv("date,vehicle,block\n2024-03-05,A,B1\n2024-03-05,,B1\n", "x.csv"),
        doctest::Contains("x.csv:3: date and vehicle are required"), InputError);
    CHECK_THROWS_WITH_AS(read_assignment_csv("date,vehicle,stop,from,to\n"
                                             "2024-03-05,A,YARD,08:00,08:20\n",
                                             "x.csv"),
                         doctest::Contains("x.csv:2: a freight row needs a route"), InputError);
    CHECK_THROWS_WITH_AS(read_assignment_csv("date,vehicle,route,start,end,stop,from,to\n"
                                             "2024-03-05,A,F1,07:00,12:00,YARD,08:00,08:20\n"
                                             "2024-03-05,A,,08:00,,SHOP,09:00,09:20\n",
                                             "x.csv"),
                         doctest::Contains("x.csv:3: start '08:00' differs"), InputError);
    CHECK_THROWS_WITH_AS(read_assignment_csv("date,vehicle,route,start,stop,from,to\n"
                                             "2024-03-05,A,F1,07:00,YARD,08:00,08:20\n",
                                             "x.csv"),
                         doctest::Contains("x.csv:2: freight work needs its shift start and end"),
                         InputError);
    CHECK_THROWS_WITH_AS(read_assignment_csv("date,vehicle\n\"2024-03-05,A\n", "x.csv"),
                         doctest::Contains("x.csv:2: not CSV"), InputError);
}
