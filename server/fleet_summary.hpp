#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

/// What the database holds about the fleet at a glance: `fleetctl status` prints it; the API
/// can serve the same figures.
namespace fleet::server {

/// A feed: the rows that carry its name in `feed`.
struct FeedSummary {
    std::string name;
    bool gtfs = false;  ///< imported from GTFS (fleet.feeds); otherwise 'local', from GIS files
    std::int64_t routes = 0;
    std::int64_t stops = 0;
    std::int64_t zones = 0;
};

struct FleetSummary {
    int schema_version = 0;
    std::int64_t vehicles = 0;
    std::int64_t vehicles_active = 0;
    std::int64_t devices = 0;          ///< registered (fleet.devices)
    std::int64_t unknown_devices = 0;  ///< seen but not registered (fleet.unknown_devices)
    std::int64_t drivers = 0;
    std::int64_t drivers_active = 0;
    std::vector<FeedSummary> feeds;                ///< by name
    std::string time_zone;                         ///< of `today`
    std::string today;                             ///< YYYY-MM-DD in `time_zone`
    std::int64_t assignments_today = 0;            ///< of service date `today`, cancelled ones too
    std::int64_t assignments_today_cancelled = 0;  ///< of those
    /// Events not ended yet (fleet.events.ended_at empty), by kind, most frequent first.
    std::vector<std::pair<std::string, std::int64_t>> open_events;
    std::int64_t waybills_issued = 0;    ///< issued, the vehicle not released yet
    std::int64_t waybills_released = 0;  ///< the vehicle out
    std::int64_t waybills_returned = 0;  ///< back, awaiting acceptance
    std::int64_t positions = 0;
    std::int64_t position_partitions = 0;
};

/// The summary, `today` being the current date in `time_zone` (an IANA name); InputError
/// naming the zone when PostgreSQL does not know it.
FleetSummary read_fleet_summary(pqxx::connection& conn, const std::string& time_zone);

/// The zone an operator reads dates in when none is given: the waybill issuers' when they all
/// have the same one, else UTC.
std::string operator_time_zone(pqxx::connection& conn);

}  // namespace fleet::server
