#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include "geo/error.hpp"
#include "server/api/static_site.hpp"
#include "server/config.hpp"

using namespace fleet;
using namespace fleet::server;
using namespace fleet::server::api;
namespace fs = std::filesystem;

namespace {

struct Site {
    fs::path root;
    Site() {
        char name[] = "/tmp/fleet-site-XXXXXX";
        REQUIRE(mkdtemp(name) != nullptr);
        root = name;
    }
    ~Site() { fs::remove_all(root); }
    void write(const std::string& path, const std::string& text) const {
        fs::create_directories((root / path).parent_path());
        std::ofstream(root / path, std::ios::binary) << text;
    }
};

std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

std::string key_error(const std::vector<std::string>& args) {
    try {
        parse_invocation(Program::fleetd, args, {});
    } catch (const ConfigError& e) {
        return e.key() + " | " + e.problem();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("the page's files are served from memory with their types and caching") {
    Site s;
    s.write("index.html", "<!doctype html><title>x</title>");
    s.write("assets/index-abc123.js", "console.log(1)");
    s.write("assets/index-abc123.css", "body{}");
    const auto site =
        StaticSite::load(s.root, {.map_tiles = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"});
    CHECK(site->files() == 3);

    const auto page = site->find("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->content_type == "text/html; charset=utf-8");
    CHECK(page->body == "<!doctype html><title>x</title>");
    CHECK(header(*page, "Cache-Control") == "no-cache");
    CHECK(header(*page, "X-Content-Type-Options") == "nosniff");
    const auto csp = header(*page, "Content-Security-Policy");
    CHECK(csp.find("default-src 'self'") == 0);
    CHECK(csp.find("script-src 'self';") != std::string::npos);
    CHECK(csp.find("img-src 'self' data: blob: https://*.tiles.example.org;") != std::string::npos);

    const auto script = site->find("/assets/index-abc123.js");
    REQUIRE(script);
    CHECK(script->content_type == "text/javascript; charset=utf-8");
    CHECK(header(*script, "Cache-Control") == "public, max-age=31536000, immutable");
    CHECK(header(*script, "Content-Security-Policy").empty());
    // A client holding the file gets 304 without the body.
    const auto again = site->find("/assets/index-abc123.js", header(*script, "ETag"));
    REQUIRE(again);
    CHECK(again->status == 304);
    CHECK(again->body.empty());
    CHECK(site->find("/assets/index-abc123.js", "\"other\"")->status == 200);
    CHECK(site->find("/assets/index-abc123.css")->content_type == "text/css; charset=utf-8");
}

TEST_CASE("a view of the page gets the page; a missing file, or a way out, does not") {
    Site s;
    s.write("index.html", "page");
    s.write("assets/a.js", "js");
    fs::create_directories(s.root.parent_path() / "fleet-site-outside");
    std::ofstream(s.root.parent_path() / "fleet-site-outside" / "secret.txt") << "secret";
    fs::create_symlink(s.root.parent_path() / "fleet-site-outside" / "secret.txt",
                       s.root / "secret.txt");
    const auto site = StaticSite::load(s.root);
    fs::remove_all(s.root.parent_path() / "fleet-site-outside");
    CHECK(site->files() == 2);  // the link out of the folder is not loaded
    CHECK(site->find("/board")->body == "page");
    CHECK(site->find("/vehicles/12")->body == "page");
    CHECK_FALSE(site->find("/secret.txt"));
    CHECK_FALSE(site->find("/assets/old-hash.js"));
    CHECK_FALSE(site->find("/assets/view"));  // never HTML where a script was asked for
    CHECK_FALSE(site->find("/missing.png"));
    CHECK_FALSE(site->find("/../index.html"));
    CHECK_FALSE(site->find("/assets/../../etc/passwd"));
    CHECK_FALSE(site->find("index.html"));
    CHECK_FALSE(site->find(""));
}

TEST_CASE("a folder that is not a built page is refused with the reason") {
    auto problem = [](const fs::path& root, StaticSiteLimits limits = {}) -> std::string {
        try {
            StaticSite::load(root, {}, limits);
        } catch (const ConfigError& e) {
            CHECK(e.key() == "web-root");
            return e.problem();
        }
        return "loaded";
    };
    CHECK(problem("/no/such/folder").starts_with("no such folder: '/no/such/folder'"));
    Site s;
    s.write("assets/a.js", "js");
    CHECK(problem(s.root).find("has no index.html") != std::string::npos);
    s.write("index.html", "page");
    s.write("b.txt", "b");
    CHECK(problem(s.root, {.max_files = 2}).find("holds more than 2 files") != std::string::npos);
    CHECK(problem(s.root, {.max_files = 10, .max_total_bytes = 5}).find("holds more than 0 MiB") !=
          std::string::npos);
    CHECK(problem(s.root) == "loaded");
}

TEST_CASE("content types by extension") {
    CHECK(StaticSite::content_type_of("/a/b.SVG") == "image/svg+xml");
    CHECK(StaticSite::content_type_of("/x.woff2") == "font/woff2");
    CHECK(StaticSite::content_type_of("/x.unknown") == "application/octet-stream");
    CHECK(StaticSite::content_type_of("/dir.d/file") == "application/octet-stream");
    CHECK(StaticSite::security_policy({}).find("img-src 'self' data: blob:;") != std::string::npos);
}

TEST_CASE("web-root, map-tiles and map-attribution are checked") {
    const std::vector<std::string> db{"--database-url", "dbname=x"};
    auto with = [&db](std::vector<std::string> more) {
        more.insert(more.begin(), db.begin(), db.end());
        return more;
    };
    CHECK(key_error(with({"--map-tiles", "ftp://tiles/{z}/{x}/{y}.png"})) ==
          "map-tiles | not an http(s) URL: 'ftp://tiles/{z}/{x}/{y}.png'");
    CHECK(key_error(with({"--map-tiles", "https://tiles/{z}/{x}.png"})) ==
          "map-tiles | the template needs {z}, {x} and {y}; {y} is missing");
    CHECK(key_error(with({"--map-tiles", "https://t/{z}/{x}/{y}.png; script-src *"}))
              .starts_with("map-tiles | a URL template holds no spaces"));
    CHECK(key_error(with({"--map-attribution", std::string(201, 'a')})) ==
          "map-attribution | at most 200 characters of UTF-8 text");
    const auto inv = parse_invocation(
        Program::fleetd,
        with({"--map-tiles", "https://tile.example.org/{z}/{x}/{y}.png", "--web-root", "/srv/web"}),
        {});
    CHECK(inv.config.web.map_tiles == "https://tile.example.org/{z}/{x}/{y}.png");
    CHECK(inv.config.web.root == "/srv/web");
    CHECK(inv.config.web.root_given);
    CHECK_FALSE(parse_invocation(Program::fleetd, db, {}).config.web.root_given);
}
