#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "dispatch/gtfs/feed.hpp"

namespace fleet::dispatch::gtfs {

/// What import_feed() stored.
struct ImportReport {
    std::string feed;       ///< the feed name the rows carry
    bool replaced = false;  ///< an earlier import of the same name was replaced
    std::size_t agencies = 0;
    std::size_t stops = 0;  ///< stops with coordinates (fleet.stops)
    std::size_t routes = 0;
    std::size_t shapes = 0;  ///< all shapes stored, including those built from stops
    std::size_t shapes_from_stops = 0;
    std::size_t trips = 0;
    std::size_t stop_times = 0;
    std::size_t calendars = 0;
    std::size_t calendar_dates = 0;
    std::size_t blocks = 0;
};

/// Who imports and from where, for fleet.feeds and the journal.
struct ImportOptions {
    std::string actor = "fleetctl";  ///< fleet.journal.actor
    std::string source;              ///< where the feed came from (a path), for fleet.feeds
    Progress progress;               ///< rows stored per table, for long feeds
};

/// Stores `feed` under `feed_name` in one transaction: routes, stops, shapes, trips, stop times,
/// calendar and calendar dates, a fleet.feeds row and a journal entry ('gtfs imported', with the
/// counts). An earlier import of the same name is replaced: rows whose GTFS id is still in the
/// feed are updated in place (their database ids, which assignments refer to, stay), the others
/// removed, so there are never duplicates. A route's geometry is the longest shape among its
/// trips. On any failure nothing is changed. Throws InputError for a reserved or empty feed name
/// or a feed whose references do not resolve, DatabaseError when PostGIS refuses (for instance
/// a trip that a shift assignment still uses has disappeared from the feed).
ImportReport import_feed(pqxx::connection& conn, const Feed& feed, const std::string& feed_name,
                         const ImportOptions& options = {});

/// An imported feed as fleet.feeds keeps it.
struct FeedSummary {
    std::string feed, imported_at, source;  ///< imported_at: ISO 8601, UTC
    nlohmann::json agency = nlohmann::json::array();
    nlohmann::json counts = nlohmann::json::object();
};

/// The imported feeds by name.
std::vector<FeedSummary> list_feeds(pqxx::connection& conn);

}  // namespace fleet::dispatch::gtfs
