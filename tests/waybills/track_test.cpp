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
          double radius_m, std::optional<double> fuel = {}, double fuel_step = 0,
          std::optional<double> speed_kmh = 0) {
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
                         .speed_kmh = speed_kmh,
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

TEST_CASE("a drain while the device sleeps where the vehicle stands is seen across the gap") {
    std::vector<Fix> track;
    const geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 6, 5, 70.0, 0);  // parked at 70 L, then asleep for two hours
    const std::int64_t asleep_ms = t;
    t += 7'200'000;
    park(track, at, t, 6, 5, 30.0, 0);  // wakes up at 30 L, where it stood
    const auto s = summarise_track(track, {}, t0, t);
    REQUIRE(s.gaps.size() == 1);  // the gap is still reported
    CHECK(s.gaps[0].from_ms == asleep_ms);
    CHECK(s.gaps[0].straight_m < 10);
    CHECK(s.distance_m == 0);
    REQUIRE(s.fuel_events.size() == 1);
    CHECK(s.fuel_events[0].kind == FuelEvent::Kind::drain);
    CHECK(s.fuel_events[0].volume_l() == doctest::Approx(40));
    CHECK(s.fuel_events[0].from_ms == t0 + 10'000);
    CHECK(s.fuel_events[0].to_ms == t);

    SUBCASE("but not when it wakes up elsewhere: the levels belong to different stops") {
        std::vector<Fix> moved;
        std::int64_t t2 = t0;
        park(moved, at, t2, 6, 5, 70.0, 0);
        t2 += 7'200'000;
        park(moved, geo::destination(at, 90, 2'000), t2, 6, 5, 30.0, 0);
        const auto m = summarise_track(moved, {}, t0, t2);
        CHECK(m.gaps.size() == 1);
        CHECK(m.fuel_events.empty());
        CHECK(m.distance_m == 0);
    }
}

TEST_CASE("without reported speeds, a drive is not a stop and its consumption no drain") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 60, 15, 60.0, 0, std::nullopt);
    const geo::LonLat start = at;
    for (int i = 0; i < 100; ++i) {  // 10 km burning 0.1 L each 100 m
        at = geo::destination(at, 0, 100);
        t += 10'000;
        track.push_back({.time_ms = t,
                         .position = at,
                         .speed_kmh = std::nullopt,
                         .fuel_l = 60.0 - 0.1 * (i + 1),
                         .valid = true});
    }
    park(track, at, t, 60, 15, 50.0, 0, std::nullopt);
    const auto s = summarise_track(track, {}, t0, t);
    CHECK(s.fuel_events.empty());
    CHECK(s.distance_m == doctest::Approx(geo::haversine_m(start, at)).epsilon(0.01));
    CHECK(s.used == s.fixes);

    SUBCASE("nor when the device reports 0 all the way: a stop stays within jitter_m") {
        for (auto& f : track) {
            f.speed_kmh = 0;
        }
        const auto zero = summarise_track(track, {}, t0, t);
        CHECK(zero.fuel_events.empty());
        CHECK(zero.distance_m == doctest::Approx(geo::haversine_m(start, at)).epsilon(0.01));
    }
    SUBCASE("and a parked cloud without speeds still measures nothing") {
        std::vector<Fix> cloud;
        std::int64_t tc = t0;
        park(cloud, start, tc, 360, 20, {}, 0, std::nullopt);
        CHECK(summarise_track(cloud, {}, t0, tc).distance_m == 0);
    }
    SUBCASE("while a fill at a stop without speeds is seen, from where the vehicle stopped") {
        std::vector<Fix> fill;
        geo::LonLat p = start;
        std::int64_t tf = t0;
        drive(fill, p, tf, 10);
        for (auto& f : fill) {
            f.speed_kmh.reset();
        }
        // The last step of the drive ends where the vehicle parks: that fix has moved 100 m
        // since the one before, so it is not part of the stop.
        const std::int64_t stopped_ms = tf + 10'000;
        park(fill, p, tf, 6, 5, 20.0, 0, std::nullopt);
        park(fill, p, tf, 6, 5, 60.0, 0, std::nullopt);
        const auto f = summarise_track(fill, {}, t0, tf);
        REQUIRE(f.fuel_events.size() == 1);
        CHECK(f.fuel_events[0].kind == FuelEvent::Kind::fill);
        CHECK(f.fuel_events[0].volume_l() == doctest::Approx(40));
        CHECK(f.fuel_events[0].from_ms == stopped_ms);
    }
}

TEST_CASE("a cold-start outlier as the first fix is dropped, not taken as the anchor") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    track.push_back({.time_ms = t,
                     .position = geo::destination(at, 90, 5'000),
                     .speed_kmh = 0,
                     .fuel_l = {},
                     .valid = true});
    t += 10'000;
    track.push_back({.time_ms = t, .position = at, .speed_kmh = 36, .fuel_l = {}, .valid = true});
    drive(track, at, t, 49);  // 50 good fixes, 49 steps of 100 m
    const auto s = summarise_track(track, {}, t0, t);
    CHECK(s.distance_m == doctest::Approx(4'900).epsilon(0.002));
    CHECK(s.jumps == 1);
    CHECK(s.used == 50);
    CHECK(s.gaps.empty());
    CHECK(s.fixes == s.used + s.invalid + s.jumps);
}

TEST_CASE("an outlier waking up from a parked gap does not hide the drain while asleep") {
    std::vector<Fix> track;
    const geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    park(track, at, t, 6, 5, 70.0, 0);
    const std::int64_t asleep_ms = t;
    t += 7'200'000;
    track.push_back({.time_ms = t,
                     .position = geo::destination(at, 45, 3'000),
                     .speed_kmh = 0,
                     .fuel_l = 30.0,
                     .valid = true});
    const std::int64_t outlier_ms = t;
    park(track, at, t, 6, 5, 30.0, 0);
    const auto s = summarise_track(track, {}, t0, t);
    CHECK(s.jumps == 1);
    CHECK(s.distance_m == 0);
    REQUIRE(s.gaps.size() == 1);
    CHECK(s.gaps[0].from_ms == asleep_ms);
    CHECK(s.gaps[0].to_ms == outlier_ms + 10'000);  // to the first good fix after the gap
    CHECK(s.gaps[0].straight_m < 10);
    REQUIRE(s.fuel_events.size() == 1);
    CHECK(s.fuel_events[0].kind == FuelEvent::Kind::drain);
    CHECK(s.fuel_events[0].volume_l() == doctest::Approx(40));
}

TEST_CASE("fixes that agree among themselves somewhere else relocate the track, as a gap") {
    std::vector<Fix> track;
    geo::LonLat at{37.6, 55.7};
    std::int64_t t = t0;
    drive(track, at, t, 20);
    const geo::LonLat before = at;
    const std::int64_t last_good_ms = t;
    at = geo::destination(at, 90, 5'000);  // from here on the vehicle is 5 km east
    t += 10'000;
    track.push_back({.time_ms = t, .position = at, .speed_kmh = 36, .fuel_l = {}, .valid = true});
    const geo::LonLat after = at;
    drive(track, at, t, 29);
    const auto s = summarise_track(track, {}, t0, t);
    // 19 steps before, 29 after: the 5 km move is not counted.
    CHECK(s.distance_m == doctest::Approx(4'800).epsilon(0.002));
    CHECK(s.jumps == 0);
    CHECK(s.used == s.fixes);
    REQUIRE(s.gaps.size() == 1);
    CHECK(s.gaps[0].from_ms == last_good_ms);
    CHECK(s.gaps[0].to_ms == last_good_ms + 10'000);
    CHECK(s.gaps[0].straight_m == doctest::Approx(geo::haversine_m(before, after)));

    SUBCASE("while fewer than relocate_fixes of them are dropped as jumps") {
        std::vector<Fix> pair;
        geo::LonLat p{37.6, 55.7};
        std::int64_t tp = t0;
        drive(pair, p, tp, 10);
        for (int i = 1; i <= 2; ++i) {
            pair.push_back({.time_ms = tp + i * 1'000,
                            .position = geo::destination(p, 90, 5'000 + 10.0 * i),
                            .speed_kmh = 36,
                            .fuel_l = {},
                            .valid = true});
        }
        drive(pair, p, tp, 10);
        const auto q = summarise_track(pair, {}, t0, tp);
        CHECK(q.jumps == 2);
        CHECK(q.gaps.empty());
        CHECK(q.distance_m == doctest::Approx(1'900).epsilon(0.002));  // 9 + 10 steps
    }
}
