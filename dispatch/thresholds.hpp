#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Every threshold of the live engine, with the defaults of established transit and fleet
/// systems (shared/domain.md §1 and §5). All are configuration (by the keys of
/// `threshold_keys()`); a route may override any that is judged along a route.
namespace fleet::dispatch {

struct Thresholds {
    // Map-matching (TransitClock, OneBusAway).
    double on_route_m = 60;      ///< lateral offset still on route
    double max_speed_kmh = 120;  ///< plausible travel: max speed × 1.2 × Δt + 200 m
    int off_route_fixes = 10;    ///< consecutive off-route fixes to declare a detour
    std::chrono::seconds off_route_time{120};  ///< ... or this long off route
    int back_on_route_fixes = 3;               ///< consecutive on-route fixes to end it

    // Schedule adherence: on time from 1 min early to 5 min late.
    std::chrono::seconds early{60};
    std::chrono::seconds late{300};
    std::chrono::seconds persist{120};         ///< late/early declared after persisting this long
    std::chrono::seconds early_departure{60};  ///< leaving a timepoint this much early

    // Stops.
    double stop_radius_m = 50;             ///< "at stop" radius of stops without their own
    std::chrono::seconds long_dwell{180};  ///< beyond the planned dwell

    // Standing still away from stops: < 60 m in 4 min "delayed", in 8 min "possibly broken down".
    double not_moving_m = 60;
    std::chrono::seconds delayed{240};
    std::chrono::seconds broken_down{480};

    // Signal.
    std::chrono::seconds signal_lost{360};

    // Shift. An assignment is tracked in its planned window widened by these tolerances: fixes
    // from `shift_before` before its planned start to `shift_after` after its planned end may
    // belong to it (tracker.hpp says which of several it is given to).
    std::chrono::seconds shift_before{3600};
    std::chrono::seconds shift_after{3600};
    std::chrono::seconds not_departed_grace{300};
    std::chrono::seconds no_data_grace{600};
    double moving_kmh = 5;  ///< faster than this is moving
    std::chrono::seconds moving_unassigned{120};

    // Overspeed (common tracker firmware): start above limit + 3 %, end below limit − 3 %,
    // at least this long; tiers of the fines: +20–40, +40–60, +60–80, >80 km/h.
    double default_limit_kmh = 60;
    double hysteresis_pct = 3;
    std::chrono::seconds overspeed_min{15};
};

/// One threshold by its name: the fleetd configuration key, which is also the name a route's
/// override carries (fleet.route_thresholds.name).
struct ThresholdKey {
    std::string_view key;      ///< e.g. "late-after"
    std::string_view unit;     ///< "m", "s", "km/h", "fixes" or "%"
    double min = 0;            ///< smallest accepted value
    double max = 0;            ///< largest accepted value
    bool whole = false;        ///< whole numbers only (seconds, counts)
    bool per_route = true;     ///< false: judged with no route at hand, so configuration only
    std::string_view meaning;  ///< one line for --help
    std::function<double(const Thresholds&)> get;  ///< the value in the threshold's unit
    std::function<void(Thresholds&, double)> set;  ///< sets it (a checked value)
};

/// Every threshold, in the order --help lists them.
const std::vector<ThresholdKey>& threshold_keys();

/// The threshold named `key`, if there is one.
const ThresholdKey* find_threshold_key(std::string_view key);

/// The names, comma-separated (only those a route may override, with `per_route_only`).
std::string threshold_names(bool per_route_only);

/// What is wrong with `value` for `key` ("must be between 5 and 5000 m, got 3"), or nothing.
std::optional<std::string> threshold_problem(const ThresholdKey& key, double value);

/// A route's overrides: configuration key → value.
using ThresholdOverrides = std::map<std::string, double, std::less<>>;

/// `base` with `overrides` applied. Names that are not per-route keys and values out of range
/// are skipped: they are refused when an override is set, so only a hand-edited table has them.
Thresholds with_overrides(Thresholds base, const ThresholdOverrides& overrides);

}  // namespace fleet::dispatch
