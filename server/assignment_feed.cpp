#include "server/assignment_feed.hpp"

#include <algorithm>
#include <charconv>

#include "dispatch/assignments.hpp"
#include "dispatch/speed_limits_store.hpp"
#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"

namespace fleet::server {

void EngineTarget::upsert(std::shared_ptr<const dispatch::Assignment> assignment) {
    engine_.upsert(std::move(assignment));
}

void EngineTarget::cancel(std::int64_t assignment_id) {
    engine_.cancel(assignment_id);
}

void EngineTarget::set_speed_limits(std::shared_ptr<const dispatch::SpeedLimits> limits) {
    engine_.set_speed_limits(std::move(limits));
}

void EngineTarget::replay(std::vector<dispatch::VehicleFix> fixes) {
    engine_.on_positions(std::move(fixes));
}

namespace {

dispatch::Millis system_now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

}  // namespace

AssignmentFeed::AssignmentFeed(geo::ConnectionFactory connections, AssignmentTarget& target,
                               std::map<std::string, double> class_caps,
                               AssignmentFeedOptions options, Clock clock)
    : connections_(std::move(connections)),
      target_(target),
      class_caps_(std::move(class_caps)),
      options_(options),
      clock_(clock ? std::move(clock) : Clock(system_now)),
      channel_(dispatch::assignment_channel,
               [this](const std::string& payload) { notified(payload); }) {}

AssignmentFeed::AssignmentFeed(geo::ConnectionFactory connections, dispatch::Engine& engine,
                               std::map<std::string, double> class_caps,
                               AssignmentFeedOptions options, Clock clock)
    : connections_(std::move(connections)),
      engine_target_(std::make_unique<EngineTarget>(engine)),
      target_(*engine_target_),
      class_caps_(std::move(class_caps)),
      options_(options),
      clock_(clock ? std::move(clock) : Clock(system_now)),
      channel_(dispatch::assignment_channel,
               [this](const std::string& payload) { notified(payload); }) {}

AssignmentFeed::~AssignmentFeed() {
    stop(std::chrono::milliseconds(0));
}

void AssignmentFeed::notified(const std::string& payload) {
    ++notifications_;
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), id);
    if (ec != std::errc() || end != payload.data() + payload.size()) {
        pending_all_ = true;  // not one of ours: look at everything
        return;
    }
    pending_.insert(id);
}

pqxx::connection& AssignmentFeed::work_connection() {
    std::lock_guard lock(connection_mutex_);
    if (!work_ || !work_->is_open()) {
        work_.reset();
        auto conn = connections_.connect("fleetd assignments");
        work_ = std::move(conn);
    }
    return *work_;
}

void AssignmentFeed::drop_connections(bool listen_too) {
    {
        std::lock_guard lock(connection_mutex_);
        work_.reset();
    }
    if (listen_too) {
        channel_.close();
        pending_all_ = true;
    }
}

bool AssignmentFeed::listen() {
    if (channel_.listening()) {
        return true;
    }
    std::string problem;
    try {
        channel_.open(connections_, "fleetd assignment changes");
        pending_all_ = true;  // whatever was notified before we listened
        if (listen_failing_) {
            log::info("dispatch", "following assignment changes again");
            listen_failing_ = false;
        }
        return true;
    } catch (const Error& e) {
        problem = e.what();
    } catch (const pqxx::failure& e) {
        problem = e.what();
    }
    next_listen_ = std::chrono::steady_clock::now() + options_.retry;
    if (!listen_failing_) {
        log::warn("dispatch", "assignment changes not followed (retried every " +
                                  std::to_string(options_.retry.count()) +
                                  " ms; full reloads meanwhile): " + problem);
        listen_failing_ = true;
    }
    return false;
}

FeedChanges AssignmentFeed::refresh(bool replay) {
    return reload({}, replay);
}

FeedChanges AssignmentFeed::reload(const std::vector<std::int64_t>& ids, bool replay) {
    const bool full = ids.empty();
    FeedChanges changes;
    changes.full = full;
    changes.notifications = ids.size();
    try {
        pqxx::connection& conn = work_connection();
        const auto now = clock_();
        dispatch::AssignmentSelection selection;
        selection.ids = ids;
        if (full) {
            selection.service_dates = dispatch::service_dates_around(now);
            target_.set_speed_limits(dispatch::load_speed_limits(conn, class_caps_));
        }
        selection.active_from = now - options_.behind;
        selection.active_to = now + options_.ahead;
        const auto loaded = dispatch::load_assignments(conn, selection);
        std::set<std::int64_t> seen;
        for (const auto& a : loaded) {
            seen.insert(a->assignment_id);
            const auto digest = dispatch::fingerprint(*a);
            const auto it = handed_.find(a->assignment_id);
            if (it != handed_.end() && it->second == digest) {
                continue;
            }
            handed_[a->assignment_id] = digest;  // refused or not: not retried until it changes
            try {
                target_.upsert(a);
                ++changes.upserts;
            } catch (const InputError& e) {
                // One assignment the engine cannot track harms only itself.
                ++changes.refused;
                log::warn("dispatch", "assignment " + std::to_string(a->assignment_id) +
                                          " not tracked: " + e.what());
            }
        }
        // Gone: cancelled, deleted, or out of the window (of those looked at).
        std::vector<std::int64_t> gone;
        if (full) {
            for (const auto& [id, digest] : handed_) {
                if (!seen.contains(id)) {
                    gone.push_back(id);
                }
            }
        } else {
            for (const auto id : ids) {
                if (!seen.contains(id) && handed_.contains(id)) {
                    gone.push_back(id);
                }
            }
        }
        std::sort(gone.begin(), gone.end());
        for (const auto id : gone) {
            handed_.erase(id);
            target_.cancel(id);
            ++changes.cancels;
        }
        if (replay) {
            changes.replayed = replay_positions(conn, loaded, now);
        }
        if (full) {
            pending_.clear();
            pending_all_ = false;
            next_full_ = std::chrono::steady_clock::now() + options_.poll;
            ++full_reloads_;
        } else {
            ++notified_reloads_;
        }
        upserts_ += changes.upserts;
        cancels_ += changes.cancels;
        following_ = handed_.size();
        return changes;
    } catch (const pqxx::failure& e) {
        ++failures_;
        drop_connections(false);
        throw DatabaseError(std::string("assignments: ") + e.what());
    } catch (const DatabaseError&) {
        ++failures_;
        drop_connections(false);
        throw;
    }
}

std::size_t AssignmentFeed::replay_positions(
    pqxx::connection& conn, const std::vector<std::shared_ptr<dispatch::Assignment>>& loaded,
    dispatch::Millis now) {
    // Each vehicle once, from the earliest start of its assignments.
    std::map<std::int64_t, dispatch::Millis> since;
    for (const auto& a : loaded) {
        const auto from = a->planned_start - options_.replay_before;
        const auto [it, fresh] = since.emplace(a->vehicle_id, from);
        if (!fresh) {
            it->second = std::min(it->second, from);
        }
    }
    std::size_t replayed = 0;
    for (const auto& [vehicle, from] : since) {
        if (from > now) {
            continue;  // its work has not begun
        }
        pqxx::read_transaction tx(conn);
        std::vector<dispatch::VehicleFix> fixes;
        for (const auto& p : tx.exec_params(
                 "SELECT (extract(epoch FROM device_time) * 1000)::bigint, ST_X(geom),"
                 " ST_Y(geom), speed_kmh, valid,"
                 " (extract(epoch FROM server_time) * 1000)::bigint FROM fleet.positions "
                 "WHERE vehicle_id = $1"
                 " AND device_time >= to_timestamp($2::double precision / 1000)"
                 " ORDER BY device_time",
                 vehicle, static_cast<double>(from.time_since_epoch().count()))) {
            dispatch::Fix f;
            f.time = dispatch::Millis(std::chrono::milliseconds(p[0].as<long long>()));
            f.position = {p[1].as<double>(), p[2].as<double>()};
            if (!p[3].is_null()) {
                f.speed_kmh = p[3].as<double>();
            }
            f.valid = p[4].as<bool>();
            f.received_at = dispatch::Millis(std::chrono::milliseconds(p[5].as<long long>()));
            fixes.push_back({vehicle, f, std::chrono::steady_clock::now()});
        }
        replayed += fixes.size();
        if (!fixes.empty()) {
            target_.replay(std::move(fixes));
        }
    }
    return replayed;
}

void AssignmentFeed::take_notifications() {
    std::string problem;
    if (channel_.take(&problem)) {
        return;
    }
    log::warn("dispatch", "assignment changes: connection lost (" + problem + "); reconnecting");
    drop_connections(true);
    listen();  // at once: the full reload that follows then misses nothing
}

FeedChanges AssignmentFeed::step(std::chrono::milliseconds wait) {
    const auto started = std::chrono::steady_clock::now();
    // What libpq has already read counts too: the socket would not show it.
    take_notifications();
    if (!channel_.listening() && started >= next_listen_) {
        listen();
    }
    const bool due = pending_all_ || started >= next_full_;
    if (!due && pending_.empty() && !stopping_) {
        auto timeout = std::min(
            wait, std::chrono::duration_cast<std::chrono::milliseconds>(next_full_ - started));
        if (!channel_.listening()) {
            timeout =
                std::min(timeout, std::max(std::chrono::milliseconds(0),
                                           std::chrono::duration_cast<std::chrono::milliseconds>(
                                               next_listen_ - started)));
        }
        channel_.wait(timeout);
        take_notifications();
    }
    if (stopping_) {
        return {};
    }
    if (pending_all_ || std::chrono::steady_clock::now() >= next_full_) {
        return reload({}, false);
    }
    if (pending_.empty()) {
        return {};
    }
    std::vector<std::int64_t> ids(pending_.begin(), pending_.end());
    pending_.clear();
    try {
        return reload(ids, false);
    } catch (const Error&) {
        pending_all_ = true;  // what was notified is looked at again, with everything
        throw;
    }
}

std::size_t AssignmentFeed::following() const {
    return following_.load();
}

void AssignmentFeed::start() {
    stopping_ = false;
    {
        std::lock_guard lock(done_mutex_);
        finished_ = false;
    }
    listen();
    try {
        const auto loaded = refresh(/*replay=*/true);
        log::info("dispatch", std::to_string(loaded.upserts) + " assignments loaded, " +
                                  std::to_string(loaded.replayed) +
                                  " positions of the day replayed");
    } catch (const std::exception& e) {
        failing_ = true;  // the thread's steps try again
        log::warn("dispatch", std::string("assignments not loaded (retried): ") + e.what());
    }
    thread_ = std::thread([this] { run(); });
}

void AssignmentFeed::run() {
    while (!stopping_) {
        try {
            const auto changes = step(options_.poll);
            if (failing_ && (changes.full || changes.any())) {
                log::info("dispatch", "assignments reloaded again");
                failing_ = false;
            }
            if (changes.any()) {
                log::info("dispatch", "assignments: " + std::to_string(changes.upserts) +
                                          " new or changed, " + std::to_string(changes.cancels) +
                                          " withdrawn" + (changes.full ? "" : " (notified)"));
            }
        } catch (const std::exception& e) {
            // Whatever went wrong, the thread lives on: the next step tries again.
            if (!failing_) {
                log::warn("dispatch",
                          std::string("assignments not reloaded (retried): ") + e.what());
            }
            failing_ = true;
            // Not again at once: wait as for the next reconnection (or a stop).
            if (!stopping_) {
                channel_.wait(options_.retry);
            }
        }
    }
    std::lock_guard lock(done_mutex_);
    finished_ = true;
    done_.notify_all();
}

void AssignmentFeed::stop(std::chrono::milliseconds deadline) {
    if (!thread_.joinable()) {
        return;
    }
    stopping_ = true;
    channel_.wake();
    {
        std::unique_lock lock(done_mutex_);
        if (!done_.wait_for(lock, deadline, [this] { return finished_; })) {
            // A reload under way: cancel its statement so that the thread returns now.
            std::lock_guard conn_lock(connection_mutex_);
            if (work_) {
                try {
                    work_->cancel_query();
                } catch (const pqxx::failure& e) {
                    log::warn("dispatch", std::string("assignments: cancelling: ") + e.what());
                }
            }
        }
    }
    thread_.join();
}

void AssignmentFeed::write_metrics(std::string& out) const {
    const auto d = [](const std::atomic<std::uint64_t>& v) {
        return static_cast<double>(v.load());
    };
    geo::write_family(out, "fleet_assignment_feed_reloads_total", "counter",
                      "Reloads of assignments, full (every poll, at start) or of those notified",
                      {{geo::label("kind", "full"), d(full_reloads_)},
                       {geo::label("kind", "notified"), d(notified_reloads_)}});
    geo::write_family(out, "fleet_assignment_feed_notifications_total", "counter",
                      "Assignment change notifications received", {{"", d(notifications_)}});
    geo::write_family(out, "fleet_assignment_feed_changes_total", "counter",
                      "Assignments handed to the engine as new or changed, or withdrawn",
                      {{geo::label("change", "upsert"), d(upserts_)},
                       {geo::label("change", "cancel"), d(cancels_)}});
    geo::write_family(out, "fleet_assignment_feed_failures_total", "counter",
                      "Reloads of assignments that failed (retried)", {{"", d(failures_)}});
    geo::write_family(out, "fleet_assignment_feed_assignments", "gauge",
                      "Assignments handed to the engine and followed",
                      {{"", static_cast<double>(following_.load())}});
}

}  // namespace fleet::server
