#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/api/router.hpp"

/// The dashboard's built files (server/web, built by `tools/web`), served by the API's port.
/// Read whole into memory when fleetd starts: a request is only a lookup in a map, never a path
/// on the disk, so no request can name a file outside the build, and a rebuilt page is picked up
/// by a restart. Bounded in count and size, so a wrong `web-root` (a home folder, say) is refused
/// with a clear error instead of being loaded.
namespace fleet::server::api {

struct StaticSiteLimits {
    std::size_t max_files = 2000;
    std::size_t max_total_bytes = 64u << 20;
};

/// What the page's headers allow it to load besides its own files: the base map's tile host.
struct SitePolicy {
    /// `map-tiles` (an `{z}/{x}/{y}` URL template) or empty: its origin is added to img-src.
    std::string map_tiles{};
};

class StaticSite {
  public:
    /// Reads every regular file under `root`. Throws ConfigError("web-root", ...) when the
    /// folder is missing, has no index.html, or passes the limits; symbolic links that leave
    /// the folder are skipped.
    static std::shared_ptr<const StaticSite> load(const std::filesystem::path& root,
                                                  const SitePolicy& policy = {},
                                                  const StaticSiteLimits& limits = {});

    /// The answer to a GET or HEAD of `path` (decoded, starting with '/'): the file, or the page
    /// itself for a path of the page's own (no extension: a view the page shows), or nothing
    /// (the caller answers 404). `if_none_match` is the request's header: 304 when it matches.
    std::optional<Response> find(std::string_view path, std::string_view if_none_match = {}) const;

    std::size_t files() const noexcept { return files_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }

    /// The Content-Type of a file name (by its extension).
    static std::string content_type_of(std::string_view name);
    /// The Content-Security-Policy of the page: its own origin for scripts, styles, data and the
    /// WebSocket; images also from the tile host of `policy`.
    static std::string security_policy(const SitePolicy& policy);

  private:
    struct File {
        std::string body;
        std::string content_type;
        std::string etag;
        bool immutable = false;  ///< a content-hashed asset: cached for a year
    };
    Response answer(const File& file, std::string_view if_none_match) const;

    std::unordered_map<std::string, File> files_;
    std::size_t bytes_ = 0;
    std::string policy_;
};

}  // namespace fleet::server::api
