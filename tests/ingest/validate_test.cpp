#include <doctest/doctest.h>

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

TEST_CASE("a COPY line escapes text and writes nulls, EWKB and UTC time") {
    StoredPosition sp;
    sp.vehicle_id = 42;
    sp.position = fix(Millis(std::chrono::milliseconds(1'700'000'000'123)), 55.75, 37.62);
    sp.position.speed_kmh = 12.5;
    sp.position.ignition = true;
    sp.position.attributes["note"] = "tab\there\\";
    std::string line;
    append_copy_line(line, sp);
    CHECK(line ==
          "42\t2023-11-14 22:13:20.123+00\t0101000020E6100000"
          "8FC2F5285CCF42400000000000E04B40\t12.5\t\\N\t\\N\t8\tt\t\\N\t\\N\tt\t"
          "{\"note\":\"tab\\\\there\\\\\\\\\"}\n");
}
