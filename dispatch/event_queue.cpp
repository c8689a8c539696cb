#include "dispatch/event_queue.hpp"

#include <algorithm>

namespace fleet::dispatch {

EventQueue::EventQueue(std::size_t capacity) : capacity_(std::max<std::size_t>(1, capacity)) {}

void EventQueue::push(Event event, Committed committed) {
    const auto it = by_key_.find(event.key);
    if (it != by_key_.end()) {
        Entry& queued = *it->second;
        // The earliest commit stays: the latency of the report that waited longest.
        if (queued.committed == Committed{} ||
            (committed != Committed{} && committed < queued.committed)) {
            queued.committed = committed;
        }
        queued.event = std::move(event);
        ++coalesced_;
        return;
    }
    entries_.push_back({std::move(event), committed});
    by_key_[entries_.back().event.key] = std::prev(entries_.end());
    trim();
}

std::vector<EventQueue::Entry> EventQueue::take(std::size_t max) {
    std::vector<Entry> out;
    while (!entries_.empty() && out.size() < max) {
        by_key_.erase(entries_.front().event.key);
        out.push_back(std::move(entries_.front()));
        entries_.pop_front();
    }
    return out;
}

void EventQueue::put_back(std::vector<Entry> entries) {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        const auto queued = by_key_.find(it->event.key);
        if (queued != by_key_.end()) {
            ++coalesced_;  // reported again since: the newer report stands
            continue;
        }
        entries_.push_front(std::move(*it));
        by_key_[entries_.front().event.key] = entries_.begin();
    }
    trim();
}

void EventQueue::trim() {
    while (entries_.size() > capacity_) {
        by_key_.erase(entries_.front().event.key);
        entries_.pop_front();
        ++dropped_;
    }
}

std::size_t EventQueue::clear() {
    const std::size_t n = entries_.size();
    entries_.clear();
    by_key_.clear();
    return n;
}

}  // namespace fleet::dispatch
