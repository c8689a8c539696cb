#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include <pqxx/pqxx>

#include "dispatch/engine.hpp"
#include "geo/store.hpp"
#include "server/channel_listener.hpp"

namespace fleet::server {

/// Where the assignment feed hands what changed: the dispatch engine in fleetd (EngineTarget),
/// a recorder in tests. Called on the feed's thread (or the caller's, for refresh() and step()).
class AssignmentTarget {
  public:
    virtual ~AssignmentTarget() = default;
    /// A new assignment, or one whose work differs from what was handed before (same id).
    virtual void upsert(std::shared_ptr<const dispatch::Assignment> assignment) = 0;
    /// An assignment handed before that was cancelled, deleted, or left the window.
    virtual void cancel(std::int64_t assignment_id) = 0;
    /// The speed zones and class caps, at every full reload.
    virtual void set_speed_limits(std::shared_ptr<const dispatch::SpeedLimits> limits) = 0;
    /// One vehicle's stored positions in order of device time (at start: the day is rebuilt).
    virtual void replay(std::vector<dispatch::VehicleFix> fixes) = 0;
};

/// The dispatch engine as the feed's target.
class EngineTarget final : public AssignmentTarget {
  public:
    explicit EngineTarget(dispatch::Engine& engine) : engine_(engine) {}
    void upsert(std::shared_ptr<const dispatch::Assignment> assignment) override;
    void cancel(std::int64_t assignment_id) override;
    void set_speed_limits(std::shared_ptr<const dispatch::SpeedLimits> limits) override;
    void replay(std::vector<dispatch::VehicleFix> fixes) override;

  private:
    dispatch::Engine& engine_;
};

/// How the feed follows the assignments (the lead may make these fleetd configuration keys).
struct AssignmentFeedOptions {
    /// A full reload at least this often: the fallback should a notification be lost, and what
    /// picks up route rules, speed zones and re-imported timetables.
    std::chrono::milliseconds poll{60000};
    /// Work is handed over from this long before its shift starts ...
    std::chrono::minutes ahead{360};
    /// ... and withdrawn this long after it ended (the engine has summarised it by then).
    std::chrono::minutes behind{240};
    /// At start, each vehicle's positions are replayed from this long before the earliest start
    /// of its assignments (the engine's tolerance before a shift).
    std::chrono::minutes replay_before{60};
    /// Wait between attempts to reopen the LISTEN connection.
    std::chrono::milliseconds retry{5000};
};

/// What one reload handed over.
struct FeedChanges {
    std::size_t upserts = 0;
    std::size_t cancels = 0;
    std::size_t refused = 0;        ///< assignments the engine cannot track (logged)
    std::size_t replayed = 0;       ///< positions, at start
    std::size_t notifications = 0;  ///< assignment ids notified and reloaded
    bool full = false;              ///< a full reload (else only the notified assignments)
    bool any() const { return upserts + cancels > 0; }
};

/// Keeps the engine's assignments in step with fleet.shift_assignments, applying only
/// differences: it keeps, by assignment id, a fingerprint of the work it handed over, and hands
/// an assignment again only when its work differs (upsert), withdrawing the ones cancelled,
/// deleted or out of the window (cancel). So a reload never resets a tracker mid-trip.
///
/// The window: the service dates that can be active now in any zone (UTC yesterday, today and
/// tomorrow), narrowed to work from `ahead` before its start to `behind` after its end.
///
/// Changes arrive within about a second: the feed LISTENs on its own connection for the
/// notifications that every write of an assignment sends (dispatch::assignment_channel) and
/// reloads only the assignments notified; a full reload every `poll` is the fallback. It runs
/// on its own thread (never a network thread), polling libpq's socket with a timeout.
///
/// The part's shape: start(), stop(deadline). refresh() and step() are the steps the thread
/// runs, public for tests and tools; never call them while the feed is started.
class AssignmentFeed {
  public:
    using Clock = std::function<dispatch::Millis()>;

    AssignmentFeed(geo::ConnectionFactory connections, AssignmentTarget& target,
                   std::map<std::string, double> class_caps, AssignmentFeedOptions options = {},
                   Clock clock = {});
    /// fleetd's: the engine as the target.
    AssignmentFeed(geo::ConnectionFactory connections, dispatch::Engine& engine,
                   std::map<std::string, double> class_caps, AssignmentFeedOptions options = {},
                   Clock clock = {});
    ~AssignmentFeed();
    AssignmentFeed(const AssignmentFeed&) = delete;
    AssignmentFeed& operator=(const AssignmentFeed&) = delete;

    /// LISTENs, loads the window replaying each assigned vehicle's positions (logged: "N
    /// assignments loaded, M positions of the day replayed"), then follows changes on its own
    /// thread. An unreachable database is logged and retried there; start() does not throw
    /// for it.
    void start();
    /// Stops following within `deadline`: a reload still running then is cancelled.
    void stop(std::chrono::milliseconds deadline);

    /// Opens the LISTEN connection unless it is open; false when the database cannot be
    /// reached (then the next step() tries again after `retry`). After it opens, the next
    /// step() reloads everything, since notifications may have been missed before.
    bool listen();
    /// Reloads the whole window and hands the differences; with `replay`, also each assigned
    /// vehicle's positions since the earliest start of its assignments (once per vehicle).
    /// Throws DatabaseError.
    FeedChanges refresh(bool replay);
    /// Waits up to `wait` for notifications (or until a full reload is due, or stop()), then
    /// reloads what they name (or everything, when due) and hands the differences. Returns
    /// what it handed; nothing when it only waited. Throws DatabaseError for a failed reload.
    FeedChanges step(std::chrono::milliseconds wait);

    /// What the feed has handed over and is following: assignment id → fingerprint.
    std::size_t following() const;

    /// The feed's counters in the Prometheus text format (geo::write_family), for the metrics
    /// registry: reloads by kind, notifications, upserts and cancels handed, failed reloads,
    /// and the assignments followed.
    void write_metrics(std::string& out) const;

  private:
    pqxx::connection& work_connection();
    void drop_connections(bool listen_too);
    FeedChanges reload(const std::vector<std::int64_t>& ids, bool replay);
    std::size_t replay_positions(pqxx::connection& conn,
                                 const std::vector<std::shared_ptr<dispatch::Assignment>>& loaded,
                                 dispatch::Millis now);
    void take_notifications();
    void run();
    void notified(const std::string& payload);

    geo::ConnectionFactory connections_;
    std::unique_ptr<EngineTarget> engine_target_;  // when built with the engine
    AssignmentTarget& target_;
    std::map<std::string, double> class_caps_;
    AssignmentFeedOptions options_;
    Clock clock_;

    // Owned by the thread running the steps.
    std::unordered_map<std::int64_t, std::uint64_t> handed_;  // assignment id → fingerprint
    std::set<std::int64_t> pending_;                          // notified, not yet reloaded
    bool pending_all_ = true;  // a full reload is due (at first, and after reconnecting)
    std::chrono::steady_clock::time_point next_full_{};
    std::chrono::steady_clock::time_point next_listen_{};
    bool failing_ = false;         // the last reload failed (logged once until one succeeds)
    bool listen_failing_ = false;  // LISTEN could not be set up (logged once)

    mutable std::mutex connection_mutex_;  // guards work_ between the thread and stop()
    std::unique_ptr<pqxx::connection> work_;

    ChannelListener channel_;  // LISTEN; stop() wakes the thread's wait on it
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::mutex done_mutex_;
    std::condition_variable done_;
    bool finished_ = false;

    std::atomic<std::uint64_t> full_reloads_{0};
    std::atomic<std::uint64_t> notified_reloads_{0};
    std::atomic<std::uint64_t> notifications_{0};
    std::atomic<std::uint64_t> upserts_{0};
    std::atomic<std::uint64_t> cancels_{0};
    std::atomic<std::uint64_t> failures_{0};
    std::atomic<std::size_t> following_{0};
};

}  // namespace fleet::server
