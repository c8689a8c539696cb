#include <iostream>

#include "dispatch/assignments.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/assign_cli.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "assign change";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("assign change ID (what is given replaces what it has)");
    // clang-format off
    d.add_options()
        ("vehicle", po::value<std::string>()->value_name("REG"), "another vehicle")
        ("driver", po::value<std::string>()->value_name("N"), "another driver (full name or personnel number)")
        ("no-driver", po::bool_switch(), "no driver")
        ("block", po::value<std::string>()->value_name("B"), "another block: its trips on the date (with --trips: those of its trips)")
        ("trips", po::value<std::string>()->value_name("T1,T2"), "other trips, in order")
        ("route", po::value<std::string>()->value_name("CODE"), "freight: another route")
        ("stop", po::value<std::vector<std::string>>()->composing()->value_name("STOP"), "freight: all its stops anew; 'NAME;LON;LAT;FROM;TO[;RADIUS]' or 'CODE;;;FROM;TO[;RADIUS]', repeated")
        ("start", po::value<std::string>()->value_name("TIME"), "shift start; '' drops a timetabled shift's own")
        ("end", po::value<std::string>()->value_name("TIME"), "shift end; '' likewise")
        ("tz", po::value<std::string>()->value_name("ZONE"), "freight: time zone of HH:MM times")
        ("max-stop-offset", po::value<double>()->default_value(500)->value_name("M"), "freight: metres a new stop may lie from the route")
        ("reason", po::value<std::string>()->default_value("")->value_name("TEXT"), "why, for the journal")
        ("force", po::bool_switch(), "change despite clashes with other assignments (journalled)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

template <typename T>
std::optional<T> given(const cli::po::variables_map& vm, const std::string& key) {
    return vm.count(key) ? std::optional<T>(vm[key].as<T>()) : std::nullopt;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    dispatch::ChangeRequest c;
    c.assignment_id = assign_cli::assignment_id(vm, name);
    c.vehicle = given<std::string>(vm, "vehicle");
    c.driver = given<std::string>(vm, "driver");
    if (vm["no-driver"].as<bool>()) {
        if (c.driver) {
            throw ConfigError(name, "--driver and --no-driver contradict each other");
        }
        c.driver = "";
    }
    c.block = given<std::string>(vm, "block");
    if (const auto trips = given<std::string>(vm, "trips")) {
        c.trips = assign_cli::split_list(*trips);
    }
    c.route = given<std::string>(vm, "route");
    if (vm.count("stop")) {
        c.stops = assign_cli::stops(vm);
    }
    c.start = given<std::string>(vm, "start");
    c.end = given<std::string>(vm, "end");
    c.time_zone = given<std::string>(vm, "tz");
    c.max_stop_offset_m = vm["max-stop-offset"].as<double>();
    c.reason = vm["reason"].as<std::string>();
    c.force = vm["force"].as<bool>();
    c.actor = vm["actor"].as<std::string>();
    if (!c.vehicle && !c.driver && !c.block && !c.trips && !c.route && !c.stops && !c.start &&
        !c.end && !c.time_zone) {
        throw ConfigError(name, "nothing to change (see fleetctl assign change --help)");
    }
    auto db = cli::open(config);
    if (!dispatch::change_assignment(*db, c)) {
        std::cout << "assignment " << c.assignment_id << " already is so: nothing changed\n";
        return 0;
    }
    std::cout << "assignment " << c.assignment_id << " changed\n";
    return 0;
}

const Registration registration(
    name, {"change an assignment in place: its vehicle, driver, block or trips, route and "
           "stops, times; checked as a new one, clashes included; journalled with what it was; "
           "a running fleetd takes it within seconds, keeping the progress of unchanged work",
           "assign change ID [--vehicle REG] [--driver N | --no-driver] [--block B] [--trips "
           "T1,T2]\n"
           "         [--route CODE] [--stop S ...] [--start TIME] [--end TIME] [--tz ZONE] "
           "[--reason TEXT] [--force]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
