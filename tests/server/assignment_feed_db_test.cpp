// The assignment feed against real PostGIS: it hands the engine only differences (nothing when
// nothing changed, one upsert for a changed driver, one cancel for a cancel), hears changes
// through NOTIFY within a second, follows work in its window of time, and replays each vehicle's
// positions once at start. The small GTFS fixture (feed "city", Europe/Moscow): block B1 runs
// 08:00–08:45 Moscow on weekdays, B2 23:50–24:10.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>

#include "dispatch/assignments.hpp"
#include "dispatch/fleet_register.hpp"
#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "server/assignment_feed.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace std::chrono_literals;
using dispatch::Millis;

namespace {

// What the feed handed over, in order; thread-safe, so that a running feed can hand to it.
struct Recorder : server::AssignmentTarget {
    std::vector<std::shared_ptr<const dispatch::Assignment>> upserts;
    std::vector<std::int64_t> cancels;
    std::vector<std::vector<dispatch::VehicleFix>> replays;
    int speed_limits = 0;

    void upsert(std::shared_ptr<const dispatch::Assignment> a) override {
        std::lock_guard lock(mutex);
        upserts.push_back(std::move(a));
        handed.notify_all();
    }
    void cancel(std::int64_t id) override {
        std::lock_guard lock(mutex);
        cancels.push_back(id);
        handed.notify_all();
    }
    void set_speed_limits(std::shared_ptr<const dispatch::SpeedLimits>) override {
        std::lock_guard lock(mutex);
        ++speed_limits;
    }
    void replay(std::vector<dispatch::VehicleFix> fixes) override {
        std::lock_guard lock(mutex);
        replays.push_back(std::move(fixes));
    }
    void clear() {
        std::lock_guard lock(mutex);
        upserts.clear();
        cancels.clear();
        replays.clear();
    }
    // Waits until `done` holds (checked under the lock) or `timeout` passes.
    template <typename Done>
    bool wait(Done done, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex);
        return handed.wait_for(lock, timeout, done);
    }

    std::mutex mutex;
    std::condition_variable handed;
};

void prepare(pqxx::connection& conn) {
    const auto feed = dispatch::gtfs::read_feed(std::string(FLEET_TEST_DATA) + "/gtfs/small");
    dispatch::gtfs::import_feed(conn, feed, "city",
                                {.actor = "test", .source = "small", .progress = {}});
    dispatch::add_vehicles(conn, {{.registration = "A123BC"}, {.registration = "B456CD"}}, "test");
    dispatch::add_drivers(conn,
                          {{.personnel_number = "0042", .fields = {.full_name = "Ivan Petrov"}},
                           {.personnel_number = "0043", .fields = {.full_name = "Anna Smirnova"}}},
                          "test");
}

Millis march5_utc(std::chrono::minutes t) {
    return Millis(std::chrono::sys_days(std::chrono::year_month_day(
               std::chrono::year(2024), std::chrono::month(3), std::chrono::day(5)))) +
           t;
}

dispatch::AssignmentRequest block(const std::string& vehicle, const std::string& b,
                                  const std::string& driver = "") {
    dispatch::AssignmentRequest q;
    q.service_date = "2024-03-05";
    q.vehicle = vehicle;
    q.driver = driver;
    q.feed = "city";
    q.block = b;
    return q;
}

geo::ConnectionFactory factory(const test::MigratedDatabase& db) {
    return geo::ConnectionFactory(geo::DatabaseOptions{.url = db.url()});
}

// A feed whose clock stands at `now`, with a full reload only once an hour (so that anything
// sooner came through NOTIFY), taking work from 16 h before it starts (the whole day's).
struct Fixture {
    test::MigratedDatabase db;
    Recorder engine;
    Millis now = march5_utc(5h + 10min);  // 08:10 in Moscow: B1 under way
    server::AssignmentFeed feed{
        factory(db), engine, {}, {.poll = 1h, .ahead = 16h}, [this] { return now; }};
    Fixture() { prepare(db.conn()); }
};

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("the feed hands differences: nothing twice, a changed driver, a cancel") {
        Fixture f;
        const auto morning = dispatch::save_assignment(f.db.conn(), block("A123BC", "B1", "0042"));
        const auto evening = dispatch::save_assignment(f.db.conn(), block("A123BC", "B2"));

        auto changes = f.feed.refresh(false);
        CHECK(changes.full);
        CHECK(changes.upserts == 2);  // both shifts of the day, each by its own id
        REQUIRE(f.engine.upserts.size() == 2);
        CHECK(f.engine.upserts[0]->assignment_id == morning);
        CHECK(f.engine.upserts[1]->assignment_id == evening);
        CHECK(f.engine.speed_limits == 1);
        CHECK(f.feed.following() == 2);

        f.engine.clear();
        changes = f.feed.refresh(false);
        CHECK_FALSE(changes.any());
        CHECK(f.engine.upserts.empty());
        CHECK(f.engine.cancels.empty());

        dispatch::ChangeRequest c;
        c.assignment_id = morning;
        c.driver = "0043";
        dispatch::change_assignment(f.db.conn(), c);
        changes = f.feed.refresh(false);
        CHECK(changes.upserts == 1);
        CHECK(changes.cancels == 0);
        REQUIRE(f.engine.upserts.size() == 1);
        CHECK(f.engine.upserts[0]->assignment_id == morning);

        f.engine.clear();
        dispatch::cancel_assignment(f.db.conn(), evening, "no demand");
        changes = f.feed.refresh(false);
        CHECK(changes.upserts == 0);
        CHECK(f.engine.cancels == std::vector<std::int64_t>{evening});
        CHECK(f.feed.following() == 1);

        // Work that ended long ago leaves the window and is withdrawn too.
        f.engine.clear();
        f.now = march5_utc(20h);  // 23:00 Moscow: B1 ended 14 hours ago
        f.feed.refresh(false);
        CHECK(f.engine.cancels == std::vector<std::int64_t>{morning});

        std::string metrics;
        f.feed.write_metrics(metrics);
        CHECK(metrics.find("fleet_assignment_feed_changes_total{change=\"cancel\"} 2") !=
              std::string::npos);
    }

    TEST_CASE("a cancel and a change reach the feed within a second through NOTIFY") {
        Fixture f;
        const auto id = dispatch::save_assignment(f.db.conn(), block("A123BC", "B1", "0042"));
        REQUIRE(f.feed.listen());
        f.feed.refresh(false);  // the full reload that follows LISTEN
        REQUIRE(f.engine.upserts.size() == 1);
        f.engine.clear();
        // Nothing notified: a step only waits.
        CHECK_FALSE(f.feed.step(50ms).any());

        const auto heard = [&] {
            const auto started = std::chrono::steady_clock::now();
            const auto changes = f.feed.step(2s);
            const auto took = std::chrono::steady_clock::now() - started;
            CHECK(took < 1s);
            CHECK_FALSE(changes.full);  // the notified assignment only, not a reload of all
            return changes;
        };

        dispatch::ChangeRequest c;
        c.assignment_id = id;
        c.driver = "0043";
        dispatch::change_assignment(f.db.conn(), c);
        auto changes = heard();
        CHECK(changes.upserts == 1);
        REQUIRE(f.engine.upserts.size() == 1);
        CHECK(f.engine.upserts[0]->driver_id.has_value());

        dispatch::cancel_assignment(f.db.conn(), id, "driver ill");
        changes = heard();
        CHECK(changes.cancels == 1);
        CHECK(f.engine.cancels == std::vector<std::int64_t>{id});

        // A new assignment arrives the same way.
        const auto other = dispatch::save_assignment(f.db.conn(), block("B456CD", "B1"));
        changes = heard();
        REQUIRE(f.engine.upserts.size() == 2);
        CHECK(f.engine.upserts[1]->assignment_id == other);
    }

    TEST_CASE("the feed comes back after its LISTEN connection is killed, reloading all") {
        Fixture f;
        REQUIRE(f.feed.listen());
        f.feed.refresh(false);
        {
            pqxx::work tx(f.db.conn());
            CHECK(tx.exec1("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))"
                           " FROM pg_stat_activity"
                           " WHERE application_name = 'fleetd assignment changes'"
                           " AND datname = current_database()")[0]
                      .as<int>() == 1);
            tx.commit();
        }
        const auto id = dispatch::save_assignment(f.db.conn(), block("A123BC", "B1"));
        // The loss is noticed, the connection reopened, and everything reloaded (what was
        // notified meanwhile is lost with the connection).
        server::FeedChanges changes;
        for (int i = 0; i < 20 && !changes.any(); ++i) {
            changes = f.feed.step(100ms);
        }
        CHECK(changes.full);
        REQUIRE(f.engine.upserts.size() == 1);
        CHECK(f.engine.upserts[0]->assignment_id == id);
        // And it hears changes again.
        dispatch::cancel_assignment(f.db.conn(), id, "test");
        changes = f.feed.step(2s);
        CHECK(changes.cancels == 1);
    }

    TEST_CASE("at start each vehicle's positions are replayed once, from its earliest shift") {
        Fixture f;
        f.now = march5_utc(21h + 5min);  // 00:05 in Moscow on the 6th: B2 (service date 5th) runs
        dispatch::save_assignment(f.db.conn(), block("A123BC", "B1"));  // 08:00–08:45
        dispatch::save_assignment(f.db.conn(), block("A123BC", "B2"));  // 23:50–24:10
        {
            pqxx::work tx(f.db.conn());
            // Fixes at 03:40, 06:00 and 21:00 UTC: the first is over an hour before B1's
            // planned start (04:45 UTC), so it is not replayed.
            tx.exec0(
                "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh)"
                " SELECT v.vehicle_id, t, ST_SetSRID(ST_MakePoint(37.6, 55.75), 4326), 10"
                " FROM fleet.vehicles v, unnest(ARRAY['2024-03-05 03:40Z', '2024-03-05 06:00Z',"
                "  '2024-03-05 21:00Z']::timestamptz[]) t WHERE v.registration = 'A123BC'");
            tx.commit();
        }
        // B1 ended at 08:55 Moscow (05:55Z), more than 4 h ago: out of the window. B2 is in.
        auto changes = f.feed.refresh(/*replay=*/true);
        CHECK(changes.upserts == 1);
        REQUIRE(f.engine.replays.size() == 1);  // one vehicle, once
        // From an hour before B2's planned start (20:35Z): only the 21:00 fix.
        CHECK(f.engine.replays[0].size() == 1);

        // With a longer window behind, both shifts load and the replay starts from B1's.
        server::AssignmentFeed wide{
            factory(f.db), f.engine, {}, {.poll = 1h, .behind = 24h}, [&] { return f.now; }};
        f.engine.clear();
        changes = wide.refresh(true);
        CHECK(changes.upserts == 2);
        REQUIRE(f.engine.replays.size() == 1);
        REQUIRE(f.engine.replays[0].size() == 2);
        CHECK(f.engine.replays[0][0].fix.time < f.engine.replays[0][1].fix.time);
        CHECK(changes.replayed == 2);
    }

    TEST_CASE("a running feed takes a cancel within a second and stops within its deadline") {
        Fixture f;
        const auto id = dispatch::save_assignment(f.db.conn(), block("A123BC", "B1", "0042"));
        f.feed.start();  // loads, then follows on its own thread
        REQUIRE(f.engine.wait([&] { return f.engine.upserts.size() == 1; }, 5s));

        const auto cancelled = std::chrono::steady_clock::now();
        dispatch::cancel_assignment(f.db.conn(), id, "driver ill");
        CHECK(f.engine.wait([&] { return f.engine.cancels.size() == 1; }, 5s));
        CHECK(std::chrono::steady_clock::now() - cancelled < 1s);

        const auto stopping = std::chrono::steady_clock::now();
        f.feed.stop(2s);  // it was waiting for the next change: woken at once
        CHECK(std::chrono::steady_clock::now() - stopping < 500ms);
    }
}
