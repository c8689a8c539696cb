#include "dispatch/engine.hpp"

#include <future>

#include "geo/error.hpp"
#include "geo/log.hpp"

namespace fleet::dispatch {

Engine::Engine(EngineConfig config, EventStore& store, Clock clock)
    : config_(config), store_(store), clock_(std::move(clock)) {}

Engine::~Engine() {
    stop();
}

void Engine::start() {
    thread_ = std::thread([this] { run(); });
}

void Engine::stop() {
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) {
            return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void Engine::on_positions(std::vector<VehicleFix> fixes) {
    {
        std::lock_guard lock(mutex_);
        for (auto& f : fixes) {
            queue_.push_back(std::move(f));
        }
        while (queue_.size() > config_.max_queue) {
            queue_.pop_front();  // the tracker would judge them stale anyway
            ++dropped_;
        }
    }
    wake_.notify_one();
}

void Engine::assign(std::int64_t vehicle_id, std::shared_ptr<const Assignment> assignment) {
    {
        std::lock_guard lock(mutex_);
        assignments_.emplace_back(vehicle_id, std::move(assignment));
    }
    wake_.notify_one();
}

void Engine::upsert(std::shared_ptr<const Assignment> assignment) {
    const auto vehicle = assignment->vehicle_id;
    assign(vehicle, std::move(assignment));
}

void Engine::cancel(std::int64_t assignment_id) {
    {
        std::lock_guard lock(mutex_);
        calls_.push_back([this, assignment_id] {
            for (auto& [vehicle, t] : trackers_) {
                if (t->assignment() && t->assignment()->assignment_id == assignment_id) {
                    t->assign(nullptr);
                }
            }
        });
    }
    wake_.notify_one();
}

void Engine::set_speed_limits(std::shared_ptr<const SpeedLimits> limits) {
    {
        std::lock_guard lock(mutex_);
        new_limits_ = std::move(limits);
    }
    wake_.notify_one();
}

std::optional<ShiftSummary> Engine::summary(std::int64_t vehicle_id) {
    auto promise = std::make_shared<std::promise<std::optional<ShiftSummary>>>();
    auto future = promise->get_future();
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable() || stopping_) {
            return std::nullopt;
        }
        calls_.push_back([this, vehicle_id, promise] {
            auto it = trackers_.find(vehicle_id);
            promise->set_value(it == trackers_.end() ? std::nullopt
                                                     : std::optional(it->second->summary()));
        });
    }
    wake_.notify_one();
    return future.get();
}

std::vector<double> Engine::take_latencies_ms() {
    std::lock_guard lock(latency_mutex_);
    return std::exchange(latencies_ms_, {});
}

VehicleTracker& Engine::tracker(std::int64_t vehicle_id) {
    auto& slot = trackers_[vehicle_id];
    if (!slot) {
        slot = std::make_unique<VehicleTracker>(vehicle_id, config_.thresholds);
        if (limits_) {
            slot->set_class_cap(limits_->class_cap(vehicle_id));
        }
    }
    return *slot;
}

void Engine::publish(const std::vector<Event>& events) {
    unsaved_.insert(unsaved_.end(), events.begin(), events.end());
    if (!unsaved_.empty()) {
        // Stored first, so that a subscriber looking the event up finds it. A failed store keeps
        // the reports and retries them, in order, with the next batch.
        try {
            store_.save(unsaved_);
            unsaved_.clear();
        } catch (const std::exception& e) {
            ++store_failures_;
            log::warn("dispatch", "could not store " + std::to_string(unsaved_.size()) +
                                      " event reports (kept, retried): " + e.what());
        }
    }
    for (const auto& e : events) {
        for (const auto& s : subscribers_) {
            s(e);
        }
    }
}

void Engine::run() {
    auto next_tick = std::chrono::steady_clock::now() + config_.tick;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_until(lock, next_tick, [&] {
            return stopping_ || !queue_.empty() || !assignments_.empty() || !calls_.empty() ||
                   new_limits_;
        });
        if (stopping_) {
            return;
        }
        auto assignments = std::exchange(assignments_, {});
        auto calls = std::exchange(calls_, {});
        if (new_limits_) {
            limits_ = std::exchange(new_limits_, nullptr);
            for (auto& [vehicle, t] : trackers_) {
                t->set_class_cap(limits_->class_cap(vehicle));
            }
        }
        std::vector<VehicleFix> batch;
        const std::size_t n = std::min<std::size_t>(queue_.size(), 10000);
        batch.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        lock.unlock();

        for (auto& [vehicle, assignment] : assignments) {
            tracker(vehicle).assign(std::move(assignment));
        }
        std::vector<Event> events;
        std::vector<std::chrono::steady_clock::time_point> raised;  // commits that raised events
        for (auto& vf : batch) {
            if (limits_ && !vf.fix.zone_limit_kmh) {
                vf.fix.zone_limit_kmh = limits_->zone_limit(vf.fix.position);
            }
            auto out = tracker(vf.vehicle_id).on_fix(vf.fix);
            if (!out.empty()) {
                raised.push_back(vf.committed_at);
                events.insert(events.end(), out.begin(), out.end());
            }
        }
        processed_ += batch.size();
        if (std::chrono::steady_clock::now() >= next_tick) {
            const Millis now = clock_();
            for (auto& [vehicle, t] : trackers_) {
                auto out = t->on_tick(now);
                events.insert(events.end(), out.begin(), out.end());
                // An hour past the planned end the shift is over: planned against actual.
                const auto& a = t->assignment();
                if (a && a->assignment_id > 0 && now > a->planned_end + std::chrono::hours(1) &&
                    summarized_[vehicle] != a->assignment_id) {
                    try {
                        store_.save_summary(*a, t->summary());
                        summarized_[vehicle] = a->assignment_id;
                    } catch (const std::exception& e) {
                        log::warn("dispatch", "shift result of assignment " +
                                                  std::to_string(a->assignment_id) +
                                                  " not stored (retried): " + e.what());
                    }
                }
            }
            next_tick = std::chrono::steady_clock::now() + config_.tick;
        }
        publish(events);
        if (!raised.empty()) {
            // From the commit to the event having reached the subscribers.
            const auto done = std::chrono::steady_clock::now();
            std::lock_guard guard(latency_mutex_);
            for (const auto at : raised) {
                latencies_ms_.push_back(
                    std::chrono::duration<double, std::milli>(done - at).count());
            }
        }
        for (auto& call : calls) {
            call();
        }
        lock.lock();
    }
}

}  // namespace fleet::dispatch
