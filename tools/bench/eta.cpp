// ETA benchmark: a simulated day of bus trips (random traffic, congestion, signals, dwell, late
// starts, holding at timepoints), fixes every 10–30 s, and at every fix the predictions of
// EtaPredictor and of the baseline (scheduled arrival + current deviation) for every stop
// ahead, scored against the simulated arrivals. The predictors see only the timetable and the
// fixes up to the moment of the prediction; the arrivals are used for scoring alone.
//
// Score: the share of predictions in the "reliably accurate" band
//   −60·ln(T + 1.3) < error_s < 60·ln(T + 1.5),
// T = minutes from the prediction to the actual arrival, error_s = actual − predicted (positive:
// the vehicle came later than predicted). The band is narrower on the early side: a vehicle
// earlier than announced is missed. Exits 1 unless ours is ahead in every horizon bucket.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "dispatch/eta.hpp"

namespace {

namespace po = boost::program_options;
using namespace fleet;
using namespace fleet::dispatch;
using namespace std::chrono_literals;
using Rng = std::mt19937_64;

const Millis midnight = Millis(std::chrono::sys_days(std::chrono::year_month_day(
    std::chrono::year(2026), std::chrono::month(11), std::chrono::day(27))));

Millis at_s(double s) {
    return midnight + std::chrono::milliseconds(std::llround(s * 1000));
}
double seconds_of(Millis t) {
    return std::chrono::duration<double>(t - midnight).count();
}

// The simulated world. Every figure is a property of the simulation, not of the predictor.
constexpr int trips_per_route = 20;
constexpr double first_trip_h = 6;
constexpr double headway_min_s = 30 * 60;
constexpr double headway_max_s = 50 * 60;
constexpr double accel_ms2 = 1.0;
constexpr double brake_ms2 = 1.3;
constexpr double max_cruise_kmh = 55;
constexpr double min_cruise_kmh = 12;
constexpr double signal_per_segment = 0.6;  // probability of a signal on a segment
constexpr double red_probability = 0.45;
constexpr double red_max_s = 45;
constexpr double congestion_start = 0.08;  // per segment
constexpr double late_start_probability = 0.15;
constexpr double long_dwell_probability = 0.03;
constexpr double gps_noise_m = 3;

struct Route {
    std::vector<double> along_m;      // stops
    std::vector<double> scheduled_s;  // segment j: stop j to j+1
    std::vector<double> slack_s;      // scheduled dwell (departure − arrival) per stop
    std::vector<bool> timepoint;
    std::vector<double> popularity;              // per stop, mean 1
    std::vector<double> cruise_kmh;              // per segment, free flow
    std::vector<std::vector<double>> signals_m;  // per segment, along
    std::int64_t first_stop_id = 0;
};

// A day's peak hours: traffic slower than the (all-day) timetable assumes.
double peak(double hour) {
    return 1 + 0.12 * std::exp(-std::pow((hour - 8) / 1.2, 2)) +
           0.15 * std::exp(-std::pow((hour - 17.5) / 1.5, 2));
}

double uniform(Rng& rng, double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
}
bool chance(Rng& rng, double p) {
    return std::bernoulli_distribution(p)(rng);
}
double lognormal(Rng& rng, double sigma) {
    return std::lognormal_distribution<double>(-sigma * sigma / 2, sigma)(rng);  // mean 1
}

// Passenger dwell the timetable expects at a stop of `popularity`, for the nominal speeds.
double nominal_dwell_s(double popularity) {
    const double lambda = 2.0 * popularity;
    return (1 - std::exp(-lambda)) * (5 + 10 * popularity + long_dwell_probability * 130);
}

Route make_route(Rng& rng, int index) {
    Route r;
    r.first_stop_id = 1000 * (index + 1);
    const int stops = std::uniform_int_distribution<int>(20, 30)(rng);
    double along = 0;
    for (int j = 0; j < stops; ++j) {
        r.along_m.push_back(along);
        along += uniform(rng, 300, 900);
        const bool tp = j == 0 || j == stops - 1 || j % 5 == 0;
        r.timepoint.push_back(tp);
        r.slack_s.push_back(tp && j > 0 && j < stops - 1
                                ? 30.0 * std::uniform_int_distribution<int>(0, 2)(rng)
                                : 0.0);
        r.popularity.push_back(lognormal(rng, 0.5));
    }
    for (int j = 0; j + 1 < stops; ++j) {
        const double length_m = r.along_m[j + 1] - r.along_m[j];
        const double scheduled_s = length_m / (uniform(rng, 18, 30) / 3.6);
        r.scheduled_s.push_back(std::round(scheduled_s));
        std::vector<double> signals;
        if (chance(rng, signal_per_segment)) {
            signals.push_back(r.along_m[j] + uniform(rng, 0.2, 0.8) * length_m);
        }
        r.signals_m.push_back(signals);
        // Free-flow speed such that a nominal run takes the scheduled time, give or take the
        // timetable's own error; a timetable too tight for the street is run late.
        const double overhead_s =
            8 + static_cast<double>(signals.size()) * red_probability * red_max_s / 2 +
            nominal_dwell_s(r.popularity[j + 1]);
        const double cruise_s = std::max(scheduled_s * lognormal(rng, 0.08) - overhead_s,
                                         length_m / (max_cruise_kmh / 3.6));
        r.cruise_kmh.push_back(std::max(min_cruise_kmh, length_m / cruise_s * 3.6));
    }
    return r;
}

TripPlan make_plan(const Route& r, int route, int trip, double start_s) {
    TripPlan plan;
    plan.trip_id = route * 100 + trip;
    plan.code = "r" + std::to_string(route) + "t" + std::to_string(trip);
    double t = start_s;
    for (std::size_t j = 0; j < r.along_m.size(); ++j) {
        PlannedStop s;
        s.stop_id = r.first_stop_id + static_cast<std::int64_t>(j);
        s.distance_along_m = r.along_m[j];
        s.timepoint = r.timepoint[j];
        if (j > 0) {
            t += r.scheduled_s[j - 1];
        }
        s.arrival = at_s(t);
        t += r.slack_s[j];
        s.departure = at_s(t);
        plan.stops.push_back(s);
    }
    return plan;
}

struct Point {
    double t_s;
    double x_m;
    double v_ms;
    bool at_stop;
};

struct Trip {
    int route = 0;
    TripPlan plan;
    std::vector<double> arrival_s;  // actual, per stop
    std::vector<EtaFix> fixes;
};

// Drives the trip through the simulated street and records where the vehicle was.
Trip simulate(const Route& r, int route, int index, double start_s, Rng& rng) {
    Trip trip;
    trip.route = route;
    trip.plan = make_plan(r, route, index, start_s);
    const std::size_t n = r.along_m.size();
    const double hour = start_s / 3600;
    const double traffic = lognormal(rng, 0.10) * peak(hour);
    const double crowd = lognormal(rng, 0.3) * (1 + 2 * (peak(hour) - 1));  // fuller at peaks
    std::vector<double> congestion(n - 1, 1.0);
    for (std::size_t j = 0; j + 1 < n; ++j) {
        if (chance(rng, congestion_start)) {
            const int length = std::uniform_int_distribution<int>(1, 3)(rng);
            const double factor = uniform(rng, 0.35, 0.7);
            for (std::size_t k = j; k < std::min(n - 1, j + length); ++k) {
                congestion[k] = factor;
            }
        }
    }
    std::vector<double> dwell_s(n, 0);
    for (std::size_t j = 1; j + 1 < n; ++j) {
        const double lambda = 2.0 * r.popularity[j] * crowd;
        if (chance(rng, 1 - std::exp(-lambda))) {
            dwell_s[j] = 5 + 10 * r.popularity[j] * crowd * lognormal(rng, 0.5);
            if (chance(rng, long_dwell_probability)) {
                dwell_s[j] += uniform(rng, 60, 200);  // a ramp, a fare dispute, a crowd
            }
        } else if (r.timepoint[j]) {
            dwell_s[j] = 5;  // a timepoint: the driver checks the time
        }
    }
    double depart_s = start_s + uniform(rng, 0, 20);
    if (chance(rng, late_start_probability)) {
        depart_s = start_s + uniform(rng, 60, 480);
    }

    std::vector<Point> track;
    double t = std::min(start_s, depart_s) - 180;
    double x = r.along_m[0];
    double v = 0;
    track.push_back({t, x, 0, true});
    t = depart_s;
    track.push_back({t, x, 0, true});
    trip.arrival_s.assign(n, 0);
    trip.arrival_s[0] = start_s - 180;
    constexpr double dt = 1;
    auto drive_to = [&](std::size_t segment, double x_end, bool stop) {
        while (x < x_end) {
            const double target = r.cruise_kmh[segment] / 3.6 * congestion[segment] / traffic;
            double next = std::min(target, v + accel_ms2 * dt);
            if (stop) {
                next = std::min(next, std::max(1.0, std::sqrt(2 * brake_ms2 * (x_end - x))));
            }
            next = std::max(next, 0.5);
            if (x + next * dt >= x_end) {
                t += (x_end - x) / next;
                x = x_end;
                v = stop ? 0 : next;
                track.push_back({t, x, v, false});
                return;
            }
            x += next * dt;
            t += dt;
            v = next;
            track.push_back({t, x, v, false});
        }
    };
    for (std::size_t j = 0; j + 1 < n; ++j) {
        for (const double signal_m : r.signals_m[j]) {
            if (chance(rng, red_probability)) {
                drive_to(j, signal_m, true);
                t += uniform(rng, 5, red_max_s);
                track.push_back({t, x, 0, false});
            }
        }
        const bool stops = j + 2 == n || dwell_s[j + 1] > 0;
        drive_to(j, r.along_m[j + 1], stops);
        trip.arrival_s[j + 1] = t;
        if (j + 2 == n) {
            track.back().at_stop = true;
            track.push_back({t + 300, x, 0, true});
        } else if (stops) {
            track.back().at_stop = true;
            double leave = t + dwell_s[j + 1];
            if (r.timepoint[j + 1]) {
                leave = std::max(leave, seconds_of(trip.plan.stops[j + 1].departure));
            }
            t = leave;
            track.push_back({t, x, 0, true});
        }
    }

    // Fixes every 10–30 s until the first one at the last stop.
    double tf = track.front().t_s + uniform(rng, 0, 10);
    std::size_t i = 0;
    std::normal_distribution<double> noise(0, gps_noise_m);
    std::normal_distribution<double> speed_noise(0, 1);
    while (tf < track.back().t_s) {
        while (i + 1 < track.size() && track[i + 1].t_s <= tf) {
            ++i;
        }
        const Point& a = track[i];
        const Point& b = track[std::min(i + 1, track.size() - 1)];
        const double f = b.t_s > a.t_s ? (tf - a.t_s) / (b.t_s - a.t_s) : 0;
        EtaFix fix;
        fix.time = at_s(tf);
        fix.along_m = std::clamp(a.x_m + f * (b.x_m - a.x_m) + noise(rng), 0.0, r.along_m.back());
        fix.at_stop = a.at_stop && b.at_stop;
        if (chance(rng, 0.9)) {
            fix.speed_kmh = std::max(0.0, b.v_ms * 3.6 + speed_noise(rng));
        }
        trip.fixes.push_back(fix);
        if (tf > trip.arrival_s.back()) {
            break;
        }
        tf += uniform(rng, 10, 30);
    }
    return trip;
}

struct Bucket {
    double from_min;
    double to_min;
    std::size_t count = 0;
    std::size_t ours_in = 0;
    std::size_t base_in = 0;
    double ours_abs_s = 0;
    double base_abs_s = 0;
    double ours_sum_s = 0;
    double base_sum_s = 0;
};

bool in_band(double error_s, double t_min) {
    return -60 * std::log(t_min + 1.3) < error_s && error_s < 60 * std::log(t_min + 1.5);
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}
std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) {
        s.insert(0, width - s.size(), ' ');
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description d(
        "bench_eta: arrival predictions against schedule + current delay on a simulated day.\n"
        "Options");
    // clang-format off
    d.add_options()
        ("help,h", "this help")
        ("seed", po::value<std::uint64_t>()->default_value(1), "random seed of the simulation")
        ("trips", po::value<int>()->default_value(200), "trips, 20 per route");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, d), vm);
    } catch (const po::error& e) {
        std::cerr << "bench_eta: " << e.what() << "\n";
        return 2;
    }
    if (vm.count("help")) {
        std::cout << d << "\n";
        return 0;
    }
    const auto seed = vm["seed"].as<std::uint64_t>();
    const int trip_count = std::max(1, vm["trips"].as<int>());
    const auto wall = std::chrono::steady_clock::now();

    Rng rng(seed);
    const int route_count = (trip_count + trips_per_route - 1) / trips_per_route;
    std::vector<Route> routes;
    std::vector<Trip> trips;
    for (int r = 0; r < route_count; ++r) {
        routes.push_back(make_route(rng, r));
        double start_s = first_trip_h * 3600 + uniform(rng, 0, headway_min_s);
        for (int k = 0; k < trips_per_route && static_cast<int>(trips.size()) < trip_count; ++k) {
            trips.push_back(simulate(routes.back(), r, k, std::round(start_s), rng));
            start_s += uniform(rng, headway_min_s, headway_max_s);
        }
    }

    // Every fix of the day in time order, so that a route's dwell table holds only what was
    // observed before each prediction.
    struct Step {
        Millis time;
        std::size_t trip;
        std::size_t fix;
    };
    std::vector<Step> steps;
    std::size_t stops_total = 0;
    for (std::size_t i = 0; i < trips.size(); ++i) {
        stops_total += trips[i].plan.stops.size();
        for (std::size_t k = 0; k < trips[i].fixes.size(); ++k) {
            steps.push_back({trips[i].fixes[k].time, i, k});
        }
    }
    std::stable_sort(steps.begin(), steps.end(),
                     [](const Step& a, const Step& b) { return a.time < b.time; });

    const EtaOptions options;
    std::vector<RouteHistory> histories(routes.size(), RouteHistory(options));
    std::vector<EtaPredictor> predictors;
    for (const Trip& trip : trips) {
        predictors.emplace_back(trip.plan, options);
    }
    std::array<Bucket, 6> buckets{{{0, 3}, {3, 6}, {6, 10}, {10, 15}, {15, 20}, {20, 30}}};
    double late_sum_s = 0;
    for (const Trip& trip : trips) {
        late_sum_s += trip.arrival_s.back() - seconds_of(trip.plan.stops.back().arrival);
    }
    std::array<std::size_t, 4> methods{};

    for (const Step& step : steps) {
        const Trip& trip = trips[step.trip];
        const EtaFix& fix = trip.fixes[step.fix];
        EtaPredictor& predictor = predictors[step.trip];
        RouteHistory& history = histories[static_cast<std::size_t>(trip.route)];
        history.observe(predictor.on_fix(fix));
        const auto ours = predictor.predict(fix.time, history);
        const auto base = baseline_eta(trip.plan, fix, fix.time, options.stop_radius_m);
        for (const StopEta& o : ours) {
            const auto b = std::find_if(base.begin(), base.end(), [&o](const StopEta& e) {
                return e.stop_index == o.stop_index;
            });
            if (b == base.end()) {
                continue;
            }
            // Scored once the vehicle has got there: the predictors never see this.
            const double actual_s = trip.arrival_s[o.stop_index];
            const double t_min = (actual_s - seconds_of(fix.time)) / 60;
            if (t_min <= 0) {
                continue;  // already there: nothing left to predict
            }
            for (Bucket& bucket : buckets) {
                if (t_min >= bucket.from_min &&
                    (t_min < bucket.to_min || (bucket.to_min == 30 && t_min <= 30))) {
                    const double ours_error_s = actual_s - seconds_of(o.arrival);
                    const double base_error_s = actual_s - seconds_of(b->arrival);
                    ++bucket.count;
                    bucket.ours_in += in_band(ours_error_s, t_min);
                    bucket.base_in += in_band(base_error_s, t_min);
                    bucket.ours_abs_s += std::abs(ours_error_s);
                    bucket.base_abs_s += std::abs(base_error_s);
                    bucket.ours_sum_s += ours_error_s;
                    bucket.base_sum_s += base_error_s;
                    ++methods[static_cast<std::size_t>(o.method)];
                    break;
                }
            }
        }
    }

    std::cout << "bench_eta: seed " << seed << ", " << trips.size() << " trips on " << routes.size()
              << " routes, " << stops_total << " stops, " << steps.size()
              << " fixes; mean lateness at the last stop " << fixed(late_sum_s / trips.size(), 0)
              << " s\n";
    std::cout << "error_s = actual - predicted; in band: -60 ln(T+1.3) < error_s < 60 ln(T+1.5),"
                 " T = minutes to the actual arrival\n\n";
    std::cout << "horizon   predictions  ours in band  base in band  ratio  ours MAE s  base "
                 "MAE s  ours bias s  base bias s  result\n";
    bool all_pass = true;
    for (const Bucket& b : buckets) {
        const double n = std::max<double>(1, static_cast<double>(b.count));
        const double ours = static_cast<double>(b.ours_in) / n;
        const double base = static_cast<double>(b.base_in) / n;
        const bool pass = b.count > 0 && ours > base;
        all_pass = all_pass && pass;
        std::cout << pad(fixed(b.from_min, 0) + "-" + fixed(b.to_min, 0) + " min", 9)
                  << pad(std::to_string(b.count), 13) << pad(fixed(100 * ours, 1) + " %", 14)
                  << pad(fixed(100 * base, 1) + " %", 14)
                  << pad(base > 0 ? fixed(ours / base, 3) : "-", 7)
                  << pad(fixed(b.ours_abs_s / n, 1), 12) << pad(fixed(b.base_abs_s / n, 1), 12)
                  << pad(fixed(b.ours_sum_s / n, 1), 13) << pad(fixed(b.base_sum_s / n, 1), 13)
                  << pad(pass ? "PASS" : "FAIL", 8) << "\n";
    }
    std::cout << "\nours by method: progress "
              << methods[static_cast<std::size_t>(EtaMethod::progress)] << ", held "
              << methods[static_cast<std::size_t>(EtaMethod::held)] << "\n";
    const double elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
    std::cout << "\n"
              << (all_pass ? "PASS" : "FAIL") << ": ours "
              << (all_pass ? "ahead in every bucket" : "not ahead in every bucket") << " ("
              << fixed(elapsed_s, 1) << " s)\n";
    return all_pass ? 0 : 1;
}
