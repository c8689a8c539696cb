#include "dispatch/gtfs/import.hpp"

#include <array>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "geo/journal.hpp"

namespace fleet::dispatch::gtfs {

namespace {

constexpr std::size_t progress_rows = 100000;

std::string number(double value) {
    char out[32];
    const auto [end, ec] = std::to_chars(out, out + sizeof out, value);
    return std::string(out, end);
}

std::string optional_number(const std::optional<int>& value) {
    return value ? std::to_string(*value) : std::string();
}

std::string iso_date(const std::chrono::year_month_day& date) {
    char out[16];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    return out;
}

std::string ewkt(const Shape& shape) {
    std::string out = "SRID=4326;LINESTRING(";
    for (std::size_t i = 0; i < shape.points.size(); ++i) {
        out += (i ? "," : "") + number(shape.points[i].lon) + " " + number(shape.points[i].lat);
    }
    return out + ")";
}

/// Staging rows go through COPY into temporary text tables (an empty string standing for NULL,
/// which GTFS does not distinguish from it) and from there into fleet.* by set-based SQL that
/// resolves the GTFS ids to database ids.
class Stager {
  public:
    Stager(pqxx::work& tx, const Progress& progress) : tx_(tx), progress_(progress) {}

    template <std::size_t N>
    void stage(const std::string& table, const std::array<std::string, N>& columns,
               const std::vector<std::array<std::string, N>>& rows) {
        std::string ddl = "CREATE TEMP TABLE " + table + " (";
        for (std::size_t i = 0; i < columns.size(); ++i) {
            ddl += (i ? ", " : "") + columns[i] + " text NOT NULL";
        }
        tx_.exec0(ddl + ") ON COMMIT DROP");
        pqxx::stream_to stream(tx_, "pg_temp." + table, columns);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            stream << rows[i];
            if (progress_ && rows.size() >= progress_rows &&
                ((i + 1) % progress_rows == 0 || i + 1 == rows.size())) {
                progress_("storing " + table.substr(table.find('_') + 1), i + 1, rows.size());
            }
        }
        stream.complete();
        // Temporary tables get no statistics by themselves; the joins below need them.
        tx_.exec0("ANALYZE pg_temp." + table);
    }

  private:
    pqxx::work& tx_;
    const Progress& progress_;
};

/// Distance along the trip's shape at each stop, in metres, when it can be known without
/// projecting stops onto the shape: along a shape built from the stops it is the distance
/// between them; along a file shape whose points and stop times both carry shape_dist_traveled,
/// the feed's unit is scaled to metres by the shape's length.
std::vector<std::optional<double>> stop_distances_m(const Trip& trip, const Shape& shape) {
    std::vector<std::optional<double>> out(trip.stop_times.size());
    if (shape.built_from_stops) {
        double along = 0;
        for (std::size_t i = 0; i < out.size(); ++i) {
            if (i > 0) {
                Shape leg;
                leg.points = {shape.points[i - 1], shape.points[i]};
                along += leg.length_m();
            }
            out[i] = along;
        }
        return out;
    }
    const auto& last = shape.points.back().dist_traveled;
    if (!last || *last <= 0) {
        return out;
    }
    const double metres_per_unit = shape.length_m() / *last;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (const auto& d = trip.stop_times[i].shape_dist_traveled) {
            out[i] = *d * metres_per_unit;
        }
    }
    return out;
}

void expect_rows(const pqxx::result& result, std::size_t expected, const std::string& what) {
    if (static_cast<std::size_t>(result.affected_rows()) != expected) {
        throw InputError("GTFS import: " + std::to_string(expected - result.affected_rows()) + " " +
                         what + " refer to rows that are not in the feed");
    }
}

}  // namespace

ImportReport import_feed(pqxx::connection& conn, const Feed& feed, const std::string& feed_name,
                         const ImportOptions& options) {
    if (feed_name.empty()) {
        throw InputError("GTFS import: the feed name is empty");
    }
    if (feed_name == "local") {
        throw InputError(
            "GTFS import: the feed name 'local' is reserved for routes imported "
            "from GIS files");
    }
    ImportReport report;
    report.feed = feed_name;
    report.agencies = feed.agencies.size();
    report.routes = feed.routes.size();
    report.trips = feed.trips.size();
    report.stop_times = feed.stop_time_count();
    report.calendars = feed.calendars.size();
    report.calendar_dates = feed.calendar_dates.size();
    report.blocks = feed.blocks.size();
    report.shapes = feed.shapes.size();

    std::vector<std::array<std::string, 4>> stops;
    for (const auto& s : feed.stops) {
        if (s.lat && s.lon) {
            stops.push_back({s.id, s.name, number(*s.lon), number(*s.lat)});
        }
    }
    report.stops = stops.size();

    std::vector<std::array<std::string, 5>> routes;
    for (const auto& r : feed.routes) {
        nlohmann::json attributes = nlohmann::json::object();
        for (const auto& [key, value] : {std::pair{"agency_id", &r.agency_id},
                                         {"route_color", &r.color},
                                         {"route_text_color", &r.text_color}}) {
            if (!value->empty()) {
                attributes[key] = *value;
            }
        }
        routes.push_back(
            {r.id, r.short_name, r.long_name, std::to_string(r.type), attributes.dump()});
    }

    std::vector<std::array<std::string, 2>> shapes;
    for (const auto& [id, shape] : feed.shapes) {
        shapes.push_back({id, ewkt(shape)});
        report.shapes_from_stops += shape.built_from_stops ? 1 : 0;
    }

    std::vector<std::array<std::string, 7>> trips;
    std::vector<std::array<std::string, 7>> stop_times;
    stop_times.reserve(report.stop_times);
    for (const auto& t : feed.trips) {
        trips.push_back({t.id, t.route_id, t.service_id, t.block_id, t.shape_id, t.headsign,
                         optional_number(t.direction_id)});
        const auto shape = feed.shapes.find(t.shape_id);
        const auto distances = shape == feed.shapes.end()
                                   ? std::vector<std::optional<double>>(t.stop_times.size())
                                   : stop_distances_m(t, shape->second);
        for (std::size_t i = 0; i < t.stop_times.size(); ++i) {
            const auto& st = t.stop_times[i];
            stop_times.push_back({t.id, std::to_string(st.stop_sequence), st.stop_id,
                                  optional_number(st.arrival_s), optional_number(st.departure_s),
                                  st.timepoint ? "true" : "false",
                                  distances[i] ? number(*distances[i]) : std::string()});
        }
    }

    std::vector<std::array<std::string, 10>> calendars;
    for (const auto& c : feed.calendars) {
        std::array<std::string, 10> row{c.service_id};
        for (std::size_t d = 0; d < c.days.size(); ++d) {
            row[d + 1] = c.days[d] ? "true" : "false";
        }
        row[8] = iso_date(c.start_date);
        row[9] = iso_date(c.end_date);
        calendars.push_back(std::move(row));
    }
    std::vector<std::array<std::string, 3>> calendar_dates;
    for (const auto& c : feed.calendar_dates) {
        calendar_dates.push_back(
            {c.service_id, iso_date(c.date), std::to_string(c.exception_type)});
    }

    nlohmann::json agencies = nlohmann::json::array();
    for (const auto& a : feed.agencies) {
        agencies.push_back({{"agency_id", a.id},
                            {"agency_name", a.name},
                            {"agency_url", a.url},
                            {"agency_timezone", a.timezone},
                            {"agency_lang", a.lang},
                            {"agency_phone", a.phone}});
    }
    const nlohmann::json counts = {{"agencies", report.agencies},
                                   {"stops", report.stops},
                                   {"routes", report.routes},
                                   {"shapes", report.shapes},
                                   {"shapes_from_stops", report.shapes_from_stops},
                                   {"trips", report.trips},
                                   {"stop_times", report.stop_times},
                                   {"calendars", report.calendars},
                                   {"calendar_dates", report.calendar_dates},
                                   {"blocks", report.blocks}};

    pqxx::work tx(conn, "gtfs import");
    // Imports of the same feed name wait for each other instead of interleaving.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('fleet.gtfs:' || $1))", feed_name);
    report.replaced =
        tx.exec_params1("SELECT EXISTS (SELECT 1 FROM fleet.feeds WHERE feed = $1)", feed_name)[0]
            .as<bool>();

    Stager stager(tx, options.progress);
    stager.stage<4>("gtfs_stops", {"code", "name", "lon", "lat"}, stops);
    stager.stage<5>("gtfs_routes", {"code", "short_name", "long_name", "route_type", "attributes"},
                    routes);
    stager.stage<2>("gtfs_shapes", {"code", "ewkt"}, shapes);
    stager.stage<7>(
        "gtfs_trips",
        {"code", "route_code", "service_code", "block_code", "shape_code", "headsign", "direction"},
        trips);
    stager.stage<7>("gtfs_stop_times",
                    {"trip_code", "stop_sequence", "stop_code", "arrival_s", "departure_s",
                     "timepoint", "shape_dist_m"},
                    stop_times);
    stager.stage<10>("gtfs_calendar",
                     {"service_code", "monday", "tuesday", "wednesday", "thursday", "friday",
                      "saturday", "sunday", "start_date", "end_date"},
                     calendars);
    stager.stage<3>("gtfs_calendar_dates", {"service_code", "date", "exception_type"},
                    calendar_dates);

    tx.exec_params(
        "INSERT INTO fleet.feeds (feed, imported_at, source, agency, counts)"
        " VALUES ($1, now(), NULLIF($2, ''), $3::jsonb, $4::jsonb)"
        " ON CONFLICT (feed) DO UPDATE SET imported_at = EXCLUDED.imported_at,"
        " source = EXCLUDED.source, agency = EXCLUDED.agency, counts = EXCLUDED.counts",
        feed_name, options.source, agencies.dump(), counts.dump());

    // Rows whose GTFS id is still in the feed keep their database id (radius_m of a stop, set by
    // an operator, stays too); the rest of the earlier import is removed below.
    tx.exec_params(
        "INSERT INTO fleet.stops (feed, code, name, geom)"
        " SELECT $1, code, NULLIF(name, ''),"
        " ST_SetSRID(ST_MakePoint(lon::float8, lat::float8), 4326) FROM pg_temp.gtfs_stops"
        " ON CONFLICT (feed, code) DO UPDATE SET name = EXCLUDED.name, geom = EXCLUDED.geom",
        feed_name);
    tx.exec_params(
        "INSERT INTO fleet.routes (feed, code, short_name, long_name, route_type, geom,"
        " attributes)"
        " SELECT $1, code, NULLIF(short_name, ''), NULLIF(long_name, ''), route_type::integer,"
        " NULL, attributes::jsonb FROM pg_temp.gtfs_routes"
        " ON CONFLICT (feed, code) DO UPDATE SET short_name = EXCLUDED.short_name,"
        " long_name = EXCLUDED.long_name, route_type = EXCLUDED.route_type, geom = NULL,"
        " attributes = EXCLUDED.attributes",
        feed_name);
    tx.exec_params(
        "INSERT INTO fleet.shapes (feed, code, geom)"
        " SELECT $1, code, ST_GeomFromEWKT(ewkt) FROM pg_temp.gtfs_shapes"
        " ON CONFLICT (feed, code) DO UPDATE SET geom = EXCLUDED.geom",
        feed_name);
    expect_rows(
        tx.exec_params(
            "INSERT INTO fleet.trips (feed, code, route_id, service_code, block_code, shape_id,"
            " headsign, direction)"
            " SELECT $1, t.code, r.route_id, t.service_code, NULLIF(t.block_code, ''),"
            " s.shape_id, NULLIF(t.headsign, ''), NULLIF(t.direction, '')::smallint"
            " FROM pg_temp.gtfs_trips t"
            " JOIN fleet.routes r ON r.feed = $1 AND r.code = t.route_code"
            " JOIN fleet.shapes s ON s.feed = $1 AND s.code = t.shape_code"
            " ON CONFLICT (feed, code) DO UPDATE SET route_id = EXCLUDED.route_id,"
            " service_code = EXCLUDED.service_code, block_code = EXCLUDED.block_code,"
            " shape_id = EXCLUDED.shape_id, headsign = EXCLUDED.headsign,"
            " direction = EXCLUDED.direction",
            feed_name),
        trips.size(), "trips");
    tx.exec_params(
        "DELETE FROM fleet.stop_times st USING fleet.trips t"
        " WHERE st.trip_id = t.trip_id AND t.feed = $1",
        feed_name);
    expect_rows(
        tx.exec_params("INSERT INTO fleet.stop_times (trip_id, stop_sequence, stop_id, arrival_s,"
                       " departure_s, timepoint, shape_dist_m)"
                       " SELECT t.trip_id, x.stop_sequence::integer, s.stop_id,"
                       " NULLIF(x.arrival_s, '')::integer, NULLIF(x.departure_s, '')::integer,"
                       " x.timepoint::boolean, NULLIF(x.shape_dist_m, '')::float8"
                       " FROM pg_temp.gtfs_stop_times x"
                       " JOIN fleet.trips t ON t.feed = $1 AND t.code = x.trip_code"
                       " JOIN fleet.stops s ON s.feed = $1 AND s.code = x.stop_code",
                       feed_name),
        stop_times.size(), "stop times");

    // What the earlier import had and this feed no longer has.
    tx.exec_params(
        "DELETE FROM fleet.trips f WHERE f.feed = $1 AND NOT EXISTS"
        " (SELECT 1 FROM pg_temp.gtfs_trips x WHERE x.code = f.code)",
        feed_name);
    tx.exec_params(
        "DELETE FROM fleet.shapes f WHERE f.feed = $1 AND NOT EXISTS"
        " (SELECT 1 FROM pg_temp.gtfs_shapes x WHERE x.code = f.code)",
        feed_name);
    tx.exec_params(
        "DELETE FROM fleet.routes f WHERE f.feed = $1 AND NOT EXISTS"
        " (SELECT 1 FROM pg_temp.gtfs_routes x WHERE x.code = f.code)",
        feed_name);
    tx.exec_params(
        "DELETE FROM fleet.stops f WHERE f.feed = $1 AND NOT EXISTS"
        " (SELECT 1 FROM pg_temp.gtfs_stops x WHERE x.code = f.code)",
        feed_name);

    tx.exec_params(
        "UPDATE fleet.routes r SET geom = longest.geom FROM"
        " (SELECT DISTINCT ON (t.route_id) t.route_id, s.geom"
        "  FROM fleet.trips t JOIN fleet.shapes s ON s.shape_id = t.shape_id"
        "  WHERE t.feed = $1"
        "  ORDER BY t.route_id, ST_Length(s.geom::geography) DESC, s.code) longest"
        " WHERE r.route_id = longest.route_id",
        feed_name);

    tx.exec_params("DELETE FROM fleet.calendar WHERE feed = $1", feed_name);
    tx.exec_params("DELETE FROM fleet.calendar_dates WHERE feed = $1", feed_name);
    tx.exec_params(
        "INSERT INTO fleet.calendar (feed, service_code, monday, tuesday, wednesday, thursday,"
        " friday, saturday, sunday, start_date, end_date)"
        " SELECT $1, service_code, monday::boolean, tuesday::boolean, wednesday::boolean,"
        " thursday::boolean, friday::boolean, saturday::boolean, sunday::boolean,"
        " start_date::date, end_date::date FROM pg_temp.gtfs_calendar",
        feed_name);
    tx.exec_params(
        "INSERT INTO fleet.calendar_dates (feed, service_code, date, exception_type)"
        " SELECT $1, service_code, date::date, exception_type::smallint"
        " FROM pg_temp.gtfs_calendar_dates",
        feed_name);

    nlohmann::json details = counts;
    details["feed"] = feed_name;
    details["replaced"] = report.replaced;
    if (!options.source.empty()) {
        details["source"] = options.source;
    }
    geo::record(tx, {.actor = options.actor,
                     .action = "gtfs imported",
                     .subject = feed_name,
                     .details = details});
    tx.commit();
    return report;
}

std::vector<FeedSummary> list_feeds(pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    std::vector<FeedSummary> out;
    for (const auto& r : tx.exec(
             "SELECT feed, to_char(imported_at AT TIME ZONE 'UTC', "
             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
             " coalesce(source, ''), agency::text, counts::text FROM fleet.feeds ORDER BY feed")) {
        FeedSummary f;
        f.feed = r[0].as<std::string>();
        f.imported_at = r[1].as<std::string>();
        f.source = r[2].as<std::string>();
        f.agency = nlohmann::json::parse(r[3].as<std::string>(), nullptr, false);
        f.counts = nlohmann::json::parse(r[4].as<std::string>(), nullptr, false);
        out.push_back(std::move(f));
    }
    return out;
}

}  // namespace fleet::dispatch::gtfs
