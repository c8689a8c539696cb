#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "ingest/bytes.hpp"
#include "ingest/detail/copy_binary.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/validate.hpp"
#include "ingest/writer.hpp"

using namespace fleet::ingest;
using namespace std::chrono_literals;

namespace {
const Millis now{std::chrono::milliseconds(1'764'000'000'000)};

Position fix(Millis t, double lat, double lon, int satellites = 8) {
    Position p;
    p.device_time = t;
    p.latitude_deg = lat;
    p.longitude_deg = lon;
    p.satellites = satellites;
    return p;
}
}  // namespace

TEST_CASE("coordinates out of range and times too far ahead are rejected; the rest is stored") {
    Validator v(ValidationConfig{});
    auto bad_lat = fix(now, 91, 30);
    CHECK(v.check(1, bad_lat, now).rejected == Rejection::bad_coordinates);
    auto nan = fix(now, std::nan(""), 30);
    CHECK(v.check(1, nan, now).rejected == Rejection::bad_coordinates);
    auto future = fix(now + 301s, 60, 30);
    CHECK(v.check(1, future, now).rejected == Rejection::future_time);
    auto near_future = fix(now + 299s, 60, 30);
    CHECK_FALSE(v.check(1, near_future, now).rejected);
}

TEST_CASE("(0,0), no satellites and impossible jumps are stored flagged invalid") {
    Validator v(ValidationConfig{});
    auto zero = fix(now, 0, 0);
    auto verdict = v.check(1, zero, now);
    CHECK_FALSE(verdict.rejected);
    CHECK(verdict.flagged);
    CHECK_FALSE(zero.valid);
    CHECK(zero.attributes["invalid"] == "null_island");

    auto no_sats = fix(now, 60, 30, 0);
    CHECK(v.check(2, no_sats, now).flagged);
    CHECK(no_sats.attributes["invalid"] == "no_satellites");

    auto a = fix(now, 60.0, 30.0);
    CHECK_FALSE(v.check(3, a, now).flagged);
    // 1.1 km in 10 s = 400 km/h.
    auto jump = fix(now + 10s, 60.01, 30.0);
    CHECK(v.check(3, jump, now + 10s).flagged);
    CHECK(jump.attributes["invalid"] == "implausible_speed");
    // Back near the anchor at a plausible speed: valid again.
    auto back = fix(now + 20s, 60.0005, 30.0);
    CHECK_FALSE(v.check(3, back, now + 20s).flagged);
}

TEST_CASE("two agreeing outliers re-anchor the track instead of flagging for ever") {
    Validator v(ValidationConfig{});
    auto glitch = fix(now, 10.0, 10.0);  // the first fix ever was wrong
    v.check(4, glitch, now);
    auto real1 = fix(now + 10s, 60.0, 30.0);
    CHECK(v.check(4, real1, now + 10s).flagged);
    auto real2 = fix(now + 20s, 60.0002, 30.0);
    CHECK_FALSE(v.check(4, real2, now + 20s).flagged);
    auto real3 = fix(now + 30s, 60.0004, 30.0);
    CHECK_FALSE(v.check(4, real3, now + 30s).flagged);
}

TEST_CASE("a device time before 2000-01-01 UTC is refused as past_time") {
    Validator v(ValidationConfig{});
    auto at_2000 = fix(earliest_device_time, 60, 30);
    CHECK_FALSE(v.check(1, at_2000, now).rejected);
    auto just_before = fix(earliest_device_time - std::chrono::milliseconds(1), 60, 30);
    CHECK(v.check(1, just_before, now).rejected == Rejection::past_time);
    auto epoch = fix(Millis{}, 60, 30);  // a tracker without a clock
    CHECK(v.check(1, epoch, now).rejected == Rejection::past_time);
    auto year_300000 = fix(Millis(std::chrono::milliseconds(9'404'000'000'000'000)), 60, 30);
    CHECK(v.check(1, year_300000, now).rejected == Rejection::future_time);
}

TEST_CASE("real columns must be finite and within float4, satellites within smallint") {
    Validator v(ValidationConfig{});
    const double float_max = std::numeric_limits<float>::max();
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (auto field :
         {&Position::speed_kmh, &Position::course_deg, &Position::altitude_m, &Position::fuel_l}) {
        for (double bad : {1e39, -1e39, inf, -inf, nan, float_max * 1.0001}) {
            CAPTURE(bad);
            auto p = fix(now, 60, 30);
            p.*field = bad;
            CHECK(v.check(9, p, now).rejected == Rejection::bad_number);
        }
        auto edge = fix(now, 60, 30);
        edge.*field = -float_max;
        CHECK_FALSE(v.check(9, edge, now).rejected);
    }
    for (int bad : {70000, 32768, -32769}) {
        CAPTURE(bad);
        auto p = fix(now, 60, 30, bad);
        CHECK(v.check(9, p, now).rejected == Rejection::bad_number);
    }
    auto most = fix(now, 60, 30, 32767);
    CHECK_FALSE(v.check(9, most, now).rejected);
    for (double bad : {inf, nan}) {
        auto p = fix(now, 60, 30);
        p.odometer_m = bad;
        CHECK(v.check(9, p, now).rejected == Rejection::bad_number);
    }
    auto far = fix(now, 60, 30);
    far.odometer_m = 1e300;  // double precision holds it
    CHECK_FALSE(v.check(9, far, now).rejected);
}

TEST_CASE("attributes must be an object without NUL characters at any depth, not too deep") {
    Validator v(ValidationConfig{});
    const std::string nul("a\0b", 3);
    auto in_string = fix(now, 60, 30);
    in_string.attributes["note"] = nul;
    CHECK(v.check(1, in_string, now).rejected == Rejection::bad_attributes);
    auto in_key = fix(now, 60, 30);
    in_key.attributes[nul] = 1;
    CHECK(v.check(1, in_key, now).rejected == Rejection::bad_attributes);
    auto deep = fix(now, 60, 30);
    deep.attributes["io"] = {{"list", nlohmann::json::array({1, {{"k", nul}}})}};
    CHECK(v.check(1, deep, now).rejected == Rejection::bad_attributes);
    auto deep_key = fix(now, 60, 30);
    deep_key.attributes["io"] = nlohmann::json::array({nlohmann::json{{nul, true}}});
    CHECK(v.check(1, deep_key, now).rejected == Rejection::bad_attributes);
    auto not_object = fix(now, 60, 30);
    not_object.attributes = nlohmann::json::array({1, 2});
    CHECK(v.check(1, not_object, now).rejected == Rejection::bad_attributes);

    // Nesting: the attributes object itself and 31 levels below it pass; one more does not.
    auto nested = [](int levels) {
        nlohmann::json j = 1;
        for (int i = 0; i < levels; ++i) {
            j = nlohmann::json{{"n", j}};
        }
        return j;
    };
    auto deep_ok = fix(now, 60, 30);
    deep_ok.attributes = nested(32);
    CHECK_FALSE(v.check(1, deep_ok, now).rejected);
    auto too_deep = fix(now, 60, 30);
    too_deep.attributes = nested(33);
    CHECK(v.check(1, too_deep, now).rejected == Rejection::bad_attributes);

    auto fine = fix(now, 60, 30);
    fine.attributes = {{"text", "Привет \t \\ \""}, {"list", {1, 2.5, nullptr, false}}};
    CHECK_FALSE(v.check(1, fine, now).rejected);
}

TEST_CASE("a device status is storable or refused by the same rules") {
    Validator v(ValidationConfig{});
    DeviceStatus ok{now, {{"gsm_level", 4}, {"charging", true}}};
    CHECK_FALSE(v.check_status(ok, now));
    DeviceStatus old{earliest_device_time - std::chrono::milliseconds(1), {{"gsm_level", 4}}};
    CHECK(v.check_status(old, now) == Rejection::past_time);
    DeviceStatus ahead{now + 301s, {}};
    CHECK(v.check_status(ahead, now) == Rejection::future_time);
    DeviceStatus nul{now, {{"text", std::string("\0", 1)}}};
    CHECK(v.check_status(nul, now) == Rejection::bad_attributes);
    DeviceStatus list{now, nlohmann::json::array()};
    CHECK(v.check_status(list, now) == Rejection::bad_attributes);
}

TEST_CASE("the pipeline counts each refusal under its own reason") {
    Pipeline pipeline{ValidationConfig{}};
    ProtocolCounters counters;
    std::vector<Position> in;
    in.push_back(fix(now, 60, 30));
    in.push_back(fix(earliest_device_time - 1s, 60, 30));
    in.back().device_time = earliest_device_time - std::chrono::milliseconds(1000);
    in.push_back(fix(now + 1s, 60, 30));
    in.back().speed_kmh = 1e39;
    in.push_back(fix(now + 2s, 60, 30, 70000));
    in.push_back(fix(now + 3s, 60, 30));
    in.back().attributes["k"] = std::string("\0", 1);
    const auto out = pipeline.prepare(counters, 7, std::move(in), now + 10s);
    CHECK(out.size() == 1);
    CHECK(counters.positions_received == 5);
    CHECK(counters.rejected[static_cast<std::size_t>(Rejection::past_time)] == 1);
    CHECK(counters.rejected[static_cast<std::size_t>(Rejection::bad_number)] == 2);
    CHECK(counters.rejected[static_cast<std::size_t>(Rejection::bad_attributes)] == 1);
    CHECK(std::string(to_string(Rejection::bad_number)) == "bad_number");

    const auto status = pipeline.prepare_status(counters, DeviceStatus{Millis{}, {}}, now);
    CHECK_FALSE(status);
    CHECK(counters.rejected[static_cast<std::size_t>(Rejection::past_time)] == 2);
}

namespace {
std::string hex(std::string_view bytes) {
    return to_hex(ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}
}  // namespace

TEST_CASE("binary COPY: a row's fields, NULLs, EWKB and microseconds since 2000") {
    StoredPosition sp;
    sp.vehicle_id = 42;
    sp.position = fix(Millis(std::chrono::milliseconds(1'700'000'000'123)), 55.75, 37.62);
    sp.position.speed_kmh = 12.5;
    sp.position.ignition = true;
    sp.position.attributes["note"] = "tab\there\\";
    std::string out;
    REQUIRE_FALSE(detail::append_position_fields(out, sp));
    const std::string attributes = "{\"note\":\"tab\\there\\\\\"}";
    const std::string fields[] = {
        "00000008000000000000002a",          // vehicle_id: int8 42
        "000000080002ad22dce84078",          // 2023-11-14 22:13:20.123: us since 2000
        "00000019",                          // geom: 25 bytes of EWKB,
        "0101000020e6100000",                //   little-endian point with SRID 4326
        "8fc2f5285ccf42400000000000e04b40",  //   37.62, 55.75
        "0000000441480000",                  // speed_kmh: float4 12.5
        "ffffffff",                          // course_deg: NULL
        "ffffffff",                          // altitude_m: NULL
        "000000020008",                      // satellites: int2 8
        "0000000101",                        // valid: true
        "ffffffff",                          // odometer_m: NULL
        "ffffffff",                          // fuel_l: NULL
        "0000000101",                        // ignition: true
        "0000001701" + hex(attributes),      // attributes: jsonb version 1, the text
    };
    std::string expected;
    for (const auto& f : fields) {
        expected += f;
    }
    CHECK(hex(out) == expected);
    CHECK(attributes.size() + 1 == 0x17);

    std::string copy;
    detail::append_copy_header(copy);
    detail::append_copy_trailer(copy);
    CHECK(hex(copy) ==
          "5047434f50590aff0d0a00"
          "00000000"
          "00000000"
          "ffff");
}

TEST_CASE("binary COPY: values without a binary form in their column are refused, out unchanged") {
    auto refused = [](auto change) {
        StoredPosition sp;
        sp.vehicle_id = 1;
        sp.position = fix(now, 60, 30);
        change(sp.position);
        std::string out = "kept";
        auto why = detail::append_position_fields(out, sp);
        CHECK(out == "kept");
        return why.value_or(detail::Unencodable{"", ""});
    };
    const auto speed = refused([](Position& p) { p.speed_kmh = 1e39; });
    CHECK(speed.sqlstate == "22003");
    CHECK(speed.message == "speed_kmh 1e+39 is out of range for type real");
    const auto fuel = refused([](Position& p) { p.fuel_l = -1e300; });
    CHECK(fuel.message == "fuel_l -1e+300 is out of range for type real");
    const auto sats = refused([](Position& p) { p.satellites = 70000; });
    CHECK(sats.sqlstate == "22003");
    CHECK(sats.message == "satellites 70000 is out of range for type smallint");
    const auto time = refused([](Position& p) {
        p.device_time = Millis(std::chrono::milliseconds(9'404'000'000'000'000));
    });
    CHECK(time.sqlstate == "22008");
    CHECK(time.message.find("device_time +299970-") != std::string::npos);
    const auto list = refused([](Position& p) { p.attributes = nlohmann::json::array(); });
    CHECK(list.sqlstate == "22023");

    // Infinity and NaN have a float4 form (PostgreSQL takes them as text too); so does a time
    // PostgreSQL refuses but whose microseconds fit: the server judges those.
    StoredPosition sp;
    sp.position = fix(Millis(std::chrono::milliseconds(-220'000'000'000'000)), 60, 30);
    sp.position.speed_kmh = std::numeric_limits<double>::infinity();
    sp.position.course_deg = std::numeric_limits<double>::quiet_NaN();
    std::string out;
    CHECK_FALSE(detail::append_position_fields(out, sp));
}

TEST_CASE("storable text and JSON: NUL written as \\u0000, invalid UTF-8 replaced") {
    CHECK(detail::storable_text(std::string("a\0b", 3)) == "a\\u0000b");
    CHECK(detail::storable_text("ok Привет") == "ok Привет");
    CHECK(detail::storable_text("\xff\xc3(") == "\xEF\xBF\xBD\xEF\xBF\xBD(");
    CHECK(detail::storable_text("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    const nlohmann::json j = {{std::string("k\0", 2), {1, std::string("\0", 1)}}};
    CHECK(detail::storable_json(j).dump() == "{\"k\\\\u0000\":[1,\"\\\\u0000\"]}");
    CHECK(detail::iso_utc(Millis(std::chrono::milliseconds(1'700'000'000'123))) ==
          "2023-11-14T22:13:20.123Z");
    CHECK(detail::iso_utc(Millis(std::chrono::milliseconds(-1))) == "1969-12-31T23:59:59.999Z");
}
