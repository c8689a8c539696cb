#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

/// Accounts of the operator API: users with a role (and, for a dispatcher, the groups of
/// vehicles they are limited to), API tokens for scripts, browser sessions after a log-in.
/// Passwords are kept as Argon2id strings (libsodium), tokens and sessions as the SHA-256 of
/// 256 random bits: what is stored cannot be used to log in. Every change is journalled.
namespace fleet::server::api {

enum class Role { admin, dispatcher, accountant, viewer };

/// "admin", "dispatcher", "accountant", "viewer".
const char* to_string(Role role);
/// The role named; InputError listing the roles for anything else.
Role parse_role(std::string_view text);

/// Passwords: 10 to 256 bytes (a longer one would only cost hashing time).
inline constexpr std::size_t min_password_bytes = 10;
inline constexpr std::size_t max_password_bytes = 256;

struct User {
    std::int64_t user_id = 0;
    std::string name;
    Role role = Role::viewer;
    std::vector<std::string> groups;  ///< by name; empty: not limited
    bool active = true;
    bool has_password = false;
    std::size_t tokens = 0;  ///< API tokens that have not expired
    std::string created_at;  ///< ISO 8601, UTC
};

struct NewUser {
    /// 1–64 of A–Z a–z 0–9 . _ @ -
    std::string name;
    Role role = Role::viewer;
    /// Existing group names. Only a dispatcher may be limited to groups.
    std::vector<std::string> groups{};
    /// Empty: no password (the user logs in with tokens only until one is set).
    std::string password{};
};

struct UserChange {
    std::string name;
    std::optional<Role> role{};
    std::optional<std::vector<std::string>> groups{};
    std::optional<std::string> password{};
    std::optional<bool> active{};
};

/// Adds a user; journalled ("user added"). Returns the id. Refused (InputError naming the
/// field): a name taken or malformed, a password too short or long, an unknown group, groups
/// for a role other than dispatcher.
std::int64_t add_user(pqxx::connection& conn, const NewUser& user, const std::string& actor);
/// Changes what is given; journalled ("user changed", the fields, never the password). A
/// deactivated user's sessions end at once. False when nothing changed. Refused as add_user,
/// for an unknown user (NotFoundError), and when it would leave no active admin.
bool change_user(pqxx::connection& conn, const UserChange& change, const std::string& actor);
/// Removes a user with their tokens and sessions; journalled. Refused for an unknown user and
/// for the last active admin.
void remove_user(pqxx::connection& conn, const std::string& name, const std::string& actor);
std::vector<User> list_users(pqxx::connection& conn);

struct IssuedToken {
    std::int64_t token_id = 0;
    std::string token;  ///< shown once; only its hash is kept
};
/// A new API token for `name`, valid for `lifetime` (nothing: until revoked); journalled.
IssuedToken issue_token(pqxx::connection& conn, const std::string& name, const std::string& label,
                        std::optional<std::chrono::hours> lifetime, const std::string& actor);
/// Revokes one token of `name` (by id) or, without an id, all of them; journalled. Returns how
/// many were revoked.
std::size_t revoke_tokens(pqxx::connection& conn, const std::string& name,
                          std::optional<std::int64_t> token_id, const std::string& actor);

/// Who is calling, as the API checks it. Built from the database on a log-in or the first use
/// of a token or session, then cached by the API for a few seconds.
struct Principal {
    std::int64_t user_id = 0;
    std::string name;
    Role role = Role::viewer;
    /// A dispatcher limited to groups: the groups and the vehicles in them (the ids).
    bool limited = false;
    std::vector<std::string> groups{};
    std::set<std::int64_t> vehicles{};
    /// When the credential it was found by stops being valid (a session's end, a token's
    /// expiry); nothing: a token without one.
    std::optional<std::chrono::system_clock::time_point> expires{};

    /// Whether this principal may see vehicle `vehicle_id`.
    bool sees(std::int64_t vehicle_id) const { return !limited || vehicles.count(vehicle_id) > 0; }
};

/// The principal a bearer token stands for; nothing for an unknown, expired or revoked token,
/// or an inactive user. Records when the token was last used.
std::optional<Principal> principal_for_token(pqxx::connection& conn, std::string_view token);
/// The principal of a session cookie's value; nothing when unknown, expired or inactive.
std::optional<Principal> principal_for_session(pqxx::connection& conn, std::string_view session);

struct NewSession {
    std::string value;  ///< the cookie's value, shown once
    Principal principal;
};
/// Checks name and password (Argon2id, in constant time against an unknown name too) and opens
/// a session for `lifetime`. Nothing when they do not match or the user is inactive; the
/// caller counts failures (LoginThrottle) and journals nothing for a failure.
std::optional<NewSession> log_in(pqxx::connection& conn, std::string_view name,
                                 std::string_view password, std::string_view address,
                                 std::chrono::seconds lifetime);
/// Ends a session (its cookie's value); unknown values: nothing.
void log_out(pqxx::connection& conn, std::string_view session);
/// Removes expired sessions; returns how many.
std::size_t remove_expired_sessions(pqxx::connection& conn);

/// Repeated failed log-ins slow down, per name and per address: after `free_failures` failures
/// within `window`, each attempt must wait twice as long as the last (from 1 s up to
/// `max_wait`) after the latest failure. A success clears the name's count (not the
/// address's). Thread-safe; the clock is the caller's.
class LoginThrottle {
  public:
    using Clock = std::chrono::steady_clock;
    struct Settings {
        int free_failures = 3;
        std::chrono::seconds window{900};
        std::chrono::seconds max_wait{900};
        std::size_t max_entries = 100000;  ///< beyond, the oldest entries are forgotten
    };
    LoginThrottle() : LoginThrottle(Settings{}) {}
    explicit LoginThrottle(Settings settings) : settings_(settings) {}

    /// How long the caller must wait before trying `name` from `address`; zero: may try now.
    std::chrono::seconds wait(std::string_view name, std::string_view address,
                              Clock::time_point now) const;
    void failed(std::string_view name, std::string_view address, Clock::time_point now);
    void succeeded(std::string_view name);

  private:
    struct Entry {
        int failures = 0;
        Clock::time_point last{};
    };
    std::chrono::seconds wait_for(const Entry& entry, Clock::time_point now) const;
    void note(std::map<std::string, Entry, std::less<>>& entries, std::string_view key,
              Clock::time_point now);

    Settings settings_;
    mutable std::mutex mutex_;
    std::map<std::string, Entry, std::less<>> names_, addresses_;
};

}  // namespace fleet::server::api
