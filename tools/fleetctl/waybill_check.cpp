#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill check";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill check ID");
    // clang-format off
    d.add_options()
        ("kind", po::value<std::string>()->value_name("K"), "technical (pre-trip inspection), medical_pre or medical_post")
        ("at", po::value<std::string>()->value_name("TIME"), "when, ISO 8601 with the offset: \"2026-11-27 07:10+03\"")
        ("person", po::value<std::string>()->value_name("NAME"), "mechanic or medic who made the check (their mark)")
        ("failed", "the check was not passed (the vehicle or driver is not fit)")
        ("odometer", po::value<std::string>()->value_name("KM"), "odometer at the technical inspection, whole km (required there)")
        ("notes", po::value<std::string>()->value_name("TEXT"), "remarks")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    cli::add_clock_options(d);
    return d;
}

std::string what(const std::string& kind) {
    return kind == "technical"     ? "pre-trip technical inspection"
           : kind == "medical_pre" ? "pre-trip medical examination"
                                   : "post-trip medical examination";
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::CheckRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    q.kind = cli::required(vm, "kind", name);
    q.checked_at = cli::required(vm, "at", name);
    q.person = cli::required(vm, "person", name);
    q.passed = vm.count("failed") == 0;
    q.odometer_km = cli::optional_km(vm, "odometer");
    q.notes = cli::text(vm, "notes");
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    const auto check_id = waybills::record_check(*db, q, cli::clock(vm));
    const auto w = waybills::load_waybill(*db, q.waybill_id);
    std::cout << "waybill " << w.issuer << "/" << w.number << ": " << what(q.kind) << " by "
              << q.person << " recorded as check " << check_id << ", "
              << (q.passed ? "passed" : "FAILED") << "\n";
    return 0;
}

const Registration registration(
    name, {"record a pre-trip technical inspection or a pre- or post-trip medical examination",
           "waybill check ID --kind technical|medical_pre|medical_post --at TIME --person NAME "
           "[--failed] [--odometer KM] [--notes TEXT]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
