#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dispatch/engine_core.hpp"
#include "dispatch/event_queue.hpp"
#include "dispatch/speed_limits.hpp"
#include "dispatch/tracker.hpp"

/// The live dispatch engine: the EngineCore on its own thread, fed committed positions,
/// assignment changes and clock ticks; its events go to the store through their own bounded
/// queue on a second thread, and then to subscribers. A slow or stalled store never holds up
/// matching; nothing is dropped without being counted.
namespace fleet::dispatch {

/// Where events are kept (PostGIS in fleetd, memory in tests). Called on the engine's events
/// thread only; throws on failure (the engine counts, keeps the reports and retries).
class EventStore {
  public:
    virtual ~EventStore() = default;
    /// Stores reports: each is the whole event as it stands (a later report of an event
    /// replaces what an earlier one stored).
    virtual void save(const std::vector<Event>& events) = 0;
    /// Planned against actual of an assignment whose shift is over.
    virtual void save_summary(const Assignment& assignment, const ShiftSummary& summary) = 0;
};

/// What the engine counted since it was made (monotonic) and holds now (the gauges).
struct EngineCounters {
    std::uint64_t fixes_received = 0;
    std::uint64_t fixes_processed = 0;
    std::uint64_t fixes_dropped_queue_full = 0;  ///< the oldest, when max_queue was reached
    std::uint64_t fixes_dropped_stale = 0;       ///< not newer than the vehicle's latest fix
    std::uint64_t fixes_dropped_invalid = 0;     ///< no vehicle, or not a position
    std::uint64_t fixes_dropped_stopped = 0;     ///< after stop(), or left at its deadline
    std::uint64_t event_reports = 0;             ///< raised by the trackers
    std::uint64_t event_reports_stored = 0;
    /// Superseded in the queue by a later report of the same event (not lost: the later one
    /// carries the whole event).
    std::uint64_t event_reports_coalesced = 0;
    std::uint64_t events_dropped_queue_full = 0;  ///< the oldest, when max_event_queue was reached
    std::uint64_t events_dropped_stopped = 0;     ///< not stored by stop()'s deadline
    std::uint64_t store_failures = 0;             ///< failed saves (retried)
    std::uint64_t shift_results_stored = 0;
    std::uint64_t subscriber_failures = 0;  ///< a subscriber threw
    std::uint64_t assignments_refused = 0;  ///< upsert() of an assignment that cannot be tracked
    std::size_t fixes_queued = 0;
    std::size_t events_queued = 0;
    std::size_t shift_results_queued = 0;
    std::size_t vehicles = 0;
    std::size_t assignments = 0;
};

/// Thread-safe front. Partitionable by vehicle: nothing here is shared between vehicles.
class Engine {
  public:
    using Subscriber = std::function<void(const Event&)>;
    using Clock = std::function<Millis()>;

    Engine(EngineConfig config, EventStore& store, Clock clock);
    /// Stops without a deadline for draining (stop(0)) if still running.
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    /// Register before start(). Called on the events thread once a report is stored.
    void subscribe(Subscriber subscriber) { subscribers_.push_back(std::move(subscriber)); }
    /// The arrival times predicted from each step's fixes and the arrivals at stops seen.
    using EtaSubscriber = std::function<void(const std::vector<EtaUpdate>& updates,
                                             const std::vector<StopArrival>& arrivals)>;
    /// Register before start(). Called on the matching thread: it must only hand the data on
    /// (a bounded queue), never wait.
    void subscribe_eta(EtaSubscriber subscriber) {
        eta_subscribers_.push_back(std::move(subscriber));
    }
    /// Each step's changed vehicle states. Register before start(). Called on the matching
    /// thread: it must only hand the data on, never wait.
    using StateSubscriber = std::function<void(const std::vector<VehicleState>& states)>;
    void subscribe_states(StateSubscriber subscriber) {
        state_subscribers_.push_back(std::move(subscriber));
    }
    void start();

    /// What stop() could not finish by its deadline (counted as dropped).
    struct StopReport {
        std::size_t fixes_left = 0;
        std::size_t events_left = 0;
        std::size_t shift_results_left = 0;
    };
    /// Stops taking fixes, matches those queued, stores the events and shift results held,
    /// all within `deadline`; what is left then is counted as dropped and reported. A save in
    /// flight at the deadline is waited for (the store's statement timeout bounds it).
    StopReport stop(std::chrono::milliseconds deadline);

    /// Queues committed positions (any thread; returns at once). Beyond max_queue the oldest
    /// are dropped and counted; after stop() all are.
    void on_positions(std::vector<VehicleFix> fixes);
    /// Replaces the speed zones and class caps (any thread); applied from the next fix on.
    void set_speed_limits(std::shared_ptr<const SpeedLimits> limits);

    /// Adds an assignment, or replaces the one with its assignment_id (any thread; see
    /// EngineCore::upsert: the same work keeps the tracker's progress, only route rules change
    /// then). Throws InputError at once for an assignment the engine cannot track.
    void upsert(std::shared_ptr<const Assignment> assignment);
    /// Withdraws an assignment (any thread); its open events are closed. Unknown ids: nothing.
    void cancel(std::int64_t assignment_id);

    /// Returns once every fix and change queued before the call has been matched and its
    /// events handed to the event queue (any thread; at once when not running).
    void sync();
    /// Planned against actual of an assignment being tracked, so far: after every fix queued
    /// before the call (any thread; waits). Nothing for an unknown id or an engine not running.
    std::optional<ShiftSummary> summary(std::int64_t assignment_id);

    /// Every vehicle's live state as of the latest step (any thread; a copy).
    std::vector<VehicleState> snapshot() const;
    std::optional<VehicleState> state(std::int64_t vehicle_id) const;

    /// Commit-to-subscriber latencies (ms) of the reports raised by fixes, since the last call.
    std::vector<double> take_latencies_ms();
    EngineCounters counters() const;
    /// The counters as Prometheus metric families (geo::write_family), for the metrics
    /// registry: fleet_dispatch_*.
    void write_metrics(std::string& out) const;

    std::uint64_t fixes_processed() const { return processed_.load(); }
    std::uint64_t store_failures() const { return store_failures_.load(); }
    /// Fixes dropped because the queue was full (oldest first).
    std::uint64_t fixes_dropped() const { return dropped_full_.load(); }

  private:
    using Steady = std::chrono::steady_clock;
    // Fixes and changes in the order they came: a change applies between the fixes queued
    // before it and those queued after it.
    struct Item {
        std::optional<VehicleFix> fix;
        std::function<void(EngineCore&)> command;
    };
    void run_matching();
    void push_command(std::function<void(EngineCore&)> command);
    void drop_oldest_fix();
    std::size_t apply(std::vector<Item>& items);
    void run_events();
    void publish(const StepOutput& out);
    bool store_batch(std::vector<EventQueue::Entry>& batch);
    bool store_results();
    void wait_retry(std::unique_lock<std::mutex>& lock, int failures);

    EngineConfig config_;
    EventStore& store_;
    Clock clock_;
    std::vector<Subscriber> subscribers_;
    std::vector<EtaSubscriber> eta_subscribers_;
    std::vector<StateSubscriber> state_subscribers_;
    EngineCore core_;  // the matching thread's

    // Fixes and changes in; guarded by mutex_.
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable progress_;
    std::deque<Item> queue_;          // in the order they came
    std::size_t fixes_queued_ = 0;    // of queue_'s items, the fixes
    std::uint64_t queued_total_ = 0;  // fixes and changes ever queued or dropped
    std::uint64_t done_total_ = 0;    // of those, matched (or dropped) and handed on
    bool running_ = false;
    bool accepting_ = false;
    bool stopping_ = false;
    Steady::time_point stop_at_{};
    std::thread matching_;

    // Events out; guarded by events_mutex_.
    mutable std::mutex events_mutex_;
    std::condition_variable events_wake_;
    EventQueue events_;
    std::deque<ShiftResult> results_;
    bool events_stopping_ = false;
    Steady::time_point events_stop_at_{};
    std::thread events_thread_;

    // Live state for snapshot().
    mutable std::mutex state_mutex_;
    std::unordered_map<std::int64_t, VehicleState> states_;

    std::mutex latency_mutex_;
    std::vector<double> latencies_ms_;

    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> processed_{0};
    std::atomic<std::uint64_t> dropped_full_{0};
    std::atomic<std::uint64_t> dropped_stale_{0};
    std::atomic<std::uint64_t> dropped_invalid_{0};
    std::atomic<std::uint64_t> dropped_stopped_{0};
    std::atomic<std::uint64_t> reports_{0};
    std::atomic<std::uint64_t> stored_{0};
    std::atomic<std::uint64_t> events_dropped_stopped_{0};
    std::atomic<std::uint64_t> store_failures_{0};
    std::atomic<std::uint64_t> results_stored_{0};
    std::atomic<std::uint64_t> subscriber_failures_{0};
    std::atomic<std::uint64_t> refused_{0};
    std::atomic<std::size_t> vehicles_{0};
    std::atomic<std::size_t> assignments_{0};
};

}  // namespace fleet::dispatch
