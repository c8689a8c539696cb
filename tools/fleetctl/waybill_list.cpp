#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill list";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill list");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("DATE"), "validity ending on or after this date, YYYY-MM-DD, or a month YYYY-MM (its first day)")
        ("to", po::value<std::string>()->value_name("DATE"), "validity starting on or before this date, or a month (its last day)")
        ("vehicle", po::value<std::string>()->value_name("REG"), "one vehicle")
        ("driver", po::value<std::string>()->value_name("NAME"), "one driver: full name or personnel number")
        ("status", po::value<std::string>()->value_name("S"), "issued, released, returned, closed, superseded or cancelled");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    waybills::ListFilter f;
    if (vm.count("from")) {
        f.from = cli::day_or_month("from", vm["from"].as<std::string>(), false);
    }
    if (vm.count("to")) {
        f.to = cli::day_or_month("to", vm["to"].as<std::string>(), true);
    }
    f.vehicle = cli::text(vm, "vehicle");
    f.driver = cli::text(vm, "driver");
    f.status = cli::text(vm, "status");
    if (!f.status.empty()) {
        bool known = false;
        for (const char* s :
             {"issued", "released", "returned", "closed", "superseded", "cancelled"}) {
            known = known || f.status == s;
        }
        if (!known) {
            throw InputError("--status '" + f.status +
                             "' is not one of: issued, released, returned, closed, superseded, "
                             "cancelled");
        }
    }
    auto db = cli::open(config);
    std::vector<std::vector<std::string>> rows{{"ID", "NUMBER", "VALID", "VEHICLE", "DRIVER",
                                                "STATUS", "DEPARTED", "RETURNED", "ODOMETER",
                                                "FUEL, L", "NOTE"}};
    const auto km = [](const std::optional<std::int64_t>& v) {
        return v ? std::to_string(*v) : std::string("-");
    };
    const auto litres = [](const std::optional<double>& v) {
        return v ? cli::fixed(*v, 2) : std::string("-");
    };
    for (const auto& w : waybills::list_waybills(*db, f)) {
        rows.push_back({std::to_string(w.waybill_id), w.issuer + "/" + std::to_string(w.number),
                        w.valid_from + (w.valid_to == w.valid_from ? "" : ".." + w.valid_to),
                        w.registration, w.driver_name, w.status,
                        w.departed_at.empty() ? "-" : w.departed_at,
                        w.returned_at.empty() ? "-" : w.returned_at,
                        km(w.odometer_out_km) + "-" + km(w.odometer_in_km),
                        litres(w.fuel_out_l) + "/" + litres(w.fuel_in_l),
                        w.status == "cancelled" ? "cancelled: " + w.cancel_reason : ""});
    }
    cli::print_table(std::cout, rows);
    return 0;
}

const Registration registration(
    name, {"list waybills as a table (validity overlapping the period, one vehicle, a status)",
           "waybill list [--from D] [--to D] [--vehicle REG] [--driver NAME] [--status S]", run,
           [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
