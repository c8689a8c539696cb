#include <iostream>

#include "dispatch/assignments.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/assign_cli.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "assign handover";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("assign handover [ID]");
    // clang-format off
    d.add_options()
        ("from-trip", po::value<std::string>()->value_name("T"), "the first trip the spare drives (GTFS trip_id; required)")
        ("vehicle", po::value<std::string>()->value_name("REG"), "the spare vehicle (required)")
        ("driver", po::value<std::string>()->default_value("")->value_name("N"), "the spare's driver; default: the same driver moves over")
        ("date", po::value<std::string>()->value_name("DATE"), "without ID: the service date ...")
        ("block", po::value<std::string>()->value_name("B"), "... and the block whose assignment hands over")
        ("feed", po::value<std::string>()->default_value(default_feed)->value_name("F"), feed_help("... of this feed").c_str())
        ("reason", po::value<std::string>()->default_value("")->value_name("TEXT"), "why (a breakdown, ...), for the journal")
        ("force", po::bool_switch(), "despite clashes of the spare or its driver (journalled)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    dispatch::HandoverRequest r;
    if (vm.count("id")) {
        r.assignment_id = assign_cli::assignment_id(vm, name);
        if (vm.count("date") || vm.count("block")) {
            throw ConfigError(name, "give the assignment ID or --date and --block, not both");
        }
    } else {
        if (!vm.count("date") || !vm.count("block")) {
            throw ConfigError(name,
                              "name the assignment: its ID, or --date D --block B [--feed F]");
        }
        r.service_date = cli::date("date", vm["date"].as<std::string>());
        r.block = vm["block"].as<std::string>();
        r.feed = vm["feed"].as<std::string>();
    }
    r.from_trip = cli::required(vm, "from-trip", name);
    r.vehicle = cli::required(vm, "vehicle", name);
    r.driver = vm["driver"].as<std::string>();
    r.reason = vm["reason"].as<std::string>();
    r.force = vm["force"].as<bool>();
    r.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    const auto done = dispatch::hand_over(*db, r);
    const auto trips = [](std::size_t n) {
        return std::to_string(n) + (n == 1 ? " trip" : " trips");
    };
    std::cout << "assignment " << done.spare_id << ": " << r.vehicle << " takes over from trip "
              << r.from_trip << " (" << trips(done.trips_moved) << "); assignment "
              << done.original_id
              << (done.trips_kept == 0 ? " cancelled (nothing left)"
                                       : " keeps " + trips(done.trips_kept))
              << "\n";
    return 0;
}

const Registration registration(
    name, {"a spare vehicle takes over the rest of a block mid-day, in one step; the trips "
           "from --from-trip on become the spare's assignment, the original ends before them (or "
           "is cancelled when nothing is left); both journalled, clashes of the spare refused",
           "assign handover (ID | --date D --block B [--feed F]) --from-trip T --vehicle REG "
           "[--driver N] [--reason TEXT] [--force]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
