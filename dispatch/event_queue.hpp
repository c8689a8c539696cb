#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "dispatch/events.hpp"

/// The engine's reports on their way to the event store: a bounded queue that keeps one report
/// per event (a later report of an event replaces the queued one where it stands, since each
/// report carries the whole event) and, when full of distinct events, drops the oldest. Not
/// thread-safe: the engine guards it.
namespace fleet::dispatch {

class EventQueue {
  public:
    using Committed = std::chrono::steady_clock::time_point;

    /// A report and when the position that raised it was committed (epoch: raised by the
    /// clock or by an assignment change), for the commit-to-subscriber latency.
    struct Entry {
        Event event;
        Committed committed{};
    };

    /// `capacity`: events held at most (at least 1).
    explicit EventQueue(std::size_t capacity);

    /// Queues a report, replacing a queued report of the same event (counted as coalesced),
    /// then drops the oldest events while over capacity (counted as dropped).
    void push(Event event, Committed committed);
    /// Up to `max` entries, oldest first, removed from the queue.
    std::vector<Entry> take(std::size_t max);
    /// Puts entries taken but not stored back in front, in their order; an event reported
    /// again meanwhile keeps its newer report. Drops the oldest while over capacity.
    void put_back(std::vector<Entry> entries);

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    std::uint64_t coalesced() const { return coalesced_; }
    std::uint64_t dropped() const { return dropped_; }
    /// Removes everything, returning how many events were held.
    std::size_t clear();

  private:
    void trim();

    std::size_t capacity_;
    std::list<Entry> entries_;
    std::unordered_map<std::uint64_t, std::list<Entry>::iterator> by_key_;
    std::uint64_t coalesced_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace fleet::dispatch
