#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// One registry for the metrics of every part of a program (ingest counters, the writer, the
/// dispatch engine, ...), served as a whole in the Prometheus text exposition format.
namespace fleet::geo {

/// A labelled sample of a metric family: `labels` is the text between the braces, without them
/// (`protocol="gt06",reason="bad_time"`); empty for none.
struct Sample {
    std::string labels;
    double value = 0;
};

/// Appends one metric family: its # HELP and # TYPE lines, then its samples. `type` is
/// "counter" or "gauge". Label values must already be escaped (see label()).
void write_family(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, const std::vector<Sample>& samples);

/// `key="value"` with the value escaped as the exposition format requires.
std::string label(std::string_view key, std::string_view value);

class MetricsRegistry {
  public:
    /// Writes complete metric families (write_family) into the string it is given.
    using Collector = std::function<void(std::string& out)>;

    /// Adds a part's collector, called on every read from the reading thread: it must be quick
    /// and thread-safe (atomics, or a copy taken under the part's own lock). Thread-safe.
    void add(std::string part, Collector collect);

    /// Every part's families, in the order the parts were added.
    std::string prometheus_text() const;

  private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, Collector>> collectors_;
};

}  // namespace fleet::geo
