#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dispatch/engine.hpp"

/// Events and shift results kept in memory: the store of engine tests, and of runs without a
/// database. Thread-safe. It can be made to fail or to stall, as a database does.
namespace fleet::dispatch {

class MemoryEventStore : public EventStore {
  public:
    /// Keeps the reports (throws DatabaseError while failing; waits while held).
    void save(const std::vector<Event>& events) override;
    /// Keeps the result, replacing an earlier one of the assignment (as fleet.shift_results).
    void save_summary(const Assignment& assignment, const ShiftSummary& summary) override;

    /// Every save throws DatabaseError until fail(false).
    void fail(bool failing);
    /// Every save waits until release(): a stalled database.
    void hold();
    void release();

    /// Every report stored, in the order stored.
    std::vector<Event> reports() const;
    /// Each event as its latest stored report has it, in the order first stored.
    std::vector<Event> events() const;
    /// The stored results: assignment id and summary, in the order first stored.
    std::vector<std::pair<std::int64_t, ShiftSummary>> shift_results() const;
    /// Saves attempted (failed ones too).
    std::size_t saves() const;

  private:
    mutable std::mutex mutex_;
    std::condition_variable released_;
    bool failing_ = false;
    bool held_ = false;
    std::size_t saves_ = 0;
    std::vector<Event> reports_;
    std::vector<Event> events_;
    std::unordered_map<std::uint64_t, std::size_t> event_index_;
    std::vector<std::pair<std::int64_t, ShiftSummary>> results_;
};

}  // namespace fleet::dispatch
