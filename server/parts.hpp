#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

/// fleetd's parts, all of one shape: started in order; on a stop each first stops accepting
/// (in reverse order), then each drains what it took by a common deadline (in reverse order),
/// so that a part is drained only after the parts that feed it.
namespace fleet::server {

struct Part {
    std::string name;
    std::function<void()> start;
    /// Take no new work (connections, assignments, ...); quick, never blocks. May be empty.
    std::function<void()> stop_accepting{};
    /// Finish what was taken (answer, commit, store) by the deadline, then stop; blocks.
    std::function<void(std::chrono::steady_clock::time_point deadline)> drain;
};

class Parts {
  public:
    /// Adds a part, started after those added before it.
    void add(Part part) { parts_.push_back(std::move(part)); }
    /// Starts every part in order. When one throws, the parts already started are stopped
    /// (by `deadline_on_failure`) and the exception goes on.
    void start(std::chrono::milliseconds deadline_on_failure);
    /// Stops the started parts in reverse order, every drain bounded by `deadline`.
    void stop(std::chrono::steady_clock::time_point deadline);
    /// Names of the started parts, in order of starting.
    std::vector<std::string> started() const;

  private:
    std::vector<Part> parts_;
    std::size_t started_ = 0;
};

}  // namespace fleet::server
