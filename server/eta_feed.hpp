#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "dispatch/eta_book.hpp"
#include "geo/store.hpp"

/// Arrival times out of the engine: stored with the time each was made (dispatch/eta_store.hpp)
/// and, for consignees subscribed to a delivery point, turned into webhooks (the outbox
/// fleet.webhook_deliveries that server/webhooks.hpp sends): when the time is first known, when
/// it moves by more than the subscription's min_change_s from the one last sent, and on arrival.
namespace fleet::server {

/// A consignee's subscription (fleet.eta_subscriptions): a stop (every run calling there) or one
/// delivery point of one freight assignment (its seq).
struct EtaSubscriptionInput {
    std::string consignee{};
    std::optional<std::int64_t> stop_id{};
    std::optional<std::int64_t> assignment_id{};
    std::optional<int> seq{};
    std::string url{};     ///< http or https (parse_webhook_url)
    std::string secret{};  ///< 16–256 printable ASCII characters, signs each request
    int min_change_s = 120;
    std::string actor{};
};
/// Checks and stores a subscription; journals it (kind "consignee", the consignee as the
/// counterpart). Returns its id. Throws InputError naming the field (no place or two, a URL
/// that is not http(s), a short secret, min_change_s outside 10..86400, a consignee name empty
/// or too long), NotFoundError for an unknown stop or assignment stop.
std::int64_t create_eta_subscription(pqxx::transaction_base& tx, const EtaSubscriptionInput& in);
/// Deactivates one (no more webhooks; its deliveries stay in the log). NotFoundError if unknown.
void deactivate_eta_subscription(pqxx::transaction_base& tx, std::int64_t id,
                                 const std::string& actor);
/// Every subscription, newest first, without its secret; each with its deliveries' counts.
nlohmann::json list_eta_subscriptions(pqxx::transaction_base& tx);
/// One subscription's deliveries (newest first, at most `limit`) with their attempts.
nlohmann::json eta_subscription_deliveries(pqxx::transaction_base& tx, std::int64_t id,
                                           std::size_t limit);

struct EtaFeedOptions {
    /// A run's predictions are stored when this much time passed since the last stored, when
    /// one moved by more than store_change, or when a stop was left behind.
    std::chrono::seconds store_interval{30};
    std::chrono::seconds store_change{60};
    /// Subscriptions reloaded at least this often (reload() at once).
    std::chrono::seconds reload{30};
    /// Updates waiting for the thread at most; beyond it the oldest are dropped (counted).
    std::size_t max_pending = 100000;
    std::chrono::milliseconds retry{5000};
};

class EtaFeed {
  public:
    EtaFeed(geo::ConnectionFactory connections, EtaFeedOptions options = {});
    ~EtaFeed();
    EtaFeed(const EtaFeed&) = delete;
    EtaFeed& operator=(const EtaFeed&) = delete;

    /// Any thread (the engine's matching thread); quick: queues and returns.
    void on_eta(const std::vector<dispatch::EtaUpdate>& updates,
                const std::vector<dispatch::StopArrival>& arrivals);
    /// The subscriptions changed: reload them before the next round.
    void reload();

    void start();
    /// Stores what was handed over (within `deadline`) and stops.
    void stop(std::chrono::milliseconds deadline);

    /// One round on the caller's connection: what was handed over is stored and its webhooks
    /// queued, in one transaction. Public for tests; never while started. Throws on database
    /// failure (what was taken is kept for the next round).
    void step(pqxx::connection& conn);

    struct Figures {
        std::uint64_t updates = 0;             ///< received
        std::uint64_t predictions_stored = 0;  ///< rows
        std::uint64_t arrivals_stored = 0;
        std::uint64_t webhooks_queued = 0;
        std::uint64_t dropped = 0;   ///< beyond max_pending
        std::uint64_t failures = 0;  ///< rounds that failed
    };
    Figures figures() const;
    /// fleet_eta_* families.
    void write_metrics(std::string& out) const;

  private:
    struct Subscription {
        std::int64_t id = 0;
        std::string consignee;
        std::optional<std::int64_t> stop_id;
        std::optional<std::int64_t> assignment_id;
        std::size_t stop_index = 0;  // of a freight assignment's delivery point
        int min_change_s = 120;
    };
    // (subscription, vehicle, service date, trip code, stop index)
    using SentKey = std::tuple<std::int64_t, std::int64_t, std::string, std::string, std::size_t>;
    struct Stored {
        dispatch::Millis made_at{};
        std::size_t first_stop = 0;
        std::vector<dispatch::Millis> arrivals;  // by stop index
    };

    void load_subscriptions(pqxx::transaction_base& tx);
    bool matches(const Subscription& s, const dispatch::EtaRun& run, std::size_t stop_index,
                 std::int64_t stop_id) const;
    bool should_store(const dispatch::EtaUpdate& u);
    void queue_webhook(pqxx::transaction_base& tx, const Subscription& s, const std::string& event,
                       nlohmann::json payload);
    void run();

    geo::ConnectionFactory connections_;
    EtaFeedOptions options_;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<dispatch::EtaUpdate> updates_;
    std::vector<dispatch::StopArrival> arrivals_;
    bool reload_ = true;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stop_at_{};
    std::thread thread_;

    // The thread's own.
    std::vector<Subscription> subscriptions_;
    std::chrono::steady_clock::time_point next_reload_{};
    std::map<SentKey, dispatch::Millis> sent_;  // the arrival time last sent
    // by (vehicle, service date, trip code)
    std::map<std::tuple<std::int64_t, std::string, std::string>, Stored> stored_;

    std::atomic<std::uint64_t> received_{0}, predictions_{0}, arrivals_stored_{0}, queued_{0},
        dropped_{0}, failures_{0};
};

}  // namespace fleet::server
