#include <doctest/doctest.h>

#include "server/api/stream.hpp"

using namespace fleet;
using namespace fleet::server::api;
using namespace std::chrono_literals;

namespace {

struct FakeSubscriber : StreamSubscriber {
    std::vector<std::shared_ptr<const std::string>> frames;
    std::size_t queued = 0;  // what the test says is still unsent
    bool dropped = false;
    void send(std::shared_ptr<const std::string> frame) override {
        queued += frame->size();
        frames.push_back(std::move(frame));
    }
    std::size_t queued_bytes() const override { return queued; }
    bool drop_slow() override {
        const bool first = !dropped;
        dropped = true;
        return first;
    }
    nlohmann::json last() const { return nlohmann::json::parse(*frames.back()); }
};

ingest::StoredPosition fix(std::int64_t vehicle, int second, double lon) {
    ingest::StoredPosition p;
    p.vehicle_id = vehicle;
    p.position.device_time = geo::Millis(std::chrono::seconds(1'764'000'000 + second));
    p.position.longitude_deg = lon;
    p.position.latitude_deg = 55.75;
    p.position.speed_kmh = 30;
    return p;
}

const geo::Millis now(std::chrono::seconds(1'764'000'100));

}  // namespace

TEST_CASE("the stream coalesces each vehicle's fixes and shares one frame per filter") {
    LiveStream stream;
    auto all1 = std::make_shared<FakeSubscriber>();
    auto all2 = std::make_shared<FakeSubscriber>();
    auto north = std::make_shared<FakeSubscriber>();
    stream.subscribe({}, all1);
    stream.subscribe({}, all2);
    stream.subscribe({.vehicles = std::set<std::int64_t>{1}}, north);

    const std::vector<ingest::StoredPosition> batch = {fix(1, 0, 37.60), fix(1, 1, 37.61),
                                                       fix(2, 0, 37.70)};
    stream.on_committed(batch);
    stream.on_committed(std::vector<ingest::StoredPosition>{fix(1, 2, 37.62)});
    stream.flush(now);

    REQUIRE(all1->frames.size() == 1);
    REQUIRE(all2->frames.size() == 1);
    CHECK(all1->frames[0] == all2->frames[0]);  // the same frame, serialised once
    CHECK(stream.frames() == 2);                // one per distinct filter
    const auto frame = all1->last();
    CHECK(frame["type"] == "update");
    CHECK(frame["positions"].size() == 2);  // one per vehicle: the latest
    for (const auto& p : frame["positions"]) {
        if (p["vehicle_id"] == 1) {
            CHECK(p["lon"] == doctest::Approx(37.62));
            CHECK(p["time"] == "2025-11-24T16:00:02Z");
        }
    }
    REQUIRE(north->frames.size() == 1);
    CHECK(north->last()["positions"].size() == 1);
    CHECK(north->last()["positions"][0]["vehicle_id"] == 1);

    // Nothing new: no frame.
    stream.flush(now);
    CHECK(all1->frames.size() == 1);
}

TEST_CASE("events reach the subscribers whose filter takes their kind, the latest report only") {
    LiveStream stream;
    auto lates = std::make_shared<FakeSubscriber>();
    auto positions_only = std::make_shared<FakeSubscriber>();
    stream.subscribe({.kinds = {"late"}}, lates);
    stream.subscribe({.events = false}, positions_only);
    dispatch::Event late;
    late.kind = dispatch::EventKind::late;
    late.vehicle_id = 3;
    late.started_at = now - 60s;
    late.key = 77;
    late.magnitude = 300;
    stream.on_event(late);
    late.revision = 1;
    late.magnitude = 360;
    stream.on_event(late);  // the same event again within the period: replaces the first
    dispatch::Event speeding;
    speeding.kind = dispatch::EventKind::overspeed;
    speeding.vehicle_id = 3;
    speeding.key = 78;
    stream.on_event(speeding);
    stream.flush(now);
    REQUIRE(lates->frames.size() == 1);
    const auto events = lates->last()["events"];
    REQUIRE(events.size() == 1);
    CHECK(events[0]["kind"] == "late");
    CHECK(events[0]["magnitude"] == 360);
    CHECK(events[0]["phase"] == "updated");
    CHECK(positions_only->frames.empty());  // no positions came, and it takes no events
}

TEST_CASE("a subscriber that cannot keep up is dropped; the others go on") {
    LiveStream stream({.period = 100ms, .max_queued_bytes = 1000});
    auto slow = std::make_shared<FakeSubscriber>();
    auto fast = std::make_shared<FakeSubscriber>();
    stream.subscribe({}, slow);
    stream.subscribe({}, fast);
    for (int round = 0; round < 20 && !slow->dropped; ++round) {
        std::vector<ingest::StoredPosition> batch;
        for (int v = 1; v <= 5; ++v) {
            batch.push_back(fix(v, round, 37.6 + v * 0.01));
        }
        stream.on_committed(batch);
        stream.flush(now);
        fast->queued = 0;  // the fast one sends everything at once
    }
    CHECK(slow->dropped);
    CHECK_FALSE(fast->dropped);
    // Still subscribed while its connection closes: counted once.
    for (int round = 0; round < 3; ++round) {
        stream.on_committed(std::vector<ingest::StoredPosition>{fix(1, 50 + round, 37.6)});
        stream.flush(now);
        fast->queued = 0;
    }
    CHECK(stream.dropped() == 1);
    CHECK(fast->frames.size() > slow->frames.size());
    // A subscriber that has gone away is forgotten at the next flush.
    fast.reset();
    stream.on_committed(std::vector<ingest::StoredPosition>{fix(1, 99, 37.6)});
    stream.flush(now);
    CHECK(stream.subscribers() == 1);
}

TEST_CASE("assignment changes reach the subscribers of their vehicle: planned, then withdrawn") {
    LiveStream stream;
    auto mine = std::make_shared<FakeSubscriber>();
    auto other = std::make_shared<FakeSubscriber>();
    auto no_assignments = std::make_shared<FakeSubscriber>();
    stream.subscribe({.vehicles = std::set<std::int64_t>{4}}, mine);
    stream.subscribe({.vehicles = std::set<std::int64_t>{5}}, other);
    stream.subscribe({.assignments = false}, no_assignments);
    dispatch::Assignment a;
    a.assignment_id = 31;
    a.vehicle_id = 4;
    a.service_date = "2025-11-24";
    a.block = "B7";
    a.planned_start = now;
    a.planned_end = now + 8h;
    dispatch::TripPlan t;
    t.code = "T-7";
    a.trips.push_back(t);
    stream.on_assignment(a);
    stream.flush(now);
    REQUIRE(mine->frames.size() == 1);
    const auto planned = mine->last()["assignments"];
    REQUIRE(planned.size() == 1);
    CHECK(planned[0]["assignment_id"] == 31);
    CHECK(planned[0]["change"] == "planned");
    CHECK(planned[0]["block"] == "B7");
    CHECK(planned[0]["trips"][0] == "T-7");
    CHECK(planned[0]["start"] == geo::iso_utc(now));
    CHECK(other->frames.empty());
    CHECK(no_assignments->frames.empty());

    stream.on_assignment_withdrawn(31);
    stream.on_assignment_withdrawn(99);  // never handed: nothing
    stream.flush(now);
    REQUIRE(mine->frames.size() == 2);
    CHECK(mine->last()["assignments"][0]["change"] == "withdrawn");
    CHECK(other->frames.empty());
}

TEST_CASE("a vehicle's dispatch state reaches the subscribers of positions, the latest only") {
    LiveStream stream;
    auto all = std::make_shared<FakeSubscriber>();
    auto events_only = std::make_shared<FakeSubscriber>();
    auto other = std::make_shared<FakeSubscriber>();
    stream.subscribe({}, all);
    stream.subscribe({.positions = false}, events_only);
    stream.subscribe({.vehicles = std::set<std::int64_t>{9}}, other);
    stream.on_dispatch(4, {.adherence = "on_time",
                           .deviation_s = 20,
                           .assignment_id = 31,
                           .route_code = "R1",
                           .route_short_name = "1",
                           .trip_code = "T1"});
    stream.on_dispatch(4, {.adherence = "late",
                           .deviation_s = 420,
                           .assignment_id = 31,
                           .route_code = "R1",
                           .route_short_name = "1",
                           .trip_code = "T1",
                           .block = "B1"});
    stream.flush(now);
    REQUIRE(all->frames.size() == 1);
    const auto d = all->last()["dispatch"];
    REQUIRE(d.size() == 1);
    CHECK(d[0]["vehicle_id"] == 4);
    CHECK(d[0]["adherence"] == "late");
    CHECK(d[0]["deviation_s"] == 420);
    CHECK(d[0]["assignment_id"] == 31);
    CHECK(d[0]["block"] == "B1");
    CHECK(d[0]["off_route"] == false);
    CHECK(events_only->frames.empty());
    CHECK(other->frames.empty());
    // The same state with a deviation 3 s away is not sent again; 5 s away it is.
    const auto frames = all->frames.size();
    stream.on_dispatch(4, {.adherence = "late",
                           .deviation_s = 423,
                           .assignment_id = 31,
                           .route_code = "R1",
                           .route_short_name = "1",
                           .trip_code = "T1",
                           .block = "B1"});
    stream.flush(now);
    CHECK(all->frames.size() == frames);
    stream.on_dispatch(4, {.adherence = "late",
                           .deviation_s = 426,
                           .assignment_id = 31,
                           .route_code = "R1",
                           .route_short_name = "1",
                           .trip_code = "T1",
                           .block = "B1"});
    stream.flush(now);
    REQUIRE(all->frames.size() == frames + 1);
    CHECK(all->last()["dispatch"][0]["deviation_s"] == 426);
    // Unassigned: no deviation, no assignment.
    stream.on_dispatch(4, {.adherence = "unassigned"});
    stream.flush(now);
    CHECK(all->last()["dispatch"][0]["deviation_s"].is_null());
    CHECK(all->last()["dispatch"][0]["assignment_id"].is_null());
}
