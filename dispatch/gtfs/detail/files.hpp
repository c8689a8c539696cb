#pragma once

#include <string>

#include "dispatch/gtfs/feed.hpp"

namespace fleet::dispatch::gtfs::detail {

/// Loads the GTFS files this importer reads from a folder or a .zip (GDAL's virtual file system,
/// so a zip is read in place). Files absent from the feed are absent from the result. Reports
/// bytes read per file. Throws FeedError when the path is neither a folder nor a readable zip.
FeedFiles load_feed_files(const std::string& path, const Progress& progress);

}  // namespace fleet::dispatch::gtfs::detail
