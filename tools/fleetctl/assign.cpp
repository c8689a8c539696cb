#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "dispatch/assignment_input.hpp"
#include "dispatch/assignments.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/assign_cli.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

std::vector<dispatch::AssignmentRequest> read_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InputError("cannot read '" + path + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    return dispatch::read_assignment_csv(text.str(), path);
}

/// Prints "assign: 200 of 1000 (20%)" to stderr as a long import goes on.
void print_progress(std::size_t done, std::size_t total) {
    std::cerr << "assign: " << done << " of " << total << " (" << done * 100 / total << "%)\n";
}

const char* const csv_help =
    "\nCSV (--csv FILE): a header naming the columns, then a row per timetabled assignment\n"
    "or per planned stop of freight work. Columns date,vehicle,driver,feed,block,trips,\n"
    "route,start,end,tz,stop,lon,lat,from,to,radius in any order (files of the first six\n"
    "still read). Timetabled: block or trips (T1;T2), start and end when the shift has\n"
    "its own. Freight: the first row gives route, start, end (tz) and the first stop;\n"
    "rows after it of the same date and vehicle add stops; stop is a known stop's code,\n"
    "or a name with lon and lat. An empty feed is 'local'. Times: HH:MM on the date (in tz,\n"
    "else the feed's agency time zone, else UTC) or 2024-03-05T08:00+03:00. All rows are\n"
    "saved or none (--force lets clashes pass); progress on stderr every 100 assignments.";

const std::string name = "assign";

po::options_description options() {
    po::options_description d("assign");
    // clang-format off
    d.add_options()
        ("date", po::value<std::string>()->value_name("DATE"), "service date YYYY-MM-DD (local, in the feed's or --tz zone)")
        ("vehicle", po::value<std::string>()->value_name("REG"), "registration")
        ("driver", po::value<std::string>()->default_value("")->value_name("N"), "full name or personnel number")
        ("feed", po::value<std::string>()->default_value(default_feed)->value_name("F"), feed_help("the feed of the block, trips, route and stops").c_str())
        ("block", po::value<std::string>()->default_value("")->value_name("B"), "block (GTFS block_id): its trips that run on the date")
        ("trips", po::value<std::string>()->default_value("")->value_name("T1,T2"), "trips in order (with --block: trips of that block)")
        ("from-trip", po::value<std::string>()->default_value("")->value_name("T"), "with --block: its trips from this one on")
        ("route", po::value<std::string>()->default_value("")->value_name("CODE"), "freight: route code")
        ("start", po::value<std::string>()->default_value("")->value_name("TIME"), "shift start (freight: required; timetabled: before the first departure)")
        ("end", po::value<std::string>()->default_value("")->value_name("TIME"), "shift end")
        ("tz", po::value<std::string>()->default_value("")->value_name("ZONE"), "freight: IANA time zone of the date and HH:MM times (else the feed's, else UTC)")
        ("stop", po::value<std::vector<std::string>>()->composing()->value_name("STOP"), assign_cli::stop_help)
        ("max-stop-offset", po::value<double>()->default_value(500)->value_name("M"), "freight: metres a stop may lie from the route")
        ("force", po::bool_switch(), "save despite clashes with other assignments (journalled)")
        ("csv", po::value<std::string>()->value_name("FILE"), "many assignments from a CSV file")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int assign(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    std::vector<dispatch::AssignmentRequest> requests;
    if (vm.count("csv")) {
        requests = read_csv(vm["csv"].as<std::string>());
    } else {
        if (!vm.count("date") || !vm.count("vehicle")) {
            throw ConfigError(name,
                              "--date and --vehicle are required, or --csv FILE (see fleetctl "
                              "assign --help)");
        }
        dispatch::AssignmentRequest q;
        q.service_date = vm["date"].as<std::string>();
        q.vehicle = vm["vehicle"].as<std::string>();
        q.driver = vm["driver"].as<std::string>();
        q.feed = vm["feed"].as<std::string>();
        q.block = vm["block"].as<std::string>();
        q.trips = assign_cli::split_list(vm["trips"].as<std::string>());
        q.from_trip = vm["from-trip"].as<std::string>();
        q.route = vm["route"].as<std::string>();
        q.start = vm["start"].as<std::string>();
        q.end = vm["end"].as<std::string>();
        q.time_zone = vm["tz"].as<std::string>();
        q.max_stop_offset_m = vm["max-stop-offset"].as<double>();
        q.stops = assign_cli::stops(vm);
        requests.push_back(std::move(q));
    }
    for (auto& q : requests) {
        q.actor = vm["actor"].as<std::string>();
        q.force = vm["force"].as<bool>();
    }
    auto db = cli::open(config);
    // One transaction: a bad row leaves the database as it was.
    const auto ids = dispatch::save_assignments(
        *db, requests, requests.size() > 1 ? print_progress : dispatch::SaveProgress{}, 100);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto& q = requests[i];
        std::cout << "assignment " << ids[i] << ": " << q.vehicle << " on " << q.service_date
                  << (q.block.empty() ? "" : ", block " + q.block)
                  << (q.route.empty() ? ""
                                      : ", route " + q.route + " with " +
                                            std::to_string(q.stops.size()) + " stops")
                  << "\n";
    }
    return 0;
}

const Registration registration(
    name,
    {"assign a vehicle (and driver) a block, trips, or freight work (a route with planned "
     "stops and time windows) for a day; a vehicle may have several a day, but the same block, "
     "driver or vehicle twice at once is refused unless --force; journalled",
     "assign --date D --vehicle REG [--driver N] [--feed F] (--block B [--trips T1,T2 | "
     "--from-trip T]\n"
     "         | --trips T1,T2 | --route CODE --start TIME --end TIME [--tz ZONE]\n"
     "           [--max-stop-offset M] --stop 'NAME;LON;LAT;FROM;TO[;RADIUS]' | --stop "
     "'CODE;;;FROM;TO' ...)\n"
     "         [--start TIME] [--end TIME] [--force] | assign --csv FILE [--force]",
     assign, [] { return cli::describe(options()) + csv_help + "\n"; }});

}  // namespace

}  // namespace fleet::tools::fleetctl
