#include "server/eta_feed.hpp"

#include <cmath>

#include "dispatch/eta_store.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "geo/journal.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"
#include "geo/utf8.hpp"
#include "server/webhooks.hpp"

namespace fleet::server {

namespace {

double seconds_between(dispatch::Millis a, dispatch::Millis b) {
    return std::chrono::duration<double>(b - a).count();
}

void check_secret(const std::string& secret) {
    if (secret.size() < 16 || secret.size() > 256) {
        throw InputError("secret: 16 to 256 characters are needed (it signs every webhook)");
    }
    for (const char c : secret) {
        if (c < 0x21 || c > 0x7e) {
            throw InputError("secret: printable ASCII characters only, without spaces");
        }
    }
}

}  // namespace

std::int64_t create_eta_subscription(pqxx::transaction_base& tx, const EtaSubscriptionInput& in) {
    geo::check_text("consignee", in.consignee, 200, true, false);
    const bool by_stop = in.stop_id.has_value();
    const bool by_point = in.assignment_id.has_value() || in.seq.has_value();
    if (by_stop == by_point) {
        throw InputError(
            "a subscription is to a stop, or to a freight assignment's delivery "
            "point (assignment and seq): one of the two");
    }
    if (by_point && !(in.assignment_id && in.seq)) {
        throw InputError("a delivery point is named by its assignment and its seq");
    }
    parse_webhook_url(in.url);
    check_secret(in.secret);
    if (in.min_change_s < 10 || in.min_change_s > 86400) {
        throw InputError("min-change: 10 to 86400 seconds");
    }
    std::string place;
    if (by_stop) {
        const auto r = tx.exec_params(
            "SELECT coalesce(name, code, stop_id::text) FROM fleet.stops"
            " WHERE stop_id = $1",
            *in.stop_id);
        if (r.empty()) {
            throw NotFoundError("no stop " + std::to_string(*in.stop_id));
        }
        place = "stop " + r[0][0].as<std::string>();
    } else {
        const auto r = tx.exec_params(
            "SELECT name FROM fleet.assignment_stops WHERE assignment_id = $1 AND seq = $2",
            *in.assignment_id, *in.seq);
        if (r.empty()) {
            throw NotFoundError("assignment " + std::to_string(*in.assignment_id) +
                                " has no delivery point " + std::to_string(*in.seq));
        }
        place = "delivery point " + r[0][0].as<std::string>();
    }
    const auto id = tx.exec_params1(
                          "INSERT INTO fleet.eta_subscriptions (consignee, stop_id, "
                          "assignment_id, seq, url, secret, min_change_s, created_by)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING subscription_id",
                          in.consignee, in.stop_id, in.assignment_id, in.seq, in.url, in.secret,
                          in.min_change_s, in.actor)[0]
                        .as<std::int64_t>();
    geo::JournalEntry e;
    e.actor = in.actor;
    e.action = "arrival times subscribed";
    e.kind = "consignee";
    e.subject = place;
    e.counterpart = in.consignee;
    e.assignment_id = in.assignment_id;
    e.details = {{"subscription_id", id}, {"url", in.url}, {"min_change_s", in.min_change_s}};
    geo::record(tx, e);
    return id;
}

void deactivate_eta_subscription(pqxx::transaction_base& tx, std::int64_t id,
                                 const std::string& actor) {
    const auto r = tx.exec_params(
        "UPDATE fleet.eta_subscriptions SET active = false WHERE subscription_id = $1"
        " RETURNING consignee, assignment_id",
        id);
    if (r.empty()) {
        throw NotFoundError("no subscription " + std::to_string(id));
    }
    geo::JournalEntry e;
    e.actor = actor;
    e.action = "arrival times unsubscribed";
    e.kind = "consignee";
    e.subject = "subscription " + std::to_string(id);
    e.counterpart = r[0][0].as<std::string>();
    if (!r[0][1].is_null()) {
        e.assignment_id = r[0][1].as<std::int64_t>();
    }
    e.details = {{"subscription_id", id}};
    geo::record(tx, e);
}

nlohmann::json list_eta_subscriptions(pqxx::transaction_base& tx) {
    const auto r = tx.exec(
        "SELECT json_agg(x ORDER BY x.subscription_id DESC) FROM (SELECT s.subscription_id,"
        " s.consignee, s.stop_id, s.assignment_id, s.seq, s.url, s.min_change_s, s.active,"
        " s.created_by, to_char(s.created_at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at,"
        " count(d.delivery_id) FILTER (WHERE d.state = 'pending') AS pending,"
        " count(d.delivery_id) FILTER (WHERE d.state = 'delivered') AS delivered,"
        " count(d.delivery_id) FILTER (WHERE d.state = 'failed') AS failed"
        " FROM fleet.eta_subscriptions s LEFT JOIN fleet.webhook_deliveries d"
        " USING (subscription_id) GROUP BY s.subscription_id) x");
    return r[0][0].is_null() ? nlohmann::json::array()
                             : nlohmann::json::parse(r[0][0].as<std::string>());
}

nlohmann::json eta_subscription_deliveries(pqxx::transaction_base& tx, std::int64_t id,
                                           std::size_t limit) {
    if (tx.exec_params("SELECT 1 FROM fleet.eta_subscriptions WHERE subscription_id = $1", id)
            .empty()) {
        throw NotFoundError("no subscription " + std::to_string(id));
    }
    const auto r = tx.exec_params(
        "SELECT json_agg(x ORDER BY x.delivery_id DESC) FROM (SELECT d.delivery_id, d.event,"
        " d.payload, d.state, d.attempts, d.created_at, d.next_attempt_at, d.delivered_at,"
        " d.failed_at, d.last_error, (SELECT coalesce(json_agg(a ORDER BY a.attempt), '[]')"
        "   FROM (SELECT attempt, started_at, duration_ms, http_status, error"
        "         FROM fleet.webhook_attempts WHERE delivery_id = d.delivery_id) a) AS attempts_log"
        " FROM fleet.webhook_deliveries d WHERE d.subscription_id = $1"
        " ORDER BY d.delivery_id DESC LIMIT $2) x",
        id, static_cast<std::int64_t>(limit));
    return r[0][0].is_null() ? nlohmann::json::array()
                             : nlohmann::json::parse(r[0][0].as<std::string>());
}

EtaFeed::EtaFeed(geo::ConnectionFactory connections, EtaFeedOptions options)
    : connections_(std::move(connections)), options_(options) {}

EtaFeed::~EtaFeed() {
    if (thread_.joinable()) {
        stop(std::chrono::milliseconds(0));
    }
}

void EtaFeed::on_eta(const std::vector<dispatch::EtaUpdate>& updates,
                     const std::vector<dispatch::StopArrival>& arrivals) {
    received_.fetch_add(updates.size());
    {
        std::lock_guard lock(mutex_);
        for (const auto& u : updates) {
            if (updates_.size() >= options_.max_pending) {
                updates_.pop_front();
                dropped_.fetch_add(1);
            }
            updates_.push_back(u);
        }
        // Arrivals are few (one per stop served) and each is needed for the accuracy: kept.
        arrivals_.insert(arrivals_.end(), arrivals.begin(), arrivals.end());
    }
    wake_.notify_one();
}

void EtaFeed::reload() {
    {
        std::lock_guard lock(mutex_);
        reload_ = true;
    }
    wake_.notify_one();
}

void EtaFeed::load_subscriptions(pqxx::transaction_base& tx) {
    std::vector<Subscription> subs;
    // A freight delivery point by its place among the assignment's stops (the engine's index).
    for (const auto& r :
         tx.exec("SELECT s.subscription_id, s.consignee, s.stop_id, s.assignment_id,"
                 " (SELECT count(*) FROM fleet.assignment_stops o"
                 "   WHERE o.assignment_id = s.assignment_id AND o.seq < s.seq), s.min_change_s"
                 " FROM fleet.eta_subscriptions s WHERE s.active")) {
        Subscription s;
        s.id = r[0].as<std::int64_t>();
        s.consignee = r[1].as<std::string>();
        if (!r[2].is_null()) {
            s.stop_id = r[2].as<std::int64_t>();
        }
        if (!r[3].is_null()) {
            s.assignment_id = r[3].as<std::int64_t>();
        }
        s.stop_index = r[4].as<std::size_t>();
        s.min_change_s = r[5].as<int>();
        subs.push_back(std::move(s));
    }
    subscriptions_ = std::move(subs);
    next_reload_ = std::chrono::steady_clock::now() + options_.reload;
}

bool EtaFeed::matches(const Subscription& s, const dispatch::EtaRun& run, std::size_t stop_index,
                      std::int64_t stop_id) const {
    if (s.stop_id) {
        return *s.stop_id == stop_id;
    }
    return s.assignment_id && *s.assignment_id == run.assignment_id && run.freight &&
           s.stop_index == stop_index;
}

bool EtaFeed::should_store(const dispatch::EtaUpdate& u) {
    if (u.run.assignment_id < 1) {
        return false;
    }
    auto& st = stored_[{u.run.vehicle_id, u.run.service_date, u.run.trip_code}];
    const std::size_t first =
        u.stops.empty() ? u.run.trip().stops.size() : u.stops.front().stop_index;
    bool store = st.arrivals.empty() || first != st.first_stop ||
                 u.made_at - st.made_at >= options_.store_interval;
    for (const auto& s : u.stops) {
        if (store) {
            break;
        }
        store = s.stop_index >= st.arrivals.size() ||
                std::abs(seconds_between(st.arrivals[s.stop_index], s.arrival)) >=
                    static_cast<double>(options_.store_change.count());
    }
    if (store) {
        st.made_at = u.made_at;
        st.first_stop = first;
        st.arrivals.assign(u.run.trip().stops.size(), dispatch::Millis{});
        for (const auto& s : u.stops) {
            st.arrivals[s.stop_index] = s.arrival;
        }
    }
    return store;
}

namespace {

nlohmann::json webhook_payload(const std::string& event, std::int64_t subscription,
                               const std::string& consignee, const dispatch::EtaRun& run,
                               std::size_t stop_index) {
    const dispatch::PlannedStop& stop = run.trip().stops[stop_index];
    nlohmann::json p = {
        {"event", event},
        {"subscription_id", subscription},
        {"consignee", consignee},
        {"vehicle_id", run.vehicle_id},
        {"service_date", run.service_date},
        {"trip", run.trip_code},
        {"route", run.route_code},
        {"stop",
         {{"index", stop_index},
          {"id", stop.stop_id > 0 ? nlohmann::json(stop.stop_id) : nullptr},
          {"code", stop.code},
          {"name", stop.name}}},
        {"scheduled_arrival", geo::iso_utc(stop.arrival)},
    };
    if (run.assignment_id > 0) {
        p["assignment_id"] = run.assignment_id;
    }
    return p;
}

}  // namespace

void EtaFeed::queue_webhook(pqxx::transaction_base& tx, const Subscription& s,
                            const std::string& event, nlohmann::json payload) {
    tx.exec_params0(
        "INSERT INTO fleet.webhook_deliveries (subscription_id, event, payload)"
        " VALUES ($1, $2, $3::jsonb)",
        s.id, event, payload.dump());
}

void EtaFeed::step(pqxx::connection& conn) {
    std::vector<dispatch::EtaUpdate> updates;
    std::vector<dispatch::StopArrival> arrivals;
    bool reload = false;
    {
        std::lock_guard lock(mutex_);
        updates.assign(std::make_move_iterator(updates_.begin()),
                       std::make_move_iterator(updates_.end()));
        updates_.clear();
        arrivals.swap(arrivals_);
        reload = std::exchange(reload_, false);
    }
    // Put back what was taken when the round fails: it is tried again.
    auto give_back = [&] {
        std::lock_guard lock(mutex_);
        for (auto it = updates.rbegin(); it != updates.rend(); ++it) {
            if (updates_.size() < options_.max_pending) {
                updates_.push_front(std::move(*it));
            } else {
                dropped_.fetch_add(1);
            }
        }
        arrivals_.insert(arrivals_.begin(), arrivals.begin(), arrivals.end());
        reload_ = reload_ || reload;
    };
    const auto stored_before = stored_;  // should_store() notes what it stores: undone on failure
    try {
        pqxx::work tx(conn);
        if (reload || std::chrono::steady_clock::now() >= next_reload_) {
            load_subscriptions(tx);
        }
        std::vector<dispatch::EtaUpdate> to_store;
        auto sent = sent_;
        std::uint64_t queued = 0;
        for (const auto& u : updates) {
            if (should_store(u)) {
                to_store.push_back(u);
            }
            for (const auto& s : u.stops) {
                const auto stop_id = u.run.trip().stops[s.stop_index].stop_id;
                for (const auto& sub : subscriptions_) {
                    if (!matches(sub, u.run, s.stop_index, stop_id)) {
                        continue;
                    }
                    const SentKey key{sub.id, u.run.vehicle_id, u.run.service_date, u.run.trip_code,
                                      s.stop_index};
                    const auto it = sent.find(key);
                    std::string event;
                    if (it == sent.end()) {
                        event = "eta";
                    } else if (std::abs(seconds_between(it->second, s.arrival)) >
                               static_cast<double>(sub.min_change_s)) {
                        event = "eta_changed";
                    } else {
                        continue;
                    }
                    auto payload =
                        webhook_payload(event, sub.id, sub.consignee, u.run, s.stop_index);
                    payload["estimated_arrival"] = geo::iso_utc(s.arrival);
                    payload["estimated_at"] = geo::iso_utc(u.made_at);
                    if (it != sent.end()) {
                        payload["previous_estimate"] = geo::iso_utc(it->second);
                    }
                    queue_webhook(tx, sub, event, std::move(payload));
                    sent[key] = s.arrival;
                    ++queued;
                }
            }
        }
        for (const auto& a : arrivals) {
            const auto stop_id = a.run.trip().stops[a.stop_index].stop_id;
            for (const auto& sub : subscriptions_) {
                if (!matches(sub, a.run, a.stop_index, stop_id)) {
                    continue;
                }
                auto payload =
                    webhook_payload("arrived", sub.id, sub.consignee, a.run, a.stop_index);
                payload["arrived_at"] = geo::iso_utc(a.arrived_at);
                queue_webhook(tx, sub, "arrived", std::move(payload));
                sent.erase(SentKey{sub.id, a.run.vehicle_id, a.run.service_date, a.run.trip_code,
                                   a.stop_index});
                ++queued;
            }
        }
        dispatch::save_predictions(tx, to_store);
        dispatch::save_arrivals(tx, arrivals);
        tx.commit();
        sent_ = std::move(sent);
        std::size_t rows = 0;
        for (const auto& u : to_store) {
            rows += u.stops.size();
        }
        predictions_.fetch_add(rows);
        arrivals_stored_.fetch_add(arrivals.size());
        queued_.fetch_add(queued);
        // Forget the runs of past days.
        if (!updates.empty()) {
            const dispatch::Millis horizon = updates.back().made_at - std::chrono::hours(30);
            std::erase_if(stored_, [&](const auto& e) { return e.second.made_at < horizon; });
        }
    } catch (...) {
        stored_ = stored_before;
        give_back();
        throw;
    }
}

void EtaFeed::start() {
    thread_ = std::thread([this] { run(); });
}

void EtaFeed::stop(std::chrono::milliseconds deadline) {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        stop_at_ = std::chrono::steady_clock::now() + deadline;
    }
    wake_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void EtaFeed::run() {
    std::unique_ptr<pqxx::connection> conn;
    bool failing = false;
    for (;;) {
        bool last = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(1), [&] {
                return stopping_ || !updates_.empty() || !arrivals_.empty() || reload_;
            });
            last = stopping_;
            if (stopping_ && (std::chrono::steady_clock::now() >= stop_at_ ||
                              (updates_.empty() && arrivals_.empty()))) {
                if (!updates_.empty() || !arrivals_.empty()) {
                    log::warn("eta", std::to_string(updates_.size()) + " predictions and " +
                                         std::to_string(arrivals_.size()) +
                                         " arrivals not stored by the shutdown deadline");
                }
                return;
            }
        }
        try {
            if (!conn) {
                conn = connections_.connect("fleetd eta");
            }
            step(*conn);
            if (failing) {
                log::info("eta", "storing arrival times again");
                failing = false;
            }
        } catch (const std::exception& e) {
            failures_.fetch_add(1);
            conn.reset();
            if (!failing) {
                log::warn("eta", std::string("arrival times not stored, retrying: ") + e.what());
                failing = true;
            }
            if (!last) {
                std::unique_lock lock(mutex_);
                wake_.wait_for(lock, options_.retry, [&] { return stopping_; });
            }
        }
    }
}

EtaFeed::Figures EtaFeed::figures() const {
    return {received_.load(), predictions_.load(), arrivals_stored_.load(),
            queued_.load(),   dropped_.load(),     failures_.load()};
}

void EtaFeed::write_metrics(std::string& out) const {
    const auto f = figures();
    geo::write_family(out, "fleet_eta_updates_total", "counter",
                      "Arrival-time predictions received from the engine (one per fix on a run)",
                      {{"", static_cast<double>(f.updates)}});
    geo::write_family(out, "fleet_eta_predictions_stored_total", "counter",
                      "Stop predictions stored in fleet.eta_predictions",
                      {{"", static_cast<double>(f.predictions_stored)}});
    geo::write_family(out, "fleet_eta_arrivals_stored_total", "counter",
                      "Arrivals at stops stored in fleet.stop_arrivals",
                      {{"", static_cast<double>(f.arrivals_stored)}});
    geo::write_family(out, "fleet_eta_webhooks_queued_total", "counter",
                      "Consignee webhooks queued in fleet.webhook_deliveries",
                      {{"", static_cast<double>(f.webhooks_queued)}});
    geo::write_family(out, "fleet_eta_dropped_total", "counter",
                      "Predictions dropped while the database was behind (oldest first)",
                      {{"", static_cast<double>(f.dropped)}});
    geo::write_family(out, "fleet_eta_failures_total", "counter",
                      "Rounds of storing that failed (retried)",
                      {{"", static_cast<double>(f.failures)}});
}

}  // namespace fleet::server
