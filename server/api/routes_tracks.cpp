// A vehicle's track for a period through the API, by the same functions as fleetctl export
// track: JSON, GeoJSON, GPX and KML (through OGR) and CSV, with the trips and stops of the period
// as the leading open-source tracker reports them, with its usual thresholds.
#include "geo/track_store.hpp"
#include "geo/trips.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

void add_track_routes(Router& router, ApiServices&) {
    router.add({.method = Method::get,
                .pattern = "/api/vehicles/{id}/track",
                .roles = all_roles,
                .handler = [](Call& call) {
                    const auto id = call.id_param("id");
                    if (!call.user().sees(id)) {
                        throw NotFoundError("no such vehicle " + std::to_string(id));
                    }
                    const auto from = call.query_time("from");
                    const auto to = call.query_time("to");
                    if (!from || !to) {
                        throw ApiError(400, "bad_request",
                                       "from and to are required (ISO 8601 times with their "
                                       "offset)");
                    }
                    geo::TrackFormat format = geo::TrackFormat::json;
                    try {
                        format = geo::track_format(call.query("format").value_or("json"));
                    } catch (const InputError& e) {
                        throw ApiError(400, "bad_request", e.what());
                    }
                    geo::TrackQuery q;
                    q.vehicle_id = id;
                    q.from = geo::iso_utc(*from);
                    q.to = geo::iso_utc(*to);
                    q.time_zone = call.query("tz").value_or("UTC");
                    geo::Track track;
                    {
                        pqxx::read_transaction tx(call.db());
                        try {
                            track = geo::read_track(tx, q);
                        } catch (const geo::NoSuchVehicle& e) {
                            throw NotFoundError(e.what());
                        }
                    }
                    const bool trips = call.query_bool("trips").value_or(false);
                    const bool stops = call.query_bool("stops").value_or(false);
                    if (trips || stops) {
                        auto found = geo::find_trips_and_stops(track.fixes, geo::TripRules{});
                        if (trips) {
                            track.trips = std::move(found.trips);
                        }
                        if (stops) {
                            track.stops = std::move(found.stops);
                        }
                    }
                    Response r{200, geo::content_type(format), geo::write_track(track, format)};
                    if (format != geo::TrackFormat::json && format != geo::TrackFormat::geojson) {
                        r.headers.emplace_back("Content-Disposition",
                                               "attachment; filename=\"track-" +
                                                   std::to_string(id) + "." +
                                                   geo::file_extension(format) + "\"");
                    }
                    return r;
                }});
}

}  // namespace fleet::server::api
