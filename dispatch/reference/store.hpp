#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "geo/ogr_features.hpp"

/// Reference data for dispatch read from OGR sources (routes, zones, stops), stored in PostGIS.
namespace fleet::dispatch::reference {

/// What a zone is for; stored in fleet.zones.kind.
enum class ZoneKind { depot, loading_point, speed_zone, area };

/// "depot", "loading_point", "speed_zone" or "area".
const char* to_string(ZoneKind kind);

/// The kind named by `text` (as to_string writes it); throws InputError listing the kinds.
ZoneKind zone_kind_from_string(const std::string& text);

/// Where an import comes from and who runs it, for the rows and the journal.
struct ImportOptions {
    std::string feed = "local";  ///< fleet.*.feed of the rows written
    std::string source;          ///< the file read, recorded in the journal
    std::string actor;           ///< fleet.journal.actor, e.g. "fleetctl"
    /// Called with the number of features stored so far, every `progress_every` features.
    std::function<void(std::size_t features_stored)> progress;
    std::size_t progress_every = 1000;
};

/// What an import did.
struct ImportReport {
    std::size_t inserted = 0;  ///< features whose (feed, code) was new
    std::size_t replaced = 0;  ///< features that replaced the row of the same (feed, code)
};

/// Stores line features as fleet.routes, code = the feature's name: a new (feed, code) is
/// inserted; an existing one gets the new geometry and attributes (its names, type and trips
/// stay). Rows not in `features` are left alone. One transaction, with a journal entry
/// "routes imported"; nothing is written when it throws. Throws InputError when a feature is not
/// a line or two features share a name; pqxx errors from the database.
ImportReport import_routes(pqxx::connection& conn, const std::vector<geo::Feature>& features,
                           const ImportOptions& options);

/// Stores polygon features as fleet.zones of one kind (MultiPolygon), code and name = the
/// feature's name, upserted as import_routes does (kind, name, speed limit, geometry and
/// attributes replaced). `speed_limit_field` names the attribute holding the limit in km/h (a
/// number, or text holding one); it is required for speed zones and optional for other kinds.
/// Journal entry "zones imported". Throws InputError when a feature is not a polygon, two share
/// a name, or a speed limit is missing or not a positive number.
ImportReport import_zones(pqxx::connection& conn, const std::vector<geo::Feature>& features,
                          const ImportOptions& options, ZoneKind kind,
                          const std::string& speed_limit_field = "");

/// Stores point features as fleet.stops, code and name = the feature's name, with the given
/// arrival radius, upserted as import_routes does (name, geometry and radius replaced; the table
/// has no attributes column, so attributes are not kept). Journal entry "stops imported".
ImportReport import_stops(pqxx::connection& conn, const std::vector<geo::Feature>& features,
                          const ImportOptions& options, double radius_m = 25);

}  // namespace fleet::dispatch::reference
