#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/notices.hpp"
#include "geo/iso_time.hpp"
#include "geo/ogr_features.hpp"
#include "geo/store.hpp"
#include "ingest/downlink.hpp"
#include "ingest/handler.hpp"
#include "ingest/writer.hpp"
#include "server/channel_listener.hpp"

/// fleetd's notice service: sends each notice's deliveries through the Downlink to the devices
/// of the vehicles concerned, and records every step of each (dispatch/notices.hpp).
///
/// - A notice made (by the API or fleetctl) is announced on dispatch::notice_channel; the
///   service LISTENs, and sends its queued deliveries within a second to the vehicles whose
///   devices are connected. The others wait for their device: when it logs in (on_connected),
///   what it has not confirmed is sent again with the same id (a terminal shows it once).
/// - Each committed fix is checked against the areas of the notices in force (in memory, a
///   bounding box first): a vehicle that enters one gets the notice (the entered rule), once.
/// - The Downlink's outcome (written: "sent"; the protocol cannot carry it: "failed" with the
///   reason) and the devices' receipts (delivered, read) are applied in batches, forward only.
/// - Deliveries never sent when their notice's validity ends become "expired"; nothing is sent
///   after expiry or withdrawal; a withdrawal is sent to those who got the notice.
/// Every change goes to the listeners (the live stream) and to the journal.
///
/// Nothing here runs on a network or writer thread but the quick hand-overs (on_committed,
/// on_receipt, on_connected, the Downlink's callbacks): the database work is the service's own
/// thread's, with its own connections. What waits for that thread is bounded (max_pending);
/// beyond it hand-overs are dropped and counted, never waited for.
namespace fleet::server {

struct NoticeServiceOptions {
    /// Queued deliveries tried again and expired ones marked at least this often.
    std::chrono::milliseconds sweep{5000};
    /// The areas in force reloaded at least this often (notifications reload them at once).
    std::chrono::milliseconds reload{60000};
    /// Wait between attempts to reach the database.
    std::chrono::milliseconds retry{5000};
    /// Hand-overs waiting for the service's thread at most.
    std::size_t max_pending = 200000;
    /// A vehicle inside an area that yielded no delivery (no driver then) is looked at again
    /// after this.
    std::chrono::milliseconds reconsider{std::chrono::minutes(5)};
};

class NoticeService final : public ingest::PositionSink {
  public:
    using Clock = std::function<geo::Millis()>;
    using Listener = std::function<void(const dispatch::DeliveryChange&)>;

    NoticeService(geo::ConnectionFactory connections, ingest::Downlink& downlink, Clock clock,
                  NoticeServiceOptions options = {});
    ~NoticeService() override;
    NoticeService(const NoticeService&) = delete;
    NoticeService& operator=(const NoticeService&) = delete;

    /// Called on the service's thread with every change applied; add before start().
    void add_listener(Listener listener);

    /// Starts the thread: LISTENs, loads the areas in force, sends what is queued. An
    /// unreachable database is logged and retried there.
    void start();
    /// Applies what was handed over (within `deadline`) and stops the thread.
    void stop(std::chrono::milliseconds deadline);

    /// Any thread; quick. Checks each fix against the areas in force.
    void on_committed(std::span<const ingest::StoredPosition> positions) override;
    /// Any thread; quick. A device's receipt (delivered, read).
    void on_receipt(std::int64_t vehicle_id, const ingest::NoticeReceipt& receipt);
    /// Any thread; quick. A vehicle's device connected: what it has not confirmed is sent.
    void on_connected(std::int64_t vehicle_id);

    /// One round of the thread: waits up to `wait` for input (a notification, a hand-over, a
    /// sweep due), then does what it asks. Public for tests; never while started. Throws
    /// DatabaseError (the thread logs it and retries).
    void step(std::chrono::milliseconds wait);

    struct Figures {
        std::uint64_t sent = 0, delivered = 0, read = 0, failed = 0, expired = 0;
        std::uint64_t withdrawals_sent = 0, withdrawals_delivered = 0;
        std::uint64_t replies = 0;        ///< drivers' answers to messages
        std::uint64_t not_connected = 0;  ///< sends that found no connection (they wait)
        std::uint64_t entered = 0;        ///< deliveries queued by the entered rule
        std::uint64_t dropped = 0;        ///< hand-overs beyond max_pending
        std::uint64_t unmatched = 0;      ///< receipts that moved no delivery
        std::uint64_t failures = 0;       ///< rounds that failed (database)
    };
    Figures figures() const;
    /// fleet_notices_* families.
    void write_metrics(std::string& out) const;

  private:
    struct Area {
        std::int64_t notice_id = 0;
        geo::Millis valid_from{}, valid_until{};
        geo::MultiPolygon polygons;
        double min_lon = 180, min_lat = 90, max_lon = -180, max_lat = -90;
    };
    struct Entered {
        std::int64_t notice_id = 0, vehicle_id = 0;
        geo::Millis at{};
    };
    struct Inbox {
        std::vector<dispatch::DeliveryStep> steps;
        std::vector<Entered> entered;
        std::set<std::int64_t> connected;
        std::set<std::int64_t> notified;
        std::size_t size() const { return steps.size() + entered.size() + connected.size(); }
    };

    bool listen();
    pqxx::connection& work();
    void drop_connections();
    void notified(const std::string& payload);
    void wake();
    void reload_areas(pqxx::connection& conn);
    void send(const std::vector<dispatch::Outgoing>& messages);
    void apply(std::vector<dispatch::DeliveryStep> steps);
    void publish(const std::vector<dispatch::DeliveryChange>& changes);
    void push_step(dispatch::DeliveryStep step);
    void run();

    geo::ConnectionFactory connections_;
    ingest::Downlink& downlink_;
    Clock clock_;
    NoticeServiceOptions options_;
    std::vector<Listener> listeners_;

    // Areas in force, swapped whole by the thread; read by the writer's threads.
    mutable std::mutex areas_mutex_;
    std::shared_ptr<const std::vector<Area>> areas_ = std::make_shared<std::vector<Area>>();
    // (notice, vehicle) pairs the entered rule looked at, and when.
    std::mutex considered_mutex_;
    std::map<std::pair<std::int64_t, std::int64_t>, geo::Millis> considered_;

    std::mutex inbox_mutex_;
    Inbox inbox_;

    // The thread's own.
    std::unique_ptr<pqxx::connection> work_;
    bool resync_ = true;  // send everything queued (at first, and after reconnecting)
    std::set<std::tuple<std::int64_t, std::int64_t, bool>> in_flight_;  // (notice, vehicle, w)
    std::chrono::steady_clock::time_point next_sweep_{}, next_reload_{}, next_listen_{};
    bool failing_ = false;

    ChannelListener channel_;  // LISTEN; wake() ends the thread's wait on it
    std::atomic<bool> stopping_{false};
    std::thread thread_;
    std::mutex in_flight_mutex_;

    std::atomic<std::uint64_t> sent_{0}, delivered_{0}, read_{0}, failed_{0}, expired_{0},
        withdrawals_sent_{0}, withdrawals_delivered_{0}, not_connected_{0}, entered_{0},
        dropped_{0}, unmatched_{0}, failures_{0}, replies_{0};
};

}  // namespace fleet::server
