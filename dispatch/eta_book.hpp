#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dispatch/eta.hpp"
#include "dispatch/tracker.hpp"

/// The engine's arrival times: an EtaPredictor for each vehicle on the trip it drives, fed from
/// its tracker after every fix, and a RouteHistory per route that the predictors teach. Pure,
/// like the engine core that owns it: fixes in, predictions and the arrivals seen out.
namespace fleet::dispatch {

/// A run of a trip: the vehicle, its assignment and which trip of it.
struct EtaRun {
    std::int64_t vehicle_id = 0;
    std::int64_t assignment_id = 0;  ///< below 1: a plan not stored (tests, benchmarks)
    std::string service_date;        ///< YYYY-MM-DD
    std::size_t trip_index = 0;      ///< in Assignment::trips
    std::int64_t trip_id = 0;        ///< 0 for a freight run
    std::string trip_code;           ///< the GTFS trip_id; a freight run's route code
    std::string route_code;
    bool freight = false;
    /// The plan (shared, never changed in place): its stops' codes, names and times.
    std::shared_ptr<const Assignment> plan;

    const TripPlan& trip() const { return plan->trips[trip_index]; }
    /// The same run (a plan replaced with the same work keeps it).
    bool same_run(const EtaRun& o) const {
        return vehicle_id == o.vehicle_id && assignment_id == o.assignment_id &&
               trip_index == o.trip_index && trip_code == o.trip_code &&
               trip().stops.size() == o.trip().stops.size();
    }
};

/// The predictions made from one fix, with the baseline's for the same stops.
struct EtaUpdate {
    EtaRun run;
    Millis made_at;                ///< the fix's time
    std::vector<StopEta> stops;    ///< every stop still to be served; empty: the run is over
    std::vector<Millis> baseline;  ///< baseline_eta for each of `stops`
};

/// The first arrival of a run at a stop it served.
struct StopArrival {
    EtaRun run;
    std::size_t stop_index = 0;
    Millis arrived_at;
};

class EtaBook {
  public:
    explicit EtaBook(EtaOptions options = {});

    /// After `tracker` took a fix: feeds its current trip's predictor (a new one when the
    /// vehicle began another trip) and returns the predictions made, and the arrivals it saw
    /// since the last call. Nothing while the vehicle is not matched to a trip.
    void on_fix(const VehicleTracker& tracker, std::vector<EtaUpdate>& updates,
                std::vector<StopArrival>& arrivals);
    /// An assignment withdrawn or over: its predictions end.
    void forget(std::int64_t vehicle_id, std::int64_t assignment_id);

    /// The latest predictions for a vehicle, if it is on a run.
    const EtaUpdate* latest(std::int64_t vehicle_id) const;
    /// Runs whose plan the predictor refused (InputError), counted.
    std::uint64_t refused() const { return refused_; }

  private:
    struct Vehicle {
        EtaRun run;
        TripPlan plan;                          // eta_plan of the run's trip
        std::optional<EtaPredictor> predictor;  // empty: the plan was refused
        std::vector<bool> reported;             // per stop: its arrival was handed out
        EtaUpdate latest;
    };
    RouteHistory& history(const TripPlan& trip);

    EtaOptions options_;
    std::unordered_map<std::int64_t, Vehicle> vehicles_;
    std::unordered_map<std::int64_t, RouteHistory> histories_;  // by route id
    std::uint64_t refused_ = 0;
};

/// The plan a predictor can follow for a trip: for a freight run each delivery point's window
/// start is its time, and no stop holds (a window is not a timetable); stops without an id of
/// their own get one by their place in the run (for the route's history).
TripPlan eta_plan(const TripPlan& trip);

}  // namespace fleet::dispatch
