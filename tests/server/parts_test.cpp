#include <doctest/doctest.h>

#include <stdexcept>

#include "server/parts.hpp"

using namespace fleet::server;

namespace {

Part recording(const std::string& name, std::vector<std::string>& log, bool fail = false) {
    return {
        name,
        [&log, name, fail] {
            if (fail) {
                throw std::runtime_error(name + " cannot start");
            }
            log.push_back("start " + name);
        },
        [&log, name] { log.push_back("stop accepting " + name); },
        [&log, name](std::chrono::steady_clock::time_point) { log.push_back("drain " + name); }};
}

}  // namespace

TEST_CASE("parts start in order and stop in reverse: all stop accepting first, then drain") {
    std::vector<std::string> log;
    Parts parts;
    parts.add(recording("engine", log));
    parts.add(recording("writer", log));
    parts.add(recording("listeners", log));
    parts.start(std::chrono::seconds(1));
    CHECK(parts.started() == std::vector<std::string>{"engine", "writer", "listeners"});
    parts.stop(std::chrono::steady_clock::now());
    CHECK(log == std::vector<std::string>{"start engine", "start writer", "start listeners",
                                          "stop accepting listeners", "stop accepting writer",
                                          "stop accepting engine", "drain listeners",
                                          "drain writer", "drain engine"});
    CHECK(parts.started().empty());
}

TEST_CASE("a part that cannot start stops the ones already started, and the error goes on") {
    std::vector<std::string> log;
    Parts parts;
    parts.add(recording("engine", log));
    parts.add(recording("listeners", log, /*fail=*/true));
    parts.add(recording("api", log));
    CHECK_THROWS_WITH(parts.start(std::chrono::seconds(1)), "listeners cannot start");
    CHECK(log == std::vector<std::string>{"start engine", "stop accepting engine", "drain engine"});
}
