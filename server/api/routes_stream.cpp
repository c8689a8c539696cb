// The live stream's WebSocket (/api/socket): the route, and the filter a subscription makes.
#include <algorithm>

#include "dispatch/event_log.hpp"
#include "server/api/api.hpp"

namespace fleet::server::api {

StreamFilter stream_filter(const ApiServices& s, const Principal& user,
                           const nlohmann::json& subscription) {
    body::only(subscription,
               {"vehicles", "groups", "kinds", "positions", "events", "assignments", "notices"});
    StreamFilter f;
    if (user.limited) {
        f.vehicles = user.vehicles;
    }
    auto narrow = [&f](const std::set<std::int64_t>& wanted) {
        if (!f.vehicles) {
            f.vehicles = wanted;
            return;
        }
        std::set<std::int64_t> both;
        std::set_intersection(f.vehicles->begin(), f.vehicles->end(), wanted.begin(), wanted.end(),
                              std::inserter(both, both.begin()));
        f.vehicles = std::move(both);
    };
    if (const auto it = subscription.find("vehicles"); it != subscription.end() && !it->is_null()) {
        if (!it->is_array() || it->size() > 10000) {
            throw ApiError(400, "bad_request", "vehicles: an array of at most 10000 ids is wanted");
        }
        std::set<std::int64_t> ids;
        for (const auto& v : *it) {
            if (!v.is_number_integer() || v.get<std::int64_t>() < 1) {
                throw ApiError(400, "bad_request",
                               "vehicles: ids (whole numbers from 1) are wanted");
            }
            ids.insert(v.get<std::int64_t>());
        }
        narrow(ids);
    }
    if (const auto groups = body::texts(subscription, "groups", 100)) {
        const auto directory = s.directory.vehicles();
        std::set<std::int64_t> ids;
        for (const auto& [id, v] : *directory) {
            for (const auto& g : *groups) {
                if (std::find(v.groups.begin(), v.groups.end(), g) != v.groups.end()) {
                    ids.insert(id);
                }
            }
        }
        narrow(ids);
    }
    if (const auto kinds = body::texts(subscription, "kinds", 50)) {
        const auto known = dispatch::event_kinds();
        for (const auto& k : *kinds) {
            if (std::find(known.begin(), known.end(), k) == known.end()) {
                throw ApiError(400, "bad_request",
                               "kinds: '" + k.substr(0, 64) + "' is not an event kind");
            }
            f.kinds.insert(k);
        }
    }
    f.positions = body::boolean(subscription, "positions").value_or(true);
    f.events = body::boolean(subscription, "events").value_or(true);
    f.assignments = body::boolean(subscription, "assignments").value_or(true);
    f.notices = body::boolean(subscription, "notices").value_or(true);
    return f;
}

void add_stream_routes(Router& router, ApiServices&) {
    router.add({.method = Method::get,
                .pattern = "/api/socket",
                .roles = all_roles,
                .runs = Runs::in_memory,
                .handler =
                    [](Call& call) {
                        call.user();
                        Response r = error_response(426, "upgrade_required",
                                                    "this path takes a WebSocket upgrade");
                        r.headers.emplace_back("Upgrade", "websocket");
                        return r;
                    },
                .websocket = true});
}

}  // namespace fleet::server::api
