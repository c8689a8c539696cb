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

TEST_CASE("every connection carries the connect and statement timeouts and its application") {
    const geo::ConnectionFactory factory({.url = "postgresql://u@h:7/fleet?options=-c%20x%3D1",
                                          .connect_timeout = 3s,
                                          .statement_timeout = 1500ms});
    const std::string info = factory.conninfo("fleetd writer");
    CHECK(info.find("connect_timeout='3'") != std::string::npos);
    CHECK(info.find("application_name='fleetd writer'") != std::string::npos);
    // The server's options are kept, the statement timeout added to them.
    CHECK(info.find("options='-c x=1 -c statement_timeout=1500'") != std::string::npos);
    CHECK(info.find("keepalives='1'") != std::string::npos);
    CHECK(info.find("dbname='fleet'") != std::string::npos);
    // Zero means none.
    const std::string unbounded =
        geo::ConnectionFactory(
            {.url = "host=/tmp dbname=x", .connect_timeout = 0s, .statement_timeout = 0ms})
            .conninfo("");
    CHECK(unbounded.find("connect_timeout") == std::string::npos);
    CHECK(unbounded.find("statement_timeout") == std::string::npos);
    CHECK_THROWS_AS(geo::ConnectionFactory({.url = "host=/tmp port"}), ConfigError);
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
        geo::connect_with_retry(
            geo::ConnectionFactory({.url = "host=127.0.0.1 port=1 dbname=x",
                                    .connect_timeout = std::chrono::seconds(2)}),
            "test", policy, record);
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
    CHECK_THROWS_WITH_AS(
        geo::connect_with_retry(geo::ConnectionFactory({.url = "host=127.0.0.1 port=1 dbname=x"}),
                                "test", {}, geo::interruptible_sleeper(stop)),
        doctest::Contains("stopped while waiting"), DatabaseError);
}
