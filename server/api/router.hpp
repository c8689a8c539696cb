#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "server/api/accounts.hpp"

/// The operator API's routes, as plain values: a request in, a response out, the roles that
/// may call each route. No sockets here (server/api/http_server.hpp carries requests to it), so
/// every route's checks are tested without a network.
namespace fleet::server::api {

enum class Method { get, post, put, patch, del };
const char* to_string(Method method);

/// A request as the routes see it.
struct Request {
    Method method = Method::get;
    std::string path;                          ///< decoded, without the query
    std::map<std::string, std::string> query;  ///< decoded; a name given twice: the last
    std::string body;
    std::string content_type;  ///< without parameters, lower case
    std::string address;       ///< the peer's IP address
    std::string user_agent;
    std::string session;  ///< the session cookie's value, when one was sent (to log out)
};

struct Response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers{};
    /// The server forgets the principals it keeps for credentials: the caller's own (a
    /// log-out), or every one (a user changed or removed, tokens revoked).
    enum class Forget { nothing, this_credential, all } forget = Forget::nothing;
};

/// An answer other than success, with the status and code of the API's one error shape
/// `{"error": {"code": ..., "message": ...}}`.
class ApiError : public Error {
  public:
    ApiError(unsigned status, std::string code, const std::string& message)
        : Error(message), status_(status), code_(std::move(code)) {}
    unsigned status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }

  private:
    unsigned status_;
    std::string code_;
};

/// JSON text of `value` (invalid UTF-8 from stored data replaced, never a throw).
std::string to_json_text(const nlohmann::json& value);
/// A value, or JSON null for one that is absent: an empty optional, or empty text.
template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json();
}
inline nlohmann::json or_null(const std::string& text) {
    return text.empty() ? nlohmann::json() : nlohmann::json(text);
}
Response json_response(const nlohmann::json& value, unsigned status = 200);
Response error_response(unsigned status, const std::string& code, const std::string& message);

/// The roles a route admits.
class Roles {
  public:
    constexpr Roles() = default;
    constexpr Roles(std::initializer_list<Role> roles) {
        for (const auto r : roles) {
            bits_ |= bit(r);
        }
    }
    constexpr bool admits(Role r) const { return (bits_ & bit(r)) != 0; }
    std::vector<std::string> names() const;

  private:
    static constexpr unsigned bit(Role r) { return 1u << static_cast<unsigned>(r); }
    unsigned bits_ = 0;
};

inline constexpr Roles all_roles{Role::admin, Role::dispatcher, Role::accountant, Role::viewer};
inline constexpr Roles admins{Role::admin};
inline constexpr Roles dispatchers{Role::admin, Role::dispatcher};
inline constexpr Roles accountants{Role::admin, Role::accountant};

/// Where a route's work runs: on the API's thread from memory (live state, feeds), or on the
/// API's database threads with a connection.
enum class Runs { in_memory, on_database };

/// What a route's handler gets.
class Call {
  public:
    Call(const Request& request, const Principal* principal,
         std::map<std::string, std::string> params, pqxx::connection* db)
        : request_(request), principal_(principal), params_(std::move(params)), db_(db) {}

    const Request& request() const { return request_; }
    /// Nothing for a public route called without credentials.
    const Principal* principal() const { return principal_; }
    /// The principal; 401 when there is none.
    const Principal& user() const;
    /// The name changes are journalled under: "api:NAME".
    std::string actor() const;
    /// The database connection of an on_database route.
    pqxx::connection& db() const;

    /// A parameter of the route's path ({id}).
    const std::string& param(const std::string& name) const;
    /// A path parameter that is an id: 1 to 2^63-1; 404 otherwise (no such thing can exist).
    std::int64_t id_param(const std::string& name) const;

    /// A query parameter; nothing when absent or empty.
    std::optional<std::string> query(const std::string& name) const;
    /// A whole number in [lo, hi]; 400 naming the parameter otherwise.
    std::optional<std::int64_t> query_integer(const std::string& name, std::int64_t lo,
                                              std::int64_t hi) const;
    /// An ISO 8601 time with its offset; 400 naming the parameter otherwise.
    std::optional<geo::Millis> query_time(const std::string& name) const;
    /// true/false; 400 otherwise.
    std::optional<bool> query_bool(const std::string& name) const;

    /// The body as a JSON object; 400 for a body that is not JSON, not an object, or not sent
    /// as application/json; 415 would hide the cause, so 400 names it.
    const nlohmann::json& body() const;

  private:
    const Request& request_;
    const Principal* principal_;
    std::map<std::string, std::string> params_;
    pqxx::connection* db_;
    mutable std::optional<nlohmann::json> body_;
};

/// Typed fields of a JSON body, each refusal naming the field and what is wanted (400).
namespace body {
std::optional<std::string> text(const nlohmann::json& object, const std::string& field,
                                std::size_t max_bytes = 1000);
std::string required_text(const nlohmann::json& object, const std::string& field,
                          std::size_t max_bytes = 1000);
std::optional<double> number(const nlohmann::json& object, const std::string& field, double lo,
                             double hi);
std::optional<std::int64_t> integer(const nlohmann::json& object, const std::string& field,
                                    std::int64_t lo, std::int64_t hi);
std::optional<bool> boolean(const nlohmann::json& object, const std::string& field);
/// An ISO 8601 time with its offset, given back in UTC ("2026-12-02T08:00:00.000Z") as the
/// database reads it.
std::optional<std::string> time(const nlohmann::json& object, const std::string& field);
/// A calendar date YYYY-MM-DD that exists.
std::optional<std::string> date(const nlohmann::json& object, const std::string& field);
std::optional<std::vector<std::string>> texts(const nlohmann::json& object,
                                              const std::string& field,
                                              std::size_t max_items = 1000);
/// Refuses (400) a field the route does not know, naming it: a typo never passes silently.
void only(const nlohmann::json& object, const std::vector<std::string_view>& fields);
inline void only(const nlohmann::json& object, std::initializer_list<std::string_view> fields) {
    only(object, std::vector<std::string_view>(fields));
}
}  // namespace body

struct Route {
    Method method = Method::get;
    /// "/api/vehicles/{id}": literal segments and {name} parameters.
    std::string pattern;
    Roles roles = all_roles;
    Runs runs = Runs::on_database;
    std::function<Response(Call&)> handler;
    /// Answered without credentials (log-in, the OpenAPI description).
    bool open = false;
    /// Largest request body; larger ones get 413 before they are read.
    std::size_t max_body_bytes = 1 << 20;
    /// A WebSocket upgrade is taken here (the live stream); `handler` answers a plain request.
    bool websocket = false;
};

class Router {
  public:
    void add(Route route);

    struct Match {
        const Route* route = nullptr;
        std::map<std::string, std::string> params;
        /// The path exists but not with this method (405).
        bool other_method = false;
    };
    /// `raw_path` as it came (still percent-encoded): each segment is decoded on its own, so
    /// that an encoded '/' in a name stays inside its segment. No match for a malformed escape.
    Match match(Method method, std::string_view raw_path) const;

    /// Runs a route's handler; every exception becomes the API's error shape with its status
    /// (ApiError as it says; NotFoundError 404; ConflictError 409; other InputError and
    /// ConfigError 422; a database that is down or too slow 503; anything else 500, logged).
    /// Nothing internal (SQL, paths, a stack) reaches the response.
    static Response run(const Route& route, Call& call) noexcept;

    const std::vector<Route>& routes() const { return routes_; }

  private:
    std::vector<Route> routes_;
};

/// Splits "a=1&b=x%20y" into decoded names and values; nothing for malformed escapes.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);
/// Decodes %XX escapes (and '+' as a space when `plus_is_space`); nothing when malformed or
/// the result is not UTF-8 or holds a NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace fleet::server::api
