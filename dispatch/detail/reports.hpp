#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "dispatch/events.hpp"

/// The reports of one vehicle's events: their keys and revisions, and when an open event's
/// change is worth an update (ReportRule). Shared by the vehicle's tracker and the trackers of
/// its assignments, so that keys stay unique per vehicle.
namespace fleet::dispatch {

/// When an open event is reported again while it lasts: once its magnitude has moved by its
/// kind's step since the last report, or once `interval` has passed since the last report and
/// anything of it (magnitude, place, details) changed. Closing reports always go out.
struct ReportRule {
    double seconds_step = 30;  ///< late, early, long dwell, unplanned stop, signal lost, ...
    double metres_step = 30;   ///< off route (its largest offset)
    double kmh_step = 5;       ///< overspeed (its largest excess)
    std::chrono::seconds interval{60};
};

namespace detail {

class Reports {
  public:
    Reports(std::int64_t vehicle_id, ReportRule rule) : vehicle_id_(vehicle_id), rule_(rule) {}

    std::int64_t vehicle_id() const { return vehicle_id_; }

    /// A new event of the vehicle with a fresh key (revision 0, nothing reported yet).
    Event make(EventKind kind, Millis started, geo::LonLat where);

    /// Reports `e` as it stands now (appended to `out`) and counts the revision. `at`: the
    /// time of the report (the fix or tick that caused it).
    void report(std::vector<Event>& out, Event& e, Millis at);

    /// Reports an update of the open event `e` if the rule says it is due at `at`; returns
    /// whether it did.
    bool follow(std::vector<Event>& out, Event& e, Millis at);

    /// Closes `open` at `at` (reported) and clears it; nothing when it is empty.
    void close(std::vector<Event>& out, std::optional<Event>& open, Millis at);

  private:
    struct Reported {
        double magnitude = 0;
        Millis at{};
        std::size_t points = 0;
        geo::LonLat last{};
        std::string details;
    };
    double step(EventKind kind) const;
    static Reported reported(const Event& e, Millis at);

    std::int64_t vehicle_id_;
    ReportRule rule_;
    std::uint32_t next_key_ = 1;
    std::unordered_map<std::uint64_t, Reported> open_;  // by key: what was last reported
};

}  // namespace detail
}  // namespace fleet::dispatch
