#pragma once

#include <string_view>

/// One-line log records on standard error: time (UTC), level, component, message.
/// Not for per-record hot paths: count there instead.
namespace fleet::log {

enum class Level { debug, info, warn, error };

/// Records below this level are dropped. Default: info.
void set_level(Level level);
/// Parses "debug", "info", "warn" or "error"; throws ConfigError naming `key` otherwise.
Level parse_level(std::string_view text, std::string_view key);

void write(Level level, std::string_view component, std::string_view message);

inline void debug(std::string_view component, std::string_view message) {
    write(Level::debug, component, message);
}
inline void info(std::string_view component, std::string_view message) {
    write(Level::info, component, message);
}
inline void warn(std::string_view component, std::string_view message) {
    write(Level::warn, component, message);
}
inline void error(std::string_view component, std::string_view message) {
    write(Level::error, component, message);
}

}  // namespace fleet::log
