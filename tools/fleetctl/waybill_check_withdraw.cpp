#include <charconv>
#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill check-withdraw";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill check-withdraw ID");
    // clang-format off
    d.add_options()
        ("check", po::value<std::string>()->value_name("CHECK_ID"), "the check to withdraw (fleetctl waybill show ID lists them)")
        ("reason", po::value<std::string>()->value_name("TEXT"), "why (kept with the check and in the journal)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    waybills::WithdrawCheckRequest q;
    q.waybill_id = cli::waybill_id(vm, name);
    const auto word = cli::required(vm, "check", name);
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), q.check_id);
    if (ec != std::errc() || end != word.data() + word.size() || q.check_id <= 0) {
        throw InputError("--check: a check ID (a positive whole number) wanted, got '" + word +
                         "'");
    }
    q.reason = cli::required(vm, "reason", name);
    q.actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    waybills::withdraw_check(*db, q);
    const auto w = waybills::load_waybill(*db, q.waybill_id);
    std::cout << "waybill " << w.issuer << "/" << w.number << ": check " << q.check_id
              << " withdrawn (kept, no longer counted): " << q.reason << "\n";
    return 0;
}

const Registration registration(
    name, {"withdraw a check typed wrong, with a reason (pre-trip before release, post-trip "
           "before acceptance); then record the right one",
           "waybill check-withdraw ID --check CHECK_ID --reason TEXT", run,
           [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
