#pragma once

#include <chrono>

/// Every threshold of the live engine, with the defaults of established transit and fleet
/// systems (shared/domain.md §1 and §5). All are configuration; routes may override.
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
    double stop_radius_m = 50;
    std::chrono::seconds long_dwell{180};  ///< beyond the planned dwell

    // Standing still away from stops: < 60 m in 4 min "delayed", in 8 min "possibly broken down".
    double not_moving_m = 60;
    std::chrono::seconds delayed{240};
    std::chrono::seconds broken_down{480};

    // Signal.
    std::chrono::seconds signal_lost{360};

    // Shift.
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

}  // namespace fleet::dispatch
