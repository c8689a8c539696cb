#include "server/api/static_site.hpp"

#include <array>
#include <fstream>
#include <sstream>
#include <system_error>

#include <sodium.h>

#include "geo/error.hpp"

namespace fleet::server::api {

namespace fs = std::filesystem;

namespace {

std::string extension_of(std::string_view name) {
    const auto slash = name.rfind('/');
    const auto dot = name.rfind('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
        return {};
    }
    std::string ext(name.substr(dot + 1));
    for (auto& c : ext) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    return ext;
}

std::string etag_of(const std::string& body) {
    std::array<unsigned char, 16> hash{};
    crypto_generichash(hash.data(), hash.size(),
                       reinterpret_cast<const unsigned char*>(body.data()), body.size(), nullptr,
                       0);
    std::array<char, 33> hex{};
    sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
    return "\"" + std::string(hex.data()) + "\"";
}

/// "https://tile.example.org" of "https://tile.example.org/{z}/{x}/{y}.png"; empty when the
/// template is not an http(s) URL.
std::string origin_of(std::string_view url) {
    for (std::string_view scheme : {"https://", "http://"}) {
        if (url.substr(0, scheme.size()) == scheme) {
            const auto end = url.find('/', scheme.size());
            auto origin = std::string(url.substr(0, end));
            // {s} subdomains: any subdomain of the host.
            if (const auto s = origin.find("{s}."); s != std::string::npos) {
                origin.replace(s, 3, "*");
            }
            return origin;
        }
    }
    return {};
}

}  // namespace

std::string StaticSite::content_type_of(std::string_view name) {
    static const std::unordered_map<std::string, std::string> types{
        {"html", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"txt", "text/plain; charset=utf-8"},
    };
    const auto it = types.find(extension_of(name));
    return it == types.end() ? "application/octet-stream" : it->second;
}

std::string StaticSite::security_policy(const SitePolicy& policy) {
    std::string images = "'self' data: blob:";
    if (const auto origin = origin_of(policy.map_tiles); !origin.empty()) {
        images += " " + origin;
    }
    return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src " +
           images +
           "; connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; frame-ancestors "
           "'none'; base-uri 'self'; form-action 'self'";
}

std::shared_ptr<const StaticSite> StaticSite::load(const fs::path& root, const SitePolicy& policy,
                                                   const StaticSiteLimits& limits) {
    std::error_code ec;
    const auto base = fs::canonical(root, ec);
    if (ec || !fs::is_directory(base)) {
        throw ConfigError("web-root", "no such folder: '" + root.string() +
                                          "' (build the page with tools/web, or leave web-root "
                                          "empty to serve the API only)");
    }
    auto site = std::make_shared<StaticSite>();
    site->policy_ = security_policy(policy);
    const auto base_text = base.string() + "/";
    for (auto it = fs::recursive_directory_iterator(base, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        std::error_code fec;
        if (!it->is_regular_file(fec) || fec) {
            continue;
        }
        const auto real = fs::canonical(it->path(), fec);
        if (fec || real.string().compare(0, base_text.size(), base_text) != 0) {
            continue;  // a link out of the folder
        }
        if (site->files_.size() >= limits.max_files) {
            throw ConfigError("web-root", "'" + root.string() + "' holds more than " +
                                              std::to_string(limits.max_files) +
                                              " files: not a built page");
        }
        std::ifstream in(real, std::ios::binary);
        std::ostringstream body;
        body << in.rdbuf();
        if (!in && !in.eof()) {
            throw ConfigError("web-root", "cannot read '" + real.string() + "'");
        }
        File file;
        file.body = std::move(body).str();
        site->bytes_ += file.body.size();
        if (site->bytes_ > limits.max_total_bytes) {
            throw ConfigError("web-root", "'" + root.string() + "' holds more than " +
                                              std::to_string(limits.max_total_bytes >> 20) +
                                              " MiB: not a built page");
        }
        auto name = "/" + fs::relative(real, base).generic_string();
        file.content_type = content_type_of(name);
        file.etag = etag_of(file.body);
        file.immutable = name.rfind("/assets/", 0) == 0;
        site->files_.emplace(std::move(name), std::move(file));
    }
    if (ec) {
        throw ConfigError("web-root", "cannot list '" + root.string() + "': " + ec.message());
    }
    if (!site->files_.count("/index.html")) {
        throw ConfigError("web-root", "'" + root.string() +
                                          "' has no index.html (build the page with tools/web)");
    }
    return site;
}

Response StaticSite::answer(const File& file, std::string_view if_none_match) const {
    Response r;
    r.content_type = file.content_type;
    r.headers = {
        {"ETag", file.etag},
        {"Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "same-origin"}};
    if (file.content_type.rfind("text/html", 0) == 0) {
        r.headers.emplace_back("Content-Security-Policy", policy_);
        r.headers.emplace_back("X-Frame-Options", "DENY");
    }
    if (!if_none_match.empty() && if_none_match == file.etag) {
        r.status = 304;
        return r;
    }
    r.body = file.body;
    return r;
}

std::optional<Response> StaticSite::find(std::string_view path,
                                         std::string_view if_none_match) const {
    if (path.empty() || path.front() != '/') {
        return std::nullopt;
    }
    if (path == "/") {
        path = "/index.html";
    }
    if (const auto it = files_.find(std::string(path)); it != files_.end()) {
        return answer(it->second, if_none_match);
    }
    // A view of the page (/board, /vehicles/12): the page, which shows it. A missing file
    // (/assets/old-hash.js) is a 404, so a stale script is never answered with HTML.
    if (extension_of(path).empty() && path.rfind("/assets/", 0) != 0) {
        return answer(files_.at("/index.html"), if_none_match);
    }
    return std::nullopt;
}

}  // namespace fleet::server::api
