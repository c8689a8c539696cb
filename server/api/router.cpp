#include "server/api/router.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "geo/batch.hpp"
#include "geo/calendar.hpp"
#include "geo/log.hpp"
#include "geo/utf8.hpp"

namespace fleet::server::api {

namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    while (at < path.size()) {
        if (path[at] == '/') {
            ++at;
            continue;
        }
        const auto end = path.find('/', at);
        out.push_back(path.substr(at, end == std::string_view::npos ? end : end - at));
        if (end == std::string_view::npos) {
            break;
        }
        at = end;
    }
    return out;
}

bool is_parameter(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

[[noreturn]] void bad_request(const std::string& message) {
    throw ApiError(400, "bad_request", message);
}

// An ISO 8601 time with its offset, given to `name`; 400 naming it otherwise.
geo::Millis iso_time(const std::string& name, const std::string& text) {
    const auto t = geo::parse_iso_time(text);
    if (!t) {
        bad_request(name +
                    ": an ISO 8601 time with its offset is wanted "
                    "(2026-12-02T08:00:00Z, 2026-12-02T11:00+03:00)");
    }
    return *t;
}

const nlohmann::json* field_of(const nlohmann::json& object, const std::string& field) {
    const auto it = object.find(field);
    if (it == object.end() || it->is_null()) {
        return nullptr;
    }
    return &*it;
}

// A number as people write it: 250, 0.5, -90 (not 250.000000).
std::string shown(double v) {
    char out[32];
    std::snprintf(out, sizeof out, "%.10g", v);
    return out;
}

bool sql_state_starts(const pqxx::sql_error& e, std::string_view prefix) {
    return e.sqlstate().rfind(prefix, 0) == 0;
}

}  // namespace

const char* to_string(Method method) {
    switch (method) {
        case Method::get:
            return "GET";
        case Method::post:
            return "POST";
        case Method::put:
            return "PUT";
        case Method::patch:
            return "PATCH";
        case Method::del:
            return "DELETE";
    }
    return "GET";
}

std::string to_json_text(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response json_response(const nlohmann::json& value, unsigned status) {
    return Response{status, "application/json", to_json_text(value)};
}

Response error_response(unsigned status, const std::string& code, const std::string& message) {
    return json_response({{"error", {{"code", code}, {"message", message}}}}, status);
}

std::vector<std::string> Roles::names() const {
    std::vector<std::string> out;
    for (const auto r : {Role::admin, Role::dispatcher, Role::accountant, Role::viewer}) {
        if (admits(r)) {
            out.emplace_back(to_string(r));
        }
    }
    return out;
}

const Principal& Call::user() const {
    if (principal_ == nullptr) {
        throw ApiError(401, "unauthenticated", "log in or send an API token");
    }
    return *principal_;
}

std::string Call::actor() const {
    return "api:" + user().name;
}

pqxx::connection& Call::db() const {
    if (db_ == nullptr) {
        throw Error("a route that runs in memory asked for the database");
    }
    return *db_;
}

const std::string& Call::param(const std::string& name) const {
    const auto it = params_.find(name);
    if (it == params_.end()) {
        throw Error("no path parameter '" + name + "'");
    }
    return it->second;
}

std::int64_t Call::id_param(const std::string& name) const {
    const auto& text = param(name);
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < 1) {
        throw ApiError(404, "not_found", name + " '" + text.substr(0, 32) + "' is not an id");
    }
    return v;
}

std::optional<std::string> Call::query(const std::string& name) const {
    const auto it = request_.query.find(name);
    if (it == request_.query.end() || it->second.empty()) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<std::int64_t> Call::query_integer(const std::string& name, std::int64_t lo,
                                                std::int64_t hi) const {
    const auto text = query(name);
    if (!text) {
        return std::nullopt;
    }
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || end != text->data() + text->size() || v < lo || v > hi) {
        bad_request(name + ": a whole number from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + " is wanted");
    }
    return v;
}

std::optional<geo::Millis> Call::query_time(const std::string& name) const {
    const auto text = query(name);
    if (!text) {
        return std::nullopt;
    }
    return iso_time(name, *text);
}

std::optional<bool> Call::query_bool(const std::string& name) const {
    const auto text = query(name);
    if (!text) {
        return std::nullopt;
    }
    if (*text == "true") {
        return true;
    }
    if (*text == "false") {
        return false;
    }
    bad_request(name + ": true or false is wanted");
}

const nlohmann::json& Call::body() const {
    if (!body_) {
        if (request_.content_type != "application/json") {
            bad_request("the body must be JSON, sent with Content-Type: application/json");
        }
        auto parsed = nlohmann::json::parse(request_.body, nullptr, false);
        if (parsed.is_discarded()) {
            bad_request("the body is not well-formed JSON");
        }
        if (!parsed.is_object()) {
            bad_request("the body must be a JSON object");
        }
        body_ = std::move(parsed);
    }
    return *body_;
}

namespace body {

std::optional<std::string> text(const nlohmann::json& object, const std::string& field,
                                std::size_t max_bytes) {
    const auto* v = field_of(object, field);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_string()) {
        bad_request(field + ": a string is wanted");
    }
    auto s = v->get<std::string>();
    if (s.size() > max_bytes) {
        bad_request(field + ": at most " + std::to_string(max_bytes) + " bytes");
    }
    if (s.find('\0') != std::string::npos) {
        bad_request(field + ": text without NUL characters is wanted");
    }
    return s;
}

std::optional<std::string> time(const nlohmann::json& object, const std::string& field) {
    const auto s = text(object, field, 64);
    if (!s) {
        return std::nullopt;
    }
    return geo::iso_utc(iso_time(field, *s));
}

std::optional<std::string> date(const nlohmann::json& object, const std::string& field) {
    const auto s = text(object, field, 10);
    if (s && !geo::is_calendar_date(*s)) {
        bad_request(field + ": a calendar date YYYY-MM-DD is wanted");
    }
    return s;
}

std::string required_text(const nlohmann::json& object, const std::string& field,
                          std::size_t max_bytes) {
    auto s = text(object, field, max_bytes);
    if (!s || s->empty()) {
        bad_request(field + ": required");
    }
    return *s;
}

std::optional<double> number(const nlohmann::json& object, const std::string& field, double lo,
                             double hi) {
    const auto* v = field_of(object, field);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_number()) {
        bad_request(field + ": a number is wanted");
    }
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) {
        bad_request(field + ": a number from " + shown(lo) + " to " + shown(hi) + " is wanted");
    }
    return d;
}

std::optional<std::int64_t> integer(const nlohmann::json& object, const std::string& field,
                                    std::int64_t lo, std::int64_t hi) {
    const auto* v = field_of(object, field);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_number_integer()) {
        bad_request(field + ": a whole number is wanted");
    }
    // Unsigned values beyond int64 read as such, then fail the range.
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
        bad_request(field + ": a whole number from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + " is wanted");
    }
    const auto i = v->get<std::int64_t>();
    if (i < lo || i > hi) {
        bad_request(field + ": a whole number from " + std::to_string(lo) + " to " +
                    std::to_string(hi) + " is wanted");
    }
    return i;
}

std::optional<bool> boolean(const nlohmann::json& object, const std::string& field) {
    const auto* v = field_of(object, field);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_boolean()) {
        bad_request(field + ": true or false is wanted");
    }
    return v->get<bool>();
}

std::optional<std::vector<std::string>> texts(const nlohmann::json& object,
                                              const std::string& field, std::size_t max_items) {
    const auto* v = field_of(object, field);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (!v->is_array() || v->size() > max_items) {
        bad_request(field + ": an array of at most " + std::to_string(max_items) +
                    " strings is wanted");
    }
    std::vector<std::string> out;
    for (const auto& item : *v) {
        if (!item.is_string() || item.get_ref<const std::string&>().size() > 1000) {
            bad_request(field + ": an array of strings (at most 1000 bytes each) is wanted");
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

void only(const nlohmann::json& object, const std::vector<std::string_view>& fields) {
    for (const auto& [key, value] : object.items()) {
        bool known = false;
        for (const auto f : fields) {
            known = known || key == f;
        }
        if (!known) {
            std::string list;
            for (const auto f : fields) {
                list += (list.empty() ? "" : ", ") + std::string(f);
            }
            bad_request("unknown field '" + key.substr(0, 64) + "' (the fields are " + list + ")");
        }
    }
}

}  // namespace body

void Router::add(Route route) {
    routes_.push_back(std::move(route));
}

Router::Match Router::match(Method method, std::string_view raw_path) const {
    std::vector<std::string> wanted;
    Match result;
    for (const auto segment : segments(raw_path)) {
        auto decoded = percent_decode(segment, false);
        if (!decoded) {
            return result;
        }
        wanted.push_back(std::move(*decoded));
    }
    for (const auto& route : routes_) {
        const auto pattern = segments(route.pattern);
        if (pattern.size() != wanted.size()) {
            continue;
        }
        std::map<std::string, std::string> params;
        bool same = true;
        for (std::size_t i = 0; i < pattern.size() && same; ++i) {
            if (is_parameter(pattern[i])) {
                params[std::string(pattern[i].substr(1, pattern[i].size() - 2))] = wanted[i];
            } else {
                same = pattern[i] == wanted[i];
            }
        }
        if (!same) {
            continue;
        }
        if (route.method != method) {
            result.other_method = true;
            continue;
        }
        result.route = &route;
        result.params = std::move(params);
        result.other_method = false;
        return result;
    }
    return result;
}

Response Router::run(const Route& route, Call& call) noexcept {
    try {
        try {
            return route.handler(call);
        } catch (const ApiError& e) {
            return error_response(e.status(), e.code(), e.what());
        } catch (const NotFoundError& e) {
            return error_response(404, "not_found", e.what());
        } catch (const ConflictError& e) {
            return error_response(409, "conflict", e.what());
        } catch (const geo::BatchError& e) {
            return error_response(422, "invalid", e.what());
        } catch (const InputError& e) {
            return error_response(422, "invalid", e.what());
        } catch (const ConfigError& e) {
            return error_response(422, "invalid", e.what());
        } catch (const pqxx::broken_connection&) {
            return error_response(503, "database_unavailable",
                                  "the database cannot be reached; try again shortly");
        } catch (const pqxx::sql_error& e) {
            if (sql_state_starts(e, "57014")) {
                return error_response(503, "database_timeout",
                                      "the database took too long to answer; try again or ask "
                                      "for less");
            }
            if (sql_state_starts(e, "22") || sql_state_starts(e, "23")) {
                log::warn("api", std::string(to_string(route.method)) + " " + route.pattern +
                                     ": the database refused a value: " + e.what());
                return error_response(422, "invalid",
                                      "the database refused a value of the request");
            }
            log::error("api", std::string(to_string(route.method)) + " " + route.pattern + ": " +
                                  e.what());
            return error_response(500, "internal", "an internal error occurred; it was logged");
        } catch (const DatabaseError& e) {
            log::warn("api",
                      std::string(to_string(route.method)) + " " + route.pattern + ": " + e.what());
            return error_response(503, "database_unavailable",
                                  "the database cannot be reached; try again shortly");
        } catch (const std::exception& e) {
            log::error("api", std::string(to_string(route.method)) + " " + route.pattern + ": " +
                                  e.what());
            return error_response(500, "internal", "an internal error occurred; it was logged");
        }
    } catch (...) {
        // Building the error itself failed (out of memory): the bare minimum.
        return Response{500, "application/json",
                        R"({"error":{"code":"internal","message":"internal error"}})"};
    }
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) {
                return std::nullopt;
            }
            unsigned v = 0;
            const auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, v, 16);
            if (ec != std::errc() || end != text.data() + i + 3) {
                return std::nullopt;
            }
            out += static_cast<char>(v);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    if (out.find('\0') != std::string::npos || !geo::is_valid_utf8(out)) {
        return std::nullopt;
    }
    return out;
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    std::size_t at = 0;
    while (at <= query.size() && !query.empty()) {
        const auto end = std::min(query.find('&', at), query.size());
        const auto pair = query.substr(at, end - at);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            auto name = percent_decode(pair.substr(0, eq), true);
            auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                                      : percent_decode(pair.substr(eq + 1), true);
            if (!name || !value) {
                return std::nullopt;
            }
            out[*name] = *value;
        }
        at = end + 1;
    }
    return out;
}

}  // namespace fleet::server::api
