#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "proto/gtfs-realtime.pb.h"
#include "server/api/gtfs_rt.hpp"

using namespace fleet;
using namespace fleet::server::api;
using namespace std::chrono_literals;
namespace tr = transit_realtime;

namespace {

const geo::Millis t0(std::chrono::seconds(1'764'662'400));  // 2025-12-02T08:00:00Z

// Route 17, trip T-1 of block B1: four stops two minutes apart, the second passed without
// stopping (a detour), the bus now two minutes late before the third.
struct Fixture {
    std::vector<dispatch::VehicleState> states;
    std::unordered_map<std::int64_t, LatestFix> fixes;
    FleetDirectory::Vehicles vehicles;

    Fixture() {
        auto plan = std::make_shared<dispatch::Assignment>();
        plan->assignment_id = 5;
        plan->vehicle_id = 7;
        plan->service_date = "2025-12-02";
        dispatch::TripPlan trip;
        trip.trip_id = 40;
        trip.code = "T-1";
        trip.route_code = "R17";
        trip.route_short_name = "17";
        for (int i = 0; i < 4; ++i) {
            dispatch::PlannedStop stop;
            stop.code = "S" + std::to_string(i);
            stop.arrival = t0 + std::chrono::minutes(2 * i);
            stop.departure = stop.arrival + 30s;
            stop.timepoint = i != 2;
            trip.stops.push_back(stop);
        }
        plan->trips.push_back(trip);

        dispatch::VehicleState bus;
        bus.vehicle_id = 7;
        bus.assignment_id = 5;
        bus.service_date = "2025-12-02";
        bus.trip_index = 0;
        bus.trip_id = 40;
        bus.trip_code = "T-1";
        bus.route_code = "R17";
        bus.deviation_s = 120;
        bus.last_fix_at = t0 + 5min;
        bus.plan = plan;
        bus.next_stop = 2;
        bus.served = {true, false, false, false};
        states.push_back(bus);
        dispatch::VehicleState idle;  // no assignment: a position, no trip update
        idle.vehicle_id = 8;
        states.push_back(idle);

        fixes[7] = LatestFix{t0 + 5min, 37.61, 55.75, 36.0, 90.0, true, true};
        fixes[8] = LatestFix{t0 + 4min, 37.70, 55.70, std::nullopt, std::nullopt, {}, true};
        fixes[9] = LatestFix{t0, 37.0, 55.0, {}, {}, {}, true};  // registered since the last read
        vehicles[7] = {7, "A123BC77", "bus", true, {"north"}};
        vehicles[8] = {8, "B456CD77", "bus", true, {}};
    }
    FeedInput input(const std::set<std::int64_t>* visible = nullptr) const {
        return {states, fixes, vehicles, t0 + 6min, visible};
    }
};

}  // namespace

TEST_CASE("vehicle positions: every registered vehicle's latest fix, with its trip") {
    Fixture f;
    tr::FeedMessage m;
    REQUIRE(m.ParseFromString(vehicle_positions(f.input(), false)));
    CHECK(m.header().gtfs_realtime_version() == "2.0");
    CHECK(m.header().incrementality() == tr::FeedHeader::FULL_DATASET);
    CHECK(m.header().timestamp() == 1'764'662'760);
    REQUIRE(m.entity_size() == 3);
    CHECK(m.entity(2).vehicle().vehicle().id() == "9");  // no label until the register is read
    CHECK_FALSE(m.entity(2).vehicle().vehicle().has_label());
    const auto& bus = m.entity(0).vehicle();
    CHECK(bus.vehicle().id() == "7");
    CHECK(bus.vehicle().license_plate() == "A123BC77");
    CHECK(bus.position().latitude() == doctest::Approx(55.75));
    CHECK(bus.position().longitude() == doctest::Approx(37.61));
    CHECK(bus.position().bearing() == doctest::Approx(90));
    CHECK(bus.position().speed() == doctest::Approx(10.0));  // 36 km/h in m/s
    CHECK(bus.timestamp() == 1'764'662'700);
    CHECK(bus.trip().trip_id() == "T-1");
    CHECK(bus.trip().route_id() == "R17");
    CHECK(bus.trip().start_date() == "20251202");
    CHECK(bus.stop_id() == "S2");
    CHECK(bus.current_status() == tr::VehiclePosition::IN_TRANSIT_TO);
    const auto& idle = m.entity(1).vehicle();
    CHECK_FALSE(idle.has_trip());
    CHECK_FALSE(idle.position().has_speed());

    // A dispatcher limited to a group sees only its vehicles.
    const std::set<std::int64_t> north{7};
    REQUIRE(m.ParseFromString(vehicle_positions(f.input(&north), false)));
    CHECK(m.entity_size() == 1);
}

TEST_CASE("trip updates: the delay carried to the stops ahead, a stop passed by SKIPPED") {
    Fixture f;
    tr::FeedMessage m;
    REQUIRE(m.ParseFromString(trip_updates(f.input(), false)));
    REQUIRE(m.entity_size() == 1);  // the idle vehicle drives no trip
    const auto& u = m.entity(0).trip_update();
    CHECK(u.trip().trip_id() == "T-1");
    CHECK(u.vehicle().id() == "7");
    CHECK(u.delay() == 120);
    CHECK(u.timestamp() == 1'764'662'700);
    // S0 was served (nothing to say), S1 passed by, S2 and S3 ahead.
    REQUIRE(u.stop_time_update_size() == 3);
    CHECK(u.stop_time_update(0).stop_id() == "S1");
    CHECK(u.stop_time_update(0).schedule_relationship() == tr::TripUpdate::StopTimeUpdate::SKIPPED);
    const auto& s2 = u.stop_time_update(1);
    CHECK(s2.stop_id() == "S2");
    CHECK(s2.schedule_relationship() == tr::TripUpdate::StopTimeUpdate::SCHEDULED);
    CHECK(s2.arrival().delay() == 120);
    CHECK(s2.arrival().time() == 1'764'662'400 + 240 + 120);
    CHECK(s2.departure().time() == 1'764'662'400 + 270 + 120);
    CHECK(u.stop_time_update(2).arrival().time() == 1'764'662'400 + 360 + 120);

    // An early bus waits at its timepoints: no negative delay there.
    f.states[0].deviation_s = -90;
    REQUIRE(m.ParseFromString(trip_updates(f.input(), false)));
    const auto& early = m.entity(0).trip_update();
    CHECK(early.stop_time_update(1).arrival().delay() == -90);  // S2 is not a timepoint
    CHECK(early.stop_time_update(2).arrival().delay() == 0);    // S3 is
}

TEST_CASE("every feed has a JSON form for debugging, and an empty alerts feed is valid") {
    Fixture f;
    const auto json = nlohmann::json::parse(trip_updates(f.input(), true));
    CHECK(json["header"]["gtfs_realtime_version"] == "2.0");
    CHECK(json["entity"][0]["trip_update"]["stop_time_update"][0]["schedule_relationship"] ==
          "SKIPPED");
    tr::FeedMessage m;
    REQUIRE(m.ParseFromString(alerts(f.input(), false)));
    CHECK(m.entity_size() == 0);
    CHECK(m.header().has_timestamp());
}
