// Arrival times after the engine: stored with the time each was made and judged on the
// arrivals afterwards (the eta-accuracy report), and consignees' webhooks — queued when the time
// is first known, when it moves, and on arrival; sent signed to a local receiver, retried with
// back-off, every attempt logged.
#include <doctest/doctest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>

#include "dispatch/eta_store.hpp"
#include "geo/error.hpp"
#include "geo/iso_time.hpp"
#include "server/eta_feed.hpp"
#include "server/webhooks.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

const dispatch::Millis eight(std::chrono::seconds(1'796'198'400));  // 2026-12-02T08:00:00Z

// Vehicle 7 on assignment 101, one trip of five stops (ids 1..5) six minutes apart.
struct Scene {
    test::MigratedDatabase db;
    std::shared_ptr<dispatch::Assignment> plan = std::make_shared<dispatch::Assignment>();

    Scene() {
        pqxx::work tx(db.conn());
        tx.exec0("INSERT INTO fleet.vehicles (vehicle_id, registration) VALUES (7, 'A123BC77')");
        for (int i = 1; i <= 5; ++i) {
            tx.exec0("INSERT INTO fleet.stops (stop_id, code, name, geom) VALUES (" +
                     std::to_string(i) + ", 'S" + std::to_string(i) + "', 'Stop " +
                     std::to_string(i) + "', ST_MakePoint(37.6, 55.7))");
        }
        tx.exec0(
            "INSERT INTO fleet.shift_assignments (assignment_id, service_date, vehicle_id,"
            " kind) VALUES (101, '2026-12-02', 7, 'timetable')");
        tx.commit();
        plan->assignment_id = 101;
        plan->vehicle_id = 7;
        plan->service_date = "2026-12-02";
        dispatch::TripPlan trip;
        trip.code = "T1";
        trip.route_code = "R12";
        for (int i = 0; i < 5; ++i) {
            dispatch::PlannedStop s;
            s.stop_id = i + 1;
            s.code = "S" + std::to_string(i + 1);
            s.name = "Stop " + std::to_string(i + 1);
            s.arrival = s.departure = eight + i * 6min;
            trip.stops.push_back(s);
        }
        plan->trips.push_back(trip);
    }
    dispatch::EtaRun run() const {
        return {.vehicle_id = 7,
                .assignment_id = 101,
                .service_date = "2026-12-02",
                .trip_index = 0,
                .trip_id = 0,
                .trip_code = "T1",
                .route_code = "R12",
                .freight = false,
                .plan = plan};
    }
    // Predictions made at `made`: each remaining stop from `first` at its timetable + `late`,
    // the baseline at its timetable + `base_late`.
    dispatch::EtaUpdate update(dispatch::Millis made, std::size_t first, std::chrono::seconds late,
                               std::chrono::seconds base_late) const {
        dispatch::EtaUpdate u{.run = run(), .made_at = made, .stops = {}, .baseline = {}};
        for (std::size_t i = first; i < 5; ++i) {
            const auto sched = plan->trips[0].stops[i].arrival;
            u.stops.push_back({i, static_cast<std::int64_t>(i + 1), sched, sched + late,
                               std::chrono::duration<double>(sched + late - made).count(),
                               dispatch::EtaMethod::progress});
            u.baseline.push_back(sched + base_late);
        }
        return u;
    }
    std::int64_t count(const std::string& sql) {
        pqxx::read_transaction tx(db.conn());
        return tx.exec1(sql)[0].as<std::int64_t>();
    }
};

// An HTTP receiver on 127.0.0.1: answers each request with the next status of its script
// (0: holds the connection without answering until it is closed), and keeps what it received.
struct Receiver {
    struct Request {
        std::string target, body, event, delivery, timestamp, signature;
    };
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
    std::mutex mutex;
    std::deque<int> script;
    std::vector<Request> received;
    std::atomic<bool> closing{false};
    std::vector<std::thread> threads;
    std::thread accept_thread;

    explicit Receiver(std::deque<int> statuses) : script(std::move(statuses)) {
        accept_thread = std::thread([this] {
            for (;;) {
                boost::system::error_code ec;
                asio::ip::tcp::socket socket(io);
                acceptor.accept(socket, ec);
                if (ec || closing) {
                    return;
                }
                threads.emplace_back([this, s = std::move(socket)]() mutable { serve(s); });
            }
        });
    }
    ~Receiver() {
        closing = true;
        // Wakes the accepting thread with one last connection.
        boost::system::error_code ec;
        asio::ip::tcp::socket poke(io);
        poke.connect(acceptor.local_endpoint(), ec);
        accept_thread.join();
        for (auto& t : threads) {
            t.join();
        }
    }
    std::string url(const std::string& path = "/hook") const {
        return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + path;
    }
    void serve(asio::ip::tcp::socket& socket) {
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        boost::system::error_code ec;
        http::read(socket, buffer, req, ec);
        if (ec) {
            return;
        }
        int status = 200;
        {
            std::lock_guard lock(mutex);
            received.push_back(
                {std::string(req.target()), req.body(), std::string(req["X-Fleet-Event"]),
                 std::string(req["X-Fleet-Delivery"]), std::string(req["X-Fleet-Timestamp"]),
                 std::string(req["X-Fleet-Signature"])});
            if (!script.empty()) {
                status = script.front();
                script.pop_front();
            }
        }
        if (status == 0) {
            while (!closing) {
                std::this_thread::sleep_for(20ms);
            }
            return;
        }
        http::response<http::string_body> res{static_cast<http::status>(status), 11};
        res.body() = "ok";
        res.prepare_payload();
        http::write(socket, res, ec);
    }
};

std::int64_t subscribe(pqxx::connection& conn, const std::string& url, std::int64_t stop = 3,
                       int min_change_s = 120) {
    pqxx::work tx(conn);
    const auto id =
        server::create_eta_subscription(tx, {.consignee = "Warehouse 4",
                                             .stop_id = stop,
                                             .url = url,
                                             .secret = "s3cret-shared-with-the-consignee",
                                             .min_change_s = min_change_s,
                                             .actor = "test"});
    tx.commit();
    return id;
}

server::WebhookOptions fast_options() {
    server::WebhookOptions o;
    o.timeout = 1000ms;
    o.retry_base = 1000ms;
    o.max_attempts = 3;
    o.allow_private = true;  // the test receivers are on 127.0.0.1
    return o;
}

}  // namespace

TEST_CASE("HMAC-SHA256 as RFC 4231 gives it, and the signature covers the timestamp") {
    CHECK(server::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(server::webhook_signature("k", "1700000000", "{}") ==
          "sha256=" + server::hmac_sha256_hex("k", "1700000000.{}"));
    CHECK(server::webhook_signature("k", "1700000001", "{}") !=
          server::webhook_signature("k", "1700000000", "{}"));
}

TEST_CASE("webhook URLs: http or https, a host, a port in range, nothing hidden") {
    const auto u = server::parse_webhook_url("https://hooks.example.com:8443/eta?key=1");
    CHECK(u.tls);
    CHECK(u.host == "hooks.example.com");
    CHECK(u.port == 8443);
    CHECK(u.target == "/eta?key=1");
    const auto plain = server::parse_webhook_url("http://10.0.0.5");
    CHECK_FALSE(plain.tls);
    CHECK(plain.port == 80);
    CHECK(plain.target == "/");
    CHECK(server::parse_webhook_url("http://[::1]:9000/x").host == "::1");
    const std::vector<std::string> bads = {"ftp://example.com/",
                                           "example.com/hook",
                                           "http:///path",
                                           "http://user:pw@example.com/",
                                           "http://example.com/a b",
                                           "http://example.com:0/",
                                           "http://example.com:70000/",
                                           "http://example.com/#frag",
                                           "http://exa mple.com/",
                                           "http://[::1/",
                                           "http://example.com:/",
                                           "http://example.com/" + std::string(3000, 'a')};
    for (const auto& bad : bads) {
        CAPTURE(bad);
        CHECK_THROWS_AS(server::parse_webhook_url(bad), InputError);
    }
}

TEST_CASE("webhook receivers: public addresses only, unless private ones are allowed") {
    for (const char* blocked : {"127.0.0.1",
                                "127.1.2.3",
                                "0.0.0.0",
                                "10.0.0.5",
                                "172.16.0.1",
                                "172.31.255.255",
                                "192.168.1.1",
                                "169.254.169.254",
                                "100.64.0.1",
                                "100.127.255.254",
                                "192.0.2.7",
                                "198.18.0.1",
                                "198.51.100.1",
                                "203.0.113.9",
                                "224.0.0.1",
                                "239.255.255.250",
                                "240.0.0.1",
                                "255.255.255.255",
                                "::1",
                                "::",
                                "fe80::1",
                                "fc00::1",
                                "fd12:3456::1",
                                "ff02::1",
                                "2001:db8::1",
                                "::ffff:127.0.0.1",
                                "::ffff:10.1.2.3",
                                "::ffff:169.254.169.254",
                                "64:ff9b::7f00:1",
                                "64:ff9b::a9fe:a9fe"}) {
        CAPTURE(blocked);
        CHECK_FALSE(server::is_public_receiver(asio::ip::make_address(blocked)));
    }
    for (const char* open : {"8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255",
                             "100.128.0.1", "192.169.0.1", "11.0.0.1", "2a00:1450:4001::200e",
                             "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
        CAPTURE(open);
        CHECK(server::is_public_receiver(asio::ip::make_address(open)));
    }
}

TEST_SUITE("db") {
    TEST_CASE("arrival times stored as made, judged on the arrivals, ours against the baseline") {
        Scene scene;
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        // At 08:06, 4 min before the bus reaches stop 3 (scheduled 08:12, it comes at 08:10):
        // ours says 08:10:30 (30 s off: in the band), the baseline 08:13:20 (200 s: out).
        const auto made = eight + 6min;
        feed.on_eta({scene.update(made, 2, -90s, 80s)}, {});
        // 5 s later the same again: not stored (nothing moved, too soon).
        feed.on_eta({scene.update(made + 5s, 2, -90s, 80s)}, {});
        feed.step(scene.db.conn());
        CHECK(scene.count("SELECT count(*) FROM fleet.eta_predictions") == 3);  // stops 3, 4, 5
        // A move of 90 s is stored at once.
        feed.on_eta({scene.update(made + 10s, 2, 0s, 80s)}, {});
        feed.step(scene.db.conn());
        CHECK(scene.count("SELECT count(*) FROM fleet.eta_predictions") == 6);
        // The bus reaches stop 3 at 08:10; reported twice, kept once.
        dispatch::StopArrival at3{scene.run(), 2, eight + 10min};
        feed.on_eta({}, {at3, at3});
        feed.step(scene.db.conn());
        CHECK(scene.count("SELECT count(*) FROM fleet.stop_arrivals") == 1);

        pqxx::read_transaction tx(scene.db.conn());
        const auto buckets = dispatch::eta_accuracy(tx, eight, eight + 1h);
        REQUIRE(buckets.size() == 6);
        CHECK(buckets[0].predictions == 0);
        // Both predictions for stop 3 were made about 4 minutes before it: bucket 3–6.
        const auto& b = buckets[1];
        CHECK(b.from_min == 3);
        CHECK(b.predictions == 2);
        CHECK(b.ours_in_band == 1);  // 30 s off at 08:06; 120 s off at 08:06:10 is out
        CHECK(b.baseline_in_band == 0);
        CHECK(b.ours_mae_s == doctest::Approx((30 + 120) / 2.0));
        CHECK(b.baseline_mae_s == doctest::Approx(200));
        CHECK_THROWS_AS(dispatch::eta_accuracy(tx, eight, eight), InputError);
        CHECK_THROWS_AS(dispatch::eta_accuracy(tx, eight, eight + std::chrono::days(93)),
                        InputError);
    }

    TEST_CASE("old predictions are deleted in chunks; newer ones and the arrivals stay") {
        Scene scene;
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        // Made at 08:06, 08:07 and 08:08, each for stops 3, 4 and 5 (each moved by 90 s, so
        // each is stored).
        feed.on_eta({scene.update(eight + 6min, 2, -90s, 80s)}, {});
        feed.step(scene.db.conn());
        feed.on_eta({scene.update(eight + 7min, 2, 0s, 80s)}, {});
        feed.step(scene.db.conn());
        feed.on_eta({scene.update(eight + 8min, 2, 90s, 80s)}, {});
        feed.step(scene.db.conn());
        dispatch::StopArrival at3{scene.run(), 2, eight + 10min};
        feed.on_eta({}, {at3});
        feed.step(scene.db.conn());
        REQUIRE(scene.count("SELECT count(*) FROM fleet.eta_predictions") == 9);

        // Before 08:07:30 in chunks of 2 rows: the six of 08:06 and 08:07 go, in three full
        // chunks and an empty one.
        CHECK(dispatch::prune_predictions(scene.db.conn(), eight + 7min + 30s, 2) == 6);
        CHECK(scene.count("SELECT count(*) FROM fleet.eta_predictions") == 3);
        CHECK(scene.count("SELECT count(*) FROM fleet.eta_predictions WHERE made_at = '" +
                          geo::iso_utc(eight + 8min) + "'") == 3);
        CHECK(scene.count("SELECT count(*) FROM fleet.stop_arrivals") == 1);
        // Nothing older is left: nothing more goes.
        CHECK(dispatch::prune_predictions(scene.db.conn(), eight + 7min + 30s) == 0);
        CHECK_THROWS_AS(dispatch::prune_predictions(scene.db.conn(), eight, 0), InputError);
        CHECK(scene.count("SELECT count(*) FROM fleet.eta_predictions") == 3);
    }

    TEST_CASE("a consignee's webhooks: first known, moved beyond the threshold, arrived") {
        Scene scene;
        const auto sub = subscribe(scene.db.conn(), "https://consignee.example/eta", 3, 120);
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        feed.on_eta({scene.update(eight + 1min, 1, 0s, 0s)}, {});
        feed.on_eta({scene.update(eight + 2min, 1, 60s, 0s)}, {});   // moved 60 s: nothing
        feed.on_eta({scene.update(eight + 3min, 1, 200s, 0s)}, {});  // 200 s from the sent one
        feed.on_eta({}, {{scene.run(), 2, eight + 15min}});
        feed.step(scene.db.conn());
        pqxx::read_transaction tx(scene.db.conn());
        const auto rows = tx.exec_params(
            "SELECT event, payload->>'estimated_arrival', payload->>'previous_estimate',"
            " payload->>'arrived_at', payload->'stop'->>'code', state"
            " FROM fleet.webhook_deliveries WHERE subscription_id = $1 ORDER BY delivery_id",
            sub);
        REQUIRE(rows.size() == 3);
        CHECK(rows[0][0].as<std::string>() == "eta");
        CHECK(rows[0][1].as<std::string>() == "2026-12-02T08:12:00Z");
        CHECK(rows[0][4].as<std::string>() == "S3");
        CHECK(rows[1][0].as<std::string>() == "eta_changed");
        CHECK(rows[1][1].as<std::string>() == "2026-12-02T08:15:20Z");
        CHECK(rows[1][2].as<std::string>() == "2026-12-02T08:12:00Z");
        CHECK(rows[2][0].as<std::string>() == "arrived");
        CHECK(rows[2][3].as<std::string>() == "2026-12-02T08:15:00Z");
        CHECK(rows[2][5].as<std::string>() == "pending");
        // The subscription is in the journal, with the consignee as the counterpart.
        CHECK(tx.exec1("SELECT count(*) FROM fleet.journal WHERE kind = 'consignee'"
                       " AND counterpart = 'Warehouse 4'")[0]
                  .as<int>() == 1);
    }

    TEST_CASE("bad subscriptions are refused with the reason and store nothing") {
        Scene scene;
        auto refused = [&](server::EtaSubscriptionInput in, const std::string& says) {
            pqxx::work tx(scene.db.conn());
            try {
                server::create_eta_subscription(tx, in);
                FAIL("accepted: " << in.url);
            } catch (const InputError& e) {
                CHECK(std::string(e.what()).find(says) != std::string::npos);
            }
        };
        const server::EtaSubscriptionInput good{.consignee = "W",
                                                .stop_id = 3,
                                                .url = "http://127.0.0.1:9/x",
                                                .secret = "0123456789abcdef",
                                                .actor = "test"};
        auto in = good;
        in.url = "ftp://example.com/";
        refused(in, "http or https");
        in = good;
        in.secret = "short";
        refused(in, "16 to 256");
        in = good;
        in.stop_id = 99;
        refused(in, "no stop 99");
        in = good;
        in.assignment_id = 101;
        in.seq = 1;
        refused(in, "one of the two");
        in = good;
        in.min_change_s = 1;
        refused(in, "min-change");
        in = good;
        in.consignee = "";
        refused(in, "consignee");
        CHECK(scene.count("SELECT count(*) FROM fleet.eta_subscriptions") == 0);
        CHECK(scene.count("SELECT count(*) FROM fleet.journal WHERE kind = 'consignee'") == 0);
    }

    TEST_CASE("webhooks signed, retried with back-off until delivered, every attempt logged") {
        Scene scene;
        Receiver receiver({500, 500, 200});
        const auto sub = subscribe(scene.db.conn(), receiver.url());
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        feed.on_eta({scene.update(eight + 1min, 1, 0s, 0s)}, {});
        feed.step(scene.db.conn());
        server::WebhookSender sender(geo::ConnectionFactory({.url = scene.db.url()}),
                                     fast_options());
        auto due_in_s = [&] {
            pqxx::read_transaction tx(scene.db.conn());
            return tx
                .exec1(
                    "SELECT extract(epoch FROM next_attempt_at - now())::float8"
                    " FROM fleet.webhook_deliveries")[0]
                .as<double>();
        };
        auto make_due = [&] {
            pqxx::work tx(scene.db.conn());
            tx.exec0("UPDATE fleet.webhook_deliveries SET next_attempt_at = now()");
            tx.commit();
        };
        CHECK(sender.run_once(scene.db.conn()) == 1);
        CHECK(due_in_s() == doctest::Approx(1.0).epsilon(0.4));  // retry_base
        CHECK(sender.run_once(scene.db.conn()) == 0);            // not due yet
        make_due();
        CHECK(sender.run_once(scene.db.conn()) == 1);
        CHECK(due_in_s() == doctest::Approx(2.0).epsilon(0.3));  // doubled
        make_due();
        CHECK(sender.run_once(scene.db.conn()) == 1);

        pqxx::read_transaction tx(scene.db.conn());
        const auto d = tx.exec1(
            "SELECT state, attempts, delivered_at IS NOT NULL, payload::text, delivery_id"
            " FROM fleet.webhook_deliveries");
        CHECK(d[0].as<std::string>() == "delivered");
        CHECK(d[1].as<int>() == 3);
        CHECK(d[2].as<bool>());
        const auto log = tx.exec(
            "SELECT attempt, http_status, error, duration_ms"
            " FROM fleet.webhook_attempts ORDER BY attempt");
        REQUIRE(log.size() == 3);
        CHECK(log[0][1].as<int>() == 500);
        CHECK(log[0][2].as<std::string>() == "HTTP 500");
        CHECK(log[1][1].as<int>() == 500);
        CHECK(log[2][1].as<int>() == 200);
        CHECK(log[2][2].is_null());

        // What the receiver got: the same delivery each time, the body as stored, the signature
        // of its timestamp and body with the shared secret.
        std::lock_guard lock(receiver.mutex);
        REQUIRE(receiver.received.size() == 3);
        for (const auto& r : receiver.received) {
            CHECK(r.target == "/hook");
            CHECK(r.event == "eta");
            CHECK(r.delivery == d[4].as<std::string>());
            CHECK(r.body == d[3].as<std::string>());
            CHECK(r.signature ==
                  "sha256=" + server::hmac_sha256_hex("s3cret-shared-with-the-consignee",
                                                      r.timestamp + "." + r.body));
            const auto sent_at = std::stoll(r.timestamp);
            CHECK(std::abs(sent_at - std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count()) < 60);
        }
        (void)sub;
    }

    TEST_CASE("a receiver on a private address is refused by default and gets nothing") {
        Scene scene;
        Receiver receiver({200, 200});
        subscribe(scene.db.conn(), receiver.url());
        // "localhost" resolves to loopback addresses only: refused after resolving too.
        const auto port = receiver.url().substr(receiver.url().rfind(':'));
        subscribe(scene.db.conn(), "http://localhost" + port, 4);
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        feed.on_eta({scene.update(eight + 1min, 1, 0s, 0s)}, {});
        feed.step(scene.db.conn());
        auto options = fast_options();
        options.allow_private = false;
        server::WebhookSender sender(geo::ConnectionFactory({.url = scene.db.url()}), options);
        CHECK(sender.run_once(scene.db.conn()) == 2);
        {
            std::lock_guard lock(receiver.mutex);
            CHECK(receiver.received.empty());
        }
        pqxx::read_transaction tx(scene.db.conn());
        const auto log = tx.exec(
            "SELECT d.state, a.http_status IS NULL, a.error FROM fleet.webhook_deliveries d"
            " JOIN fleet.webhook_attempts a USING (delivery_id) ORDER BY a.error");
        REQUIRE(log.size() == 2);
        for (const auto& row : log) {
            CHECK(row[0].as<std::string>() == "pending");  // tried again, like a closed port
            CHECK(row[1].as<bool>());
            CAPTURE(row[2].as<std::string>());
            CHECK(row[2].as<std::string>().find("not a public address") != std::string::npos);
            CHECK(row[2].as<std::string>().find("webhook-private-receivers = allow") !=
                  std::string::npos);
        }
        CHECK(log[0][2].as<std::string>().starts_with("refused: 127.0.0.1 is at 127.0.0.1"));
        CHECK(log[1][2].as<std::string>().starts_with("refused: localhost is at "));
    }

    TEST_CASE("a hanging receiver holds up no other; refused, gone and used-up attempts") {
        Scene scene;
        Receiver hanging({0, 0});
        Receiver fast({200});
        Receiver gone({410});
        subscribe(scene.db.conn(), hanging.url(), 2);
        subscribe(scene.db.conn(), fast.url(), 3);
        const auto gone_sub = subscribe(scene.db.conn(), gone.url(), 4);
        // A port nobody listens on: the receiver's acceptor, closed.
        std::string closed_url;
        {
            asio::io_context io;
            asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
            closed_url = "http://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/";
        }
        subscribe(scene.db.conn(), closed_url, 5);
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        feed.on_eta({scene.update(eight + 1min, 1, 0s, 0s)}, {});
        feed.step(scene.db.conn());
        auto options = fast_options();
        options.max_attempts = 2;
        server::WebhookSender sender(geo::ConnectionFactory({.url = scene.db.url()}), options);
        CHECK(sender.run_once(scene.db.conn()) == 4);

        pqxx::work tx(scene.db.conn());
        auto outcome = [&](const std::string& url) {
            return tx.exec_params1(
                "SELECT d.state, a.http_status, coalesce(a.error, ''), a.duration_ms"
                " FROM fleet.webhook_deliveries d JOIN fleet.eta_subscriptions s"
                " USING (subscription_id) JOIN fleet.webhook_attempts a USING (delivery_id)"
                " WHERE s.url = $1",
                url);
        };
        const auto f = outcome(fast.url());
        CHECK(f[0].as<std::string>() == "delivered");
        CHECK(f[3].as<int>() < 800);  // not held by the hanging one
        const auto h = outcome(hanging.url());
        CHECK(h[0].as<std::string>() == "pending");
        CHECK(h[1].is_null());
        CHECK(h[2].as<std::string>() == "no answer within 1000 ms");
        CHECK(h[3].as<int>() >= 900);
        const auto g = outcome(gone.url());
        CHECK(g[0].as<std::string>() == "failed");
        CHECK(g[1].as<int>() == 410);
        CHECK_FALSE(tx.exec_params1("SELECT active FROM fleet.eta_subscriptions"
                                    " WHERE subscription_id = $1",
                                    gone_sub)[0]
                        .as<bool>());
        const auto c = outcome(closed_url);
        CHECK(c[0].as<std::string>() == "pending");
        CHECK(c[2].as<std::string>().find("connecting") == 0);
        // The second attempt is the last: failed with its reason.
        tx.exec0("UPDATE fleet.webhook_deliveries SET next_attempt_at = now()");
        tx.commit();
        CHECK(sender.run_once(scene.db.conn()) == 2);  // the hanging one and the refused one
        CHECK(scene.count("SELECT count(*) FROM fleet.webhook_deliveries WHERE state = 'failed'"
                          " AND last_error IS NOT NULL") == 3);
        CHECK(scene.count("SELECT count(*) FROM fleet.webhook_attempts") == 6);
    }

    TEST_CASE("a receiver's name that is not resolved in time holds up no other receiver") {
        Scene scene;
        Receiver fast({200});
        const auto port = std::to_string(fast.acceptor.local_endpoint().port());
        subscribe(scene.db.conn(), "http://never.example:" + port + "/hook", 2);
        subscribe(scene.db.conn(), "http://fast.example:" + port + "/hook", 3);
        subscribe(scene.db.conn(), "http://nowhere.example:" + port + "/hook", 4);
        server::EtaFeed feed(geo::ConnectionFactory({.url = scene.db.url()}));
        feed.on_eta({scene.update(eight + 1min, 1, 0s, 0s)}, {});
        feed.step(scene.db.conn());
        // A name server that never answers for one name, one that knows none for another.
        auto release = std::make_shared<std::atomic<bool>>(false);
        struct Release {
            std::shared_ptr<std::atomic<bool>> flag;
            ~Release() { *flag = true; }
        } release_at_end{release};
        auto options = fast_options();
        options.resolve = [release](const std::string& host) {
            if (host == "never.example") {
                while (!*release) {
                    std::this_thread::sleep_for(10ms);
                }
                throw std::runtime_error("given up");
            }
            if (host == "nowhere.example") {
                throw std::runtime_error("Name or service not known");
            }
            return std::vector<asio::ip::address>{asio::ip::make_address("127.0.0.1")};
        };
        server::WebhookSender sender(geo::ConnectionFactory({.url = scene.db.url()}), options);
        const auto began = std::chrono::steady_clock::now();
        CHECK(sender.run_once(scene.db.conn()) == 3);
        CHECK(std::chrono::steady_clock::now() - began < 1900ms);  // the deadline, 1 s, holds

        auto outcome = [&](const std::string& host) {
            pqxx::read_transaction tx(scene.db.conn());
            return tx.exec_params1(
                "SELECT d.state, coalesce(a.error, ''), a.duration_ms"
                " FROM fleet.webhook_deliveries d JOIN fleet.eta_subscriptions s"
                " USING (subscription_id) JOIN fleet.webhook_attempts a USING (delivery_id)"
                " WHERE s.url LIKE $1 ORDER BY a.attempt DESC LIMIT 1",
                "http://" + host + ":%");
        };
        const auto f = outcome("fast.example");
        CHECK(f[0].as<std::string>() == "delivered");
        CHECK(f[2].as<int>() < 800);
        const auto n = outcome("never.example");
        CHECK(n[0].as<std::string>() == "pending");
        CHECK(n[1].as<std::string>() == "resolving never.example: no answer within 1000 ms");
        CHECK(n[2].as<int>() >= 900);
        const auto w = outcome("nowhere.example");
        CHECK(w[0].as<std::string>() == "pending");
        CHECK(w[1].as<std::string>() == "resolving nowhere.example: Name or service not known");
        {
            std::lock_guard lock(fast.mutex);
            CHECK(fast.received.size() == 1);
        }

        // The lookups still hanging are bounded: past max_lookups, an attempt is refused at once.
        auto bounded = options;
        bounded.max_lookups = 1;
        server::WebhookSender second(geo::ConnectionFactory({.url = scene.db.url()}), bounded);
        for (int round = 0; round < 2; ++round) {
            pqxx::work tx(scene.db.conn());
            // The never-resolved one due now, the other one out of the way.
            tx.exec0(
                "UPDATE fleet.webhook_deliveries d SET next_attempt_at = CASE WHEN s.url"
                " LIKE 'http://never.example:%' THEN now() ELSE now() + interval '1 hour'"
                " END FROM fleet.eta_subscriptions s WHERE s.subscription_id ="
                " d.subscription_id AND d.state = 'pending'");
            tx.commit();
            CHECK(second.run_once(scene.db.conn()) == 1);
        }
        CHECK(outcome("never.example")[1].as<std::string>() ==
              "resolving never.example: 1 earlier name lookups still pending; tried again later");
    }
}
