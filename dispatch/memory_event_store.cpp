#include "dispatch/memory_event_store.hpp"

#include "geo/error.hpp"

namespace fleet::dispatch {

void MemoryEventStore::save(const std::vector<Event>& events) {
    std::unique_lock lock(mutex_);
    ++saves_;
    released_.wait(lock, [&] { return !held_; });
    if (failing_) {
        throw DatabaseError("events: the memory store fails, as it was asked to");
    }
    for (const auto& e : events) {
        reports_.push_back(e);
        const auto [it, added] = event_index_.try_emplace(e.key, events_.size());
        if (added) {
            events_.push_back(e);
        } else {
            events_[it->second] = e;
        }
    }
}

void MemoryEventStore::save_summary(const Assignment& assignment, const ShiftSummary& summary) {
    std::unique_lock lock(mutex_);
    ++saves_;
    released_.wait(lock, [&] { return !held_; });
    if (failing_) {
        throw DatabaseError("shift results: the memory store fails, as it was asked to");
    }
    for (auto& [id, s] : results_) {
        if (id == assignment.assignment_id) {
            s = summary;
            return;
        }
    }
    results_.emplace_back(assignment.assignment_id, summary);
}

void MemoryEventStore::fail(bool failing) {
    std::lock_guard lock(mutex_);
    failing_ = failing;
}

void MemoryEventStore::hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
}

void MemoryEventStore::release() {
    {
        std::lock_guard lock(mutex_);
        held_ = false;
    }
    released_.notify_all();
}

std::vector<Event> MemoryEventStore::reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
}

std::vector<Event> MemoryEventStore::events() const {
    std::lock_guard lock(mutex_);
    return events_;
}

std::vector<std::pair<std::int64_t, ShiftSummary>> MemoryEventStore::shift_results() const {
    std::lock_guard lock(mutex_);
    return results_;
}

std::size_t MemoryEventStore::saves() const {
    std::lock_guard lock(mutex_);
    return saves_;
}

}  // namespace fleet::dispatch
