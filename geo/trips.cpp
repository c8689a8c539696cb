#include "geo/trips.hpp"

#include <algorithm>
#include <optional>

#include "geo/geodesy.hpp"

namespace fleet::geo {

namespace {

double seconds_between(const TrackFix& from, const TrackFix& to) {
    return static_cast<double>(to.time_ms - from.time_ms) / 1000.0;
}

class Detector {
  public:
    Detector(const std::vector<const TrackFix*>& fixes, const TripRules& rules)
        : f_(fixes), rules_(rules) {}

    TripsAndStops run() {
        if (f_.empty()) {
            return {};
        }
        moving_ = moving(*f_[0]);
        for (std::size_t i = 1; i < f_.size(); ++i) {
            step(i);
        }
        close(f_.size() - 1);
        return std::move(out_);
    }

  private:
    bool moving(const TrackFix& fix) const {
        if (rules_.use_ignition && fix.ignition == false) {
            return false;
        }
        return fix.speed_kmh.value_or(0) > rules_.speed_threshold_kmh;
    }

    void step(std::size_t i) {
        const TrackFix& prev = *f_[i - 1];
        const TrackFix& cur = *f_[i];
        if (seconds_between(prev, cur) > rules_.min_no_data_duration_s) {
            // Nothing is known across the gap: a run of motion does not bridge it, and a trip
            // ends where the data did.
            run_.reset();
            if (moving_) {
                change(i - 1, false);
            }
        }
        const bool m = moving(cur);
        if (m == moving_) {
            run_.reset();
            return;
        }
        if (!run_) {
            run_ = i;
            run_distance_m_ = 0;
        } else {
            run_distance_m_ += haversine_m(prev.position, cur.position);
        }
        const double run_s = seconds_between(*f_[*run_], cur);
        const bool confirmed =
            m ? run_s >= rules_.min_trip_duration_s || run_distance_m_ >= rules_.min_trip_distance_m
              : (rules_.use_ignition && cur.ignition == false) ||
                    run_s >= rules_.min_parking_duration_s;
        if (confirmed) {
            change(*run_, m);
        }
    }

    // The state changes at fix `at`: what lasted until there is closed.
    void change(std::size_t at, bool moving) {
        close(at);
        moving_ = moving;
        start_ = at;
        run_.reset();
    }

    void close(std::size_t end) {
        if (end <= start_) {
            return;
        }
        const TrackFix& a = *f_[start_];
        const TrackFix& b = *f_[end];
        const double duration_s = seconds_between(a, b);
        if (!moving_) {
            out_.stops.push_back({.start = a, .end = b, .duration_s = duration_s});
            return;
        }
        Trip trip{.start = a, .end = b, .duration_s = duration_s};
        for (std::size_t i = start_; i <= end; ++i) {
            if (i > start_) {
                trip.distance_m += haversine_m(f_[i - 1]->position, f_[i]->position);
            }
            trip.max_speed_kmh = std::max(trip.max_speed_kmh, f_[i]->speed_kmh.value_or(0));
        }
        trip.average_speed_kmh = duration_s > 0 ? trip.distance_m / duration_s * 3.6 : 0;
        out_.trips.push_back(trip);
    }

    const std::vector<const TrackFix*>& f_;
    const TripRules& rules_;
    TripsAndStops out_;
    bool moving_ = false;
    std::size_t start_ = 0;           // the fix where the current state began
    std::optional<std::size_t> run_;  // the first fix of a run of the other kind
    double run_distance_m_ = 0;
};

}  // namespace

TripsAndStops find_trips_and_stops(const std::vector<TrackFix>& fixes, const TripRules& rules) {
    std::vector<const TrackFix*> valid;
    valid.reserve(fixes.size());
    for (const auto& f : fixes) {
        if (f.valid) {
            valid.push_back(&f);
        }
    }
    return Detector(valid, rules).run();
}

}  // namespace fleet::geo
