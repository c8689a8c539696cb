#include <filesystem>
#include <fstream>
#include <iostream>

#include "geo/error.hpp"
#include "geo/track_store.hpp"
#include "geo/trips.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

const std::string name = "export track";

po::options_description options() {
    const geo::TripRules trip;
    const geo::TrackLimits limits;
    po::options_description d("export track");
    // clang-format off
    d.add_options()
        ("vehicle", po::value<std::string>()->value_name("REG"), "the vehicle's registration")
        ("from", po::value<std::string>()->value_name("T"), "from this time on, with its offset (2026-11-27 00:00+03)")
        ("to", po::value<std::string>()->value_name("T"), "up to this time, exclusive")
        ("format", po::value<std::string>()->default_value("json")->value_name("F"), "json, geojson, gpx, kml or csv")
        ("output", po::value<std::string>()->value_name("FILE"), "write here (default: standard output)")
        ("trips", po::bool_switch(), "add the trips of the period (as Traccar's trips report)")
        ("stops", po::bool_switch(), "add the stops of the period (as Traccar's stops report)")
        ("tz", po::value<std::string>()->default_value("UTC")->value_name("ZONE"), "write times in this zone (Europe/Moscow)")
        ("max-days", po::value<double>()->default_value(limits.max_period_days)->value_name("D"), "refuse a longer period")
        ("max-fixes", po::value<std::size_t>()->default_value(limits.max_fixes)->value_name("N"), "refuse a period with more fixes");
    // clang-format on
    po::options_description rules("Trips and stops (Traccar's report.trip.* defaults)");
    // clang-format off
    rules.add_options()
        ("speed-threshold", po::value<double>()->default_value(trip.speed_threshold_kmh)->value_name("KMH"), "faster than this is moving (0.01 knots)")
        ("min-trip-duration", po::value<double>()->default_value(trip.min_trip_duration_s)->value_name("S"), "motion this long is a trip ...")
        ("min-trip-distance", po::value<double>()->default_value(trip.min_trip_distance_m)->value_name("M"), "... or motion this far")
        ("min-parking-duration", po::value<double>()->default_value(trip.min_parking_duration_s)->value_name("S"), "standing this long is a stop")
        ("min-no-data-duration", po::value<double>()->default_value(trip.min_no_data_duration_s)->value_name("S"), "no fix for longer than this ends a trip")
        ("use-ignition", po::bool_switch(), "ignition off ends a trip at once");
    // clang-format on
    d.add(rules);
    return d;
}

geo::TripRules trip_rules(const po::variables_map& vm) {
    const auto given = [&](const char* key) {
        return cli::not_negative(key, vm[key].as<double>());
    };
    return {.speed_threshold_kmh = given("speed-threshold"),
            .min_trip_duration_s = given("min-trip-duration"),
            .min_trip_distance_m = given("min-trip-distance"),
            .min_parking_duration_s = given("min-parking-duration"),
            .min_no_data_duration_s = given("min-no-data-duration"),
            .use_ignition = vm["use-ignition"].as<bool>()};
}

// A file that appears complete or not at all.
void write_file(const std::filesystem::path& path, const std::string& bytes) {
    auto partial = path;
    partial += ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) {
            throw InputError("--output " + path.string() + ": cannot create the file");
        }
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) {
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw InputError("--output " + path.string() + ": write failed");
        }
    }
    std::error_code ec;
    std::filesystem::rename(partial, path, ec);
    if (ec) {
        std::filesystem::remove(partial, ec);
        throw InputError("--output " + path.string() + ": " + ec.message());
    }
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    const auto registration = cli::required(vm, "vehicle", name);
    geo::TrackQuery q;
    q.from = cli::required(vm, "from", name);
    q.to = cli::required(vm, "to", name);
    q.time_zone = vm["tz"].as<std::string>();
    q.limits = {.max_period_days = cli::not_negative("max-days", vm["max-days"].as<double>()),
                .max_fixes = vm["max-fixes"].as<std::size_t>()};
    geo::TrackFormat format;
    try {
        format = geo::track_format(vm["format"].as<std::string>());
    } catch (const InputError& e) {
        throw ConfigError(name, std::string("--") + e.what());
    }
    const auto rules = trip_rules(vm);
    const auto output = cli::text(vm, "output");
    auto db = cli::open(config);
    geo::Track track;
    {
        pqxx::read_transaction tx(*db);
        q.vehicle_id = geo::track_vehicle_id(tx, registration);
        track = geo::read_track(tx, q);
    }
    if (vm["trips"].as<bool>() || vm["stops"].as<bool>()) {
        auto found = geo::find_trips_and_stops(track.fixes, rules);
        if (vm["trips"].as<bool>()) {
            track.trips = std::move(found.trips);
        }
        if (vm["stops"].as<bool>()) {
            track.stops = std::move(found.stops);
        }
    }
    const std::string bytes = geo::write_track(track, format);
    if (output.empty()) {
        std::cout.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        std::cout.flush();
        if (!std::cout) {
            throw InputError("standard output: write failed");
        }
        return 0;
    }
    write_file(output, bytes);
    std::cerr << "wrote " << output << ": " << track.fixes.size() << " fixes of "
              << track.registration;
    if (track.trips) {
        std::cerr << ", " << track.trips->size() << " trips";
    }
    if (track.stops) {
        std::cerr << ", " << track.stops->size() << " stops";
    }
    std::cerr << "\n";
    return 0;
}

const Registration registration(
    name, {"a vehicle's track for a period as JSON, GeoJSON, GPX, KML or CSV, with its trips and "
           "stops",
           "export track --vehicle REG --from T --to T [--format json|geojson|gpx|kml|csv]"
           " [--output FILE] [--trips] [--stops] [--tz ZONE]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
