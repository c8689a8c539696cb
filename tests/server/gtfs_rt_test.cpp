#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "geo/geodesy.hpp"
#include "geo/iso_time.hpp"
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
    REQUIRE(m.ParseFromString(alerts({}, f.input().now, false)));
    CHECK(m.entity_size() == 0);
    CHECK(m.header().has_timestamp());
}

TEST_CASE("a notice is an alert: cause, effect, severity, validity, routes and stops") {
    const auto from = *geo::parse_iso_time("2026-12-02T07:30:00+03:00");
    const auto until = *geo::parse_iso_time("2026-12-02T10:00:00+03:00");
    const std::vector<AlertInput> notices = {
        {7,
         "CONSTRUCTION",
         "DETOUR",
         3,
         "Market Street closed",
         "Detour via Park Gate",
         from,
         until,
         {"R1"},
         {"S3"}},
        {8, "WEATHER", "OTHER_EFFECT", 1, "Fog", "Fog on the ring road", from, until, {}, {}},
        {9, "NOT_A_CAUSE", "NOR_AN_EFFECT", 2, "?", "?", from, until, {}, {"S1"}}};
    tr::FeedMessage m;
    REQUIRE(m.ParseFromString(alerts(notices, until, false)));
    REQUIRE(m.entity_size() == 3);
    const auto& a = m.entity(0).alert();
    CHECK(m.entity(0).id() == "notice-7");
    CHECK(a.cause() == tr::Alert::CONSTRUCTION);
    CHECK(a.effect() == tr::Alert::DETOUR);
    CHECK(a.severity_level() == tr::Alert::SEVERE);
    CHECK(a.active_period(0).start() == 1796185800);  // 2026-12-02T04:30:00Z
    CHECK(a.active_period(0).end() == 1796194800);
    REQUIRE(a.informed_entity_size() == 2);
    CHECK(a.informed_entity(0).route_id() == "R1");
    CHECK(a.informed_entity(1).stop_id() == "S3");
    CHECK(a.header_text().translation(0).text() == "Market Street closed");
    CHECK(a.description_text().translation(0).text() == "Detour via Park Gate");
    // No route or stop of ours in its area: the bus service as a whole is informed.
    const auto& fog = m.entity(1).alert();
    REQUIRE(fog.informed_entity_size() == 1);
    CHECK(fog.informed_entity(0).route_type() == 3);
    CHECK(fog.severity_level() == tr::Alert::INFO);
    // Names the feed does not know fall back to UNKNOWN.
    CHECK(m.entity(2).alert().cause() == tr::Alert::UNKNOWN_CAUSE);
    CHECK(m.entity(2).alert().effect() == tr::Alert::UNKNOWN_EFFECT);
    CHECK(m.entity(2).alert().severity_level() == tr::Alert::WARNING);
}

// The engine's own state for a simulated trip: route 12 along a 6 km street, four legs of 6
// minutes; the bus leaves on time, detours north around Meridian Street (1500 m) and is held up
// on the way. Its trip update carries the engine's delay and marks the bypassed stop SKIPPED.
TEST_CASE("trip updates from the engine's state after a detour that bypasses a stop") {
    using namespace fleet::dispatch;
    const Millis start =
        Millis(std::chrono::sys_days(std::chrono::year_month_day(
            std::chrono::year(2026), std::chrono::month(3), std::chrono::day(5)))) +
        8h;
    const geo::LonLat west{37.60, 55.75};
    auto street = [&](double x_m, double north_m = 0) {
        const auto on = geo::destination(west, 90, x_m);
        return north_m == 0 ? on : geo::destination(on, 0, north_m);
    };
    TripPlan trip;
    trip.trip_id = 1;
    trip.route_id = 12;
    trip.code = "T-OUT";
    trip.route_code = "R12";
    trip.route_short_name = "12";
    trip.shape = std::make_shared<geo::Polyline>(std::vector<geo::LonLat>{street(0), street(6000)},
                                                 "route 12");
    const char* codes[] = {"DEP", "MER", "MKT", "PRK", "BTE"};
    for (int i = 0; i < 5; ++i) {
        PlannedStop s;
        s.stop_id = i + 1;
        s.code = codes[i];
        s.position = street(1500.0 * i);
        s.distance_along_m = 1500.0 * i;
        s.arrival = s.departure = start + i * 6min;
        trip.stops.push_back(s);
    }
    auto plan = std::make_shared<Assignment>();
    plan->assignment_id = 9;
    plan->vehicle_id = 3;
    plan->service_date = "2026-03-05";
    plan->block = "B12";
    plan->planned_start = start - 10min;
    plan->planned_end = start + 30min;
    plan->trips.push_back(trip);

    EngineCore core{EngineConfig{}};
    core.upsert(plan);
    Millis now = start - 2min;
    auto fix_at = [&](double x_m, double north_m, double kmh) {
        std::vector<VehicleFix> fixes = {
            {3, Fix{now, street(x_m, north_m), kmh, true, {}, {}}, {}}};
        core.step(fixes, now);
    };
    while (now < start) {  // at the depot stop before the departure
        fix_at(0, 0, 0);
        now += 5s;
    }
    double x = 0;
    auto drive = [&](double to_x, double north_m, double kmh) {
        while (x < to_x) {
            now += 5s;
            x = std::min(to_x, x + kmh / 3.6 * 5);
            fix_at(x, north_m, kmh);
        }
    };
    drive(1000, 0, 15);  // on time to 1 km
    drive(1000, 0, 15);
    for (double n = 0; n <= 400; n += 60) {  // turn north off the route
        now += 5s;
        fix_at(1000, n, 15);
    }
    drive(2200, 400, 10);                    // along the parallel street, slowly
    for (double n = 400; n >= 0; n -= 60) {  // back onto the route past Meridian Street
        now += 5s;
        fix_at(2200, n, 15);
    }
    fix_at(2200, 0, 15);
    drive(2700, 0, 15);  // on the route again towards Market

    const auto state = core.state(3);
    REQUIRE(state);
    REQUIRE(state->deviation_s);
    CHECK(*state->deviation_s > 60);  // the detour cost time
    REQUIRE(state->next_stop == 2);   // Market is next: Meridian Street was passed
    CHECK_FALSE(state->served.at(1));

    const std::vector<VehicleState> states = {*state};
    std::unordered_map<std::int64_t, LatestFix> fixes;
    const FleetDirectory::Vehicles vehicles;
    tr::FeedMessage m;
    REQUIRE(m.ParseFromString(trip_updates({states, fixes, vehicles, now}, false)));
    REQUIRE(m.entity_size() == 1);
    const auto& u = m.entity(0).trip_update();
    CHECK(u.trip().trip_id() == "T-OUT");
    CHECK(u.trip().route_id() == "R12");
    CHECK(u.trip().start_date() == "20260305");
    const auto delay = static_cast<std::int32_t>(*state->deviation_s);
    CHECK(u.delay() == delay);
    REQUIRE(u.stop_time_update_size() == 4);  // MER skipped, MKT, PRK, BTE ahead
    CHECK(u.stop_time_update(0).stop_id() == "MER");
    CHECK(u.stop_time_update(0).schedule_relationship() == tr::TripUpdate::StopTimeUpdate::SKIPPED);
    // The stops ahead at the engine's predicted arrivals (dispatch/eta.hpp), the delay each
    // implies; a bus late by the detour stays late all the way.
    REQUIRE(state->eta.size() == 3);
    auto secs = [](Millis t) {
        return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    };
    for (int i = 1; i < 4; ++i) {
        const auto& st = u.stop_time_update(i);
        const auto stop = static_cast<std::size_t>(i + 1);
        CHECK(st.stop_id() == codes[i + 1]);
        const auto& eta = state->eta[static_cast<std::size_t>(i - 1)];
        REQUIRE(eta.stop_index == stop);
        CHECK(st.arrival().time() == secs(eta.arrival));
        CHECK(st.arrival().delay() == secs(eta.arrival) - secs(trip.stops[stop].arrival));
        CHECK(st.arrival().delay() > 60);
    }
}

TEST_CASE("trip updates: the engine's predicted arrivals where it has them") {
    Fixture f;
    auto& bus = f.states[0];
    // S2 predicted 200 s late, S3 50 s early (it is a timepoint: the bus waits there).
    bus.eta.push_back({2, 0, t0 + 4min, t0 + 4min + 200s, 100, dispatch::EtaMethod::progress});
    bus.eta.push_back({3, 0, t0 + 6min, t0 + 6min - 50s, 300, dispatch::EtaMethod::progress});
    tr::FeedMessage m;
    REQUIRE(m.ParseFromString(trip_updates(f.input(), false)));
    const auto& u = m.entity(0).trip_update();
    REQUIRE(u.stop_time_update_size() == 3);
    const auto& s2 = u.stop_time_update(1);
    CHECK(s2.arrival().time() == 1'764'662'400 + 240 + 200);
    CHECK(s2.arrival().delay() == 200);
    CHECK(s2.departure().time() == 1'764'662'400 + 270 + 200);
    const auto& s3 = u.stop_time_update(2);
    CHECK(s3.arrival().delay() == -50);
    CHECK(s3.departure().time() == 1'764'662'400 + 390);  // its timetabled departure
    CHECK(s3.departure().delay() == 0);
}
