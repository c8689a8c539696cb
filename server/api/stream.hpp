#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "dispatch/events.hpp"
#include "dispatch/notices.hpp"
#include "ingest/writer.hpp"
#include "server/api/live.hpp"

/// The live stream behind the API's WebSocket (/api/socket): committed positions and the
/// engine's events, coalesced per vehicle and sent in frames at most every `period`. A frame is
/// serialised once per distinct filter, not once per subscriber; a subscriber whose unsent bytes
/// pass a bound is dropped (it reconnects and resyncs from /api/vehicles). Taking updates costs
/// ingest a map insert under a lock; nothing on ingest's path waits for a subscriber.
namespace fleet::server::api {

/// What a subscriber receives: what it may see (a dispatcher's groups) narrowed by what it
/// asked for.
struct StreamFilter {
    /// Only these vehicles; nothing: every vehicle.
    std::optional<std::set<std::int64_t>> vehicles{};
    bool positions = true;
    bool events = true;
    bool assignments = true;
    /// Changes of notice deliveries (to the drivers of the vehicles seen).
    bool notices = true;
    /// Only events of these kinds; empty: every kind.
    std::set<std::string> kinds{};

    /// A key equal for equal filters (the frames of equal filters are shared).
    std::string key() const;
};

/// The receiving end of a subscription (a WebSocket session). Called on the stream's flushing
/// thread: must not block.
class StreamSubscriber {
  public:
    virtual ~StreamSubscriber() = default;
    /// Queues a frame (JSON text) for sending.
    virtual void send(std::shared_ptr<const std::string> frame) = 0;
    /// Bytes queued and not yet sent.
    virtual std::size_t queued_bytes() const = 0;
    /// Closes the subscription because it cannot keep up; true the first time (a dropped
    /// subscriber may still be subscribed while its connection closes).
    virtual bool drop_slow() = 0;
};

struct StreamConfig {
    std::chrono::milliseconds period{100};
    std::size_t max_queued_bytes = 4 << 20;  ///< per subscriber
};

/// A vehicle's dispatch state after the engine matched a fix: what the board shows of it.
struct DispatchUpdate {
    std::string adherence{};  ///< on_time, late, early, off_route, unknown, unassigned
    std::optional<double> deviation_s{};
    std::optional<std::int64_t> assignment_id{};
    std::string route_code{};
    std::string route_short_name{};
    std::string trip_code{};
    std::string block{};
    bool off_route = false;
};

class LiveStream : public ingest::PositionSink {
  public:
    explicit LiveStream(StreamConfig config = {});

    /// The writer's committed positions (any thread; quick).
    void on_committed(std::span<const ingest::StoredPosition> positions) override;
    /// An engine event report (the events thread; quick).
    void on_event(const dispatch::Event& event);
    /// An assignment handed to the engine, new or changed (the assignment feed's thread).
    void on_assignment(const dispatch::Assignment& assignment);
    /// An assignment withdrawn from the engine: cancelled, deleted or out of its window.
    void on_assignment_withdrawn(std::int64_t assignment_id);
    /// A vehicle's dispatch state after a matched fix (the engine's matching thread; quick).
    void on_dispatch(std::int64_t vehicle_id, DispatchUpdate update);
    /// A notice delivery whose state changed (the notice service's thread).
    void on_notice_delivery(const dispatch::DeliveryChange& change);

    /// Adds a subscriber; returns its id for unsubscribe and refilter.
    std::uint64_t subscribe(StreamFilter filter, std::weak_ptr<StreamSubscriber> subscriber);
    void refilter(std::uint64_t id, StreamFilter filter);
    void unsubscribe(std::uint64_t id);

    /// Sends what came since the last flush: one frame per distinct filter that has anything to
    /// send, to every subscriber of that filter; drops subscribers past the bound. `now` dates
    /// the frame.
    void flush(geo::Millis now);

    const StreamConfig& config() const { return config_; }
    std::size_t subscribers() const;
    std::uint64_t dropped() const { return dropped_.load(); }
    std::uint64_t frames() const { return frames_.load(); }
    /// fleet_api_stream_* families.
    void write_metrics(std::string& out) const;

  private:
    struct AssignmentChange {
        std::int64_t assignment_id = 0;
        bool withdrawn = false;
        std::string service_date, block;
        std::vector<std::string> trips;
        std::optional<geo::Millis> start, end;
    };
    struct Pending {
        std::optional<LatestFix> fix;
        std::int64_t committed_ms = 0;  ///< server time of the commit, for latency
        std::vector<dispatch::Event> events;
        std::vector<AssignmentChange> assignments;
        std::vector<dispatch::DeliveryChange> deliveries;
        std::optional<DispatchUpdate> dispatch;  ///< the latest
    };
    struct Subscription {
        StreamFilter filter;
        std::string key;
        std::weak_ptr<StreamSubscriber> subscriber;
    };

    StreamConfig config_;
    std::mutex pending_mutex_;
    /// The dispatch state last queued per vehicle (under pending_mutex_): unchanged ones are not
    /// sent again.
    std::unordered_map<std::int64_t, std::optional<DispatchUpdate>> dispatch_sent_;
    std::unordered_map<std::int64_t, Pending> pending_;
    std::unordered_map<std::int64_t, std::int64_t> assignment_vehicles_;  ///< of those handed
    mutable std::mutex subscribers_mutex_;
    std::map<std::uint64_t, Subscription> subscriptions_;
    std::uint64_t next_id_ = 1;
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> frames_{0};
    std::atomic<std::uint64_t> updates_{0};
};

}  // namespace fleet::server::api
