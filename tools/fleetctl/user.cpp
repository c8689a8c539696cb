// Accounts of the operator API: users, their roles and groups, API tokens.
#include <unistd.h>

#include <iostream>

#include "geo/error.hpp"
#include "server/api/accounts.hpp"
#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/register_cli.hpp"

namespace fleet::tools::fleetctl {

namespace {

namespace po = cli::po;
namespace api = server::api;

// The password, read from standard input (one line; never from the command line, where other
// users of the machine could read it in the process list).
std::string read_password(bool prompt) {
    if (prompt && ::isatty(STDIN_FILENO)) {
        std::cerr << "password (" << api::min_password_bytes << " to " << api::max_password_bytes
                  << " bytes): " << std::flush;
    }
    std::string password;
    if (!std::getline(std::cin, password)) {
        throw InputError("password: none on standard input (--password-stdin reads one line)");
    }
    if (!password.empty() && password.back() == '\r') {
        password.pop_back();
    }
    return password;
}

std::vector<std::string> groups_option(const po::variables_map& vm) {
    return reg::split_list(cli::text(vm, "groups"));
}

po::options_description add_options() {
    po::options_description d("user add NAME");
    // clang-format off
    d.add_options()
        ("role", po::value<std::string>()->value_name("ROLE"), "admin, dispatcher, accountant or viewer (required)")
        ("groups", po::value<std::string>()->value_name("G,..."), "a dispatcher sees and acts on these groups' vehicles only")
        ("password-stdin", "read the password (one line) from standard input; without it the user logs in with tokens only");
    // clang-format on
    reg::add_common_options(d);
    return d;
}

int add(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "user add";
    const auto vm = cli::parse(name, add_options(), args, {"user"});
    api::NewUser user;
    user.name = reg::word(vm, "user", name, "NAME");
    user.role = api::parse_role(cli::required(vm, "role", name));
    user.groups = groups_option(vm);
    if (vm.count("password-stdin")) {
        user.password = read_password(true);
    }
    auto db = cli::open(config);
    api::add_user(*db, user, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "user " << user.name << " added as " << api::to_string(user.role)
                  << (user.password.empty() ? " (no password: issue a token with fleetctl user "
                                              "token " +
                                                  user.name + ")"
                                            : "")
                  << "\n";
    }
    return 0;
}

po::options_description set_options() {
    po::options_description d("user set NAME");
    // clang-format off
    d.add_options()
        ("role", po::value<std::string>()->value_name("ROLE"), "admin, dispatcher, accountant or viewer")
        ("groups", po::value<std::string>()->value_name("G,..."), "replaces the groups ('' for none)")
        ("password-stdin", "a new password from standard input (ends the user's sessions)")
        ("active", po::bool_switch(), "the user may log in again")
        ("inactive", po::bool_switch(), "the user may no longer log in (sessions and tokens stop at once)");
    // clang-format on
    reg::add_common_options(d);
    return d;
}

int set(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "user set";
    const auto vm = cli::parse(name, set_options(), args, {"user"});
    api::UserChange change;
    change.name = reg::word(vm, "user", name, "NAME");
    if (vm.count("role")) {
        change.role = api::parse_role(vm["role"].as<std::string>());
    }
    if (vm.count("groups")) {
        change.groups = groups_option(vm);
    }
    if (vm.count("password-stdin")) {
        change.password = read_password(true);
    }
    change.active = reg::active_flag(vm, name);
    auto db = cli::open(config);
    const bool changed = api::change_user(*db, change, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "user " << change.name << (changed ? " changed" : ": nothing to change")
                  << "\n";
    }
    return 0;
}

po::options_description remove_options() {
    po::options_description d("user remove NAME");
    reg::add_common_options(d);
    return d;
}

int remove(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "user remove";
    const auto vm = cli::parse(name, remove_options(), args, {"user"});
    const auto user = reg::word(vm, "user", name, "NAME");
    auto db = cli::open(config);
    api::remove_user(*db, user, vm["actor"].as<std::string>());
    if (!reg::quiet(vm)) {
        std::cout << "user " << user << " removed with their tokens and sessions\n";
    }
    return 0;
}

po::options_description list_options() {
    po::options_description d("user list");
    reg::add_format_option(d);
    return d;
}

int list(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "user list";
    const auto vm = cli::parse(name, list_options(), args);
    const auto format = reg::format(vm, name);
    auto db = cli::open(config);
    waybills::Sheet sheet{
        .name = "users",
        .columns = {"name", "role", "groups", "active", "password", "tokens", "created"},
        .rows = {}};
    for (const auto& u : api::list_users(*db)) {
        std::string groups;
        for (const auto& g : u.groups) {
            groups += (groups.empty() ? "" : ",") + g;
        }
        sheet.rows.push_back({u.name, std::string(api::to_string(u.role)), reg::text_cell(groups),
                              reg::bool_cell(u.active), reg::bool_cell(u.has_password),
                              reg::number_cell(static_cast<double>(u.tokens)), u.created_at});
    }
    reg::print(std::cout, sheet, format);
    return 0;
}

po::options_description token_options() {
    po::options_description d("user token NAME");
    // clang-format off
    d.add_options()
        ("label", po::value<std::string>()->value_name("TEXT"), "what the token is for (\"prometheus\")")
        ("expires-hours", po::value<long>()->value_name("N"), "the token stops working after N hours (default: when revoked)")
        ("revoke", po::value<long>()->value_name("ID"), "revoke the token with this id instead")
        ("revoke-all", "revoke every token of the user instead");
    // clang-format on
    reg::add_common_options(d);
    return d;
}

int token(const server::Config& config, const std::vector<std::string>& args) {
    const std::string name = "user token";
    const auto vm = cli::parse(name, token_options(), args, {"user"});
    const auto user = reg::word(vm, "user", name, "NAME");
    const auto actor = vm["actor"].as<std::string>();
    auto db = cli::open(config);
    if (vm.count("revoke") || vm.count("revoke-all")) {
        if (vm.count("revoke") && vm.count("revoke-all")) {
            throw ConfigError("revoke", "give --revoke ID or --revoke-all, not both");
        }
        const auto n = api::revoke_tokens(*db, user,
                                          vm.count("revoke")
                                              ? std::optional<std::int64_t>(vm["revoke"].as<long>())
                                              : std::nullopt,
                                          actor);
        std::cout << n << (n == 1 ? " token" : " tokens") << " of " << user << " revoked\n";
        return 0;
    }
    std::optional<std::chrono::hours> lifetime;
    if (vm.count("expires-hours")) {
        lifetime = std::chrono::hours(vm["expires-hours"].as<long>());
    }
    const auto issued = api::issue_token(*db, user, cli::text(vm, "label"), lifetime, actor);
    // The token on standard output alone, for scripts; what it is on standard error.
    std::cerr << "token " << issued.token_id << " for " << user
              << " (shown once; send it as Authorization: Bearer TOKEN):\n";
    std::cout << issued.token << "\n";
    return 0;
}

const Registration add_registration(
    "user add", {"add a user of the operator API with a role; journalled",
                 "user add NAME --role ROLE [--groups G,...] [--password-stdin]", add,
                 [] { return cli::describe(add_options()); }});
const Registration set_registration(
    "user set",
    {"change a user's role, groups, password or activity; journalled",
     "user set NAME [--role ROLE] [--groups G,...] [--password-stdin] [--active|--inactive]", set,
     [] { return cli::describe(set_options()); }});
const Registration remove_registration("user remove",
                                       {"remove a user with their tokens and sessions; journalled",
                                        "user remove NAME", remove,
                                        [] { return cli::describe(remove_options()); }});
const Registration list_registration("user list",
                                     {"the users of the operator API", "user list [--format csv]",
                                      list, [] { return cli::describe(list_options()); }});
const Registration token_registration(
    "user token",
    {"issue an API token for a user (printed once), or revoke tokens",
     "user token NAME [--label TEXT] [--expires-hours N] [--revoke ID | --revoke-all]", token,
     [] { return cli::describe(token_options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
