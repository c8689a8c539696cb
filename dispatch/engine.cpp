#include "dispatch/engine.hpp"

#include <algorithm>
#include <future>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"

namespace fleet::dispatch {

namespace {

constexpr std::size_t fixes_per_step = 10000;
constexpr std::size_t reports_per_save = 1000;

}  // namespace

Engine::Engine(EngineConfig config, EventStore& store, Clock clock)
    : config_(config),
      store_(store),
      clock_(std::move(clock)),
      core_(config),
      events_(config.max_event_queue) {}

Engine::~Engine() {
    stop(std::chrono::milliseconds(0));
}

void Engine::start() {
    std::lock_guard lock(mutex_);
    if (running_) {
        return;
    }
    running_ = accepting_ = true;
    matching_ = std::thread([this] { run_matching(); });
    events_thread_ = std::thread([this] { run_events(); });
}

Engine::StopReport Engine::stop(std::chrono::milliseconds deadline) {
    StopReport report;
    const auto at = Steady::now() + deadline;
    {
        std::lock_guard lock(mutex_);
        if (!running_ || stopping_) {
            return report;
        }
        accepting_ = false;
        stopping_ = true;
        stop_at_ = at;
        report.fixes_left = fixes_queued_;  // until the matching thread says otherwise
    }
    wake_.notify_all();
    const auto dropped_before = dropped_stopped_.load();
    matching_.join();
    report.fixes_left = static_cast<std::size_t>(dropped_stopped_.load() - dropped_before);
    {
        std::lock_guard lock(events_mutex_);
        events_stopping_ = true;
        events_stop_at_ = at;
    }
    events_wake_.notify_all();
    const auto events_before = events_dropped_stopped_.load();
    events_thread_.join();
    report.events_left = static_cast<std::size_t>(events_dropped_stopped_.load() - events_before);
    {
        std::lock_guard lock(events_mutex_);
        report.shift_results_left = results_.size();
    }
    {
        std::lock_guard lock(mutex_);
        running_ = false;
    }
    progress_.notify_all();
    if (report.fixes_left > 0 || report.events_left > 0 || report.shift_results_left > 0) {
        log::warn("dispatch", "stopped at the deadline with " + std::to_string(report.fixes_left) +
                                  " fixes unmatched, " + std::to_string(report.events_left) +
                                  " event reports and " +
                                  std::to_string(report.shift_results_left) +
                                  " shift results not stored (counted as dropped)");
    }
    return report;
}

void Engine::on_positions(std::vector<VehicleFix> fixes) {
    {
        std::lock_guard lock(mutex_);
        received_ += fixes.size();
        queued_total_ += fixes.size();
        if (!accepting_ && (running_ || stopping_)) {
            dropped_stopped_ += fixes.size();
            done_total_ += fixes.size();
            return;
        }
        for (auto& f : fixes) {
            queue_.push_back({std::move(f), {}});
        }
        fixes_queued_ += fixes.size();
        while (fixes_queued_ > config_.max_queue) {
            drop_oldest_fix();  // the tracker would judge them stale anyway
        }
    }
    wake_.notify_one();
}

void Engine::drop_oldest_fix() {
    // Changes stay: they are few, and what they say holds for the fixes after them too.
    const auto it =
        std::find_if(queue_.begin(), queue_.end(), [](const Item& i) { return i.fix.has_value(); });
    queue_.erase(it);
    --fixes_queued_;
    ++dropped_full_;
    ++done_total_;
}

void Engine::push_command(std::function<void(EngineCore&)> command) {
    {
        std::lock_guard lock(mutex_);
        ++queued_total_;
        queue_.push_back({std::nullopt, std::move(command)});
    }
    wake_.notify_one();
}

void Engine::upsert(std::shared_ptr<const Assignment> assignment) {
    if (!assignment) {
        ++refused_;
        throw InputError("an assignment is required");
    }
    if (const auto problem = EngineCore::problem(*assignment)) {
        ++refused_;
        throw InputError(*problem);
    }
    push_command([a = std::move(assignment)](EngineCore& core) { core.upsert(a); });
}

void Engine::cancel(std::int64_t assignment_id) {
    push_command([assignment_id](EngineCore& core) { core.cancel(assignment_id); });
}

void Engine::set_speed_limits(std::shared_ptr<const SpeedLimits> limits) {
    push_command([l = std::move(limits)](EngineCore& core) { core.set_speed_limits(l); });
}

void Engine::sync() {
    std::unique_lock lock(mutex_);
    if (!running_) {
        return;
    }
    const auto target = queued_total_;
    progress_.wait(lock, [&] { return done_total_ >= target || !running_; });
}

std::optional<ShiftSummary> Engine::summary(std::int64_t assignment_id) {
    auto promise = std::make_shared<std::promise<std::optional<ShiftSummary>>>();
    auto future = promise->get_future();
    {
        std::lock_guard lock(mutex_);
        if (!running_ || stopping_) {
            return std::nullopt;
        }
        ++queued_total_;
        queue_.push_back({std::nullopt, [assignment_id, promise](EngineCore& core) {
                              promise->set_value(core.summary(assignment_id));
                          }});
    }
    wake_.notify_one();
    return future.get();
}

std::vector<VehicleState> Engine::snapshot() const {
    std::vector<VehicleState> out;
    {
        std::lock_guard lock(state_mutex_);
        out.reserve(states_.size());
        for (const auto& [vehicle, s] : states_) {
            out.push_back(s);
        }
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.vehicle_id < b.vehicle_id; });
    return out;
}

std::optional<VehicleState> Engine::state(std::int64_t vehicle_id) const {
    std::lock_guard lock(state_mutex_);
    const auto it = states_.find(vehicle_id);
    return it == states_.end() ? std::nullopt : std::optional(it->second);
}

std::vector<double> Engine::take_latencies_ms() {
    std::lock_guard lock(latency_mutex_);
    return std::exchange(latencies_ms_, {});
}

EngineCounters Engine::counters() const {
    EngineCounters c;
    c.fixes_received = received_.load();
    c.fixes_processed = processed_.load();
    c.fixes_dropped_queue_full = dropped_full_.load();
    c.fixes_dropped_stale = dropped_stale_.load();
    c.fixes_dropped_invalid = dropped_invalid_.load();
    c.fixes_dropped_stopped = dropped_stopped_.load();
    c.event_reports = reports_.load();
    c.event_reports_stored = stored_.load();
    c.events_dropped_stopped = events_dropped_stopped_.load();
    c.store_failures = store_failures_.load();
    c.shift_results_stored = results_stored_.load();
    c.subscriber_failures = subscriber_failures_.load();
    c.assignments_refused = refused_.load();
    c.vehicles = vehicles_.load();
    c.assignments = assignments_.load();
    {
        std::lock_guard lock(mutex_);
        c.fixes_queued = fixes_queued_;
    }
    {
        std::lock_guard lock(events_mutex_);
        c.events_queued = events_.size();
        c.event_reports_coalesced = events_.coalesced();
        c.events_dropped_queue_full = events_.dropped();
        c.shift_results_queued = results_.size();
    }
    return c;
}

void Engine::write_metrics(std::string& out) const {
    const EngineCounters c = counters();
    auto n = [](auto v) { return static_cast<double>(v); };
    geo::write_family(out, "fleet_dispatch_fixes_processed_total", "counter",
                      "Fixes matched by the dispatch engine.", {{"", n(c.fixes_processed)}});
    geo::write_family(out, "fleet_dispatch_fixes_dropped_total", "counter",
                      "Fixes the dispatch engine did not match, by reason.",
                      {{geo::label("reason", "queue_full"), n(c.fixes_dropped_queue_full)},
                       {geo::label("reason", "stale"), n(c.fixes_dropped_stale)},
                       {geo::label("reason", "invalid"), n(c.fixes_dropped_invalid)},
                       {geo::label("reason", "stopped"), n(c.fixes_dropped_stopped)}});
    geo::write_family(out, "fleet_dispatch_event_reports_total", "counter",
                      "Event reports raised (openings, updates, closings).",
                      {{"", n(c.event_reports)}});
    geo::write_family(out, "fleet_dispatch_event_reports_stored_total", "counter",
                      "Event reports stored.", {{"", n(c.event_reports_stored)}});
    geo::write_family(out, "fleet_dispatch_event_reports_coalesced_total", "counter",
                      "Event reports superseded in the queue by a later report of the same event.",
                      {{"", n(c.event_reports_coalesced)}});
    geo::write_family(out, "fleet_dispatch_events_dropped_total", "counter",
                      "Events whose reports were not stored, by reason.",
                      {{geo::label("reason", "queue_full"), n(c.events_dropped_queue_full)},
                       {geo::label("reason", "stopped"), n(c.events_dropped_stopped)}});
    geo::write_family(out, "fleet_dispatch_store_failures_total", "counter",
                      "Failed saves of events or shift results (retried).",
                      {{"", n(c.store_failures)}});
    geo::write_family(out, "fleet_dispatch_shift_results_stored_total", "counter",
                      "Shift results (planned against actual) stored.",
                      {{"", n(c.shift_results_stored)}});
    geo::write_family(out, "fleet_dispatch_subscriber_failures_total", "counter",
                      "Event subscribers that threw.", {{"", n(c.subscriber_failures)}});
    geo::write_family(out, "fleet_dispatch_assignments_refused_total", "counter",
                      "Assignments the engine could not track.", {{"", n(c.assignments_refused)}});
    geo::write_family(out, "fleet_dispatch_queue", "gauge", "Items waiting in the engine.",
                      {{geo::label("queue", "fixes"), n(c.fixes_queued)},
                       {geo::label("queue", "events"), n(c.events_queued)},
                       {geo::label("queue", "shift_results"), n(c.shift_results_queued)}});
    geo::write_family(out, "fleet_dispatch_vehicles", "gauge", "Vehicles the engine tracks.",
                      {{"", n(c.vehicles)}});
    geo::write_family(out, "fleet_dispatch_assignments", "gauge", "Assignments the engine tracks.",
                      {{"", n(c.assignments)}});
}

void Engine::publish(const StepOutput& out) {
    const CoreCounters& c = core_.counters();
    processed_.store(c.fixes_processed);
    dropped_stale_.store(c.fixes_stale);
    dropped_invalid_.store(c.fixes_invalid);
    reports_.store(c.event_reports);
    vehicles_.store(c.vehicles);
    assignments_.store(c.assignments);
    if (!out.events.empty() || !out.shift_results.empty()) {
        {
            std::lock_guard lock(events_mutex_);
            for (std::size_t i = 0; i < out.events.size(); ++i) {
                events_.push(out.events[i], out.committed[i]);
            }
            results_.insert(results_.end(), out.shift_results.begin(), out.shift_results.end());
        }
        events_wake_.notify_one();
    }
    if (!out.vehicles.empty()) {
        std::vector<VehicleState> states;
        states.reserve(out.vehicles.size());
        for (const auto vehicle : out.vehicles) {
            if (auto s = core_.state(vehicle)) {
                states.push_back(std::move(*s));
            }
        }
        for (const auto& subscriber : state_subscribers_) {
            try {
                subscriber(states);
            } catch (const std::exception&) {
                subscriber_failures_.fetch_add(1);
            }
        }
        std::lock_guard lock(state_mutex_);
        for (auto& s : states) {
            states_[s.vehicle_id] = std::move(s);
        }
    }
    if (!out.etas.empty() || !out.arrivals.empty()) {
        for (const auto& subscriber : eta_subscribers_) {
            try {
                subscriber(out.etas, out.arrivals);
            } catch (const std::exception&) {
                subscriber_failures_.fetch_add(1);
            }
        }
    }
}

std::size_t Engine::apply(std::vector<Item>& items) {
    // Runs of fixes go to the core in one step; a change applies where it came.
    std::vector<VehicleFix> fixes;
    auto flush = [&] {
        try {
            publish(core_.step(fixes, clock_()));
        } catch (const Error& e) {
            // A defect, not a condition: the fixes are counted as dropped, matching goes on.
            dropped_invalid_ += fixes.size();
            log::error("dispatch", std::string("a step of the engine failed: ") + e.what());
        }
        fixes.clear();
    };
    for (auto& item : items) {
        if (item.fix) {
            fixes.push_back(std::move(*item.fix));
            continue;
        }
        if (!fixes.empty()) {
            flush();
        }
        try {
            item.command(core_);
        } catch (const Error& e) {
            ++refused_;
            log::warn("dispatch", std::string("assignment change refused: ") + e.what());
        }
    }
    flush();  // also when there was nothing: the clock moves on
    return items.size();
}

void Engine::run_matching() {
    auto next_wake = Steady::now() + config_.tick;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_until(lock, next_wake, [&] { return stopping_ || !queue_.empty(); });
        if (Steady::now() >= next_wake) {
            next_wake = Steady::now() + config_.tick;
        }
        const bool out_of_time = stopping_ && Steady::now() >= stop_at_;
        std::vector<Item> items;
        std::size_t fixes = 0;
        while (!queue_.empty() && fixes < fixes_per_step) {
            Item& front = queue_.front();
            const bool is_fix = front.fix.has_value();
            fixes_queued_ -= is_fix ? 1 : 0;
            if (is_fix && out_of_time) {
                ++dropped_stopped_;  // past stop()'s deadline: counted, not matched
                ++done_total_;
            } else {
                fixes += is_fix ? 1 : 0;
                items.push_back(std::move(front));
            }
            queue_.pop_front();
        }
        lock.unlock();
        const std::size_t done = apply(items);
        lock.lock();
        done_total_ += done;
        progress_.notify_all();
        if (stopping_ && queue_.empty()) {
            return;
        }
    }
}

bool Engine::store_batch(std::vector<EventQueue::Entry>& batch) {
    std::vector<Event> events;
    events.reserve(batch.size());
    for (const auto& entry : batch) {
        events.push_back(entry.event);
    }
    try {
        store_.save(events);
    } catch (const std::exception& e) {
        // Once per attempt, and attempts back off to one in 5 s: not a per-record log.
        ++store_failures_;
        log::warn("dispatch", "could not store " + std::to_string(events.size()) +
                                  " event reports (kept, retried): " + e.what());
        return false;
    }
    stored_ += events.size();
    // Stored first, so that a subscriber looking the event up finds it.
    for (const auto& e : events) {
        for (const auto& s : subscribers_) {
            try {
                s(e);
            } catch (const std::exception& ex) {
                if (subscriber_failures_++ == 0) {
                    log::warn("dispatch", std::string("an event subscriber failed: ") + ex.what());
                }
            }
        }
    }
    const auto done = Steady::now();
    std::lock_guard guard(latency_mutex_);
    for (const auto& entry : batch) {
        if (entry.committed != Steady::time_point{}) {
            latencies_ms_.push_back(
                std::chrono::duration<double, std::milli>(done - entry.committed).count());
        }
    }
    return true;
}

bool Engine::store_results() {
    for (;;) {
        std::optional<ShiftResult> result;
        {
            std::lock_guard lock(events_mutex_);
            if (results_.empty()) {
                return true;
            }
            result = results_.front();
        }
        try {
            store_.save_summary(*result->assignment, result->summary);
        } catch (const std::exception& e) {
            ++store_failures_;
            log::warn("dispatch", "shift result of assignment " +
                                      std::to_string(result->assignment->assignment_id) +
                                      " not stored (retried): " + e.what());
            return false;
        }
        ++results_stored_;
        std::lock_guard lock(events_mutex_);
        results_.pop_front();
    }
}

void Engine::wait_retry(std::unique_lock<std::mutex>& lock, int failures) {
    // Back off while the store fails: 100 ms doubling to 5 s, cut short by stop()'s deadline.
    const auto delay = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(100) * (1 << std::min(failures - 1, 6)), std::chrono::seconds(5));
    const auto retry_at = Steady::now() + delay;
    for (;;) {
        auto until = retry_at;
        if (events_stopping_) {
            until = std::min(until, events_stop_at_);
        }
        if (Steady::now() >= until) {
            return;
        }
        events_wake_.wait_until(lock, until);
    }
}

void Engine::run_events() {
    int failures = 0;
    std::unique_lock lock(events_mutex_);
    for (;;) {
        events_wake_.wait(
            lock, [&] { return events_stopping_ || !events_.empty() || !results_.empty(); });
        if (events_.empty() && results_.empty()) {
            break;  // stopping, and everything is stored
        }
        if (events_stopping_ && Steady::now() >= events_stop_at_) {
            break;
        }
        auto batch = events_.take(reports_per_save);
        lock.unlock();
        const bool stored = batch.empty() || store_batch(batch);
        const bool results = stored && store_results();
        lock.lock();
        if (!stored) {
            events_.put_back(std::move(batch));
        }
        if (stored && results) {
            if (failures > 0) {
                log::info("dispatch", "event store back after " + std::to_string(failures) +
                                          " failed attempts");
            }
            failures = 0;
            continue;
        }
        ++failures;
        wait_retry(lock, failures);
    }
    events_dropped_stopped_ += events_.clear();
}

}  // namespace fleet::dispatch
