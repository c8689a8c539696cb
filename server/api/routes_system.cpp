// What describes and watches the service: the OpenAPI description and the Prometheus metrics.
#include "server/api/api.hpp"

namespace fleet::server::api {

void add_system_routes(Router& router, ApiServices& s) {
    router.add({.method = Method::get,
                .pattern = "/api/openapi.json",
                .roles = all_roles,
                .runs = Runs::in_memory,
                .handler =
                    [](Call&) {
                        return Response{200, "application/json", std::string(openapi_text())};
                    },
                .open = true});
    // Prometheus scrapes with a token (Authorization: Bearer), as any client.
    router.add({.method = Method::get,
                .pattern = "/metrics",
                .roles = all_roles,
                .runs = Runs::in_memory,
                .handler = [&s](Call& call) {
                    call.user();
                    return Response{200, "text/plain; version=0.0.4; charset=utf-8",
                                    s.metrics.prometheus_text()};
                }});
}

}  // namespace fleet::server::api
