#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dispatch/speed_limits.hpp"
#include "dispatch/tracker.hpp"

/// The live dispatch engine: one tracker per vehicle, fed committed positions and clock ticks
/// on its own thread; events go to the store and then to subscribers.
namespace fleet::dispatch {

/// A committed position for a vehicle, as the engine receives it.
struct VehicleFix {
    std::int64_t vehicle_id = 0;
    Fix fix;
    /// When the position was committed (steady clock), to measure commit-to-event latency.
    std::chrono::steady_clock::time_point committed_at{};
};

/// Where events are kept (PostGIS in fleetd; tests may collect them). Called on the engine's
/// thread with every report of a batch; throws on failure (the engine logs and retries).
class EventStore {
  public:
    virtual ~EventStore() = default;
    virtual void save(const std::vector<Event>& events) = 0;
    /// Planned against actual of an assignment whose shift is over.
    virtual void save_summary(const Assignment& assignment, const ShiftSummary& summary) = 0;
};

struct EngineConfig {
    Thresholds thresholds;
    std::chrono::milliseconds tick{5000};  ///< how often signal loss and shift checks run
    std::size_t max_queue =
        1'000'000;  ///< fixes waiting; beyond it the oldest are counted and dropped
};

/// Thread-safe front; the trackers live on the engine's thread. Partitionable by vehicle:
/// nothing here is shared between vehicles.
class Engine {
  public:
    using Subscriber = std::function<void(const Event&)>;
    using Clock = std::function<Millis()>;

    Engine(EngineConfig config, EventStore& store, Clock clock);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Register before start(). Called on the engine's thread after the event is stored.
    void subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }
    void start();
    void stop();

    /// Queues committed positions (any thread; returns at once).
    void on_positions(std::vector<VehicleFix> fixes);
    /// Replaces the speed zones and class caps (any thread); applied from the next fix on.
    void set_speed_limits(std::shared_ptr<const SpeedLimits> limits);

    /// Sets or replaces a vehicle's assignment (any thread); nullptr clears it.
    void assign(std::int64_t vehicle_id, std::shared_ptr<const Assignment> assignment);

    /// Adds an assignment, or replaces the one with its assignment_id, for its vehicle (any
    /// thread). The same work again (same trips and stops and times) keeps the tracker's
    /// progress; only route rules (thresholds, speed limits) change then.
    void upsert(std::shared_ptr<const Assignment> assignment);
    /// Withdraws an assignment (any thread); unknown ids are ignored.
    void cancel(std::int64_t assignment_id);

    /// The shift summary of a vehicle so far (any thread; waits for the engine's thread).
    std::optional<ShiftSummary> summary(std::int64_t vehicle_id);

    /// Commit-to-event latencies (ms) of the fixes that raised an event, since the last call.
    std::vector<double> take_latencies_ms();
    std::uint64_t fixes_processed() const { return processed_.load(); }
    std::uint64_t store_failures() const { return store_failures_.load(); }
    /// Fixes dropped because the queue was full (oldest first).
    std::uint64_t fixes_dropped() const { return dropped_.load(); }

  private:
    void run();
    VehicleTracker& tracker(std::int64_t vehicle_id);
    void publish(const std::vector<Event>& events);

    EngineConfig config_;
    EventStore& store_;
    Clock clock_;
    std::vector<Subscriber> subscribers_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<VehicleFix> queue_;
    std::vector<std::pair<std::int64_t, std::shared_ptr<const Assignment>>> assignments_;
    std::vector<std::function<void()>> calls_;       // run on the engine's thread
    std::shared_ptr<const SpeedLimits> new_limits_;  // handed over by set_speed_limits
    std::shared_ptr<const SpeedLimits> limits_;      // the engine thread's
    bool stopping_ = false;
    std::thread thread_;

    std::unordered_map<std::int64_t, std::unique_ptr<VehicleTracker>> trackers_;
    std::vector<Event> unsaved_;  // reports the store refused, retried in order
    std::unordered_map<std::int64_t, std::int64_t> summarized_;  // vehicle → assignment reported
    std::mutex latency_mutex_;
    std::vector<double> latencies_ms_;
    std::atomic<std::uint64_t> processed_{0};
    std::atomic<std::uint64_t> store_failures_{0};
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace fleet::dispatch
