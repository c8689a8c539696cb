#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "geo/error.hpp"
#include "geo/store.hpp"

using namespace fleet;
using namespace std::chrono_literals;

TEST_CASE("connection strings are checked, re-targeted and redacted") {
    CHECK_NOTHROW(geo::check_connection_string("host=/tmp port=5432 dbname=fleet", "database-url"));
    CHECK_NOTHROW(geo::check_connection_string("postgresql://fleet@localhost/fleet", "x"));
    try {
        geo::check_connection_string("host=/tmp port", "database-url");
        FAIL("a malformed connection string was accepted");
    } catch (const ConfigError& e) {
        CHECK(e.key() == "database-url");
        CHECK(std::string(e.what()).find("not a valid connection string") != std::string::npos);
    }
    CHECK(geo::with_database("host=/tmp port=5 dbname=fleet", "other") ==
          "dbname='other' host='/tmp' port='5'");
    CHECK(geo::with_database("postgresql://u@h:7/fleet", "t") ==
          "user='u' dbname='t' host='h' port='7'");
    CHECK(geo::redacted("host=h user=u password=secret dbname=d") ==
          "user='u' dbname='d' host='h'");
}

TEST_CASE("an unreachable database is retried with growing delays, then given up with a reason") {
    geo::RetryPolicy policy;
    policy.first_delay = 1000ms;
    policy.max_delay = 4000ms;
    policy.give_up_after = 10000ms;
    std::vector<long> delays;
    const geo::Sleeper record = [&](std::chrono::milliseconds d) {
        delays.push_back(d.count());
        return true;
    };
    // Port 1 on the loopback refuses at once.
    try {
        geo::connect_with_retry("host=127.0.0.1 port=1 connect_timeout=2 dbname=x", policy, record);
        FAIL("connected to a closed port");
    } catch (const DatabaseError& e) {
        const std::string what = e.what();
        CHECK(what.find("host='127.0.0.1' port='1'") != std::string::npos);
        CHECK(what.find("database unreachable at ") == 0);
        CHECK(what.find("after 5 attempts") != std::string::npos);
        CHECK(what.find("refused") != std::string::npos);
    }
    CHECK(delays == std::vector<long>{1000, 2000, 4000, 4000});
}

TEST_CASE("waiting for the database stops when the sleeper is interrupted") {
    std::atomic<bool> stop{true};
    CHECK_THROWS_WITH_AS(geo::connect_with_retry("host=127.0.0.1 port=1 dbname=x", {},
                                                 geo::interruptible_sleeper(stop)),
                         doctest::Contains("stopped while waiting"), DatabaseError);
}
