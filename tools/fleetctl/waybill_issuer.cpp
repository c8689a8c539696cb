#include <iostream>

#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill issuer";

cli::po::options_description options() {
    namespace po = cli::po;
    po::options_description d("waybill issuer");
    // clang-format off
    d.add_options()
        ("code", po::value<std::string>()->value_name("C"), "short code, used in waybill numbers (ACME/17)")
        ("name", po::value<std::string>()->value_name("N"), "organisation name, or the sole trader's full name")
        ("legal-form", po::value<std::string>()->value_name("F"), "legal form (LLC, JSC, ...); none for a sole trader")
        ("address", po::value<std::string>()->value_name("A"), "address")
        ("phone", po::value<std::string>()->value_name("P"), "phone")
        ("ogrn", po::value<std::string>()->value_name("N"), "registration number of an organisation")
        ("ogrnip", po::value<std::string>()->value_name("N"), "registration number of a sole trader")
        ("time-zone", po::value<std::string>()->default_value("UTC")->value_name("TZ"),
         "IANA time zone whose days the validity dates are (Europe/Moscow)")
        ("actor", po::value<std::string>()->default_value("fleetctl")->value_name("WHO"), "who, for the journal");
    // clang-format on
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    waybills::Issuer i;
    i.code = cli::required(vm, "code", name);
    i.name = cli::required(vm, "name", name);
    i.legal_form = cli::text(vm, "legal-form");
    i.address = cli::text(vm, "address");
    i.phone = cli::text(vm, "phone");
    i.ogrn = cli::text(vm, "ogrn");
    i.ogrnip = cli::text(vm, "ogrnip");
    i.time_zone = vm["time-zone"].as<std::string>();
    if (!i.ogrn.empty() && !i.ogrnip.empty()) {
        throw InputError(
            "an issuer is an organisation (--ogrn) or a sole trader (--ogrnip), "
            "not both");
    }
    auto db = cli::open(config);
    waybills::save_issuer(*db, i, vm["actor"].as<std::string>());
    std::cout << "issuer " << i.code << " saved: " << i.name << "\n";
    return 0;
}

const Registration registration(
    name, {"create an issuer or replace its details (every detail a waybill needs)",
           "waybill issuer --code C --name N [--legal-form F] [--address A] [--phone P] [--ogrn "
           "N | --ogrnip N] [--time-zone TZ]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
