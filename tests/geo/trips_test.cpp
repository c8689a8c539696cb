#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "geo/trips.hpp"

using namespace fleet;
using geo::TrackFix;

namespace {

constexpr std::int64_t t0 = 1'795'753'800'000;  // 2026-11-27T04:30:00Z

// A vehicle's day as a tracker reports it: a fix every 10 s while it reports at all, driving
// east along a street of Moscow or standing.
class Day {
  public:
    // Standing for `s` seconds: speed 0 where it is.
    Day& stand(double s, std::optional<bool> ignition = std::nullopt) {
        for (double done = 0; done < s; done += every_s) {
            add(0, ignition);
        }
        return *this;
    }
    // Driving for `s` seconds at `kmh`.
    Day& drive(double s, double kmh) {
        for (double done = 0; done < s; done += every_s) {
            lon_ += kmh / 3.6 * every_s / (111'320.0 * std::cos(lat_ * M_PI / 180));
            add(kmh, true);
        }
        return *this;
    }
    // No fix for `s` seconds (the tracker asleep or out of coverage).
    Day& silence(double s) {
        t_ms_ += static_cast<std::int64_t>(s * 1000);
        return *this;
    }
    const std::vector<TrackFix>& fixes() const { return fixes_; }
    geo::TripsAndStops trips(const geo::TripRules& rules = {}) const {
        return geo::find_trips_and_stops(fixes_, rules);
    }

  private:
    void add(double kmh, std::optional<bool> ignition) {
        t_ms_ += every_s * 1000;
        fixes_.push_back(
            {.time_ms = t_ms_, .position = {lon_, lat_}, .speed_kmh = kmh, .ignition = ignition});
    }
    static constexpr int every_s = 10;
    std::int64_t t_ms_ = t0;
    double lon_ = 37.6, lat_ = 55.75;
    std::vector<TrackFix> fixes_;
};

// Seconds after t0.
double at_s(const TrackFix& f) {
    return static_cast<double>(f.time_ms - t0) / 1000.0;
}

}  // namespace

TEST_CASE("parked, ten minutes across town at 36 km/h, parked again: one trip between two stops") {
    const auto r = Day().stand(600).drive(600, 36).stand(600).trips();
    REQUIRE(r.trips.size() == 1);
    const auto& trip = r.trips[0];
    CHECK(at_s(trip.start) == 610);  // the first fix in motion
    CHECK(at_s(trip.end) == 1210);   // the first fix standing again
    CHECK(trip.duration_s == 600);
    CHECK(trip.distance_m == doctest::Approx(5900).epsilon(0.01));
    CHECK(trip.max_speed_kmh == 36);
    CHECK(trip.average_speed_kmh == doctest::Approx(35.4).epsilon(0.01));
    REQUIRE(r.stops.size() == 2);
    CHECK(at_s(r.stops[0].start) == 10);
    CHECK(at_s(r.stops[0].end) == 610);
    CHECK(r.stops[0].duration_s == 600);
    CHECK(at_s(r.stops[1].start) == 1210);
    CHECK(at_s(r.stops[1].end) == 1800);
    CHECK(r.stops[1].start.position.lon_deg == trip.end.position.lon_deg);
}

TEST_CASE("moving off a parking bay, two minutes and 300 m, is no trip: the stop goes on") {
    const auto r = Day().stand(600).drive(120, 9).stand(600).trips();
    CHECK(r.trips.empty());
    REQUIRE(r.stops.size() == 1);
    CHECK(at_s(r.stops[0].start) == 10);
    CHECK(at_s(r.stops[0].end) == 1320);
}

TEST_CASE("one minute on the motorway is short but covers 1 km: a trip by its distance") {
    const auto r = Day().stand(600).drive(60, 60).stand(600).trips();
    REQUIRE(r.trips.size() == 1);
    CHECK(r.trips[0].duration_s == 60);
    CHECK(r.trips[0].distance_m == doctest::Approx(833).epsilon(0.01));
    CHECK(r.stops.size() == 2);
}

TEST_CASE("a red light of two minutes does not split the trip") {
    const auto r = Day().drive(300, 40).stand(120).drive(300, 40).trips();
    REQUIRE(r.trips.size() == 1);
    CHECK(at_s(r.trips[0].start) == 10);  // moving from the period's first fix
    CHECK(at_s(r.trips[0].end) == 720);   // ... to its last
    CHECK(r.stops.empty());
}

TEST_CASE("a lunch break of six minutes splits the drive into two trips with a stop between") {
    const auto r = Day().drive(600, 40).stand(360).drive(600, 40).trips();
    REQUIRE(r.trips.size() == 2);
    CHECK(at_s(r.trips[0].end) == 610);
    REQUIRE(r.stops.size() == 1);
    CHECK(at_s(r.stops[0].start) == 610);
    CHECK(at_s(r.stops[0].end) == 970);
    CHECK(at_s(r.trips[1].start) == 970);
    CHECK(at_s(r.trips[1].end) == 1560);  // the last fix of the day
}

TEST_CASE("the tracker goes silent for two hours mid-drive: the trip ends before the silence") {
    const auto r = Day().drive(600, 40).silence(7200).drive(600, 40).trips();
    REQUIRE(r.trips.size() == 2);
    CHECK(at_s(r.trips[0].end) == 600);  // the last fix before the silence
    REQUIRE(r.stops.size() == 1);
    CHECK(at_s(r.stops[0].start) == 600);
    CHECK(at_s(r.stops[0].end) == 7810);  // the trip after it starts at its first fix
    CHECK(at_s(r.trips[1].start) == 7810);
    // The distance across the silence is not driven by any trip.
    CHECK(r.trips[1].distance_m == doctest::Approx(6555).epsilon(0.01));
}

TEST_CASE("a silence shorter than the no-data limit does not end a trip") {
    const auto r = Day().drive(600, 40).silence(1800).drive(600, 40).trips();
    CHECK(r.trips.size() == 1);
}

TEST_CASE("ignition off ends a trip at once when the ignition is used, else after five minutes") {
    Day day;
    day.drive(600, 40).stand(120, false).drive(600, 40);
    CHECK(day.trips().trips.size() == 1);
    geo::TripRules rules;
    rules.use_ignition = true;
    const auto r = day.trips(rules);
    REQUIRE(r.trips.size() == 2);
    CHECK(at_s(r.trips[0].end) == 610);  // the first fix with the ignition off
    REQUIRE(r.stops.size() == 1);
    CHECK(r.stops[0].duration_s == 120);
}

TEST_CASE("invalid fixes are left out, and no fixes give no trips and no stops") {
    Day day;
    day.stand(600).drive(600, 36).stand(600);
    auto fixes = day.fixes();
    for (auto& f : fixes) {
        if (at_s(f) > 700 && at_s(f) < 1000) {
            f.valid = false;
            f.speed_kmh = 0;  // what a receiver without a fix might say
        }
    }
    const auto r = geo::find_trips_and_stops(fixes, {});
    REQUIRE(r.trips.size() == 1);
    CHECK(at_s(r.trips[0].end) == 1210);
    CHECK(geo::find_trips_and_stops({}, {}).trips.empty());
    CHECK(geo::find_trips_and_stops({}, {}).stops.empty());
}

TEST_CASE("Traccar's defaults: 0.01 knots, 500 m, 300 s, 300 s, 3600 s, ignition not used") {
    const geo::TripRules rules;
    CHECK(rules.speed_threshold_kmh == doctest::Approx(0.01852));
    CHECK(rules.min_trip_distance_m == 500);
    CHECK(rules.min_trip_duration_s == 300);
    CHECK(rules.min_parking_duration_s == 300);
    CHECK(rules.min_no_data_duration_s == 3600);
    CHECK_FALSE(rules.use_ignition);
}
