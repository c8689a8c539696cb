#include <algorithm>
#include <iostream>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

const std::string name = "journal";

po::options_description options() {
    po::options_description d("journal");
    // clang-format off
    d.add_options()
        ("from", po::value<std::string>()->value_name("T"), "from this time on, with its offset (2026-11-27 00:00+03)")
        ("to", po::value<std::string>()->value_name("T"), "up to this time, exclusive")
        ("vehicle", po::value<std::string>()->value_name("REG"), "entries that concern this vehicle")
        ("driver", po::value<std::string>()->value_name("N"), "entries that concern this driver (personnel number or full name)")
        ("kind", po::value<std::string>()->value_name("K"), "one kind: vehicle, device, driver, group, model, assignment, waybill, route, ...")
        ("tz", po::value<std::string>()->default_value("UTC")->value_name("ZONE"), "show times in this zone (Europe/Moscow)")
        ("limit", po::value<std::size_t>()->default_value(0)->value_name("N"), "at most the first N entries (0: all)");
    // clang-format on
    reg::add_format_option(d);
    return d;
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args);
    const auto format = reg::format(vm, name);
    geo::JournalQuery q;
    q.from = cli::required(vm, "from", name);
    q.to = cli::required(vm, "to", name);
    q.kind = cli::text(vm, "kind");
    q.time_zone = vm["tz"].as<std::string>();
    q.limit = vm["limit"].as<std::size_t>();
    auto db = cli::open(config);
    std::vector<geo::JournalRecord> entries;
    {
        pqxx::read_transaction tx(*db);
        if (vm.count("vehicle")) {
            q.vehicle_id = dispatch::vehicle_id(tx, vm["vehicle"].as<std::string>());
        }
        if (vm.count("driver")) {
            q.driver_id = dispatch::driver_id(tx, vm["driver"].as<std::string>());
        }
        entries = geo::read(tx, q);
        if (entries.empty() && !q.kind.empty()) {
            const auto known = geo::kinds(tx);
            if (std::find(known.begin(), known.end(), q.kind) == known.end()) {
                std::string list;
                for (const auto& k : known) {
                    list += (list.empty() ? "" : ", ") + k;
                }
                std::cerr << "journal: no entry of kind '" << q.kind
                          << "' at all (the journal holds: " << list << ")\n";
            }
        }
    }
    waybills::Sheet sheet{.name = "journal",
                          .columns = {"recorded_at", "kind", "action", "subject", "actor"},
                          .rows = {}};
    if (format == reg::Format::csv) {
        sheet.columns.insert(sheet.columns.end(),
                             {"vehicle", "driver", "waybill_id", "assignment_id", "entry_id"});
    }
    sheet.columns.push_back("details");
    const auto id = [](const std::optional<std::int64_t>& v) {
        waybills::Cell cell;
        if (v) {
            cell = *v;
        }
        return cell;
    };
    for (const auto& e : entries) {
        std::vector<waybills::Cell> row{e.recorded_at, e.kind, e.action, reg::text_cell(e.subject),
                                        e.actor};
        if (format == reg::Format::csv) {
            row.push_back(reg::text_cell(e.registration));
            row.push_back(reg::text_cell(e.personnel_number));
            row.push_back(id(e.waybill_id));
            row.push_back(id(e.assignment_id));
            row.emplace_back(e.entry_id);
        }
        std::string details =
            e.details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        row.emplace_back(std::move(details));
        sheet.rows.push_back(std::move(row));
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

const Registration registration(
    name, {"the operations journal of a period; every order and state change, times with their "
           "offset, details as compact JSON",
           "journal --from T --to T [--vehicle REG] [--driver N] [--kind K] [--tz ZONE]"
           " [--format csv]",
           run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
