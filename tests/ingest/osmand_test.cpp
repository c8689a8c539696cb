#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

#include "ingest/decode_error.hpp"
#include "ingest/osmand/decoder.hpp"
#include "ingest/osmand/detail/form.hpp"
#include "ingest/osmand/detail/timestamp.hpp"

using namespace fleet::ingest;
using namespace fleet::ingest::osmand;
using nlohmann::json;

namespace {

// Where the requests below come from:
// [T] Traccar's own decoder test, src/test/java/org/traccar/protocol/OsmAndProtocolDecoderTest.java
//     in github.com/traccar/traccar (query requests; JSON bodies of Traccar Client 9 on Android
//     and iOS).
// [D] The protocol page https://www.traccar.org/osmand/ (the OsmAnd app's URL template
//     ?id=..&lat={0}&lon={1}&timestamp={2}&hdop={3}&altitude={4}&speed={5}, and the JSON format
//     with its units: speed in m/s, battery level 0..1).
// [C] github.com/traccar/traccar-client issue #85 "New Traccar Client sends JSON payloads", which
//     quotes one request of Traccar Client 7.9 (query) and one of 9.5.3 (JSON).
// Requests marked "constructed" are not captured traffic; they are built to the formats above.

Millis utc(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms = 0) {
    using namespace std::chrono;
    return sys_days{year{y} / mo / d} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
}

// The server clock for every test; a request without a timestamp gets this time.
const Millis now = utc(2026, 11, 27, 7, 0, 0);

Request get(std::string target) {
    return Request{"GET", std::move(target), "", ""};
}

Request post_json(std::string body) {
    return Request{"POST", "/", "application/json", std::move(body)};
}

std::optional<DecodeError> error_of(const Request& request,
                                    std::size_t cap = default_max_body_bytes) {
    try {
        decode(request, now, cap);
    } catch (const DecodeError& error) {
        return error;
    }
    return std::nullopt;
}

Position single(const Report& report) {
    REQUIRE(report.positions.size() == 1);
    return report.positions.front();
}

}  // namespace

TEST_CASE("OsmAnd: the OsmAnd app's URL template with a millisecond timestamp [T][D]") {
    const Report report = decode(
        get("/?id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224."
            "0&speed=0.0"),
        now);
    CHECK(report.device_id == "902064");
    const Position p = single(report);
    CHECK(p.device_time == utc(2015, 9, 12, 14, 38, 6, 579));
    CHECK(p.latitude_deg == doctest::Approx(42.06288));
    CHECK(p.longitude_deg == doctest::Approx(-88.23412));
    CHECK(p.speed_kmh == 0.0);
    CHECK_FALSE(p.course_deg);
    CHECK(p.altitude_m == 224.0);
    CHECK_FALSE(p.satellites);
    CHECK(p.valid);
    CHECK_FALSE(p.odometer_m);
    CHECK_FALSE(p.fuel_l);
    CHECK_FALSE(p.ignition);
    CHECK(p.attributes == json{{"hdop", 6.0}});
}

TEST_CASE("OsmAnd: ISO 8601 timestamp with Z, percent-encoded [T]") {
    const Report report = decode(
        get("/?id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&"
            "altitude=224.0&speed=0.0"),
        now);
    CHECK(report.device_id == "902064");
    const Position p = single(report);
    CHECK(p.device_time == utc(2016, 1, 27, 18, 55, 47));
    CHECK(p.latitude_deg == doctest::Approx(42.06288));
    CHECK(p.longitude_deg == doctest::Approx(-88.23412));
    CHECK(p.altitude_m == 224.0);
    CHECK(p.attributes == json{{"hdop", 6.0}});
}

TEST_CASE("OsmAnd: 'yyyy-MM-dd HH:mm:ss' timestamp with '+' for the space, id last [T]") {
    const Report report = decode(
        get("/?lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0."
            "0&id=353861053849681"),
        now);
    CHECK(report.device_id == "353861053849681");
    const Position p = single(report);
    CHECK(p.device_time == utc(2014, 6, 4, 9, 10, 11));
    CHECK(p.latitude_deg == doctest::Approx(49.60688));
    CHECK(p.longitude_deg == doctest::Approx(6.15788));
    CHECK(p.altitude_m == 384.7);
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.attributes == json::object());
}

TEST_CASE("OsmAnd: Unix seconds, bearing and hdop zero [T]") {
    const Report report = decode(
        get("/?id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0&altitude=0&"
            "hdop=0.0"),
        now);
    CHECK(report.device_id == "123456");
    const Position p = single(report);
    CHECK(p.device_time == utc(2013, 8, 22, 13, 14, 27));
    CHECK(p.latitude_deg == 60.0);
    CHECK(p.longitude_deg == 30.0);
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.course_deg == 0.0);
    CHECK(p.altitude_m == 0.0);
    CHECK(p.attributes == json{{"hdop", 0.0}});
}

TEST_CASE("OsmAnd: 'deviceid', 'heading', no timestamp uses the server clock [T]") {
    const Report report = decode(
        get("/?lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456"),
        now);
    CHECK(report.device_id == "123456");
    const Position p = single(report);
    CHECK(p.device_time == now);
    CHECK(p.latitude_deg == 60.0);
    CHECK(p.longitude_deg == 30.0);
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.course_deg == 0.0);
    CHECK(p.altitude_m == 0.0);
    // Unknown parameters keep their name; integers stay integers.
    CHECK(p.attributes == json{{"vacc", 0}, {"hacc", 0}, {"time_from_server", true}});
    CHECK(p.attributes["vacc"].is_number_integer());
}

TEST_CASE("OsmAnd: battery level 'batt' in percent [T]") {
    const Report report = decode(
        get("/?id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&"
            "batt=87"),
        now);
    CHECK(report.device_id == "861001000719969");
    const Position p = single(report);
    CHECK(p.latitude_deg == doctest::Approx(41.666667));
    CHECK(p.longitude_deg == doctest::Approx(-0.883333));
    CHECK(p.altitude_m == doctest::Approx(350.059479));
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.attributes == json{{"battery_pct", 87.0}, {"time_from_server", true}});
}

TEST_CASE("OsmAnd: combined 'location=lat,lon' [T]") {
    const Report report = decode(get("/?id=123456&timestamp=1377177267&location=60.0,30.0"), now);
    CHECK(report.device_id == "123456");
    const Position p = single(report);
    CHECK(p.device_time == utc(2013, 8, 22, 13, 14, 27));
    CHECK(p.latitude_deg == 60.0);
    CHECK(p.longitude_deg == 30.0);
    CHECK_FALSE(p.speed_kmh);
    CHECK_FALSE(p.altitude_m);
    CHECK(p.attributes == json::object());

    // The comma may arrive percent-encoded.
    const Position encoded = single(decode(get("/?id=1&location=-33.5%2C151.25"), now));
    CHECK(encoded.latitude_deg == -33.5);
    CHECK(encoded.longitude_deg == 151.25);
}

TEST_CASE("OsmAnd: speed in knots becomes km/h; ignition and custom attributes [T]") {
    const Report report =
        decode(get("/?id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571&"
                   "bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24"),
               now);
    CHECK(report.device_id == "123456789012345");
    const Position p = single(report);
    CHECK(p.device_time == utc(2017, 9, 7, 5, 56, 50));
    CHECK(p.latitude_deg == doctest::Approx(40.7232948571));
    CHECK(p.longitude_deg == doctest::Approx(-74.0061408571));
    CHECK(p.course_deg == doctest::Approx(7.19889788244));
    CHECK(p.speed_kmh == doctest::Approx(74.08));  // 40 kn x 1.852
    CHECK(p.ignition == true);
    CHECK_FALSE(p.fuel_l);  // "fuel" has no unit in the protocol; kept as an attribute
    CHECK(p.attributes == json{{"rpm", 933}, {"fuel", 24}});
}

TEST_CASE("OsmAnd: Traccar Client 7.9 query request with accuracy [C]") {
    const Report report = decode(
        get("/?id=82879256&lat=-35.5555277&lon=145.5555733&timestamp=1693222306574&speed=0.211914&"
            "bearing=26.21394&accuracy=22.975999"),
        now);
    CHECK(report.device_id == "82879256");
    const Position p = single(report);
    CHECK(p.device_time == utc(2023, 8, 28, 11, 31, 46, 574));
    CHECK(p.latitude_deg == doctest::Approx(-35.5555277));
    CHECK(p.longitude_deg == doctest::Approx(145.5555733));
    CHECK(p.speed_kmh == doctest::Approx(0.211914 * 1.852));
    CHECK(p.course_deg == doctest::Approx(26.21394));
    CHECK_FALSE(p.altitude_m);
    CHECK(p.valid);
    CHECK(p.attributes == json{{"accuracy_m", 22.975999}});
}

TEST_CASE(
    "OsmAnd: repeated cell and wifi parameters become arrays, but no coordinates is an "
    "error [T]") {
    // Traccar would take the last known location here; without a store the decoder cannot.
    const auto error = error_of(get(
        "/?id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90&wifi=00-14-"
        "22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70"));
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::bad_value);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'lat' is missing: send 'lat' and 'lon', or "
          "'location=<lat>,<lon>'");

    const Position p = single(decode(
        get("/?id=1&lat=1&lon=2&cell=257,02,16,2224&cell=257,02,16,2223,-90&wifi=00-14-22-01-23-"
            "45,-80"),
        now));
    CHECK(p.attributes["cell"] == json::array({"257,02,16,2224", "257,02,16,2223,-90"}));
    CHECK(p.attributes["wifi"] == "00-14-22-01-23-45,-80");
}

TEST_CASE("OsmAnd: every query field mapped (constructed)") {
    const Report report = decode(
        get("/?id=phone%2B1&lat=52.52&lon=13.405&timestamp=2024-03-01T12:30:15.250%2B02:00&speed="
            "10&"
            "bearing=370&altitude=-12.5&accuracy=4.5&hdop=1.2&batt=55.5&valid=false&charge=true&"
            "driverUniqueId=DRV%20042&ignition=0&note=hello+world&flag=false&ratio=1.5e1&empty="),
        now);
    CHECK(report.device_id == "phone+1");
    const Position p = single(report);
    CHECK(p.device_time == utc(2024, 3, 1, 10, 30, 15, 250));
    CHECK(p.latitude_deg == 52.52);
    CHECK(p.longitude_deg == 13.405);
    CHECK(p.speed_kmh == doctest::Approx(18.52));
    CHECK(p.course_deg == doctest::Approx(10.0));  // 370 wraps to 10
    CHECK(p.altitude_m == -12.5);
    CHECK_FALSE(p.valid);
    CHECK(p.ignition == false);
    CHECK_FALSE(p.satellites);
    CHECK(p.attributes == json{{"accuracy_m", 4.5},
                               {"hdop", 1.2},
                               {"battery_pct", 55.5},
                               {"charging", true},
                               {"driver_unique_id", "DRV 042"},
                               {"note", "hello world"},
                               {"flag", false},
                               {"ratio", 15.0}});
}

TEST_CASE(
    "OsmAnd: 'valid' accepts true, false, 1 and 0; negative speed and bearing are "
    "unknown (constructed)") {
    CHECK(single(decode(get("/?id=1&lat=1&lon=1&valid=1"), now)).valid);
    CHECK(single(decode(get("/?id=1&lat=1&lon=1&valid=TRUE"), now)).valid);
    CHECK_FALSE(single(decode(get("/?id=1&lat=1&lon=1&valid=0"), now)).valid);
    CHECK(single(decode(get("/?id=1&lat=1&lon=1"), now)).valid);

    const Position p = single(decode(get("/?id=1&lat=1&lon=1&speed=-1&bearing=-1"), now));
    CHECK_FALSE(p.speed_kmh);
    CHECK_FALSE(p.course_deg);
}

TEST_CASE("OsmAnd: POST form body, percent-encoding and '+' as space (constructed to [D])") {
    Request request{"POST", "/", "application/x-www-form-urlencoded; charset=UTF-8",
                    "id=353861053849681&lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11"
                    "&altitude=384.7&speed=10.5&bearing=180&batt=42&driverUniqueId=J%C3%BCrgen+M"
                    "\r\n"};
    const Report report = decode(request, now);
    CHECK(report.device_id == "353861053849681");
    const Position p = single(report);
    CHECK(p.device_time == utc(2014, 6, 4, 9, 10, 11));
    CHECK(p.latitude_deg == doctest::Approx(49.60688));
    CHECK(p.longitude_deg == doctest::Approx(6.15788));
    CHECK(p.altitude_m == 384.7);
    CHECK(p.speed_kmh == doctest::Approx(19.446));
    CHECK(p.course_deg == 180.0);
    CHECK(p.attributes == json{{"battery_pct", 42.0}, {"driver_unique_id", "J\xC3\xBCrgen M"}});

    // Query and body are read together; the body comes after the query.
    Request split{"POST", "/?id=77", "", "lat=1.5&lon=2.5"};
    const Report both = decode(split, now);
    CHECK(both.device_id == "77");
    CHECK(single(both).latitude_deg == 1.5);
    CHECK(single(both).longitude_deg == 2.5);
}

TEST_CASE("OsmAnd: Traccar Client 9.5.3 JSON, speed in m/s [C]") {
    const Report report = decode(post_json(R"({
  "location": {
    "timestamp": "2025-08-28T11:51:46.587Z",
    "coords": {
      "latitude": -37.6998277,
      "longitude": 145.0686733,
      "accuracy": 4.32,
      "speed": 0.11,
      "heading": 158.44,
      "altitude": 103
    },
    "is_moving": true,
    "odometer": 0,
    "battery": { "level": 0.88, "is_charging": false },
    "activity": { "type": "still" }
  },
  "device_id": "82879256"
})"),
                                 now);
    CHECK(report.device_id == "82879256");
    const Position p = single(report);
    CHECK(p.device_time == utc(2025, 8, 28, 11, 51, 46, 587));
    CHECK(p.latitude_deg == doctest::Approx(-37.6998277));
    CHECK(p.longitude_deg == doctest::Approx(145.0686733));
    CHECK(p.speed_kmh == doctest::Approx(0.396));  // 0.11 m/s x 3.6
    CHECK(p.course_deg == doctest::Approx(158.44));
    CHECK(p.altitude_m == 103.0);
    CHECK(p.valid);
    CHECK(p.odometer_m == 0.0);
    CHECK_FALSE(p.satellites);
    CHECK_FALSE(p.ignition);
    CHECK(p.attributes == json{{"accuracy_m", 4.32},
                               {"motion", true},
                               {"battery_pct", 88.0},
                               {"charging", false},
                               {"activity", "still"}});
}

TEST_CASE("OsmAnd: Traccar Client 9 JSON from Android with event and extras [T]") {
    const Report report = decode(
        post_json(
            R"({"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},"activity":{"type":"still"},"extras":{"device_string_test":"long_device_id","device_bool_test":true,"device_bool_false_test":false,"device_integer_test":1,"device_double_test":1.345,"device_very_long_double_test":1763636.3442},"_":"&id=48241179&lat=37.4219983&lon=-122.084&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"})"),
        now);
    CHECK(report.device_id == "48241179");
    const Position p = single(report);
    CHECK(p.device_time == utc(2025, 6, 15, 13, 45, 12, 862));
    CHECK(p.latitude_deg == doctest::Approx(37.4219983));
    CHECK(p.longitude_deg == doctest::Approx(-122.084));
    CHECK(p.speed_kmh == 0.0);
    CHECK_FALSE(p.course_deg);  // heading -1: unknown
    CHECK(p.altitude_m == 5.0);
    CHECK(p.odometer_m == 0.0);
    CHECK(p.attributes == json{{"accuracy_m", 5.0},
                               {"motion", false},
                               {"event", "motionchange"},
                               {"battery_pct", 100.0},
                               {"charging", false},
                               {"activity", "still"},
                               {"device_string_test", "long_device_id"},
                               {"device_bool_test", true},
                               {"device_bool_false_test", false},
                               {"device_integer_test", 1},
                               {"device_double_test", 1.345},
                               {"device_very_long_double_test", 1763636.3442}});
}

TEST_CASE("OsmAnd: Traccar Client 9 JSON from iOS: mock, unknown speed and battery [T]") {
    const Report report = decode(
        post_json(
            R"({"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,"heading":-1},"is_moving":false,"age":188,"odometer":0,"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange","battery":{"level":-1,"is_charging":false},"activity":{"type":"unknown","confidence":100},"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"658765"})"),
        now);
    CHECK(report.device_id == "658765");
    const Position p = single(report);
    CHECK(p.device_time == utc(2025, 5, 9, 4, 11, 30, 579));
    CHECK(p.latitude_deg == doctest::Approx(37.785834));
    CHECK(p.longitude_deg == doctest::Approx(-122.406417));
    CHECK_FALSE(p.speed_kmh);
    CHECK_FALSE(p.course_deg);
    CHECK(p.altitude_m == 0.0);
    CHECK(p.odometer_m == 0.0);
    CHECK(p.attributes == json{{"accuracy_m", 5.0},
                               {"motion", false},
                               {"event", "motionchange"},
                               {"mock", true},
                               {"charging", false},
                               {"activity", "unknown"}});
}

TEST_CASE("OsmAnd: Traccar Client JSON while driving, battery 0.79 and odometer [T]") {
    const Report report = decode(
        post_json(
            R"({"location":{"event":"motionchange","is_moving":false,"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z","odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"})"),
        now);
    CHECK(report.device_id == "8737767034");
    const Position p = single(report);
    CHECK(p.device_time == utc(2021, 7, 21, 8, 6, 34, 444));
    CHECK(p.latitude_deg == doctest::Approx(-6.1148096));
    CHECK(p.longitude_deg == doctest::Approx(106.6837015));
    CHECK(p.speed_kmh == doctest::Approx(67.212));  // 18.67 m/s x 3.6
    CHECK(p.course_deg == 63.0);
    CHECK(p.altitude_m == 35.7);
    CHECK(p.attributes["battery_pct"] == 79.0);
    CHECK(p.attributes["accuracy_m"] == 3.8);
}

TEST_CASE("OsmAnd: JSON batch as the SDK's batchSync sends it, and 'locations' (constructed)") {
    const std::string locations =
        R"([{"timestamp":"2024-05-01T12:00:00Z","coords":{"latitude":10,"longitude":20,"speed":10},"odometer":1500.5},
            {"timestamp":"2024-05-01T12:00:05+02:00","coords":{"latitude":10.001,"longitude":20.001}}])";
    for (const std::string key : {"location", "locations"}) {
        CAPTURE(key);
        const Report report =
            decode(post_json(R"({"device_id":"abc",")" + key + R"(":)" + locations + "}"), now);
        CHECK(report.device_id == "abc");
        REQUIRE(report.positions.size() == 2);
        const Position& first = report.positions[0];
        CHECK(first.device_time == utc(2024, 5, 1, 12, 0, 0));
        CHECK(first.latitude_deg == 10.0);
        CHECK(first.longitude_deg == 20.0);
        CHECK(first.speed_kmh == 36.0);
        CHECK(first.odometer_m == 1500.5);
        const Position& second = report.positions[1];
        CHECK(second.device_time == utc(2024, 5, 1, 10, 0, 5));
        CHECK(second.latitude_deg == 10.001);
        CHECK_FALSE(second.speed_kmh);
        CHECK_FALSE(second.odometer_m);
        CHECK(second.attributes == json::object());
    }
}

TEST_CASE(
    "OsmAnd: JSON device id from the query, content type sniffed, no timestamp "
    "(constructed)") {
    Request request{"POST", "/?id=555", "",
                    R"( {"location":{"coords":{"latitude":1,"longitude":2}}})"};
    const Report report = decode(request, now);
    CHECK(report.device_id == "555");
    const Position p = single(report);
    CHECK(p.device_time == now);
    CHECK(p.attributes == json{{"time_from_server", true}});

    // A numeric device_id is accepted as its decimal text.
    CHECK(decode(post_json(R"({"device_id":48241179,"location":{"coords":{"latitude":1,)"
                           R"("longitude":2}}})"),
                 now)
              .device_id == "48241179");
}

TEST_CASE("OsmAnd: timestamp formats") {
    using detail::parse_timestamp;
    CHECK(parse_timestamp("1377177267") == utc(2013, 8, 22, 13, 14, 27));
    CHECK(parse_timestamp("1377177267000") == utc(2013, 8, 22, 13, 14, 27));
    // Traccar's rule: below 2^31 - 1 is seconds, from there on milliseconds.
    CHECK(parse_timestamp("2147483646") == utc(2038, 1, 19, 3, 14, 6));
    CHECK(parse_timestamp("2147483647") == utc(1970, 1, 25, 20, 31, 23, 647));
    CHECK(parse_timestamp("0") == utc(1970, 1, 1, 0, 0, 0));
    CHECK(parse_timestamp("2024-05-01T12:00:00Z") == utc(2024, 5, 1, 12, 0, 0));
    CHECK(parse_timestamp("2024-05-01T12:00:00.5Z") == utc(2024, 5, 1, 12, 0, 0, 500));
    CHECK(parse_timestamp("2024-05-01T12:00:00.123456789Z") == utc(2024, 5, 1, 12, 0, 0, 123));
    CHECK(parse_timestamp("2024-05-01T12:00:00+03:00") == utc(2024, 5, 1, 9, 0, 0));
    CHECK(parse_timestamp("2024-05-01T12:00:00-0530") == utc(2024, 5, 1, 17, 30, 0));
    CHECK(parse_timestamp("2024-05-01T02:00:00+05") == utc(2024, 4, 30, 21, 0, 0));
    CHECK(parse_timestamp("2024-05-01T12:00:00") == utc(2024, 5, 1, 12, 0, 0));
    CHECK(parse_timestamp("2024-05-01T12:00Z") == utc(2024, 5, 1, 12, 0, 0));
    CHECK(parse_timestamp("2024-05-01 12:00:00") == utc(2024, 5, 1, 12, 0, 0));
    CHECK(parse_timestamp("2024-02-29 23:59:59") == utc(2024, 2, 29, 23, 59, 59));

    CHECK_FALSE(parse_timestamp(""));
    CHECK_FALSE(parse_timestamp("yesterday"));
    CHECK_FALSE(parse_timestamp("-5"));
    CHECK_FALSE(parse_timestamp("1377177267.5"));
    CHECK_FALSE(parse_timestamp("99999999999999999999"));  // overflows 64 bits
    CHECK_FALSE(parse_timestamp("253402300800000"));       // after 9999-12-31
    CHECK_FALSE(parse_timestamp("2023-02-29 12:00:00"));
    CHECK_FALSE(parse_timestamp("2024-13-01T00:00:00Z"));
    CHECK_FALSE(parse_timestamp("2024-05-01T24:00:00Z"));
    CHECK_FALSE(parse_timestamp("2024-05-01T12:60:00Z"));
    CHECK_FALSE(parse_timestamp("2024-05-01T12:00:00+24:00"));
    CHECK_FALSE(parse_timestamp("2024-05-01T12:00:00Zjunk"));
    CHECK_FALSE(parse_timestamp("2024-05-01T12:00:00."));
    CHECK_FALSE(parse_timestamp("2024-5-1T12:00:00Z"));
    CHECK_FALSE(parse_timestamp("01.05.2024 12:00:00"));
}

TEST_CASE("OsmAnd: percent-decoding and form splitting") {
    using detail::parse_form;
    using detail::percent_decode;
    CHECK(percent_decode("a%20b+c%2Bd%3a", 0) == "a b c+d:");
    CHECK(percent_decode("%C3%BC", 0) == "\xC3\xBC");
    CHECK(percent_decode("", 0).empty());

    const auto params = parse_form("a=1&&b&c=x%3Dy=z&=v", true, 100);
    REQUIRE(params.size() == 4);
    CHECK(params[0].name == "a");
    CHECK(params[0].value == "1");
    CHECK(params[0].offset == 100);
    CHECK(params[1].name == "b");
    CHECK(params[1].value.empty());
    CHECK(params[1].offset == 105);
    CHECK(params[2].name == "c");
    CHECK(params[2].value == "x=y=z");
    CHECK(params[3].name.empty());
    CHECK(params[3].value == "v");
    CHECK(parse_form("a=1", false, 100)[0].offset == 0);
    CHECK(parse_form("", false).empty());
}

TEST_CASE("OsmAnd: missing device id") {
    auto error = error_of(get("/?timestamp=1377177267&lat=60.0&lon=30.0"));  // [T]
    REQUIRE(error);
    CHECK(error->protocol() == "osmand");
    CHECK(error->fault() == DecodeFault::bad_value);
    CHECK(error->offset() == 0);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: device identifier is missing: send it as the 'id' or "
          "'deviceid' parameter");

    error = error_of(get("/?id=&lat=60.0&lon=30.0"));
    REQUIRE(error);
    CHECK(std::string(error->what()).find("device identifier is missing") != std::string::npos);

    error = error_of(post_json(R"({"location":{"coords":{"latitude":1,"longitude":2}}})"));
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::bad_value);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: device identifier is missing: the JSON body has no "
          "'device_id'");
}

TEST_CASE("OsmAnd: bad device id") {
    auto error = error_of(get("/?id=abc%0D%0AX-Injected:%201&lat=1&lon=1"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'id' value 'abc??X-Injected: 1' contains control "
          "characters");

    error = error_of(get("/?id=" + std::string(129, '7') + "&lat=1&lon=1"));
    REQUIRE(error);
    CHECK(std::string(error->what()).find("'id' value '7777") != std::string::npos);
    CHECK(std::string(error->what()).find("...' is longer than 128 bytes") != std::string::npos);

    error = error_of(get("/?id=%FF&lat=1&lon=1"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'id' value '?' is not valid UTF-8");
}

TEST_CASE("OsmAnd: latitude and longitude errors name the field and the value") {
    auto error = error_of(get("/?id=1&lat=90.5&lon=30"));
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::bad_value);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'lat' value '90.5' is out of range -90..90");

    error = error_of(get("/?id=1&lat=-91&lon=30"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'lat' value '-91' is out of range -90..90");

    error = error_of(get("/?id=1&lat=10&lon=abc"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'lon' value 'abc' is not a number");

    error = error_of(get("/?id=1&lat=10&lon=180.0001"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'lon' value '180.0001' is out of range -180..180");

    for (const char* value : {"nan", "inf", "1e999", "0x10", "12,5", "1.5.2", " 1"}) {
        CAPTURE(value);
        CHECK(error_of(get(std::string("/?id=1&lat=") + value + "&lon=1")));
    }

    error = error_of(get("/?id=1&lat=10"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'lon' is missing: send 'lat' and 'lon', or "
          "'location=<lat>,<lon>'");

    error = error_of(get("/?id=1&location=60.0"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location' value '60.0' is not '<lat>,<lon>'");

    error = error_of(get("/?id=1&location=60.0,x"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location' longitude 'x' is not a number");

    // In a form body the offset is where the pair starts.
    error =
        error_of(Request{"POST", "/", "application/x-www-form-urlencoded", "id=1&lat=95&lon=1"});
    REQUIRE(error);
    CHECK(error->offset() == 5);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 5: 'lat' value '95' is out of range -90..90");
}

TEST_CASE("OsmAnd: other bad values") {
    auto error = error_of(get("/?id=1&lat=1&lon=1&timestamp=yesterday"));
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::bad_value);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'timestamp' value 'yesterday' is not a time (expected "
          "Unix seconds or milliseconds, ISO 8601 such as 2024-05-01T12:00:00Z, or "
          "'yyyy-MM-dd HH:mm:ss' in UTC)");

    error = error_of(get("/?id=1&lat=1&lon=1&timestamp=2024-02-30+10:00:00"));
    REQUIRE(error);
    CHECK(
        std::string(error->what()).find("'timestamp' value '2024-02-30 10:00:00' is not a time") !=
        std::string::npos);

    error = error_of(get("/?id=1&lat=1&lon=1&speed=fast"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'speed' value 'fast' is not a number");

    error = error_of(get("/?id=1&lat=1&lon=1&valid=maybe"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'valid' value 'maybe' is not a boolean (true, false, 1 "
          "or 0)");

    error = error_of(get("/?id=1&lat=1&lon=1&note=%C3"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'note' value is not valid UTF-8");

    error = error_of(Request{"POST", "/", "", "id=1&lat=1&lon=1&x=%G1"});
    REQUIRE(error);
    CHECK(error->offset() == 19);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 19: malformed percent-encoding '%G1': '%' must be followed "
          "by two hex digits");

    error = error_of(get("/?id=1&lat=1%"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: malformed percent-encoding '%': '%' must be followed by "
          "two hex digits");
}

TEST_CASE("OsmAnd: JSON errors") {
    const std::string truncated = R"({"device_id":"1","location":{"coords":{"latitude":1,)";
    auto error = error_of(post_json(truncated));
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::bad_value);
    CHECK(error->offset() == truncated.size());  // the input ended where more was expected
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 52: malformed JSON body: parse error at line 1, column 53: "
          "syntax error while parsing object key - unexpected end of input; expected string "
          "literal");

    error = error_of(
        post_json(R"({"device_id":"1","location":{"coords":{"latitude":1e999,"longitude":2}}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: malformed JSON body: number overflow parsing '1e999'");

    error = error_of(post_json("[1,2]"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: JSON body must be an object with 'device_id' and "
          "'location', not array");

    error = error_of(post_json(R"({"device_id":"1"})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) == "osmand: bad value at byte 0: JSON body has no 'location'");

    error =
        error_of(post_json(R"({"device_id":"1","location":{"timestamp":"2024-05-01T12:00:00Z"}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location.coords' is missing");

    error = error_of(
        post_json(R"({"device_id":"1","location":{"coords":{"latitude":95,"longitude":1}}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location.coords.latitude' value 95 is out of range "
          "-90..90");

    error = error_of(
        post_json(R"({"device_id":"1","location":{"coords":{"latitude":1,"longitude":"x"}}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location.coords.longitude' must be a number, not string");

    error = error_of(post_json(R"({"device_id":"1","location":{"coords":{"latitude":1}}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location.coords.longitude' is missing");

    error = error_of(post_json(
        R"({"device_id":"1","location":{"timestamp":"15/06/2025","coords":{"latitude":1,"longitude":2}}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location.timestamp' value '15/06/2025' is not a time "
          "(expected ISO 8601 such as 2024-05-01T12:00:00.000Z)");

    error = error_of(post_json(
        R"({"device_id":"1","location":[{"coords":{"latitude":1,"longitude":2}},{"coords":{"latitude":1,"longitude":200}}]})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location[1].coords.longitude' value 200 is out of range "
          "-180..180");

    error = error_of(post_json(R"({"device_id":"1","location":[]})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location' is an empty array");

    error = error_of(post_json(R"({"device_id":"1","location":[1]})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location[0]' must be an object, not number");

    error = error_of(post_json(
        R"({"device_id":"1","location":{"coords":{"latitude":1,"longitude":2},"battery":{"level":"full"}}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'location.battery.level' must be a number, not string");

    error = error_of(post_json(R"({"device_id":true,"location":{}})"));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: 'device_id' must be a string, not boolean");

    error = error_of(post_json(std::string(100, '[') + std::string(100, ']')));
    REQUIRE(error);
    CHECK(std::string(error->what()) ==
          "osmand: bad value at byte 0: malformed JSON body: nested deeper than 32 levels");
}

TEST_CASE("OsmAnd: oversized body and unsupported requests") {
    Request request{"POST", "/", "application/x-www-form-urlencoded",
                    "id=1&lat=1&lon=1&pad=" + std::string(100, 'x')};
    auto error = error_of(request, 64);
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::oversized);
    CHECK(error->offset() == 64);
    CHECK(std::string(error->what()) ==
          "osmand: oversized frame at byte 64: request body of 121 bytes is larger than the "
          "limit of 64 bytes");
    CHECK_NOTHROW(decode(request, now, 121));

    error = error_of(get("/?id=1&lat=1&lon=1&pad=" + std::string(100, 'x')), 64);
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::oversized);

    error = error_of(Request{"DELETE", "/?id=1&lat=1&lon=1", "", ""});
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::unsupported);
    CHECK(std::string(error->what()) ==
          "osmand: unsupported message at byte 0: HTTP method 'DELETE' is not supported; send GET "
          "or POST");

    error = error_of(Request{"POST", "/", "multipart/form-data; boundary=x", "--x--"});
    REQUIRE(error);
    CHECK(error->fault() == DecodeFault::unsupported);
}
