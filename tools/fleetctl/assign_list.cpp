#include <iostream>

#include "dispatch/assignments.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/assign_cli.hpp"
#include "tools/fleetctl/command.hpp"
#include "waybills/table.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "assign list";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("assign list");
    // clang-format off
    d.add_options()
        ("date", po::value<std::string>()->value_name("DATE"), "service date YYYY-MM-DD (required)")
        ("vehicle", po::value<std::string>()->value_name("REG"), "one vehicle")
        ("format", po::value<std::string>()->default_value("table")->value_name("F"), "table or csv (RFC 4180, on standard output)");
    // clang-format on
    return d;
}

std::string joined(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : separator) + p;
    }
    return out;
}

// "block B1: T1, T2", "trips T3", "route F1, 3 stops".
std::string work_of(const dispatch::AssignmentRow& r) {
    if (r.kind == "freight") {
        return "route " + r.route + ", " + std::to_string(r.stops) + " stops";
    }
    return (r.block.empty() ? "trips " : "block " + r.block + ": ") + joined(r.trips, ", ");
}

// "07:45" on the service date, "00:10 (+1)" on the next day; "-" when unknown.
std::string clock_of(const std::string& local, const std::string& service_date) {
    if (local.size() < 16) {
        return "-";
    }
    const std::string hm = local.substr(11, 5);
    const std::string day = local.substr(0, 10);
    return day == service_date ? hm : hm + " (" + (day > service_date ? "+" : "-") + "1)";
}

void print_csv(const std::vector<dispatch::AssignmentRow>& rows) {
    waybills::Sheet sheet;
    sheet.name = "assignments";
    sheet.columns = {
        "assignment_id", "service_date", "status",    "vehicle",      "driver", "personnel_number",
        "kind",          "feed",         "block",     "trips",        "route",  "stops",
        "start",         "end",          "time_zone", "cancel_reason"};
    for (const auto& r : rows) {
        sheet.rows.push_back({std::int64_t{r.assignment_id}, r.service_date, r.status, r.vehicle,
                              r.driver, r.personnel_number, r.kind, r.feed, r.block,
                              joined(r.trips, ";"), r.route, static_cast<std::int64_t>(r.stops),
                              r.start, r.end, r.time_zone, r.cancel_reason});
    }
    waybills::write_csv(std::cout, sheet);
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    dispatch::AssignmentFilter filter;
    filter.service_date = cli::date("date", cli::required(vm, "date", name));
    filter.vehicle = cli::text(vm, "vehicle");
    const auto format = vm["format"].as<std::string>();
    if (format != "table" && format != "csv") {
        throw ConfigError(name, "--format is table or csv, not '" + format + "'");
    }
    auto db = cli::open(config);
    const auto rows = dispatch::list_assignments(*db, filter);
    if (format == "csv") {
        print_csv(rows);
        return 0;
    }
    std::vector<std::vector<std::string>> table{
        {"ID", "VEHICLE", "DRIVER", "WORK", "START", "END", "ZONE", "STATUS"}};
    for (const auto& r : rows) {
        table.push_back(
            {std::to_string(r.assignment_id), r.vehicle, r.driver.empty() ? "-" : r.driver,
             work_of(r), clock_of(r.start, r.service_date), clock_of(r.end, r.service_date),
             r.time_zone, r.status == "cancelled" ? "cancelled: " + r.cancel_reason : r.status});
    }
    cli::print_table(std::cout, table);
    return 0;
}

const Registration registration(
    name, {"list a day's assignments, cancelled ones too; vehicle, driver, work, start and end "
           "in the assignment's zone, the reason of a cancellation",
           "assign list --date D [--vehicle REG] [--format table|csv]", run,
           [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
