#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

#include "dispatch/assignment_input.hpp"
#include "dispatch/assignments.hpp"
#include "geo/error.hpp"
#include "server/database.hpp"
#include "tools/fleetctl/command.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = boost::program_options;

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, sep);) {
        if (!part.empty()) {
            out.push_back(part);
        }
    }
    return out;
}

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
    "\n      CSV (--csv FILE): a header naming the columns, then a row per timetabled assignment\n"
    "      or per planned stop of freight work. Columns date,vehicle,driver,feed,block,trips,\n"
    "      route,start,end,tz,stop,lon,lat,from,to,radius in any order (files of the first six\n"
    "      still read). Timetabled: block or trips (T1;T2). Freight: the first row gives route,\n"
    "      start, end (tz) and the first stop; rows after it of the same date and vehicle add\n"
    "      stops; stop is a known stop's code, or a name with lon and lat. Times: HH:MM on the\n"
    "      date (in tz, else the feed's agency time zone, else UTC) or 2024-03-05T08:00+03:00.\n"
    "      All rows are saved or none; progress on stderr every 100 assignments.";

int assign(const server::Config& config, const std::vector<std::string>& args) {
    po::options_description d("assign");
    // clang-format off
    d.add_options()
        ("date", po::value<std::string>(), "service date YYYY-MM-DD")
        ("vehicle", po::value<std::string>(), "registration")
        ("driver", po::value<std::string>()->default_value(""), "full name or personnel number")
        ("feed", po::value<std::string>()->default_value("local"), "feed of the trips, route, stops")
        ("block", po::value<std::string>()->default_value(""), "block (GTFS block_id)")
        ("trips", po::value<std::string>()->default_value(""), "trips, comma-separated, in order")
        ("route", po::value<std::string>()->default_value(""), "freight: route code")
        ("start", po::value<std::string>()->default_value(""), "freight: shift start")
        ("end", po::value<std::string>()->default_value(""), "freight: shift end")
        ("tz", po::value<std::string>()->default_value(""), "freight: time zone of HH:MM times")
        ("stop", po::value<std::vector<std::string>>()->composing(),
         "freight: 'NAME;LON;LAT;FROM;TO[;RADIUS]' or 'CODE;;;FROM;TO[;RADIUS]', repeatable")
        ("max-stop-offset", po::value<double>()->default_value(500),
         "freight: metres a stop may lie from the route")
        ("csv", po::value<std::string>(), "many assignments from a CSV file")
        ("actor", po::value<std::string>()->default_value("fleetctl"), "who, for the journal");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(d).run(), vm);
    } catch (const po::error& e) {
        throw ConfigError("assign", e.what());
    }
    std::vector<dispatch::AssignmentRequest> requests;
    if (vm.count("csv")) {
        requests = read_csv(vm["csv"].as<std::string>());
    } else {
        if (!vm.count("date") || !vm.count("vehicle")) {
            throw ConfigError("assign", "--date and --vehicle are required (or --csv FILE)");
        }
        dispatch::AssignmentRequest q;
        q.service_date = vm["date"].as<std::string>();
        q.vehicle = vm["vehicle"].as<std::string>();
        q.driver = vm["driver"].as<std::string>();
        q.feed = vm["feed"].as<std::string>();
        q.block = vm["block"].as<std::string>();
        q.trips = split(vm["trips"].as<std::string>(), ',');
        q.route = vm["route"].as<std::string>();
        q.start = vm["start"].as<std::string>();
        q.end = vm["end"].as<std::string>();
        q.time_zone = vm["tz"].as<std::string>();
        q.max_stop_offset_m = vm["max-stop-offset"].as<double>();
        if (vm.count("stop")) {
            for (const auto& text : vm["stop"].as<std::vector<std::string>>()) {
                q.stops.push_back(dispatch::parse_stop(text));
            }
        }
        requests.push_back(std::move(q));
    }
    for (auto& q : requests) {
        q.actor = vm["actor"].as<std::string>();
    }
    std::atomic<bool> never{false};
    auto db = server::open_database(config, never);
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
    "assign",
    {std::string("assign a vehicle (and driver) a block, trips, or freight work (a route with "
                 "planned stops and time windows) for a day; replaces, journalled") +
         csv_help,
     "assign --date D --vehicle REG [--driver N] [--feed F] (--block B | --trips T1,T2\n"
     "         | --route CODE --start TIME --end TIME [--tz ZONE] [--max-stop-offset M]\n"
     "           --stop 'NAME;LON;LAT;FROM;TO[;RADIUS]' | --stop 'CODE;;;FROM;TO' ...)\n"
     "         | assign --csv FILE",
     assign});

}  // namespace

}  // namespace fleet::tools::fleetctl
