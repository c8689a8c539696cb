#include "server/fleet_summary.hpp"

#include "geo/error.hpp"

namespace fleet::server {

namespace {

std::int64_t count(pqxx::transaction_base& tx, const std::string& query) {
    return tx.exec1(query)[0].as<std::int64_t>();
}

}  // namespace

std::string operator_time_zone(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const auto zones = tx.exec("SELECT DISTINCT time_zone FROM fleet.issuers");
    return zones.size() == 1 ? zones[0][0].as<std::string>() : std::string("UTC");
}

FleetSummary read_fleet_summary(pqxx::connection& conn, const std::string& time_zone) {
    pqxx::read_transaction tx(conn);
    if (tx.exec_params("SELECT 1 FROM pg_timezone_names WHERE name = $1", time_zone).empty() &&
        time_zone != "UTC") {
        throw InputError("time zone: unknown zone '" + time_zone +
                         "' (an IANA name such as Europe/Moscow, or UTC)");
    }
    FleetSummary s;
    s.time_zone = time_zone;
    s.schema_version = tx.exec1("SELECT max(version) FROM fleet.schema_migrations")[0].as<int>();
    const auto fleet = tx.exec1(
        "SELECT (SELECT count(*) FROM fleet.vehicles),"
        " (SELECT count(*) FROM fleet.vehicles WHERE active),"
        " (SELECT count(*) FROM fleet.devices), (SELECT count(*) FROM fleet.unknown_devices),"
        " (SELECT count(*) FROM fleet.drivers), (SELECT count(*) FROM fleet.drivers WHERE active)");
    s.vehicles = fleet[0].as<std::int64_t>();
    s.vehicles_active = fleet[1].as<std::int64_t>();
    s.devices = fleet[2].as<std::int64_t>();
    s.unknown_devices = fleet[3].as<std::int64_t>();
    s.drivers = fleet[4].as<std::int64_t>();
    s.drivers_active = fleet[5].as<std::int64_t>();

    for (const auto& r :
         tx.exec("WITH names AS (SELECT feed FROM fleet.feeds UNION SELECT feed FROM fleet.routes"
                 " UNION SELECT feed FROM fleet.stops UNION SELECT feed FROM fleet.zones)"
                 " SELECT n.feed, EXISTS (SELECT 1 FROM fleet.feeds f WHERE f.feed = n.feed),"
                 " (SELECT count(*) FROM fleet.routes r WHERE r.feed = n.feed),"
                 " (SELECT count(*) FROM fleet.stops t WHERE t.feed = n.feed),"
                 " (SELECT count(*) FROM fleet.zones z WHERE z.feed = n.feed)"
                 " FROM names n ORDER BY n.feed")) {
        s.feeds.push_back({.name = r[0].as<std::string>(),
                           .gtfs = r[1].as<bool>(),
                           .routes = r[2].as<std::int64_t>(),
                           .stops = r[3].as<std::int64_t>(),
                           .zones = r[4].as<std::int64_t>()});
    }

    const auto today = tx.exec_params1(
        "WITH d AS (SELECT (now() AT TIME ZONE $1)::date AS day)"
        " SELECT d.day::text,"
        " (SELECT count(*) FROM fleet.shift_assignments a WHERE a.service_date = d.day),"
        " (SELECT count(*) FROM fleet.shift_assignments a WHERE a.service_date = d.day"
        "  AND a.status = 'cancelled')"
        " FROM d",
        time_zone);
    s.today = today[0].as<std::string>();
    s.assignments_today = today[1].as<std::int64_t>();
    s.assignments_today_cancelled = today[2].as<std::int64_t>();

    for (const auto& r : tx.exec("SELECT kind, count(*) FROM fleet.events WHERE ended_at IS NULL"
                                 " GROUP BY kind ORDER BY count(*) DESC, kind")) {
        s.open_events.emplace_back(r[0].as<std::string>(), r[1].as<std::int64_t>());
    }

    const auto waybills = tx.exec1(
        "SELECT count(*) FILTER (WHERE status = 'issued'),"
        " count(*) FILTER (WHERE status = 'released'),"
        " count(*) FILTER (WHERE status = 'returned') FROM fleet.waybills");
    s.waybills_issued = waybills[0].as<std::int64_t>();
    s.waybills_released = waybills[1].as<std::int64_t>();
    s.waybills_returned = waybills[2].as<std::int64_t>();

    s.positions = count(tx, "SELECT count(*) FROM fleet.positions");
    s.position_partitions =
        count(tx, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'fleet.positions'::regclass");
    return s;
}

}  // namespace fleet::server
