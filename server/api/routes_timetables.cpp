// Timetables through the API: upload a GTFS zip (validated whole before anything is stored, as
// fleetctl import gtfs does), list the imported feeds.
#include "dispatch/gtfs/feed.hpp"
#include "dispatch/gtfs/import.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

namespace {

constexpr std::size_t max_zip_bytes = 64 << 20;
constexpr std::size_t max_feed_bytes = 1024ull << 20;  // uncompressed

}  // namespace

void add_timetable_routes(Router& router, ApiServices& services) {
    router.add({.method = Method::get,
                .pattern = "/api/timetables",
                .roles = all_roles,
                .handler = [](Call& call) {
                    nlohmann::json out = nlohmann::json::array();
                    for (const auto& f : dispatch::gtfs::list_feeds(call.db())) {
                        out.push_back({{"feed", f.feed},
                                       {"imported_at", f.imported_at},
                                       {"source", f.source},
                                       {"agency", f.agency},
                                       {"counts", f.counts}});
                    }
                    return json_response({{"timetables", out}});
                }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/timetables",
         .roles = dispatchers,
         .handler =
             [importing = services.timetable_import](Call& call) {
                 const auto& request = call.request();
                 if (request.content_type != "application/zip" &&
                     request.content_type != "application/x-zip-compressed" &&
                     request.content_type != "application/octet-stream") {
                     throw ApiError(400, "bad_request",
                                    "the body must be a GTFS .zip, sent with "
                                    "Content-Type: application/zip");
                 }
                 const auto feed_name = call.query("feed");
                 if (!feed_name || feed_name->size() > 64) {
                     throw ApiError(400, "bad_request",
                                    "feed: required, the name the feed's rows carry "
                                    "(at most 64 bytes)");
                 }
                 if (call.user().limited) {
                     throw ApiError(403, "forbidden",
                                    "a dispatcher limited to groups cannot replace the "
                                    "timetables of the whole fleet");
                 }
                 bool idle = false;
                 if (!importing->compare_exchange_strong(idle, true)) {
                     throw ApiError(409, "import_in_progress",
                                    "another timetable upload is being imported; send this one "
                                    "again when it has finished");
                 }
                 struct Done {
                     std::atomic<bool>& flag;
                     ~Done() { flag = false; }
                 } done{*importing};
                 // Validated whole in memory first: a bad feed changes nothing.
                 const auto feed = dispatch::gtfs::read_feed_zip(request.body, max_feed_bytes);
                 const auto report = dispatch::gtfs::import_feed(
                     call.db(), feed, *feed_name,
                     {.actor = call.actor(), .source = "upload through the API", .progress = {}});
                 return json_response({{"feed", report.feed},
                                       {"replaced", report.replaced},
                                       {"agencies", report.agencies},
                                       {"stops", report.stops},
                                       {"routes", report.routes},
                                       {"trips", report.trips},
                                       {"stop_times", report.stop_times},
                                       {"shapes", report.shapes},
                                       {"blocks", report.blocks}},
                                      report.replaced ? 200 : 201);
             },
         .max_body_bytes = max_zip_bytes});
}

}  // namespace fleet::server::api
