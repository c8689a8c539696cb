#include <iostream>

#include "dispatch/fleet_register.hpp"
#include "geo/error.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : ",") + w;
    }
    return out;
}

po::options_description add_options() {
    po::options_description d("group add NAME");
    d.add_options()("description", po::value<std::string>()->value_name("TEXT"),
                    "what the group is for");
    reg::add_common_options(d);
    return d;
}

int add(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "group add";
    const auto vm = cli::parse(name, add_options(), args, {"group"});
    const auto group = reg::word(vm, "group", name, "NAME");
    auto db = cli::open(config);
    dispatch::add_group(*db, group, cli::text(vm, "description"), vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "group " << group << " added\n";
    }
    return 0;
}

po::options_description remove_options() {
    po::options_description d("group remove NAME");
    reg::add_common_options(d);
    return d;
}

int remove(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "group remove";
    const auto vm = cli::parse(name, remove_options(), args, {"group"});
    const auto group = reg::word(vm, "group", name, "NAME");
    auto db = cli::open(config);
    dispatch::remove_group(*db, group, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "group " << group << " removed (its vehicles stay registered)\n";
    }
    return 0;
}

po::options_description list_options() {
    po::options_description d("group list");
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "group list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    auto db = cli::open(config);
    waybills::Sheet sheet{
        .name = "groups", .columns = {"name", "description", "vehicles"}, .rows = {}};
    for (const auto& g : dispatch::list_groups(*db)) {
        sheet.rows.push_back(
            {g.name, reg::text_cell(g.description), reg::text_cell(joined(g.vehicles))});
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

po::options_description members_options() {
    po::options_description d("group members NAME");
    // clang-format off
    d.add_options()
        ("add", po::value<std::string>()->value_name("REG,..."), "vehicles to add, by registration")
        ("remove", po::value<std::string>()->value_name("REG,..."), "vehicles to take out");
    // clang-format on
    reg::add_common_options(d);
    reg::add_format_option(d);
    return d;
}

int members(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "group members";
    const auto vm = cli::parse(name, members_options(), args, {"group"});
    const auto group = reg::word(vm, "group", name, "NAME");
    auto db = cli::open(config);
    if (!vm.count("add") && !vm.count("remove")) {
        // Without changes: the members, one registration a line.
        for (const auto& g : dispatch::list_groups(*db)) {
            if (g.name == group) {
                waybills::Sheet sheet{.name = "members", .columns = {"vehicle"}, .rows = {}};
                for (const auto& v : g.vehicles) {
                    sheet.rows.push_back({v});
                }
                reg::print(std::cout, sheet, reg::format(vm, name));
                return 0;
            }
        }
        throw InputError("unknown group '" + group + "' (fleetctl group list shows them)");
    }
    const auto changed =
        dispatch::change_group_members(*db,
                                       {.group = group,
                                        .add = reg::split_list(cli::text(vm, "add")),
                                        .remove = reg::split_list(cli::text(vm, "remove"))},
                                       vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "group " << group << ": " << changed.added << " added, " << changed.removed
                  << " removed\n";
    }
    return 0;
}

const Registration add_registration(
    "group add",
    {"create a named group of vehicles (for the API's permissions); journalled",
     "group add NAME [--description TEXT]", add, [] { return cli::describe(add_options()); }});
const Registration remove_registration("group remove",
                                       {"remove a group and its memberships; the vehicles stay",
                                        "group remove NAME", remove,
                                        [] { return cli::describe(remove_options()); }});
const Registration list_registration("group list",
                                     {"the groups with their vehicles", "group list [--format csv]",
                                      list, [] { return cli::describe(list_options()); }});
const Registration members_registration(
    "group members",
    {"add vehicles to a group and take others out, in one step; without --add or --remove, "
     "list its members",
     "group members NAME [--add REG,...] [--remove REG,...]", members,
     [] { return cli::describe(members_options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
