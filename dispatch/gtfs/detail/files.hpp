#pragma once

#include <string>
#include <string_view>

#include "dispatch/gtfs/feed.hpp"

namespace fleet::dispatch::gtfs::detail {

/// Loads the GTFS files this importer reads from a folder or a .zip (GDAL's virtual file system,
/// so a zip is read in place). Files absent from the feed are absent from the result. Reports
/// bytes read per file. Throws FeedError when the path is neither a folder nor a readable zip.
/// `max_bytes` (0: none) bounds the files' total size as stored (uncompressed): a zip that would
/// grow past it is refused before it is read (a zip bomb).
FeedFiles load_feed_files(const std::string& path, const Progress& progress,
                          std::size_t max_bytes = 0);

/// The same from a .zip held in memory (an upload).
FeedFiles load_feed_zip(std::string_view zip, const Progress& progress, std::size_t max_bytes);

}  // namespace fleet::dispatch::gtfs::detail
