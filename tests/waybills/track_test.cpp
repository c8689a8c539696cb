// The GPS side of reconciliation on made-up tracks whose true distance is known.
#include <doctest/doctest.h>

#include <random>

#include "geo/geodesy.hpp"
#include "waybills/track.hpp"

using namespace fleet;
using namespace fleet::waybills;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;  // some morning, in ms

// Northbound along a meridian: `steps` fixes 10 s apart, 100 m apart (36 km/h), after the
// fix at the starting point. The filter measures with haversine (spherical): within 0.2 % of
// the geodesic distances the track is made of at this latitude.
void drive(std::vector<Fix>& track, geo::LonLat& at, std::int64_t& t, int steps) {
    for (int i = 0; i < steps; ++i) {
        at = geo::destination(at, 0, 100);
        t += 10'000;
        track.push_back(
            {.time_ms = t, .position = at, .speed_kmh = 36, .fuel_l = {}, .valid = true});
    }
}

// Standing with the receiver wandering up to `radius_m` around the place, a fix every 10 s.
void park(std::vector<Fix>& track, const geo::LonLat& at, std::int64_t& t, int fixes,
          double radius_m, std::optional<double> fuel = {}, double fuel_step = 0) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> bearing(0, 360), dist(0, radius_m);
    for (int i = 0; i < fixes; ++i) {
        t += 10'000;
        std::optional<double> level;
        if (fuel) {
            level = *fuel + fuel_step * i;
        }
        track.push_back({.time_ms = t,
                         .position = geo::destination(at, bearing(rng), dist(rng)),
                         .speed_kmh = 0,
                         .fuel_l = level,
                         .valid = true});
    }
}

}  // namespace

TEST_CASE("a drive of 10 km between two parked jitter clouds measures 10 km") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 60, 15);
    const geo::LonLat start = at;
    drive(track, at, t, 100);
    park(track, at, t, 60, 15);
    const auto s = summarise_track(track, {}, t0, t);
    // The true distance is the 100 steps of 100 m; each cloud may add at most a few metres
    // where the vehicle leaves or reaches it.
    CHECK(s.distance_m == doctest::Approx(geo::haversine_m(start, at)).epsilon(0.01));
    CHECK(s.gaps.empty());
    CHECK(s.jumps == 0);
    CHECK(s.used == s.fixes);
}

TEST_CASE("summing raw steps of a parked cloud would invent kilometres; the filter does not") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 360, 20);  // an hour standing
    double raw_m = 0;
    for (std::size_t i = 1; i < track.size(); ++i) {
        raw_m += geo::haversine_m(track[i - 1].position, track[i].position);
    }
    const auto s = summarise_track(track, {}, t0, t);
    CHECK(raw_m > 3000);
    CHECK(s.distance_m == 0);
}

TEST_CASE("(0,0), invalid fixes and an impossible jump are dropped and counted") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    drive(track, at, t, 10);
    track.push_back(
        {.time_ms = t + 5'000, .position = {0, 0}, .speed_kmh = 0, .fuel_l = {}, .valid = true});
    track.push_back({.time_ms = t + 6'000,
                     .position = geo::destination(at, 90, 5'000),
                     .speed_kmh = 36,
                     .fuel_l = {},
                     .valid = true});
    track.push_back(
        {.time_ms = t + 7'000, .position = at, .speed_kmh = 0, .fuel_l = {}, .valid = false});
    t += 7'000;
    drive(track, at, t, 10);
    const auto s = summarise_track(track, {}, t0, t);
    CHECK(s.invalid == 2);
    CHECK(s.jumps == 1);
    CHECK(s.distance_m == doctest::Approx(1900).epsilon(0.002));  // 9 + 10 steps of 100 m
}

TEST_CASE("a gap is reported with its straight-line distance and not bridged") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    drive(track, at, t, 50);
    const geo::LonLat before = at;
    const std::int64_t gap_from = t;
    at = geo::destination(at, 0, 6'000);  // 10 min without data, 6 km further
    t += 600'000;
    track.push_back({.time_ms = t, .position = at, .speed_kmh = 36, .fuel_l = {}, .valid = true});
    const geo::LonLat after = at;
    drive(track, at, t, 50);
    const auto s = summarise_track(track, {}, t0, t);
    CHECK(s.distance_m == doctest::Approx(9'900).epsilon(0.002));  // 49 + 50 steps, not the 6 km
    REQUIRE(s.gaps.size() == 1);
    CHECK(s.gaps[0].from_ms == gap_from);
    CHECK(s.gaps[0].to_ms == gap_from + 600'000);
    CHECK(s.gaps[0].straight_m == doctest::Approx(6'000).epsilon(0.002));
    CHECK(s.gaps[0].straight_m == doctest::Approx(geo::haversine_m(before, after)));
}

TEST_CASE("the period's edges without data are gaps too") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0 + 900'000;  // first fix 15 min after departure
    drive(track, at, t, 10);
    const auto s = summarise_track(track, {}, t0, t + 900'000);
    REQUIRE(s.gaps.size() == 2);
    CHECK(s.gaps[0].from_ms == t0);
    CHECK(s.gaps[1].to_ms == t + 900'000);
    CHECK(summarise_track({}, {}, t0, t0 + 3'600'000).gaps.size() == 1);
}

TEST_CASE("a 40 L fill while standing is seen; sloshing in motion and small changes are not") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 6, 5, 20.0, 0);  // 1 min at 20 L
    park(track, at, t, 8, 5, 25.0, 5);  // filling: 25 ... 60 L
    park(track, at, t, 6, 5, 60.0, 0);  // settled at 60 L
    // Driving with the level swinging ±6 L: no event.
    for (int i = 0; i < 30; ++i) {
        at = geo::destination(at, 0, 100);
        t += 10'000;
        track.push_back({.time_ms = t,
                         .position = at,
                         .speed_kmh = 36,
                         .fuel_l = 58.0 + (i % 2 == 0 ? 6.0 : -6.0),
                         .valid = true});
    }
    park(track, at, t, 12, 5, 57.0, -0.2);  // a stop losing 2.2 L: under the minimum
    const auto s = summarise_track(track, {}, t0, t);
    REQUIRE(s.fuel_events.size() == 1);
    const auto& fill = s.fuel_events[0];
    CHECK(fill.kind == FuelEvent::Kind::fill);
    CHECK(fill.before_l == doctest::Approx(20));
    CHECK(fill.after_l == doctest::Approx(60));
    CHECK(fill.volume_l() == doctest::Approx(40));
    CHECK(fill.from_ms == t0 + 10'000);
}

TEST_CASE("a drain while standing is seen") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 6, 5, 70.0, 0);
    park(track, at, t, 6, 5, 65.0, -5);
    park(track, at, t, 6, 5, 40.0, 0);
    const auto s = summarise_track(track, {}, t0, t);
    REQUIRE(s.fuel_events.size() == 1);
    CHECK(s.fuel_events[0].kind == FuelEvent::Kind::drain);
    CHECK(s.fuel_events[0].volume_l() == doctest::Approx(30));
}
