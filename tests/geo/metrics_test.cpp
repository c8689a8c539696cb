#include <doctest/doctest.h>

#include "geo/metrics.hpp"

using namespace fleet;

TEST_CASE("metric families of every part come out in the Prometheus text format, in order") {
    geo::MetricsRegistry registry;
    int reads = 0;
    registry.add("writer", [&reads](std::string& out) {
        ++reads;
        geo::write_family(out, "fleet_writer_queue_positions", "gauge", "Positions queued.",
                          {{"", 12}});
    });
    registry.add("ingest", [](std::string& out) {
        geo::write_family(
            out, "fleet_ingest_frames_total", "counter", "Frames decoded.",
            {{geo::label("protocol", "gt06"), 3}, {geo::label("protocol", "osmand"), 0.5}});
    });
    CHECK(registry.prometheus_text() ==
          "# HELP fleet_writer_queue_positions Positions queued.\n"
          "# TYPE fleet_writer_queue_positions gauge\n"
          "fleet_writer_queue_positions 12\n"
          "# HELP fleet_ingest_frames_total Frames decoded.\n"
          "# TYPE fleet_ingest_frames_total counter\n"
          "fleet_ingest_frames_total{protocol=\"gt06\"} 3\n"
          "fleet_ingest_frames_total{protocol=\"osmand\"} 0.5\n");
    registry.prometheus_text();
    CHECK(reads == 2);  // read anew each time
}

TEST_CASE("label values are escaped") {
    CHECK(geo::label("reason", "a\"b\\c\nd") == "reason=\"a\\\"b\\\\c\\nd\"");
}
