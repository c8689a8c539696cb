#include <doctest/doctest.h>

#include "server/metrics.hpp"

using namespace fleet;

namespace {

// Sends nothing: the notice service is not started here, only read.
struct NoDownlink : ingest::Downlink {
    void send(std::int64_t, ingest::DownlinkMessage,
              std::function<void(ingest::DownlinkResult)> done) override {
        done(ingest::DownlinkResult::not_connected);
    }
};

// Keeps nothing: the engine is not started here, only read.
struct NoStore : dispatch::EventStore {
    void save(const std::vector<dispatch::Event>&) override {}
    void save_summary(const dispatch::Assignment&, const dispatch::ShiftSummary&) override {}
};

}  // namespace

TEST_CASE(
    "one registry holds the listeners', the writer's, the engine's and the notices' figures") {
    const geo::ConnectionFactory connections({.url = "host=/nonexistent dbname=x"});
    ingest::Counters counters;
    ++counters.protocol("gt06").frames;
    counters.protocol("gt06").refuse(ingest::Refusal::writer_full);
    ingest::PositionWriter writer(connections, {}, counters);
    NoStore store;
    dispatch::Engine engine({}, store, [] { return dispatch::Millis{}; });
    NoDownlink downlink;
    server::NoticeService notices(connections, downlink, [] { return geo::Millis{}; });
    geo::MetricsRegistry registry;
    ingest::DeviceRegistry devices(connections, ingest::UnknownDevices::refuse);
    server::register_metrics(registry, counters, devices, writer, engine, notices);
    const std::string text = registry.prometheus_text();
    CHECK(text.find("fleet_ingest_frames_total{protocol=\"gt06\"} 1\n") != std::string::npos);
    CHECK(text.find("fleet_ingest_refused_total{protocol=\"gt06\",reason=\"writer_full\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("fleet_writer_queued_positions 0\n") != std::string::npos);
    CHECK(text.find("fleet_dispatch_fixes_dropped_total{reason=\"queue_full\"} 0\n") !=
          std::string::npos);
    CHECK(text.find("fleet_notice_deliveries_total{state=\"read\"} 0\n") != std::string::npos);
}
