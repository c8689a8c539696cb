#include "geo/log.hpp"
#include "server/api/api.hpp"
#include "server/api/http_server.hpp"

namespace fleet::server::api {

namespace {

nlohmann::json principal_json(const Principal& p) {
    return {{"name", p.name},
            {"role", to_string(p.role)},
            {"groups", p.groups},
            {"limited_to_groups", p.limited}};
}

nlohmann::json user_json(const User& u) {
    return {{"id", u.user_id},           {"name", u.name},
            {"role", to_string(u.role)}, {"groups", u.groups},
            {"active", u.active},        {"has_password", u.has_password},
            {"tokens", u.tokens},        {"created_at", u.created_at}};
}

std::string cookie(const ApiServices& s, const std::string& value, std::chrono::seconds max_age) {
    return std::string(session_cookie) + "=" + value +
           "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age.count()) +
           (s.settings.secure_cookie ? "; Secure" : "");
}

std::optional<Role> role_field(const nlohmann::json& b) {
    const auto text = body::text(b, "role", 32);
    if (!text) {
        return std::nullopt;
    }
    try {
        return parse_role(*text);
    } catch (const InputError& e) {
        throw ApiError(400, "bad_request", e.what());
    }
}

User find_listed(pqxx::connection& db, const std::string& name) {
    for (auto& u : list_users(db)) {
        if (u.name == name) {
            return u;
        }
    }
    throw NotFoundError("no such user '" + name.substr(0, 64) + "'");
}

}  // namespace

void add_session_routes(Router& router, ApiServices& s) {
    // Log in: a session cookie for the browser. Failures slow down per name and per address.
    router.add({.method = Method::post,
                .pattern = "/api/session",
                .roles = all_roles,
                .runs = Runs::on_database,
                .handler =
                    [&s](Call& call) {
                        const auto& b = call.body();
                        body::only(b, {"name", "password"});
                        const auto name = body::required_text(b, "name", 64);
                        const auto password = body::required_text(b, "password", 1024);
                        const auto& address = call.request().address;
                        const auto now = LoginThrottle::Clock::now();
                        if (const auto wait = s.throttle.wait(name, address, now);
                            wait.count() > 0) {
                            Response r = error_response(429, "too_many_attempts",
                                                        "too many failed log-ins; try again in " +
                                                            std::to_string(wait.count()) + " s");
                            r.headers.emplace_back("Retry-After", std::to_string(wait.count()));
                            return r;
                        }
                        auto session =
                            log_in(call.db(), name, password, address, s.settings.session_lifetime);
                        if (!session) {
                            s.throttle.failed(name, address, LoginThrottle::Clock::now());
                            log::warn("api", "failed log-in for '" + name.substr(0, 64) +
                                                 "' from " + address);
                            return error_response(401, "unauthenticated",
                                                  "name or password does not match");
                        }
                        s.throttle.succeeded(name);
                        Response r =
                            json_response({{"user", principal_json(session->principal)},
                                           {"expires_in_s", s.settings.session_lifetime.count()}});
                        r.headers.emplace_back(
                            "Set-Cookie", cookie(s, session->value, s.settings.session_lifetime));
                        return r;
                    },
                .open = true,
                .max_body_bytes = 4096});
    router.add({.method = Method::get,
                .pattern = "/api/session",
                .roles = all_roles,
                .runs = Runs::in_memory,
                .handler = [](Call& call) {
                    return json_response({{"user", principal_json(call.user())}});
                }});
    router.add({.method = Method::del,
                .pattern = "/api/session",
                .roles = all_roles,
                .runs = Runs::on_database,
                .handler = [&s](Call& call) {
                    call.user();
                    // The cookie's value is known only to the server's header parsing:
                    // it passes it on as a query-free request field.
                    log_out(call.db(), call.request().session);
                    Response r{204, "application/json", ""};
                    r.headers.emplace_back("Set-Cookie", cookie(s, "", std::chrono::seconds(0)));
                    r.forget = Response::Forget::this_credential;
                    return r;
                }});

    router.add({.method = Method::get,
                .pattern = "/api/users",
                .roles = admins,
                .handler = [](Call& call) {
                    nlohmann::json users = nlohmann::json::array();
                    for (const auto& u : list_users(call.db())) {
                        users.push_back(user_json(u));
                    }
                    return json_response({{"users", users}});
                }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/users",
         .roles = admins,
         .handler = [](Call& call) {
             const auto& b = call.body();
             body::only(b, {"name", "role", "groups", "password"});
             NewUser u;
             u.name = body::required_text(b, "name", 64);
             const auto role = role_field(b);
             if (!role) {
                 throw ApiError(400, "bad_request", "role: required");
             }
             u.role = *role;
             u.groups = body::texts(b, "groups", 100).value_or(std::vector<std::string>{});
             u.password = body::text(b, "password", max_password_bytes).value_or("");
             add_user(call.db(), u, call.actor());
             return json_response({{"user", user_json(find_listed(call.db(), u.name))}}, 201);
         }});
    router.add({.method = Method::patch,
                .pattern = "/api/users/{name}",
                .roles = admins,
                .handler = [](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"role", "groups", "password", "active"});
                    UserChange c;
                    c.name = call.param("name");
                    c.role = role_field(b);
                    c.groups = body::texts(b, "groups", 100);
                    c.password = body::text(b, "password", max_password_bytes);
                    c.active = body::boolean(b, "active");
                    change_user(call.db(), c, call.actor());
                    auto r = json_response({{"user", user_json(find_listed(call.db(), c.name))}});
                    r.forget = Response::Forget::all;
                    return r;
                }});
    router.add({.method = Method::del,
                .pattern = "/api/users/{name}",
                .roles = admins,
                .handler = [](Call& call) {
                    remove_user(call.db(), call.param("name"), call.actor());
                    Response r{204, "application/json", ""};
                    r.forget = Response::Forget::all;
                    return r;
                }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/users/{name}/tokens",
         .roles = admins,
         .handler = [](Call& call) {
             const auto& b = call.body();
             body::only(b, {"label", "expires_in_hours"});
             const auto hours = body::integer(b, "expires_in_hours", 1, 24 * 3660);
             const auto issued = issue_token(
                 call.db(), call.param("name"), body::text(b, "label", 200).value_or(""),
                 hours ? std::optional<std::chrono::hours>(*hours) : std::nullopt, call.actor());
             return json_response({{"token_id", issued.token_id}, {"token", issued.token}}, 201);
         }});
}

}  // namespace fleet::server::api
