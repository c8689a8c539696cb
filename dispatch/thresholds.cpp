#include "dispatch/thresholds.hpp"

#include <cmath>

#include "geo/number_text.hpp"

namespace fleet::dispatch {

namespace {

ThresholdKey seconds(std::string_view key, std::chrono::seconds Thresholds::*field, double min,
                     double max, std::string_view meaning, bool per_route = true) {
    return {.key = key,
            .unit = "s",
            .min = min,
            .max = max,
            .whole = true,
            .per_route = per_route,
            .meaning = meaning,
            .get = [field](const Thresholds& t) { return static_cast<double>((t.*field).count()); },
            .set = [field](Thresholds& t,
                           double v) { t.*field = std::chrono::seconds(std::llround(v)); }};
}

ThresholdKey number(std::string_view key, std::string_view unit, double Thresholds::*field,
                    double min, double max, std::string_view meaning, bool per_route = true) {
    return {.key = key,
            .unit = unit,
            .min = min,
            .max = max,
            .whole = false,
            .per_route = per_route,
            .meaning = meaning,
            .get = [field](const Thresholds& t) { return t.*field; },
            .set = [field](Thresholds& t, double v) { t.*field = v; }};
}

ThresholdKey count(std::string_view key, int Thresholds::*field, double min, double max,
                   std::string_view meaning) {
    return {
        .key = key,
        .unit = "fixes",
        .min = min,
        .max = max,
        .whole = true,
        .per_route = true,
        .meaning = meaning,
        .get = [field](const Thresholds& t) { return static_cast<double>(t.*field); },
        .set = [field](Thresholds& t, double v) { t.*field = static_cast<int>(std::lround(v)); }};
}

}  // namespace

const std::vector<ThresholdKey>& threshold_keys() {
    using T = Thresholds;
    static const std::vector<ThresholdKey> keys = {
        number("on-route-distance", "m", &T::on_route_m, 5, 5000,
               "lateral offset from the route still counted on route"),
        number("max-match-speed", "km/h", &T::max_speed_kmh, 10, 300,
               "matching moves forward at most this fast (× 1.2, + 200 m) between fixes"),
        count("off-route-fixes", &T::off_route_fixes, 1, 1000,
              "consecutive fixes off the route that declare a detour"),
        seconds("off-route-after", &T::off_route_time, 1, 86400,
                "... or this long off the route, whichever comes first"),
        count("back-on-route-fixes", &T::back_on_route_fixes, 1, 1000,
              "consecutive fixes on the route that end a detour"),
        seconds("late-after", &T::late, 0, 86400,
                "later than this behind the timetable (or after a delivery window) is late"),
        seconds("early-after", &T::early, 0, 86400,
                "earlier than this ahead of the timetable (or before a delivery window) is early"),
        seconds("deviation-persist", &T::persist, 0, 86400,
                "late or early is declared after persisting this long"),
        seconds("early-departure-after", &T::early_departure, 0, 86400,
                "leaving a timepoint this much before its time is an early departure"),
        number("stop-radius", "m", &T::stop_radius_m, 1, 5000,
               "\"at stop\" radius of stops that have none of their own"),
        seconds("long-dwell-after", &T::long_dwell, 0, 86400,
                "at a stop this much longer than planned is a long dwell"),
        number("not-moving-distance", "m", &T::not_moving_m, 1, 5000,
               "moving less than this is standing still"),
        seconds("delayed-after", &T::delayed, 10, 86400,
                "standing still away from stops this long is an unplanned stop (delayed)"),
        seconds("broken-down-after", &T::broken_down, 10, 86400,
                "... and this long, possibly broken down"),
        seconds("signal-lost-after", &T::signal_lost, 10, 86400,
                "no fix for this long is signal lost"),
        seconds("shift-tolerance-before", &T::shift_before, 0, 43200,
                "fixes this long before an assignment's planned start are tracked against it",
                /*per_route=*/false),
        seconds("shift-tolerance-after", &T::shift_after, 0, 43200,
                "... and this long after its planned end (its shift result follows then)",
                /*per_route=*/false),
        seconds("not-departed-after", &T::not_departed_grace, 0, 86400,
                "still at the depot this long after the shift start is not departed"),
        seconds("no-data-after", &T::no_data_grace, 0, 86400,
                "no fix this long after the shift start is an assignment without vehicle data"),
        number("moving-speed", "km/h", &T::moving_kmh, 0, 300,
               "faster than this counts as moving (vehicles without an assignment)",
               /*per_route=*/false),
        seconds("moving-unassigned-after", &T::moving_unassigned, 0, 86400,
                "moving this long without an assignment is an event", /*per_route=*/false),
        number("speed-limit", "km/h", &T::default_limit_kmh, 5, 300,
               "limit where neither a zone nor a route segment sets one"),
        number("overspeed-hysteresis", "%", &T::hysteresis_pct, 0, 50,
               "speeding starts above the limit + this, ends below the limit − this"),
        seconds("overspeed-min", &T::overspeed_min, 0, 3600,
                "speeding shorter than this is not an event"),
    };
    return keys;
}

const ThresholdKey* find_threshold_key(std::string_view key) {
    for (const auto& k : threshold_keys()) {
        if (k.key == key) {
            return &k;
        }
    }
    return nullptr;
}

std::string threshold_names(bool per_route_only) {
    std::string out;
    for (const auto& k : threshold_keys()) {
        if (per_route_only && !k.per_route) {
            continue;
        }
        out += (out.empty() ? "" : ", ") + std::string(k.key);
    }
    return out;
}

std::optional<std::string> threshold_problem(const ThresholdKey& key, double value) {
    if (!std::isfinite(value) || value < key.min || value > key.max) {
        return "must be between " + geo::plain_number(key.min) + " and " +
               geo::plain_number(key.max) + " " + std::string(key.unit) + ", got " +
               geo::plain_number(value);
    }
    if (key.whole && value != std::floor(value)) {
        return "must be a whole number of " + std::string(key.unit == "s" ? "seconds" : key.unit) +
               ", got " + geo::plain_number(value);
    }
    return std::nullopt;
}

Thresholds with_overrides(Thresholds base, const ThresholdOverrides& overrides) {
    for (const auto& [name, value] : overrides) {
        const ThresholdKey* key = find_threshold_key(name);
        if (key != nullptr && key->per_route && !threshold_problem(*key, value)) {
            key->set(base, value);
        }
    }
    return base;
}

}  // namespace fleet::dispatch
