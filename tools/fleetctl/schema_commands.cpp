#include <atomic>
#include <iostream>

#include "server/database.hpp"
#include "server/fleet_summary.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

std::atomic<bool> never_stop{false};

int migrate(const server::Config& config, const std::vector<std::string>& args) {
    cli::parse("migrate", po::options_description("migrate"), args);
    server::DatabaseReady ready;
    server::open_database(config, never_stop, &ready);
    std::cout << "schema at migration " << ready.schema_version << " (" << ready.migrations_applied
              << " applied now); position partitions ready " << config.partition_months_ahead
              << " months ahead (" << ready.partitions_created << " created now)\n";
    return 0;
}

po::options_description status_options() {
    po::options_description d("status");
    d.add_options()("tz", po::value<std::string>()->value_name("ZONE"),
                    "the zone whose date is today, for the assignments (default: the waybill "
                    "issuers' zone when they share one, else UTC)");
    return d;
}

// "12 (10 active, 2 inactive)".
std::string with_active(std::int64_t all, std::int64_t active) {
    return std::to_string(all) + " (" + std::to_string(active) + " active, " +
           std::to_string(all - active) + " inactive)";
}

int status(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse("status", status_options(), args);
    auto db = server::open_database(config, never_stop);
    const auto zone = vm.count("tz") ? vm["tz"].as<std::string>() : server::operator_time_zone(*db);
    const auto s = server::read_fleet_summary(*db, zone);
    std::cout << "schema migration:    " << s.schema_version << "\n"
              << "vehicles:            " << with_active(s.vehicles, s.vehicles_active) << "\n"
              << "devices:             " << s.devices << " registered, " << s.unknown_devices
              << " seen but not registered"
              << (s.unknown_devices > 0 ? " (fleetctl device list --unknown)" : "") << "\n"
              << "drivers:             " << with_active(s.drivers, s.drivers_active) << "\n";
    std::cout << "feeds:               " << s.feeds.size() << "\n";
    for (const auto& f : s.feeds) {
        std::cout << "  " << f.name << (f.gtfs ? " (GTFS)" : " (GIS files)") << ": " << f.routes
                  << " routes, " << f.stops << " stops, " << f.zones << " zones\n";
    }
    std::cout << "assignments today:   " << s.assignments_today - s.assignments_today_cancelled
              << " planned, " << s.assignments_today_cancelled << " cancelled (" << s.today
              << " in " << s.time_zone << ")\n";
    std::cout << "open events:         ";
    if (s.open_events.empty()) {
        std::cout << "none";
    }
    for (std::size_t i = 0; i < s.open_events.size(); ++i) {
        std::cout << (i ? ", " : "") << s.open_events[i].first << " " << s.open_events[i].second;
    }
    std::cout << "\n"
              << "waybills open:       " << s.waybills_issued + s.waybills_released << " ("
              << s.waybills_issued << " issued, " << s.waybills_released << " released)\n"
              << "waybills returned:   " << s.waybills_returned << " awaiting acceptance\n"
              << "positions:           " << s.positions << "\n"
              << "position partitions: " << s.position_partitions << "\n";
    return 0;
}

const Registration migrate_registration(
    "migrate", {"apply pending schema migrations and prepare the position partitions; prints "
                "the schema version",
                "migrate", migrate});

const Registration status_registration(
    "status",
    {"summarise the fleet: vehicles, devices, drivers, feeds, today's assignments, open events, "
     "waybills; the devices seen but not registered too, today in --tz (default: the waybill "
     "issuers' zone), open events by kind, waybills open and awaiting acceptance",
     "status [--tz ZONE]", status, [] { return cli::describe(status_options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
