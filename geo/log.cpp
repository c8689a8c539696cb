#include "geo/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "geo/error.hpp"

namespace fleet::log {

namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;

const char* level_name(Level level) {
    switch (level) {
        case Level::debug:
            return "debug";
        case Level::info:
            return "info";
        case Level::warn:
            return "warn";
        case Level::error:
            return "error";
    }
    return "?";
}
}  // namespace

void set_level(Level level) {
    g_level = level;
}

Level parse_level(std::string_view text, std::string_view key) {
    for (Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
        if (text == level_name(l)) {
            return l;
        }
    }
    throw ConfigError(std::string(key),
                      "unknown level '" + std::string(text) + "' (debug, info, warn, error)");
}

void write(Level level, std::string_view component, std::string_view message) {
    if (level < g_level.load()) {
        return;
    }
    const auto now = std::chrono::system_clock::now();
    const std::time_t secs = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    std::lock_guard lock(g_mutex);
    std::fprintf(stderr, "%s.%03dZ %-5s %.*s: %.*s\n", stamp, static_cast<int>(ms),
                 level_name(level), static_cast<int>(component.size()), component.data(),
                 static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
}

}  // namespace fleet::log
