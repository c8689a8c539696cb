#include <doctest/doctest.h>

#include <set>

#include "dispatch/memory_event_store.hpp"
#include "server/api/api.hpp"
#include "server/api/json_writer.hpp"

using namespace fleet;
using namespace fleet::server::api;

namespace {

Response call_route(const Route& route, const Request& request, const Principal* principal,
                    std::map<std::string, std::string> params = {}) {
    Call call(request, principal, std::move(params), nullptr);
    return Router::run(route, call);
}

nlohmann::json error_of(const Response& r) {
    const auto j = nlohmann::json::parse(r.body);
    REQUIRE(j.contains("error"));
    return j["error"];
}

// The services of a router that is only looked at (nothing started).
struct Services {
    dispatch::MemoryEventStore store;
    dispatch::Engine engine{dispatch::EngineConfig{}, store, [] { return dispatch::Millis{}; }};
    LatestPositions positions;
    FleetDirectory directory;
    geo::MetricsRegistry metrics;
    LoginThrottle throttle;
    LiveStream stream;
    ApiServices services{engine, positions, directory, metrics, throttle, stream};
};

}  // namespace

TEST_CASE("routes match literal segments and parameters, each segment decoded on its own") {
    Router router;
    router.add({.method = Method::get, .pattern = "/api/vehicles", .handler = {}});
    router.add({.method = Method::get, .pattern = "/api/vehicles/{id}", .handler = {}});
    router.add({.method = Method::post, .pattern = "/api/groups/{name}/members", .handler = {}});

    auto m = router.match(Method::get, "/api/vehicles");
    REQUIRE(m.route != nullptr);
    CHECK(m.route->pattern == "/api/vehicles");
    m = router.match(Method::get, "/api/vehicles/17");
    REQUIRE(m.route != nullptr);
    CHECK(m.params.at("id") == "17");
    // An encoded slash stays in its segment: a group called "north/east".
    m = router.match(Method::post, "/api/groups/north%2Feast/members");
    REQUIRE(m.route != nullptr);
    CHECK(m.params.at("name") == "north/east");
    // The path exists with another method: 405, not 404.
    m = router.match(Method::del, "/api/vehicles/17");
    CHECK(m.route == nullptr);
    CHECK(m.other_method);
    CHECK(router.match(Method::get, "/api/vehicles/17/extra").route == nullptr);
    CHECK_FALSE(router.match(Method::get, "/api/nothing").other_method);
    CHECK(router.match(Method::get, "/api/vehicles/%zz").route == nullptr);
    CHECK(router.match(Method::get, "/api/vehicles/%00").route == nullptr);
}

TEST_CASE("queries are decoded; malformed escapes, NULs and invalid UTF-8 are refused") {
    const auto q = parse_query("from=2026-12-02T08%3A00%2B03%3A00&kind=late&empty=&x");
    REQUIRE(q);
    CHECK(q->at("from") == "2026-12-02T08:00+03:00");
    CHECK(q->at("kind") == "late");
    CHECK(q->at("empty").empty());
    CHECK(q->at("x").empty());
    CHECK(parse_query("a=b+c")->at("a") == "b c");
    CHECK_FALSE(parse_query("a=%4"));
    CHECK_FALSE(parse_query("a=%00"));
    CHECK_FALSE(parse_query("a=%ff%fe"));
    CHECK(parse_query("")->empty());
}

TEST_CASE("a handler's failures become the one error shape with the right status") {
    const Request request;
    const Principal viewer{.user_id = 1, .name = "v", .role = Role::viewer};
    auto route_throwing = [](std::function<void()> f) {
        return Route{.method = Method::get, .pattern = "/x", .handler = [f](Call&) -> Response {
                         f();
                         return {};
                     }};
    };
    struct Case {
        std::function<void()> throws;
        unsigned status;
        std::string code;
    };
    const std::vector<Case> cases = {
        {[] { throw ApiError(429, "too_many_attempts", "wait"); }, 429, "too_many_attempts"},
        {[] { throw NotFoundError("no such vehicle 9"); }, 404, "not_found"},
        {[] { throw ConflictError("exists already"); }, 409, "conflict"},
        {[] { throw InputError("built_on: in the future"); }, 422, "invalid"},
        {[] { throw DatabaseError("server closed the connection"); }, 503, "database_unavailable"},
        {[] { throw pqxx::broken_connection("gone"); }, 503, "database_unavailable"},
        {[] { throw std::runtime_error("/home/x/secret.cpp:12 SELECT * FROM fleet.users"); }, 500,
         "internal"},
    };
    for (const auto& c : cases) {
        const auto r = call_route(route_throwing(c.throws), request, &viewer);
        CAPTURE(c.code);
        CHECK(r.status == c.status);
        const auto e = error_of(r);
        CHECK(e["code"] == c.code);
        CHECK(e["message"].is_string());
    }
    // Nothing internal reaches the caller.
    const auto r = call_route(route_throwing(cases.back().throws), request, &viewer);
    CHECK(r.body.find("SELECT") == std::string::npos);
    CHECK(r.body.find("secret.cpp") == std::string::npos);
}

TEST_CASE("request bodies: JSON objects only, typed fields, unknown fields named") {
    const Principal admin{.user_id = 1, .name = "a", .role = Role::admin};
    Route route{.method = Method::post, .pattern = "/x", .handler = [](Call& call) {
                    const auto& b = call.body();
                    body::only(b, {"name", "count", "ratio", "on", "tags"});
                    return json_response(
                        {{"name", body::required_text(b, "name", 8)},
                         {"count", body::integer(b, "count", 0, 10).value_or(-1)},
                         {"ratio", body::number(b, "ratio", 0, 1).value_or(-1)},
                         {"on", body::boolean(b, "on").value_or(false)},
                         {"tags", body::texts(b, "tags", 2).value_or(std::vector<std::string>{})}});
                }};
    auto post = [&](std::string body, std::string type = "application/json") {
        Request r;
        r.method = Method::post;
        r.body = std::move(body);
        r.content_type = std::move(type);
        return call_route(route, r, &admin);
    };
    auto refused = [&](const Response& r, const std::string& words) {
        CHECK(r.status == 400);
        CHECK(error_of(r)["message"].get<std::string>().find(words) != std::string::npos);
    };
    const auto ok = post(R"({"name":"bus","count":3,"ratio":0.5,"on":true,"tags":["a","b"]})");
    CHECK(ok.status == 200);
    CHECK(nlohmann::json::parse(ok.body)["count"] == 3);
    refused(post("{nope"), "not well-formed JSON");
    refused(post("[1,2]"), "must be a JSON object");
    refused(post(R"({"name":"bus"})", "text/plain"), "Content-Type: application/json");
    refused(post(R"({"name":"bus","colour":"red"})"), "unknown field 'colour'");
    refused(post(R"({"count":3})"), "name: required");
    refused(post(R"({"name":7})"), "name: a string is wanted");
    refused(post(R"({"name":"much too long"})"), "name: at most 8 bytes");
    refused(post(R"({"name":"bus","count":11})"), "count: a whole number from 0 to 10");
    refused(post(R"({"name":"bus","count":2.5})"), "count: a whole number");
    refused(post(R"({"name":"bus","count":18446744073709551615})"), "count: a whole number");
    refused(post(R"({"name":"bus","ratio":"half"})"), "ratio: a number is wanted");
    refused(post(R"({"name":"bus","ratio":1e308})"), "ratio: a number from 0 to 1");
    refused(post(R"({"name":"bus","on":"yes"})"), "on: true or false");
    refused(post(R"({"name":"bus","tags":["a","b","c"]})"), "tags: an array of at most 2");
    refused(post(R"({"name":"bus","tags":[1]})"), "tags: an array of strings");
    refused(post("{\"name\":\"b\\u0000s\"}"), "without NUL");
}

TEST_CASE("query parameters are checked, naming the parameter and what is wanted") {
    const Principal viewer{.user_id = 1, .name = "v", .role = Role::viewer};
    Route route{
        .method = Method::get, .pattern = "/x", .handler = [](Call& call) {
            return json_response(
                {{"limit", page_limit(call, 100, 1000)},
                 {"from", call.query_time("from") ? geo::iso_utc(*call.query_time("from")) : ""}});
        }};
    auto get = [&](std::map<std::string, std::string> query) {
        Request r;
        r.query = std::move(query);
        return call_route(route, r, &viewer);
    };
    CHECK(nlohmann::json::parse(get({}).body)["limit"] == 100);
    CHECK(nlohmann::json::parse(get({{"from", "2026-12-02T11:00+03:00"}}).body)["from"] ==
          "2026-12-02T08:00:00Z");
    for (const auto& bad : std::vector<std::map<std::string, std::string>>{
             {{"limit", "0"}}, {{"limit", "1001"}}, {{"limit", "ten"}}, {{"from", "2026-12-02"}}}) {
        const auto r = get(bad);
        CHECK(r.status == 400);
        CHECK(error_of(r)["message"].get<std::string>().find(bad.begin()->first) == 0);
    }
}

TEST_CASE("failed log-ins slow down per name and per address; a success clears the name") {
    using namespace std::chrono_literals;
    LoginThrottle throttle({.free_failures = 3, .window = 900s, .max_wait = 60s});
    const auto t0 = LoginThrottle::Clock::time_point{} + 1h;
    for (int i = 0; i < 3; ++i) {
        CHECK(throttle.wait("anna", "10.0.0.1", t0) == 0s);
        throttle.failed("anna", "10.0.0.1", t0);
    }
    // The fourth attempt waits 1 s, the fifth 2 s, then 4 s ... up to the bound.
    CHECK(throttle.wait("anna", "10.0.0.9", t0) == 1s);
    CHECK(throttle.wait("boris", "10.0.0.1", t0) == 1s);  // the same address, another name
    CHECK(throttle.wait("boris", "10.0.0.2", t0) == 0s);
    CHECK(throttle.wait("anna", "10.0.0.1", t0 + 1s) == 0s);
    throttle.failed("anna", "10.0.0.1", t0 + 1s);
    CHECK(throttle.wait("anna", "10.0.0.1", t0 + 1s) == 2s);
    for (int i = 0; i < 10; ++i) {
        throttle.failed("anna", "10.0.0.1", t0 + 2s);
    }
    CHECK(throttle.wait("anna", "10.0.0.1", t0 + 2s) == 60s);
    // Past the window the count starts again.
    CHECK(throttle.wait("anna", "10.0.0.1", t0 + 2s + 901s) == 0s);
    throttle.succeeded("anna");
    CHECK(throttle.wait("anna", "10.0.0.7", t0 + 3s) == 0s);
    CHECK(throttle.wait("anna", "10.0.0.1", t0 + 3s) == 60s - 1s);  // the address still waits
}

TEST_CASE("timetable uploads are imported one at a time; the next waits for none") {
    Services s;
    const auto router = make_router(s.services);
    const auto match = router.match(Method::post, "/api/timetables");
    REQUIRE(match.route != nullptr);
    Request request;
    request.method = Method::post;
    request.path = "/api/timetables";
    request.query = {{"feed", "city"}};
    request.content_type = "application/zip";
    request.body = "PK not a zip";
    const Principal dispatcher{.user_id = 1, .name = "anna", .role = Role::dispatcher};
    // One is being imported: another is refused at once, before its body is looked at.
    *s.services.timetable_import = true;
    auto r = call_route(*match.route, request, &dispatcher);
    CHECK(r.status == 409);
    CHECK(error_of(r)["code"] == "import_in_progress");
    CHECK(*s.services.timetable_import);  // still the other one's
    // Once it has finished, the next is read (this body is no zip: refused as such), and the
    // slot is free again after a refusal as after an import.
    *s.services.timetable_import = false;
    r = call_route(*match.route, request, &dispatcher);
    CHECK(r.status == 422);
    CHECK_FALSE(*s.services.timetable_import);
}

TEST_CASE("the OpenAPI description names every route with its roles, and nothing else") {
    Services s;
    const auto router = make_router(s.services);
    const auto doc = nlohmann::json::parse(openapi_text());
    CHECK(doc["openapi"].get<std::string>().rfind("3.", 0) == 0);
    auto method_key = [](Method m) {
        std::string k = to_string(m);
        for (auto& c : k) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return k;
    };
    std::set<std::string> routes, described;
    for (const auto& route : router.routes()) {
        const auto key = method_key(route.method) + " " + route.pattern;
        CAPTURE(key);
        CHECK(routes.insert(key).second);  // no route twice
        REQUIRE(doc["paths"].contains(route.pattern));
        const auto& path = doc["paths"][route.pattern];
        REQUIRE(path.contains(method_key(route.method)));
        const auto& op = path[method_key(route.method)];
        CHECK(op["x-roles"].get<std::vector<std::string>>() == route.roles.names());
        CHECK(op.contains("summary"));
        CHECK(op["responses"].contains(route.open ? "400" : "401"));
        // An open route says so (no security), and only an open one.
        CHECK((op.contains("security") && op["security"].empty()) == route.open);
        for (const auto& p : path.value("parameters", nlohmann::json::array())) {
            CHECK(route.pattern.find("{" + p["name"].get<std::string>() + "}") !=
                  std::string::npos);
        }
    }
    for (const auto& [pattern, path] : doc["paths"].items()) {
        for (const auto& [method, op] : path.items()) {
            if (method != "parameters") {
                described.insert(method + " " + pattern);
            }
        }
    }
    CHECK(described == routes);
}

TEST_CASE("the JSON writer writes what a JSON parser reads back, text escaped") {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("name");
    w.text("A\"1\\\n\x01 caf\xc3\xa9 \xff");
    w.key("n");
    w.number(37.61);
    w.key("i");
    w.integer(-42);
    w.key("none");
    w.maybe(std::optional<double>{});
    w.key("nan");
    w.number(std::nan(""));
    w.key("list");
    w.begin_array();
    w.begin_object();
    w.key("ok");
    w.boolean(true);
    w.end_object();
    w.begin_object();
    w.end_object();
    w.integer(3);
    w.end_array();
    w.key("empty");
    w.begin_array();
    w.end_array();
    w.end_object();
    const auto j = nlohmann::json::parse(out);
    CHECK(j["name"] == "A\"1\\\n\x01 caf\xc3\xa9 \xef\xbf\xbd");
    CHECK(j["n"] == 37.61);
    CHECK(j["i"] == -42);
    CHECK(j["none"].is_null());
    CHECK(j["nan"].is_null());
    CHECK(j["list"].size() == 3);
    CHECK(j["list"][0]["ok"] == true);
    CHECK(j["list"][1].empty());
    CHECK(j["empty"].empty());
}
