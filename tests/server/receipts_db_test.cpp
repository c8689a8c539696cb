#include <doctest/doctest.h>

#include <boost/asio/thread_pool.hpp>

#include "dispatch/fleet_register.hpp"
#include "server/receipts.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace std::chrono_literals;

TEST_SUITE("db") {
    TEST_CASE("a terminal's receipt is recorded on its delivery; others are counted, not stored") {
        test::MigratedDatabase db;
        const std::int64_t vehicle =
            dispatch::add_vehicle(db.conn(), {.registration = "R1"}, "test");
        const std::int64_t driver = dispatch::add_driver(
            db.conn(), {.personnel_number = "D-1", .fields = {.full_name = "D"}}, "test");
        {
            pqxx::work tx(db.conn());
            tx.exec_params(
                "INSERT INTO fleet.notices (notice_id, title, body, valid_from,"
                " created_by) VALUES (7, 'Ice', 'Ice on the bridge', now(), 'test')");
            tx.exec_params(
                "INSERT INTO fleet.notices (notice_id, title, body, valid_from,"
                " created_by) VALUES (9, 'Fog', 'Fog on the ring road', now(), 'test')");
            tx.exec_params(
                "INSERT INTO fleet.notice_deliveries (notice_id, driver_id,"
                " vehicle_id, sent_at) VALUES (7, $1, $2, now()), (9, $1, $2, now())",
                driver, vehicle);
            tx.commit();
        }
        const ingest::Millis now(std::chrono::milliseconds(1764590400000));  // 2025-12-01 12:00Z
        boost::asio::thread_pool workers(2);
        server::ReceiptRecorder receipts(geo::ConnectionFactory({.url = db.url()}),
                                         workers.get_executor(), [now] { return now; });
        // Read a minute ago, confirmed by the driver.
        receipts.on_receipt(vehicle, {7, now - std::chrono::minutes(1), true});
        // A terminal clock hours ahead: read now, as far as the server knows.
        receipts.on_receipt(vehicle, {9, now + std::chrono::hours(9), false});
        // No such delivery: another vehicle, another notice, an id no bigint holds.
        receipts.on_receipt(vehicle + 1, {7, now, true});
        receipts.on_receipt(vehicle, {8, now, false});
        receipts.on_receipt(vehicle, {~0ULL, now, false});
        receipts.drain(std::chrono::steady_clock::now() + 5s);
        const auto f = receipts.figures();
        CHECK(f.recorded == 2);
        CHECK(f.unmatched == 3);
        CHECK(f.failed == 0);
        pqxx::read_transaction tx(db.conn());
        const auto row = tx.exec1(
            "SELECT extract(epoch FROM read_at)::bigint, accepted, delivered_at IS NOT NULL"
            " FROM fleet.notice_deliveries WHERE notice_id = 7");
        CHECK(row[0].as<long long>() == 1764590340);
        CHECK(row[1].as<bool>());
        CHECK(row[2].as<bool>());
        CHECK(tx.exec1("SELECT extract(epoch FROM read_at)::bigint, accepted FROM"
                       " fleet.notice_deliveries WHERE notice_id = 9")[0]
                  .as<long long>() == 1764590400);
        workers.join();
    }

    TEST_CASE("a flood of receipts from a terminal is bounded, each counted") {
        test::MigratedDatabase db;
        boost::asio::thread_pool workers(1);
        const ingest::Millis now(std::chrono::milliseconds(1764590400000));
        server::ReceiptRecorder receipts(
            geo::ConnectionFactory({.url = db.url()}), workers.get_executor(),
            [now] { return now; },
            /*max_pending=*/3);
        for (int i = 0; i < 50; ++i) {
            receipts.on_receipt(
                1, {static_cast<std::uint64_t>(i), now + std::chrono::hours(9), false});
        }
        receipts.drain(std::chrono::steady_clock::now() + 5s);
        const auto f = receipts.figures();
        CHECK(f.dropped >= 47 - 3);  // at most a few were being recorded as the flood came
        CHECK(f.recorded + f.unmatched + f.dropped + f.failed == 50);
        workers.join();
    }
}
