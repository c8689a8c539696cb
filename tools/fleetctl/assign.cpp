#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>

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

// CSV rows: date,vehicle,driver,feed,block,trips (trips separated by ';'); a header line first.
std::vector<dispatch::AssignmentRequest> read_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw InputError("cannot read '" + path + "'");
    }
    std::vector<dispatch::AssignmentRequest> out;
    std::string line;
    std::getline(in, line);
    if (line.rfind("date,vehicle,driver,feed,block,trips", 0) != 0) {
        throw InputError(path + ":1: the header must be date,vehicle,driver,feed,block,trips");
    }
    for (int number = 2; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        std::vector<std::string> f;
        std::stringstream fields(line);
        for (std::string v; std::getline(fields, v, ',');) {
            f.push_back(v);
        }
        f.resize(6);
        if (f[0].empty() || f[1].empty() || (f[4].empty() && f[5].empty())) {
            throw InputError(path + ":" + std::to_string(number) +
                             ": date, vehicle and a block or trips are required");
        }
        dispatch::AssignmentRequest q;
        q.service_date = f[0];
        q.vehicle = f[1];
        q.driver = f[2];
        q.feed = f[3].empty() ? "local" : f[3];
        q.block = f[4];
        q.trips = split(f[5], ';');
        out.push_back(std::move(q));
    }
    return out;
}

int assign(const server::Config& config, const std::vector<std::string>& args) {
    po::options_description d("assign");
    // clang-format off
    d.add_options()
        ("date", po::value<std::string>(), "service date YYYY-MM-DD")
        ("vehicle", po::value<std::string>(), "registration")
        ("driver", po::value<std::string>()->default_value(""), "full name or personnel number")
        ("feed", po::value<std::string>()->default_value("local"), "timetable feed")
        ("block", po::value<std::string>()->default_value(""), "block (GTFS block_id)")
        ("trips", po::value<std::string>()->default_value(""), "trips, comma-separated, in order")
        ("csv", po::value<std::string>(), "many: rows date,vehicle,driver,feed,block,trips(;)")
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
        requests.push_back(std::move(q));
    }
    std::atomic<bool> never{false};
    auto db = server::open_database(config, never);
    for (auto& q : requests) {
        q.actor = vm["actor"].as<std::string>();
        const auto id = dispatch::save_assignment(*db, q);
        std::cout << "assignment " << id << ": " << q.vehicle << " on " << q.service_date
                  << (q.block.empty() ? "" : ", block " + q.block) << "\n";
    }
    return 0;
}

const Registration registration(
    "assign", {"assign a vehicle (and driver) a block or trips for a day; replaces, journalled",
               "assign --date D --vehicle REG [--driver N] [--feed F] --block B | --trips T1,T2 "
               "| --csv FILE",
               assign});

}  // namespace

}  // namespace fleet::tools::fleetctl
