#include "server/api/accounts.hpp"

#include <sodium.h>

#include <algorithm>
#include <mutex>

#include "geo/error.hpp"
#include "geo/journal.hpp"
#include "geo/utf8.hpp"

namespace fleet::server::api {

namespace {

constexpr std::string_view token_prefix = "fleet_";

void init_sodium() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (sodium_init() < 0) {
            throw Error("libsodium could not be initialised");
        }
    });
}

// 256 random bits, base64url without padding (43 characters).
std::string random_secret() {
    init_sodium();
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    char text[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(text, sizeof text, bytes, sizeof bytes,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return text;
}

pqxx::binarystring sha256(std::string_view secret) {
    init_sodium();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()),
                       secret.size());
    return pqxx::binarystring(digest, sizeof digest);
}

std::string hash_password(const std::string& password) {
    init_sodium();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        throw Error("out of memory hashing a password");
    }
    return out;
}

bool verify_password(const std::string& stored, std::string_view password) {
    init_sodium();
    return crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
}

// What a log-in with an unknown name is checked against, so that it takes as long as one with
// a known name (no way to tell which names exist by the time an answer takes).
const std::string& dummy_hash() {
    static const std::string hash = hash_password("not a password of anyone");
    return hash;
}

// Outside input as an error message shows it: at most 64 bytes, anything but printable UTF-8
// text as '?'.
std::string shown(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && out.size() < 64;) {
        const std::size_t n = geo::utf8_sequence_length(text, i);
        const auto c = static_cast<unsigned char>(text[i]);
        if (n == 0 || c < 0x20 || c == 0x7f) {
            out += '?';
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

bool well_formed_name(std::string_view name) {
    if (name.empty() || name.size() > 64) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '@' || c == '-';
    });
}

void check_name(const std::string& name) {
    if (!well_formed_name(name)) {
        throw InputError("name: '" + shown(name) +
                         "' is not a user name (1-64 letters, digits, '.', '_', '@', '-')");
    }
}

void check_password(const std::string& password) {
    if (password.size() < min_password_bytes || password.size() > max_password_bytes) {
        throw InputError("password: must be " + std::to_string(min_password_bytes) + " to " +
                         std::to_string(max_password_bytes) + " bytes long (got " +
                         std::to_string(password.size()) + ")");
    }
    if (!geo::is_valid_utf8(password) || std::any_of(password.begin(), password.end(), [](char c) {
            return static_cast<unsigned char>(c) < 0x20;
        })) {
        throw InputError("password: must be UTF-8 text without control characters");
    }
}

// The group ids of `names`; InputError naming every unknown one.
std::vector<std::int64_t> group_ids(pqxx::transaction_base& tx,
                                    const std::vector<std::string>& names) {
    std::vector<std::int64_t> ids;
    std::vector<std::string> unknown;
    for (const auto& name : names) {
        const auto r =
            tx.exec_params("SELECT group_id FROM fleet.vehicle_groups WHERE name = $1", name);
        if (r.empty()) {
            unknown.push_back("'" + shown(name) + "'");
        } else {
            ids.push_back(r[0][0].as<std::int64_t>());
        }
    }
    if (!unknown.empty()) {
        std::string list;
        for (const auto& u : unknown) {
            list += (list.empty() ? "" : ", ") + u;
        }
        throw InputError("groups: no such group " + list);
    }
    return ids;
}

struct UserRow {
    std::int64_t user_id = 0;
    Role role = Role::viewer;
    bool active = true;
    std::string password_hash;
};

std::optional<UserRow> find_user(pqxx::transaction_base& tx, std::string_view name,
                                 bool for_update) {
    const auto r = tx.exec_params(
        std::string("SELECT user_id, role, active, coalesce(password_hash, '') FROM fleet.users "
                    "WHERE name = $1") +
            (for_update ? " FOR UPDATE" : ""),
        std::string(name));
    if (r.empty()) {
        return std::nullopt;
    }
    return UserRow{r[0][0].as<std::int64_t>(), parse_role(r[0][1].as<std::string>()),
                   r[0][2].as<bool>(), r[0][3].as<std::string>()};
}

UserRow existing_user(pqxx::transaction_base& tx, const std::string& name) {
    auto row = find_user(tx, name, true);
    if (!row) {
        throw NotFoundError("no such user '" + shown(name) + "'");
    }
    return *row;
}

// Refuses a change that would leave no active admin (`user_id` stops being one).
void keep_an_admin(pqxx::transaction_base& tx, std::int64_t user_id) {
    const auto r = tx.exec_params(
        "SELECT count(*) FROM fleet.users WHERE role = 'admin' AND active AND user_id <> $1",
        user_id);
    if (r[0][0].as<std::int64_t>() == 0) {
        throw ConflictError("this is the last active admin: make another user admin first");
    }
}

std::vector<std::string> groups_of(pqxx::transaction_base& tx, std::int64_t user_id) {
    std::vector<std::string> out;
    for (const auto& row : tx.exec_params("SELECT g.name FROM fleet.user_groups ug JOIN "
                                          "fleet.vehicle_groups g USING (group_id) WHERE "
                                          "ug.user_id = $1 ORDER BY g.name",
                                          user_id)) {
        out.push_back(row[0].as<std::string>());
    }
    return out;
}

// An expiry read as epoch seconds; nothing for NULL (a token that does not expire).
std::optional<std::chrono::system_clock::time_point> time_of_epoch(const pqxx::field& f) {
    if (f.is_null()) {
        return std::nullopt;
    }
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(f.as<double>())));
}

std::optional<Principal> principal(pqxx::transaction_base& tx, std::int64_t user_id) {
    const auto u =
        tx.exec_params("SELECT name, role FROM fleet.users WHERE user_id = $1 AND active", user_id);
    if (u.empty()) {
        return std::nullopt;
    }
    Principal p;
    p.user_id = user_id;
    p.name = u[0][0].as<std::string>();
    p.role = parse_role(u[0][1].as<std::string>());
    p.groups = groups_of(tx, user_id);
    p.limited = p.role == Role::dispatcher && !p.groups.empty();
    if (p.limited) {
        for (const auto& row :
             tx.exec_params("SELECT DISTINCT m.vehicle_id FROM fleet.user_groups ug JOIN "
                            "fleet.vehicle_group_members m USING (group_id) WHERE ug.user_id = $1",
                            user_id)) {
            p.vehicles.insert(row[0].as<std::int64_t>());
        }
    }
    return p;
}

void set_groups(pqxx::transaction_base& tx, std::int64_t user_id,
                const std::vector<std::int64_t>& ids) {
    tx.exec_params("DELETE FROM fleet.user_groups WHERE user_id = $1", user_id);
    for (const auto id : ids) {
        tx.exec_params("INSERT INTO fleet.user_groups (user_id, group_id) VALUES ($1, $2)", user_id,
                       id);
    }
}

nlohmann::json names_json(const std::vector<std::string>& names) {
    return nlohmann::json(names);
}

}  // namespace

const char* to_string(Role role) {
    switch (role) {
        case Role::admin:
            return "admin";
        case Role::dispatcher:
            return "dispatcher";
        case Role::accountant:
            return "accountant";
        case Role::viewer:
            return "viewer";
    }
    return "viewer";
}

Role parse_role(std::string_view text) {
    for (const auto role : {Role::admin, Role::dispatcher, Role::accountant, Role::viewer}) {
        if (text == to_string(role)) {
            return role;
        }
    }
    throw InputError("role: '" + shown(text) +
                     "' is not one of admin, dispatcher, accountant, viewer");
}

std::int64_t add_user(pqxx::connection& conn, const NewUser& user, const std::string& actor) {
    check_name(user.name);
    if (!user.password.empty()) {
        check_password(user.password);
    }
    if (!user.groups.empty() && user.role != Role::dispatcher) {
        throw InputError("groups: only a dispatcher can be limited to groups (the role is " +
                         std::string(to_string(user.role)) + ")");
    }
    // Hashing takes a tenth of a second and 64 MiB: before the transaction, not inside it.
    const std::string hash = user.password.empty() ? "" : hash_password(user.password);
    pqxx::work tx(conn);
    if (find_user(tx, user.name, false)) {
        throw ConflictError("user '" + user.name + "' exists already");
    }
    const auto ids = group_ids(tx, user.groups);
    const auto id = tx.exec_params(
                          "INSERT INTO fleet.users (name, role, password_hash) VALUES ($1, $2, "
                          "nullif($3, '')) RETURNING user_id",
                          user.name, to_string(user.role), hash)[0][0]
                        .as<std::int64_t>();
    set_groups(tx, id, ids);
    geo::record(tx, {.actor = actor,
                     .action = "user added",
                     .subject = user.name,
                     .details = {{"role", to_string(user.role)},
                                 {"groups", names_json(user.groups)},
                                 {"password", !user.password.empty()}},
                     .kind = "user"});
    tx.commit();
    return id;
}

bool change_user(pqxx::connection& conn, const UserChange& change, const std::string& actor) {
    if (change.password) {
        check_password(*change.password);
    }
    const std::string hash = change.password ? hash_password(*change.password) : "";
    pqxx::work tx(conn);
    const auto row = existing_user(tx, change.name);
    nlohmann::json details = nlohmann::json::object();
    const Role role = change.role.value_or(row.role);
    const bool active = change.active.value_or(row.active);
    if (row.role == Role::admin && row.active && (role != Role::admin || !active)) {
        keep_an_admin(tx, row.user_id);
    }
    auto groups = groups_of(tx, row.user_id);
    if (change.groups) {
        std::vector<std::string> wanted = *change.groups;
        std::sort(wanted.begin(), wanted.end());
        wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
        const auto ids = group_ids(tx, wanted);
        if (wanted != groups) {
            set_groups(tx, row.user_id, ids);
            details["groups"] = {{"from", names_json(groups)}, {"to", names_json(wanted)}};
            groups = wanted;
        }
    }
    if (!groups.empty() && role != Role::dispatcher) {
        throw InputError("groups: only a dispatcher can be limited to groups (the role would be " +
                         std::string(to_string(role)) + "; give --groups '' to clear them)");
    }
    if (role != row.role) {
        details["role"] = {{"from", to_string(row.role)}, {"to", to_string(role)}};
    }
    if (active != row.active) {
        details["active"] = {{"from", row.active}, {"to", active}};
    }
    if (change.password) {
        details["password"] = "changed";
    }
    if (details.empty()) {
        return false;
    }
    tx.exec_params(
        "UPDATE fleet.users SET role = $2, active = $3, password_hash = "
        "coalesce(nullif($4, ''), password_hash), changed_at = now() WHERE user_id = $1",
        row.user_id, to_string(role), active, hash);
    if (!active || change.password) {
        // A deactivated user, or one whose password was changed, is logged out everywhere.
        tx.exec_params("DELETE FROM fleet.api_sessions WHERE user_id = $1", row.user_id);
    }
    geo::record(tx, {.actor = actor,
                     .action = "user changed",
                     .subject = change.name,
                     .details = details,
                     .kind = "user"});
    tx.commit();
    return true;
}

void remove_user(pqxx::connection& conn, const std::string& name, const std::string& actor) {
    pqxx::work tx(conn);
    const auto row = existing_user(tx, name);
    if (row.role == Role::admin && row.active) {
        keep_an_admin(tx, row.user_id);
    }
    tx.exec_params("DELETE FROM fleet.users WHERE user_id = $1", row.user_id);
    geo::record(tx, {.actor = actor,
                     .action = "user removed",
                     .subject = name,
                     .details = {{"user_id", row.user_id}, {"role", to_string(row.role)}},
                     .kind = "user"});
    tx.commit();
}

std::vector<User> list_users(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<User> users;
    for (const auto& row :
         tx.exec("SELECT u.user_id, u.name, u.role, u.active, u.password_hash IS NOT NULL, "
                 "to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                 "(SELECT count(*) FROM fleet.api_tokens t WHERE t.user_id = u.user_id AND "
                 "(t.expires_at IS NULL OR t.expires_at > now())) FROM fleet.users u ORDER BY "
                 "u.name")) {
        User u;
        u.user_id = row[0].as<std::int64_t>();
        u.name = row[1].as<std::string>();
        u.role = parse_role(row[2].as<std::string>());
        u.active = row[3].as<bool>();
        u.has_password = row[4].as<bool>();
        u.created_at = row[5].as<std::string>();
        u.tokens = row[6].as<std::size_t>();
        users.push_back(std::move(u));
    }
    for (auto& u : users) {
        u.groups = groups_of(tx, u.user_id);
    }
    return users;
}

IssuedToken issue_token(pqxx::connection& conn, const std::string& name, const std::string& label,
                        std::optional<std::chrono::hours> lifetime, const std::string& actor) {
    if (label.size() > 200 || !geo::is_valid_utf8(label)) {
        throw InputError("label: at most 200 bytes of UTF-8 text");
    }
    if (lifetime && (lifetime->count() < 1 || lifetime->count() > 24 * 3660)) {
        throw InputError("expires: between 1 hour and 10 years");
    }
    pqxx::work tx(conn);
    const auto row = existing_user(tx, name);
    IssuedToken issued;
    issued.token = std::string(token_prefix) + random_secret();
    issued.token_id =
        tx.exec_params(
              "INSERT INTO fleet.api_tokens (user_id, token_sha256, label, expires_at) "
              "VALUES ($1, $2, $3, now() + make_interval(hours => $4::int)) "
              "RETURNING token_id",
              row.user_id, sha256(issued.token), label,
              lifetime ? std::optional<int>(static_cast<int>(lifetime->count()))
                       : std::optional<int>())[0][0]
            .as<std::int64_t>();
    geo::record(tx, {.actor = actor,
                     .action = "user token issued",
                     .subject = name,
                     .details = {{"token_id", issued.token_id},
                                 {"label", label},
                                 {"expires_in_hours",
                                  lifetime ? nlohmann::json(lifetime->count()) : nlohmann::json()}},
                     .kind = "user"});
    tx.commit();
    return issued;
}

std::size_t revoke_tokens(pqxx::connection& conn, const std::string& name,
                          std::optional<std::int64_t> token_id, const std::string& actor) {
    pqxx::work tx(conn);
    const auto row = existing_user(tx, name);
    const auto r =
        token_id ? tx.exec_params(
                       "DELETE FROM fleet.api_tokens WHERE user_id = $1 AND "
                       "token_id = $2",
                       row.user_id, *token_id)
                 : tx.exec_params("DELETE FROM fleet.api_tokens WHERE user_id = $1", row.user_id);
    const auto n = static_cast<std::size_t>(r.affected_rows());
    if (token_id && n == 0) {
        throw NotFoundError("user '" + name + "' has no token " + std::to_string(*token_id));
    }
    if (n > 0) {
        geo::record(
            tx,
            {.actor = actor,
             .action = "user token revoked",
             .subject = name,
             .details = {{"token_id", token_id ? nlohmann::json(*token_id) : nlohmann::json("all")},
                         {"revoked", n}},
             .kind = "user"});
    }
    tx.commit();
    return n;
}

std::optional<Principal> principal_for_token(pqxx::connection& conn, std::string_view token) {
    if (token.size() > 200 || token.substr(0, token_prefix.size()) != token_prefix) {
        return std::nullopt;
    }
    pqxx::work tx(conn);
    const auto r = tx.exec_params(
        "UPDATE fleet.api_tokens SET last_used_at = now() WHERE token_sha256 = $1 AND "
        "(expires_at IS NULL OR expires_at > now()) RETURNING user_id, "
        "extract(epoch FROM expires_at)::float8",
        sha256(token));
    if (r.empty()) {
        return std::nullopt;
    }
    auto p = principal(tx, r[0][0].as<std::int64_t>());
    tx.commit();
    if (p) {
        p->expires = time_of_epoch(r[0][1]);
    }
    return p;
}

std::optional<Principal> principal_for_session(pqxx::connection& conn, std::string_view session) {
    if (session.empty() || session.size() > 200) {
        return std::nullopt;
    }
    pqxx::read_transaction tx(conn);
    const auto r = tx.exec_params(
        "SELECT user_id, extract(epoch FROM expires_at)::float8 FROM fleet.api_sessions "
        "WHERE session_sha256 = $1 AND expires_at > now()",
        sha256(session));
    if (r.empty()) {
        return std::nullopt;
    }
    auto p = principal(tx, r[0][0].as<std::int64_t>());
    if (p) {
        p->expires = time_of_epoch(r[0][1]);
    }
    return p;
}

std::optional<NewSession> log_in(pqxx::connection& conn, std::string_view name,
                                 std::string_view password, std::string_view address,
                                 std::chrono::seconds lifetime) {
    std::optional<UserRow> row;
    if (well_formed_name(name) && password.size() <= max_password_bytes) {
        pqxx::read_transaction tx(conn);
        row = find_user(tx, name, false);
    }
    const bool known = row && row->active && !row->password_hash.empty();
    const bool matches = verify_password(known ? row->password_hash : dummy_hash(),
                                         password.substr(0, max_password_bytes));
    if (!known || !matches) {
        return std::nullopt;
    }
    pqxx::work tx(conn);
    NewSession session;
    session.value = random_secret();
    tx.exec_params(
        "INSERT INTO fleet.api_sessions (session_sha256, user_id, expires_at, address) "
        "VALUES ($1, $2, now() + make_interval(secs => $3), $4)",
        sha256(session.value), row->user_id, static_cast<double>(lifetime.count()),
        std::string(address.substr(0, 64)));
    auto p = principal(tx, row->user_id);
    if (!p) {
        return std::nullopt;
    }
    session.principal = std::move(*p);
    tx.commit();
    return session;
}

void log_out(pqxx::connection& conn, std::string_view session) {
    if (session.empty() || session.size() > 200) {
        return;
    }
    pqxx::work tx(conn);
    tx.exec_params("DELETE FROM fleet.api_sessions WHERE session_sha256 = $1", sha256(session));
    tx.commit();
}

std::size_t remove_expired_sessions(pqxx::connection& conn) {
    pqxx::work tx(conn);
    const auto r = tx.exec("DELETE FROM fleet.api_sessions WHERE expires_at <= now()");
    tx.commit();
    return static_cast<std::size_t>(r.affected_rows());
}

std::chrono::seconds LoginThrottle::wait_for(const Entry& entry, Clock::time_point now) const {
    if (entry.failures < settings_.free_failures || now - entry.last > settings_.window) {
        return std::chrono::seconds(0);
    }
    const int doublings = std::min(entry.failures - settings_.free_failures, 20);
    const auto wait = std::min(std::chrono::seconds(1LL << doublings), settings_.max_wait);
    const auto since = std::chrono::duration_cast<std::chrono::seconds>(now - entry.last);
    return since >= wait ? std::chrono::seconds(0) : wait - since;
}

std::chrono::seconds LoginThrottle::wait(std::string_view name, std::string_view address,
                                         Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    std::chrono::seconds longest(0);
    if (auto it = names_.find(name); it != names_.end()) {
        longest = std::max(longest, wait_for(it->second, now));
    }
    if (auto it = addresses_.find(address); it != addresses_.end()) {
        longest = std::max(longest, wait_for(it->second, now));
    }
    return longest;
}

void LoginThrottle::note(std::map<std::string, Entry, std::less<>>& entries, std::string_view key,
                         Clock::time_point now) {
    auto it = entries.find(key);
    if (it == entries.end()) {
        if (entries.size() >= settings_.max_entries) {
            // Forget the entry failed longest ago: a flood of names cannot grow this for ever.
            auto oldest = std::min_element(
                entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
            entries.erase(oldest);
        }
        it = entries.emplace(std::string(key), Entry{}).first;
    }
    if (now - it->second.last > settings_.window) {
        it->second.failures = 0;
    }
    ++it->second.failures;
    it->second.last = now;
}

void LoginThrottle::failed(std::string_view name, std::string_view address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    note(names_, name.substr(0, 64), now);
    note(addresses_, address, now);
}

void LoginThrottle::succeeded(std::string_view name) {
    std::lock_guard lock(mutex_);
    if (auto it = names_.find(name); it != names_.end()) {
        names_.erase(it);
    }
}

}  // namespace fleet::server::api
