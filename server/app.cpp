#include "server/app.hpp"

#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "geo/migrations.hpp"
#include "server/database.hpp"

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

    PartitionKeeper partitions(ioc, *db, config.partition_months_ahead);
    asio::post(ioc, [&] {
        partitions.start();
        on_stop = [&] {
            partitions.stop();
            ioc.stop();
        };
        if (stopping) {
            on_stop();
        }
        log::info("fleetd", "ready");
    });
    io_thread.join();
    log::info("fleetd", "stopped");
    return 0;
}

}  // namespace fleet::server
