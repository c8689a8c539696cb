#include "server/app.hpp"

#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "dispatch/engine.hpp"
#include "dispatch/event_store.hpp"
#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/migrations.hpp"
#include "ingest/counters.hpp"
#include "ingest/devices.hpp"
#include "ingest/listeners.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/writer.hpp"
#include "server/assignment_feed.hpp"
#include "server/database.hpp"
#include "server/dispatch_bridge.hpp"

namespace fleet::server {

namespace asio = boost::asio;

namespace {

// Keeps the position partitions ahead of time, once an hour.
class PartitionKeeper {
  public:
    PartitionKeeper(asio::io_context& ioc, pqxx::connection& conn, int months_ahead)
        : timer_(ioc), conn_(conn), months_ahead_(months_ahead) {}

    void start() { schedule(); }
    void stop() { timer_.cancel(); }

  private:
    void schedule() {
        timer_.expires_after(std::chrono::hours(1));
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            try {
                const int created = geo::ensure_position_partitions(conn_, months_ahead_);
                if (created > 0) {
                    log::info("database",
                              "created " + std::to_string(created) + " position partitions");
                }
            } catch (const std::exception& e) {
                // Positions still land in the default partition; try again next hour.
                log::warn("database", std::string("could not prepare partitions: ") + e.what());
            }
            schedule();
        });
    }

    asio::steady_timer timer_;
    pqxx::connection& conn_;
    int months_ahead_;
};

}  // namespace

int run_fleetd(const Config& config) {
    log::set_level(config.log_level);
    log::info("fleetd", "starting (pid " + std::to_string(::getpid()) + ")");

    asio::io_context ioc;
    std::atomic<bool> stopping{false};
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    std::function<void()> on_stop;  // set once the services are up
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (ec) {
            return;
        }
        log::info("fleetd", std::string("stopping on ") + (signo == SIGINT ? "SIGINT" : "SIGTERM"));
        stopping = true;
        // A clean stop is bounded: past the timeout the process leaves regardless.
        std::thread([timeout = config.shutdown_timeout] {
            std::this_thread::sleep_for(timeout);
            log::error("fleetd", "clean stop took longer than " + std::to_string(timeout.count()) +
                                     " s; exiting now");
            std::_Exit(1);
        }).detach();
        if (on_stop) {
            on_stop();
        }
    });
    // Signals are handled from the start, also while the database is being waited for.
    std::thread io_thread([&ioc] { ioc.run(); });
    auto join = [&] {
        ioc.stop();
        io_thread.join();
    };

    std::unique_ptr<pqxx::connection> db;
    try {
        db = open_database(config, stopping);
    } catch (const Error& e) {
        join();
        if (stopping) {
            log::info("fleetd", "stopped before the database was ready");
            return 0;
        }
        log::error("fleetd", e.what());
        return 1;
    }

    ingest::Counters counters;
    const geo::ConnectionFactory connections(config.database);
    ingest::DeviceRegistry devices(connections, config.unknown_devices);
    ingest::Pipeline pipeline(config.validation);
    ingest::PositionWriter writer(connections, config.writer, counters);
    dispatch::PostgisEventStore events(connections);
    dispatch::Engine engine(dispatch::EngineConfig{config.dispatch}, events, [] {
        return std::chrono::time_point_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now());
    });
    DispatchBridge bridge(engine);
    writer.add_sink(bridge);
    engine.start();
    AssignmentFeed assignments(connections, engine, config.class_speed_caps);
    try {
        const auto loaded = assignments.refresh(/*replay=*/true);
        log::info("dispatch", std::to_string(loaded.upserts) + " assignments loaded, " +
                                  std::to_string(loaded.replayed) +
                                  " positions of the day replayed");
    } catch (const Error& e) {
        log::warn("dispatch",
                  std::string("assignments not loaded (retried every minute): ") + e.what());
    }
    log::info("dispatch", "engine started (on route within " +
                              std::to_string(static_cast<int>(config.dispatch.on_route_m)) +
                              " m, late after " + std::to_string(config.dispatch.late.count()) +
                              " s)");
    writer.start();
    log::info("writer", "batches of up to " + std::to_string(config.writer.max_batch) +
                            " positions, committed at most " +
                            std::to_string(config.writer.max_wait.count()) + " ms after arrival");
    ingest::Listeners listeners(
        ioc, config.listeners,
        ingest::IngestServices{devices,
                               pipeline,
                               writer,
                               counters,
                               [] {
                                   return std::chrono::time_point_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now());
                               },
                               {}});
    PartitionKeeper partitions(ioc, *db, config.partition_months_ahead);
    // Assignment changes reach the engine within a minute.
    asio::steady_timer assignment_timer(ioc);
    std::function<void()> watch_assignments = [&] {
        assignment_timer.expires_after(std::chrono::minutes(1));
        assignment_timer.async_wait([&](const boost::system::error_code& ec) {
            if (ec) {
                return;
            }
            try {
                const auto changes = assignments.refresh(false);
                if (changes.any()) {
                    log::info("dispatch", std::to_string(changes.upserts) +
                                              " assignments new or changed, " +
                                              std::to_string(changes.cancels) + " withdrawn");
                }
            } catch (const Error& e) {
                log::warn("dispatch", std::string("assignments not refreshed: ") + e.what());
            }
            watch_assignments();
        });
    };
    std::thread drain;  // commits what was received, then lets the acknowledgements go out
    asio::steady_timer grace(ioc);
    int exit_code = 0;

    asio::post(ioc, [&] {
        try {
            listeners.start();
        } catch (const Error& e) {
            log::error("fleetd", e.what());
            exit_code = 1;
            ioc.stop();
            return;
        }
        partitions.start();
        watch_assignments();
        on_stop = [&] {
            listeners.stop_accepting();
            partitions.stop();
            assignment_timer.cancel();
            drain = std::thread([&] {
                // Sessions waiting for a commit get it (or, without a database past the
                // deadline, a refusal: nothing unacknowledged is lost, devices resend).
                writer.stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                    config.shutdown_timeout * 3 / 4));
                asio::post(ioc, [&] {
                    grace.expires_after(std::chrono::milliseconds(200));
                    grace.async_wait([&](const boost::system::error_code&) {
                        listeners.close_connections();
                        ioc.stop();
                    });
                });
            });
        };
        if (stopping) {
            on_stop();
            return;
        }
        log::info("fleetd", "ready");
    });
    io_thread.join();
    if (drain.joinable()) {
        drain.join();
    }
    writer.stop(std::chrono::milliseconds(0));
    engine.stop();
    log::info("fleetd", exit_code == 0 ? "stopped" : "stopped after an error");
    return exit_code;
}

}  // namespace fleet::server
