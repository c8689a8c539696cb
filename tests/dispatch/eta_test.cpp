// Scenarios for arrival-time prediction: a straight route with a stop every kilometre, a
// timetable, a bus reporting every 10 s, and what it should expect at the stops ahead.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <vector>

#include "dispatch/eta.hpp"
#include "geo/error.hpp"

using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;

namespace {

const Millis eight = Millis(std::chrono::sys_days(std::chrono::year_month_day(
                         std::chrono::year(2026), std::chrono::month(11), std::chrono::day(27)))) +
                     8h;

double seconds(Millis from, Millis to) {
    return std::chrono::duration<double>(to - from).count();
}

// Route 7 km: stops S0..S7 a kilometre apart; the trip leaves S0 at 08:00 and is timetabled at
// 2 minutes a kilometre, arrival == departure everywhere (the timetable hides its dwells in the
// running times, as most do). S0 and `timepoint` are timepoints, the others not.
TripPlan timetable(std::optional<int> timepoint = std::nullopt) {
    TripPlan trip;
    trip.trip_id = 101;
    trip.code = "101";
    for (int i = 0; i <= 7; ++i) {
        PlannedStop s;
        s.stop_id = 500 + i;
        s.name = "S" + std::to_string(i);
        s.distance_along_m = 1000.0 * i;
        s.arrival = s.departure = eight + i * 2min;
        s.timepoint = i == 0 || (timepoint && i == *timepoint);
        trip.stops.push_back(s);
    }
    return trip;
}

// A bus on the trip, reporting every 10 s; what it observes goes into the route's history.
struct Bus {
    TripPlan plan;
    RouteHistory& history;
    EtaPredictor eta;
    Millis now = eight - 1min;
    double along_m = 0;

    Bus(TripPlan trip, RouteHistory& route) : plan(std::move(trip)), history(route), eta(plan) {}

    void fix(bool at_stop, double speed_kmh) {
        history.observe(eta.on_fix({now, along_m, speed_kmh, at_stop}));
    }
    // Standing where it is until `until`, a fix every 10 s.
    void stand_until(Millis until) {
        if (!eta.latest() || eta.latest()->time < now) {
            fix(true, 0);
        }
        while (now + 10s <= until) {
            now += 10s;
            fix(true, 0);
        }
    }
    void stand(std::chrono::seconds d) { stand_until(now + d); }
    // Drives to `to_m` in `d` at an even speed, a fix every 10 s; the last one at `to_m`,
    // standing there when `stops`.
    void drive(double to_m, std::chrono::seconds d, bool stops = false) {
        const int steps = static_cast<int>(d / 10s);
        const double step_m = (to_m - along_m) / steps;
        for (int i = 1; i <= steps; ++i) {
            now += 10s;
            along_m += step_m;
            fix(stops && i == steps, stops && i == steps ? 0 : step_m / 10 * 3.6);
        }
    }
    // To the next stop in `pace` times 110 s, then `dwell` there: 2 minutes a kilometre, the
    // timetable's, at pace 1 with the usual dwell.
    void segment(double pace, std::chrono::seconds dwell = 10s) {
        drive(along_m + 1000, std::chrono::seconds(std::llround(pace * 11) * 10), true);
        stand(dwell);
    }

    std::vector<StopEta> predict() const { return eta.predict(now, history); }
    std::vector<StopEta> baseline() const { return baseline_eta(plan, eta.latest(), now); }
};

// Predicted arrival less scheduled arrival at stop `index`, in seconds.
double delay_at(const std::vector<StopEta>& etas, std::size_t index) {
    for (const StopEta& e : etas) {
        if (e.stop_index == index) {
            return seconds(e.scheduled_arrival, e.arrival);
        }
    }
    FAIL("no prediction for stop ", index);
    return 0;
}

}  // namespace

TEST_CASE("eta: before the first fix, the timetable") {
    RouteHistory history;
    Bus bus(timetable(), history);
    const auto etas = bus.predict();
    REQUIRE(etas.size() == 8);
    for (std::size_t k = 0; k < etas.size(); ++k) {
        CHECK(etas[k].stop_index == k);
        CHECK(etas[k].stop_id == 500 + static_cast<std::int64_t>(k));
        CHECK(etas[k].arrival == bus.plan.stops[k].arrival);
        CHECK(etas[k].method == EtaMethod::schedule);
        CHECK(etas[k].horizon_s == doctest::Approx(seconds(bus.now, bus.plan.stops[k].arrival)));
    }
    CHECK(bus.baseline().size() == 8);
    CHECK(bus.baseline()[3].arrival == bus.plan.stops[3].arrival);
}

TEST_CASE("eta: a bus on time is predicted on time") {
    RouteHistory history;
    Bus bus(timetable(), history);
    bus.stand_until(eight);
    bus.segment(1.0);
    bus.segment(1.0);
    bus.drive(bus.along_m + 500, 50s);  // half-way to S3

    const auto etas = bus.predict();
    REQUIRE(etas.size() == 5);
    CHECK(etas.front().stop_index == 3);
    for (const StopEta& e : etas) {
        INFO("stop S", e.stop_index);
        CHECK(std::abs(delay_at(etas, e.stop_index)) < 30);
        CHECK(e.method == EtaMethod::progress);
        CHECK(e.horizon_s == doctest::Approx(seconds(bus.now, e.arrival)));
    }
}

TEST_CASE("eta: a bus 3 minutes late at the timetable's pace stays 3 minutes late") {
    RouteHistory history;
    Bus bus(timetable(), history);
    bus.stand_until(eight + 3min);  // it left late
    bus.segment(1.0);
    bus.segment(1.0);
    bus.drive(bus.along_m + 500, 50s);

    const auto etas = bus.predict();
    REQUIRE(etas.size() == 5);
    for (const StopEta& e : etas) {
        INFO("stop S", e.stop_index);
        CHECK(delay_at(etas, e.stop_index) == doctest::Approx(180).epsilon(0.2));
    }
    CHECK(delay_at(bus.baseline(), 7) == doctest::Approx(180).epsilon(0.2));
}

TEST_CASE("eta: a bus slower than the timetable falls further behind towards the last stop") {
    RouteHistory history;
    Bus bus(timetable(), history);
    bus.stand_until(eight);
    for (int i = 0; i < 4; ++i) {
        bus.segment(1.4);  // 170 s a kilometre instead of 120
    }
    bus.drive(bus.along_m + 200, 30s);

    const auto etas = bus.predict();
    REQUIRE(etas.size() == 3);
    const double next = delay_at(etas, 5);
    const double last = delay_at(etas, 7);
    CHECK(next > 120);        // late already
    CHECK(last > next + 20);  // and later at each stop
    CHECK(delay_at(etas, 6) > next);
    // Schedule + current delay keeps the delay as it is.
    const auto base = bus.baseline();
    CHECK(delay_at(base, 7) == doctest::Approx(delay_at(base, 5)));
    CHECK(last > delay_at(base, 7) + 20);
}

TEST_CASE("eta: a bus early before a timepoint waits there for its time") {
    RouteHistory history;
    Bus bus(timetable(4), history);
    bus.stand_until(eight);
    bus.segment(0.7);  // 84 s a kilometre: early
    bus.segment(0.7);
    bus.drive(bus.along_m + 500, 40s);  // half-way to S3, some 2 minutes early

    auto etas = bus.predict();
    REQUIRE(etas.size() == 5);
    CHECK(delay_at(etas, 3) < -60);  // early at S3 and at the timepoint S4
    CHECK(delay_at(etas, 4) < -60);
    CHECK(etas[1].method == EtaMethod::progress);
    // From S4 on it leaves at the timetable's time: no earlier than that plus the running time.
    const Millis s4_departure = bus.plan.stops[4].departure;
    CHECK(etas[2].stop_index == 5);
    CHECK(etas[2].method == EtaMethod::held);
    CHECK(etas[2].arrival > s4_departure + 60s);
    CHECK(std::abs(delay_at(etas, 5)) < 30);
    // The baseline keeps it early all the way.
    CHECK(delay_at(bus.baseline(), 5) < -60);

    // Standing at S4 before its time: the same.
    bus.drive(4000, 80s, true);
    bus.stand(20s);
    REQUIRE(bus.now < s4_departure);
    etas = bus.predict();
    REQUIRE(etas.front().stop_index == 5);
    CHECK(etas.front().method == EtaMethod::held);
    CHECK(etas.front().arrival > s4_departure + 60s);
    CHECK(std::abs(delay_at(etas, 5)) < 30);
}

TEST_CASE("eta: a long dwell at the stop shifts the arrivals after it") {
    RouteHistory history;
    for (int i = 0; i < 5; ++i) {
        history.observe(ObservedDwell{502, 40, true});  // earlier trips at S2
    }
    Bus bus(timetable(), history);
    bus.stand_until(eight);
    bus.segment(1.0);
    bus.drive(2000, 110s, true);  // at S2
    const auto arriving = bus.predict();
    REQUIRE(arriving.front().stop_index == 3);
    // Buses dwell about 40 s at S2: a kilometre to drive (some 105 s) after the rest of that.
    CHECK(arriving.front().horizon_s > 130);

    bus.stand(180s);  // a wheelchair ramp
    const auto later = bus.predict();
    REQUIRE(later.front().stop_index == 3);
    const double shift_s = seconds(arriving.front().arrival, later.front().arrival);
    CHECK(shift_s > 150);
    CHECK(shift_s < 200);
    CHECK(later.front().horizon_s > 90);  // it still has a kilometre to drive
    CHECK(seconds(arriving.back().arrival, later.back().arrival) > 150);
}

TEST_CASE("eta: past the last stop there is nothing left to predict") {
    RouteHistory history;
    Bus bus(timetable(), history);
    bus.stand_until(eight);
    for (int i = 0; i < 6; ++i) {
        bus.segment(1.0);
    }
    REQUIRE(bus.predict().size() == 1);
    bus.drive(7000, 110s, true);  // at the last stop
    CHECK(bus.predict().empty());
    CHECK(bus.baseline().empty());
    bus.now += 30s;
    bus.along_m = 7100;  // beyond it, off to the depot
    bus.fix(false, 20);
    CHECK(bus.predict().empty());
}

TEST_CASE("eta: dwells learned on one trip are expected on the next") {
    RouteHistory history;
    Bus first(timetable(), history);
    first.stand_until(eight);
    for (int i = 0; i < 7; ++i) {
        first.segment(1.0, 60s);  // a minute at every stop: a crowded line
    }
    CHECK(history.dwells_observed() == 6);
    CHECK(history.runs_observed() == 7);
    CHECK(history.mean_dwell_s() > 30);                      // from 15 s before any
    CHECK(history.dwell_s(503) > history.dwell_s(999) + 5);  // a stop seen, one never seen

    RouteHistory fresh;
    TripPlan later = timetable();
    for (PlannedStop& s : later.stops) {
        s.arrival += 1h;
        s.departure += 1h;
    }
    Bus second(later, history);
    Bus naive(later, fresh);
    for (Bus* bus : {&second, &naive}) {
        bus->now = eight + 1h - 1min;
        bus->stand_until(eight + 1h);
        bus->drive(500, 60s);
    }
    // Five stops of a minute each ahead: the bus that knows the line expects them.
    CHECK(seconds(naive.predict().back().arrival, second.predict().back().arrival) > 120);
}

TEST_CASE("eta: the route's history keeps a rare long dwell apart") {
    RouteHistory history;
    for (int i = 0; i < 9; ++i) {
        history.observe(ObservedDwell{42, 20, true});
    }
    const double typical_s = history.dwell_s(42);
    history.observe(ObservedDwell{42, 400, true});  // one passenger's ramp
    CHECK(history.dwell_s(42) < typical_s * 1.5);
    CHECK(history.rare_dwell_s() > 20);
    CHECK(history.mean_dwell_s() > history.dwell_s(42));
    // A dwell under way for 2 minutes is past most dwells seen: not much longer to go, but
    // not nothing either.
    CHECK(history.remaining_dwell_s(42, 0) == doctest::Approx(history.dwell_s(42)).epsilon(0.3));
    CHECK(history.remaining_dwell_s(42, 120) > 0);

    // A segment's running time: the congestion one trip met is a rare event too.
    for (int i = 0; i < 5; ++i) {
        history.observe(ObservedRun{1, 2, 100, 110});
    }
    history.observe(ObservedRun{1, 2, 300, 110});
    CHECK(history.running_s(1, 2, 100) < 120);
    CHECK(history.rare_running_share() > 0.1);
    CHECK(history.running_s(3, 4, 77) == 77);  // never run: the timetable's
}

TEST_CASE("eta: schedule deviation interpolates between departure and arrival") {
    TripPlan trip = timetable(4);
    trip.stops[2].departure += 1min;  // a minute's layover at S2
    // Half-way from S2 (leaves 08:05) to S3 (arrives 08:06): scheduled 08:05:30.
    CHECK(schedule_delay_s(trip, {eight + 5min + 30s, 2500, 20.0, false}) == doctest::Approx(0));
    CHECK(schedule_delay_s(trip, {eight + 7min, 2500, 20.0, false}) == doctest::Approx(90));
    // Standing at the timepoint S4 before its time: layover, not early.
    CHECK(schedule_delay_s(trip, {eight + 6min, 4000, 0.0, true}) == doctest::Approx(0));
    // The same place not standing: early.
    CHECK(schedule_delay_s(trip, {eight + 6min, 4000, 30.0, false}) == doctest::Approx(-120));
    // At the first stop before its time: waiting; after: late.
    CHECK(schedule_delay_s(trip, {eight - 2min, 0, 0.0, true}) == doctest::Approx(0));
    CHECK(schedule_delay_s(trip, {eight + 1min, 0, 0.0, true}) == doctest::Approx(60));
    CHECK(first_remaining_stop(trip, {eight, 2010, 0.0, true}) == 3);
    CHECK(first_remaining_stop(trip, {eight, 1990, 30.0, false}) == 2);
}

TEST_CASE("eta: a trip it cannot predict is refused") {
    TripPlan empty;
    empty.code = "x";
    CHECK_THROWS_AS(EtaPredictor{empty}, InputError);
    TripPlan backwards = timetable();
    backwards.stops[3].distance_along_m = 100;
    CHECK_THROWS_AS(EtaPredictor{backwards}, InputError);
    EtaOptions bad;
    bad.residual_quantile = 2;
    CHECK_THROWS_AS((EtaPredictor{timetable(), bad}), InputError);
    CHECK(to_string(EtaMethod::held) == "held");
}
