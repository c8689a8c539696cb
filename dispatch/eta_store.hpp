#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/eta_book.hpp"

/// Arrival times kept (migration 0018): each prediction with the time it was made and the
/// baseline's for the same stop, and the arrivals at stops, so that accuracy is measured
/// afterwards on what really happened.
namespace fleet::dispatch {

/// Stores the predictions of stored assignments (ids from 1; others are plans of tests and
/// benchmarks), one row per stop.
void save_predictions(pqxx::transaction_base& tx, std::span<const EtaUpdate> updates);
/// Stores the first arrival of each run at each stop (a later report of the same is ignored).
void save_arrivals(pqxx::transaction_base& tx, std::span<const StopArrival> arrivals);

/// Deletes the predictions made before `before`, in transactions of at most `chunk` rows each
/// (a long backlog never holds one long transaction open); returns how many went. The
/// arrivals at stops stay: they are one row per stop served, and punctuality reads them.
std::int64_t prune_predictions(pqxx::connection& conn, Millis before, std::int64_t chunk = 10000);

/// How the predictions for arrivals in [from, to) fared, by horizon T (minutes from the
/// prediction to the arrival): the share "reliably accurate" (−60·ln(T+1.3) < actual −
/// predicted < 60·ln(T+1.5), seconds), ours against the baseline (scheduled + deviation),
/// and the mean absolute errors.
struct EtaAccuracy {
    double from_min = 0, to_min = 0;  ///< the bucket: [from, to), the last one closed
    std::int64_t predictions = 0;
    std::int64_t ours_in_band = 0, baseline_in_band = 0;
    double ours_share = 0, baseline_share = 0;  ///< 0..1; 0 without predictions
    double ours_mae_s = 0, baseline_mae_s = 0;
};
/// Buckets 0–3, 3–6, 6–10, 10–15, 15–20, 20–30 minutes, every one listed. Throws InputError
/// when `from` is not before `to` or the period is longer than 92 days.
std::vector<EtaAccuracy> eta_accuracy(pqxx::transaction_base& tx, Millis from, Millis to);

/// Punctuality: of the arrivals at stops in [from, to), per route and hour of the day (in the
/// transaction's TimeZone), how many were early (before scheduled − early), on time, or late
/// (after scheduled + late).
struct Punctuality {
    std::string route_code, route_name;
    int hour = 0;  ///< 0–23, local
    std::int64_t arrivals = 0, early = 0, on_time = 0, late = 0;
    double on_time_share = 0;  ///< 0..1
};
/// Only the arrivals of `vehicles` when given (a dispatcher limited to groups). Throws
/// InputError when `from` is not before `to` or the period is longer than 92 days.
std::vector<Punctuality> punctuality(pqxx::transaction_base& tx, Millis from, Millis to,
                                     std::chrono::seconds early, std::chrono::seconds late,
                                     const std::vector<std::int64_t>* vehicles = nullptr);

}  // namespace fleet::dispatch
