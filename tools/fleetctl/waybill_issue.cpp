#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill issue";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill issue");
    // clang-format off
    d.add_options()
        ("issuer", po::value<std::string>()->value_name("CODE"), "issuer code (fleetctl waybill issuer); numbers run per issuer")
        ("vehicle", po::value<std::string>()->value_name("REG"), "vehicle registration")
        ("driver", po::value<std::string>()->value_name("NAME"), "driver's full name or personnel number")
        ("assignment", po::value<std::int64_t>()->value_name("ID"), "issue from this shift assignment (its vehicle, driver and date)")
        ("from", po::value<std::string>()->value_name("DATE"), "first day of validity, YYYY-MM-DD (default: the assignment's date)")
        ("to", po::value<std::string>()->value_name("DATE"), "last day of validity (default: --from)")
        ("service-kind", po::value<std::string>()->value_name("K"), "urban, suburban, intercity or international")
        ("transport-kind", po::value<std::string>()->value_name("K"), "regular_passenger, charter, cargo, own_needs, special or other")
        ("trailer-model", po::value<std::string>()->value_name("M"), "trailer make and model")
        ("trailer-plate", po::value<std::string>()->value_name("P"), "trailer registration plate")
        ("trailer-mass", po::value<double>()->value_name("T"), "trailer's own mass, tonnes")
        ("odometer", po::value<std::string>()->value_name("KM"), "departure odometer, whole km: only for a vehicle's first waybill (otherwise carried over)")
        ("fuel", po::value<double>()->value_name("L"), "departure fuel remainder: likewise")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    waybills::IssueRequest q;
    q.issuer = cli::required(vm, "issuer", name);
    q.vehicle = cli::text(vm, "vehicle");
    q.driver = cli::text(vm, "driver");
    q.assignment_id = cli::optional<std::int64_t>(vm, "assignment");
    if (!q.assignment_id && (q.vehicle.empty() || q.driver.empty())) {
        throw ConfigError(name, "give --vehicle and --driver, or --assignment");
    }
    if (!q.assignment_id) {
        cli::required(vm, "from", name);
    }
    if (vm.count("from")) {
        q.valid_from = cli::date("from", vm["from"].as<std::string>());
    }
    if (vm.count("to")) {
        q.valid_to = cli::date("to", vm["to"].as<std::string>());
    }
    q.service_kind = cli::text(vm, "service-kind");
    q.transport_kind = cli::text(vm, "transport-kind");
    q.trailer_make_model = cli::text(vm, "trailer-model");
    q.trailer_registration = cli::text(vm, "trailer-plate");
    if (q.trailer_make_model.empty() != q.trailer_registration.empty()) {
        throw InputError("a trailer needs both --trailer-model and --trailer-plate");
    }
    q.trailer_mass_t = cli::optional<double>(vm, "trailer-mass");
    q.odometer_out_km = cli::optional_km(vm, "odometer");
    q.fuel_out_l = cli::optional<double>(vm, "fuel");
    q.actor = vm["actor"].as<std::string>();

    auto db = cli::open(config);
    const auto issued = waybills::issue(*db, q);
    const auto source = [&](bool given, const char* option) {
        return given ? std::string("given with --") + option
                     : std::string("carried over from the vehicle's previous waybill");
    };
    std::cout << "issued waybill " << q.issuer << "/" << issued.number << " (id "
              << issued.waybill_id << ")\n"
              << "departure odometer: "
              << (issued.odometer_out_km ? std::to_string(*issued.odometer_out_km) + " km"
                                         : std::string("unknown"))
              << " (" << source(q.odometer_out_km.has_value(), "odometer") << ")\n"
              << "departure fuel:     "
              << (issued.fuel_out_l ? cli::fixed(*issued.fuel_out_l, 2) + " L"
                                    : std::string("unknown"))
              << " (" << source(q.fuel_out_l.has_value(), "fuel") << ")\n";
    if (issued.assignment_found) {
        std::cout << "linked to shift assignment " << *issued.assignment_id
                  << " (the vehicle and driver's assignment in the validity period)\n";
    } else if (issued.assignment_id) {
        std::cout << "linked to shift assignment " << *issued.assignment_id << "\n";
    } else if (!issued.assignment_candidates.empty()) {
        std::cout << "not linked to an assignment: the vehicle and driver have "
                  << issued.assignment_candidates.size() << " in the validity period (";
        for (std::size_t i = 0; i < issued.assignment_candidates.size(); ++i) {
            std::cout << (i ? ", " : "") << issued.assignment_candidates[i];
        }
        std::cout << "); issue with --assignment ID to link one\n";
    }
    return 0;
}

const Registration registration(
    name, {"issue a waybill (next number of the issuer); prints its id and number",
           "waybill issue --issuer CODE (--vehicle REG --driver NAME | --assignment ID) --from "
           "DATE [--to DATE] [--service-kind K] [--transport-kind K] [--trailer-model M "
           "--trailer-plate P --trailer-mass T] [--odometer KM --fuel L]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
