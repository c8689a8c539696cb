#include "server/app.hpp"

#include <filesystem>

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include "dispatch/engine.hpp"
#include "dispatch/eta_store.hpp"
#include "dispatch/event_store.hpp"
#include "dispatch/transport.hpp"
#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/metrics.hpp"
#include "geo/migrations.hpp"
#include "ingest/counters.hpp"
#include "ingest/devices.hpp"
#include "ingest/listeners.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/writer.hpp"
#include "server/api/api.hpp"
#include "server/api/http_server.hpp"
#include "server/assignment_feed.hpp"
#include "server/database.hpp"
#include "server/dispatch_bridge.hpp"
#include "server/eta_feed.hpp"
#include "server/metrics.hpp"
#include "server/notice_service.hpp"
#include "server/parts.hpp"
#include "server/register_watch.hpp"
#include "server/webhooks.hpp"

namespace fleet::server {

namespace asio = boost::asio;

namespace {

/// The dashboard's files, when there are any to serve.
std::shared_ptr<const api::StaticSite> load_site(const WebOptions& web) {
    if (web.root.empty()) {
        return nullptr;
    }
    if (!web.root_given &&
        !std::filesystem::exists(std::filesystem::path(web.root) / "index.html")) {
        log::warn("api",
                  "no dashboard built in " + web.root + " (tools/web builds it): the API only");
        return nullptr;
    }
    auto site = api::StaticSite::load(web.root, {.map_tiles = web.map_tiles});
    log::info("api", "dashboard: " + std::to_string(site->files()) + " files (" +
                         std::to_string(site->bytes() >> 10) + " KiB) from " + web.root);
    return site;
}

ingest::Millis wall_clock() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

// Every device connection is a descriptor: take what the hard limit allows.
void raise_descriptor_limit(std::size_t wanted) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return;
    }
    const rlim_t target =
        limit.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(wanted) : limit.rlim_max;
    if (limit.rlim_cur < target) {
        limit.rlim_cur = target;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < wanted) {
        log::warn("fleetd", "open files are limited to " + std::to_string(limit.rlim_cur) +
                                ", fewer than max-connections (" + std::to_string(wanted) +
                                ") needs; connections beyond it are refused");
    }
}

// The database connection of one periodic task, opened when first needed and again after a
// failure: run() calls `work` on it; an exception drops the connection (the next run opens a new
// one) and is logged as "`failed`: <error>".
class TaskConnection {
  public:
    TaskConnection(const geo::ConnectionFactory& factory, std::string name)
        : factory_(factory), name_(std::move(name)) {}

    void run(std::string_view component, std::string_view failed,
             const std::function<void(pqxx::connection&)>& work) {
        try {
            if (!conn_ || !conn_->is_open()) {
                conn_ = factory_.connect(name_);
            }
            work(*conn_);
        } catch (const std::exception& e) {
            conn_.reset();
            log::warn(component, std::string(failed) + ": " + e.what());
        }
    }

  private:
    const geo::ConnectionFactory& factory_;
    std::string name_;
    std::unique_ptr<pqxx::connection> conn_;
};

// Runs `work` on the worker pool every `period` (the timer lives on the control context); a run
// still going when the next is due is not doubled.
class Periodic {
  public:
    Periodic(asio::io_context& control, asio::thread_pool& workers,
             std::chrono::steady_clock::duration period, std::function<void()> work)
        : timer_(control), workers_(workers), period_(period), work_(std::move(work)) {}

    void start() { schedule(); }
    void stop() {
        stopped_ = true;
        asio::post(timer_.get_executor(), [this] { timer_.cancel(); });
    }
    /// Runs the work now (on the pool); when a run is going, once more after it (the run under
    /// way may have read what the poke announces changed).
    void poke() {
        again_ = true;  // before the test, so that a run ending meanwhile sees it
        if (running_.exchange(true)) {
            return;
        }
        asio::post(workers_, [this] { run(); });
    }

  private:
    void run() {
        for (;;) {
            again_ = false;
            if (!stopped_) {
                work_();
            }
            running_ = false;
            // A poke that found this run going asked for one more; one that came after the
            // line above posted its own.
            if (!again_ || stopped_ || running_.exchange(true)) {
                return;
            }
        }
    }
    void schedule() {
        timer_.expires_after(period_);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec || stopped_) {
                return;
            }
            poke();
            schedule();
        });
    }

    asio::steady_timer timer_;
    asio::thread_pool& workers_;
    std::chrono::steady_clock::duration period_;
    std::function<void()> work_;
    std::atomic<bool> running_{false};
    std::atomic<bool> again_{false};
    std::atomic<bool> stopped_{false};
};

// The engine as the assignment feed's target, with every assignment it is handed (or loses)
// told to the live stream too.
class StreamedEngineTarget final : public AssignmentTarget {
  public:
    StreamedEngineTarget(dispatch::Engine& engine, api::LiveStream& stream)
        : engine_(engine), stream_(stream) {}
    void upsert(std::shared_ptr<const dispatch::Assignment> assignment) override {
        const auto& a = *assignment;
        engine_.upsert(assignment);  // throws for work the engine cannot track: not streamed
        stream_.on_assignment(a);
    }
    void cancel(std::int64_t assignment_id) override {
        engine_.cancel(assignment_id);
        stream_.on_assignment_withdrawn(assignment_id);
    }
    void set_speed_limits(std::shared_ptr<const dispatch::SpeedLimits> limits) override {
        engine_.set_speed_limits(std::move(limits));
    }
    void replay(std::vector<dispatch::VehicleFix> fixes) override {
        engine_.replay(std::move(fixes));
    }

  private:
    EngineTarget engine_;
    api::LiveStream& stream_;
};

// A stop asked for by a signal, waited for by the main thread.
class StopRequest {
  public:
    void request() {
        {
            std::lock_guard lock(mutex_);
            requested_ = true;
        }
        changed_.notify_all();
    }
    bool requested() const {
        std::lock_guard lock(mutex_);
        return requested_;
    }
    void wait() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return requested_; });
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool requested_ = false;
};

}  // namespace

int run_fleetd(const Config& config) {
    log::set_level(config.log_level);
    log::info("fleetd", "starting (pid " + std::to_string(::getpid()) + ")");
    raise_descriptor_limit(config.listeners.max_connections + 256);

    // The control context: signals and timers; nothing on it waits for the database.
    asio::io_context control;
    auto control_guard = asio::make_work_guard(control);
    std::atomic<bool> stopping{false};
    StopRequest stop;
    asio::signal_set signals(control, SIGINT, SIGTERM);
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
        stop.request();
    });
    // Signals are handled from the start, also while the database is being waited for.
    std::thread control_thread([&control] { control.run(); });
    auto join_control = [&] {
        control_guard.reset();
        control.stop();
        control_thread.join();
    };

    std::unique_ptr<pqxx::connection> db;
    try {
        db = open_database(config, stopping);
    } catch (const Error& e) {
        join_control();
        if (stopping) {
            log::info("fleetd", "stopped before the database was ready");
            return 0;
        }
        log::error("fleetd", e.what());
        return 1;
    }
    const auto stop_deadline = [&] {
        return std::chrono::steady_clock::now() + config.shutdown_timeout * 9 / 10;
    };

    // Stores first, from one connection factory; then the parts, in the order they start.
    const geo::ConnectionFactory connections(config.database);
    asio::thread_pool workers(config.worker_threads);
    geo::MetricsRegistry metrics;
    ingest::Counters counters;
    ingest::DeviceRegistry devices(connections, config.unknown_devices);
    ingest::Pipeline pipeline(config.validation);
    ingest::PositionWriter writer(connections, config.writer, counters);
    dispatch::PostgisEventStore events(connections);
    dispatch::Engine engine(dispatch::EngineConfig{config.dispatch}, events, wall_clock);
    DispatchBridge bridge(engine);
    writer.add_sink(bridge);
    api::LatestPositions latest;
    writer.add_sink(latest);
    api::LiveStream live_stream(config.stream);
    writer.add_sink(live_stream);
    engine.subscribe([&live_stream](const dispatch::Event& e) { live_stream.on_event(e); });
    // The board follows each vehicle's schedule state as the engine matches its fixes.
    engine.subscribe_states(
        [&live_stream, &config](const std::vector<dispatch::VehicleState>& states) {
            for (const auto& st : states) {
                live_stream.on_dispatch(st.vehicle_id,
                                        {.adherence = api::adherence(&st, config.dispatch),
                                         .deviation_s = st.deviation_s,
                                         .assignment_id = st.assignment_id,
                                         .route_code = st.route_code,
                                         .route_short_name = st.route_short_name,
                                         .trip_code = st.trip_code,
                                         .block = st.block,
                                         .off_route = st.off_route});
            }
        });
    // Arrival times: stored with the time each was made, and webhooks to consignees queued.
    EtaFeed eta_feed(connections);
    engine.subscribe_eta([&eta_feed](const std::vector<dispatch::EtaUpdate>& updates,
                                     const std::vector<dispatch::StopArrival>& arrivals) {
        eta_feed.on_eta(updates, arrivals);
    });
    WebhookSender webhooks(connections, config.webhooks);
    metrics.add("eta", [&eta_feed, &webhooks](std::string& out) {
        eta_feed.write_metrics(out);
        webhooks.write_metrics(out);
    });
    StreamedEngineTarget assignment_target(engine, live_stream);
    AssignmentFeed assignments(connections, assignment_target, config.class_speed_caps);
    // The notice service sends through the listeners and hears from them: it is made once they
    // are, and nothing calls it before they start.
    std::unique_ptr<NoticeService> notices;
    ingest::Listeners listeners(
        config.listeners,
        ingest::IngestServices{
            devices, pipeline, writer, counters, wall_clock, workers.get_executor(),
            [&notices](std::int64_t vehicle, const ingest::NoticeReceipt& r) {
                notices->on_receipt(vehicle, r);
            },
            [&notices](std::int64_t vehicle) { notices->on_connected(vehicle); }});
    notices = std::make_unique<NoticeService>(connections, listeners, wall_clock);
    notices->add_listener(
        [&live_stream](const dispatch::DeliveryChange& c) { live_stream.on_notice_delivery(c); });
    writer.add_sink(*notices);
    register_metrics(metrics, counters, devices, writer, engine, *notices);
    metrics.add("assignments",
                [&assignments](std::string& out) { assignments.write_metrics(out); });

    // The operator API: its own network thread and database threads; its database work is
    // bounded by its request timeout.
    api::FleetDirectory directory;
    api::LoginThrottle throttle;
    api::ApiServices api_services{
        engine,
        latest,
        directory,
        metrics,
        throttle,
        live_stream,
        api::ApiSettings{config.session_lifetime, config.secure_cookie, config.dispatch,
                         config.message_replies, config.web.map_tiles, config.web.map_attribution}};
    geo::DatabaseOptions api_database = config.database;
    api_database.statement_timeout = std::min<std::chrono::milliseconds>(
        api_database.statement_timeout.count() == 0 ? config.api.request_timeout
                                                    : api_database.statement_timeout,
        config.api.request_timeout);
    const geo::ConnectionFactory api_connections(api_database);
    api_services.database = api_connections.conninfo("fleetd api");
    api_services.eta_subscriptions_changed = [&eta_feed] { eta_feed.reload(); };
    const api::Router router = api::make_router(api_services);
    api::DatabaseThreads api_db(api_connections, config.api.database_threads);
    api::HttpConfig http_config = config.api;
    http_config.site = load_site(config.web);
    api::HttpServer http(http_config, router, api_db,
                         {&live_stream, [&api_services](const api::Principal& p,
                                                        const nlohmann::json& subscription) {
                              return api::stream_filter(api_services, p, subscription);
                          }});
    metrics.add("api", [&http, &live_stream](std::string& out) {
        http.write_metrics(out);
        live_stream.write_metrics(out);
    });
    // The register as the API names it, read again every half minute (the API's own changes
    // reload it at once), and expired sessions removed.
    TaskConnection directory_db(connections, "fleetd directory");
    auto reload_directory = [&] {
        directory_db.run("api", "could not read the register", [&](pqxx::connection& conn) {
            directory.reload(conn);
            api::remove_expired_sessions(conn);
        });
    };

    // Keeps the position partitions ahead of time, once an hour (the first run was at start).
    Periodic partitions(control, workers, std::chrono::hours(1), [&] {
        try {
            const int created = geo::ensure_position_partitions(*db, config.partition_months_ahead);
            if (created > 0) {
                log::info("database",
                          "created " + std::to_string(created) + " position partitions");
            }
        } catch (const std::exception& e) {
            // Positions still land in the default partition; try again next hour.
            log::warn("database", std::string("could not prepare partitions: ") + e.what());
        }
    });
    Periodic directory_upkeep(control, workers, std::chrono::seconds(30), reload_directory);
    // A device moved to another vehicle or removed (fleetctl device move|remove, the API) is
    // forgotten and its connection closed, so that its next login is looked up afresh; a device
    // added after a refusal gets in at its next login. At once when notified (register_watch
    // below), within 15 s otherwise.
    Periodic device_upkeep(control, workers, std::chrono::seconds(15), [&] {
        try {
            const auto changed = devices.refresh();
            if (!changed.empty()) {
                log::info("devices", std::to_string(changed.size()) +
                                         " device(s) moved or removed in the register: their "
                                         "connections are closed");
                listeners.disconnect_devices(changed);
            }
        } catch (const std::exception& e) {
            log::warn("devices", std::string("the register was not read: ") + e.what());
        }
    });
    // Stored arrival-time predictions older than eta-retention-days go, hourly (a few rows per
    // stop ahead of every running trip, every 30 s: without an end the table would grow by
    // tens of millions of rows a day on a large fleet).
    TaskConnection retention_db(connections, "fleetd retention");
    Periodic eta_retention(control, workers, std::chrono::hours(1), [&] {
        if (config.eta_retention_days == 0) {
            return;
        }
        retention_db.run("eta", "old predictions not deleted", [&](pqxx::connection& conn) {
            const auto deleted = dispatch::prune_predictions(
                conn, wall_clock() - std::chrono::days(config.eta_retention_days));
            if (deleted > 0) {
                log::info("eta", "deleted " + std::to_string(deleted) + " predictions older than " +
                                     std::to_string(config.eta_retention_days) + " days");
            }
        });
    });
    // Stays in loading zones (the transport-process records) are found every minute over the
    // last six hours: a stay is recorded within a minute of its arrival and updated when it ends.
    TaskConnection transport_db(connections, "fleetd transport");
    Periodic transport_upkeep(control, workers, std::chrono::minutes(1), [&] {
        transport_db.run("dispatch", "stays in loading zones not looked for",
                         [&](pqxx::connection& conn) {
                             const auto now = wall_clock();
                             pqxx::work tx(conn);
                             dispatch::detect_zone_visits(tx, now - std::chrono::hours(6),
                                                          now + std::chrono::minutes(5));
                             tx.commit();
                         });
    });
    Parts parts;
    // Before the engine, so that it stops after it and stores what the engine handed over.
    parts.add({"arrival times",
               [&] { eta_feed.start(); },
               {},
               [&](std::chrono::steady_clock::time_point deadline) {
                   eta_feed.stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - std::chrono::steady_clock::now(),
                                std::chrono::steady_clock::duration::zero())));
               }});
    parts.add({"webhooks",
               [&] { webhooks.start(); },
               {},
               [&](std::chrono::steady_clock::time_point deadline) {
                   webhooks.stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - std::chrono::steady_clock::now(),
                                std::chrono::steady_clock::duration::zero())));
               }});
    parts.add({"dispatch engine",
               [&] {
                   engine.start();
                   log::info("dispatch",
                             "engine started (on route within " +
                                 std::to_string(static_cast<int>(config.dispatch.on_route_m)) +
                                 " m, late after " + std::to_string(config.dispatch.late.count()) +
                                 " s)");
               },
               {},
               [&](std::chrono::steady_clock::time_point deadline) {
                   // What the engine holds (fixes to match, events to store), within what is
                   // left of the bound after the sessions and the writer.
                   engine.stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - std::chrono::steady_clock::now(),
                                std::chrono::steady_clock::duration(std::chrono::seconds(1)))));
               }});
    // Assignment changes reach the engine within a second (LISTEN), a full reload every minute.
    parts.add({"assignments",
               [&] { assignments.start(); },
               {},
               [&](std::chrono::steady_clock::time_point deadline) {
                   assignments.stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - std::chrono::steady_clock::now(),
                                std::chrono::steady_clock::duration::zero())));
               }});
    parts.add({"writer",
               [&] {
                   writer.start();
                   log::info("writer", "batches of up to " +
                                           std::to_string(config.writer.max_batch) +
                                           " positions, committed at most " +
                                           std::to_string(config.writer.max_wait.count()) +
                                           " ms after arrival");
               },
               {},
               [&](std::chrono::steady_clock::time_point deadline) {
                   // Packets still queued are committed (or, without a database past the
                   // deadline, left unanswered: devices resend them).
                   writer.stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - std::chrono::steady_clock::now(),
                                std::chrono::steady_clock::duration::zero())));
               }});
    parts.add(
        {"partition upkeep", [&] { partitions.start(); }, [&] { partitions.stop(); }, [](auto) {}});
    parts.add({"prediction retention",
               [&] {
                   eta_retention.start();
                   eta_retention.poke();  // a restart after a long stop prunes at once
               },
               [&] { eta_retention.stop(); }, [](auto) {}});
    parts.add({"device register", [&] { device_upkeep.start(); }, [&] { device_upkeep.stop(); },
               [](auto) {}});
    parts.add({"transport records", [&] { transport_upkeep.start(); },
               [&] { transport_upkeep.stop(); }, [](auto) {}});
    // Notices made by the API or fleetctl reach the connected devices within a second.
    parts.add({"notices",
               [&] { notices->start(); },
               {},
               [&](std::chrono::steady_clock::time_point deadline) {
                   notices->stop(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::max(deadline - std::chrono::steady_clock::now(),
                                std::chrono::steady_clock::duration::zero())));
               }});
    parts.add({"listeners", [&] { listeners.start(); }, [&] { listeners.stop_accepting(); },
               [&](std::chrono::steady_clock::time_point deadline) {
                   // The sessions get three quarters of the time to answer what they received;
                   // the writer keeps the rest for the last commits.
                   const auto now = std::chrono::steady_clock::now();
                   listeners.drain(now + (deadline - now) * 3 / 4);
               }});

    if (config.api.enabled) {
        parts.add({"api",
                   [&] {
                       const auto start_db = api_connections.connect("fleetd api");
                       latest.load(*start_db);
                       directory.reload(*start_db);
                       directory_upkeep.start();
                       http.start();
                   },
                   [&] {
                       directory_upkeep.stop();
                       http.stop_accepting();
                   },
                   [&](std::chrono::steady_clock::time_point deadline) {
                       // Requests in progress get a third of what is left; the ingest's
                       // parts after it keep the rest.
                       const auto now = std::chrono::steady_clock::now();
                       http.drain(now + (deadline - now) / 3);
                   }});
    }

    // Changes to devices, credentials and vehicle names, by fleetctl, another fleetd or SQL, are
    // acted on as they are committed (migration 0020's notifications); the periodic reads above
    // remain the fallback.
    RegisterWatch register_watch(connections, {{"devices", [&] { device_upkeep.poke(); }},
                                               {"credentials",
                                                [&] {
                                                    if (config.api.enabled) {
                                                        http.forget_principals();
                                                    }
                                                }},
                                               {"directory", [&] {
                                                    if (config.api.enabled) {
                                                        directory_upkeep.poke();
                                                    }
                                                }}});
    metrics.add("register",
                [&register_watch](std::string& out) { register_watch.write_metrics(out); });
    // Its stop joins its thread (at most a connect timeout): in the drain, not stop_accepting.
    parts.add({"register changes",
               [&] { register_watch.start(); },
               {},
               [&](auto) { register_watch.stop(); }});

    int exit_code = 0;
    try {
        parts.start(config.shutdown_timeout);
        log::info("fleetd", "ready");
        stop.wait();
        parts.stop(stop_deadline());
    } catch (const Error& e) {
        log::error("fleetd", e.what());
        exit_code = 1;
    }
    workers.join();
    join_control();
    log::info("fleetd", exit_code == 0 ? "stopped" : "stopped after an error");
    return exit_code;
}

}  // namespace fleet::server
