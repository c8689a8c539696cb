// The position writer against a real PostGIS: binary COPY stores what the text path stored,
// records the database refuses are quarantined without blocking the others, the merge rule of
// two records at one key, device status, the queue bound and cancel, and deadlines on every
// call into the database.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "ingest/detail/copy_binary.hpp"
#include "ingest/writer.hpp"
#include "tests/support/db.hpp"

using namespace fleet;
using namespace fleet::ingest;
using namespace std::chrono_literals;

namespace {

const Millis t0{std::chrono::milliseconds(1'764'000'000'000)};  // 2025-11-24 16:00 UTC

// What a submission's completion reported, awaited with a timeout. The completion holds the
// state, so that a test that fails early leaves nothing dangling for the writer.
struct Done {
    struct State {
        std::mutex mutex;
        std::condition_variable cv;
        std::optional<WriteResult> result;
        int calls = 0;
    };
    std::shared_ptr<State> state = std::make_shared<State>();

    PositionWriter::Completion callback() const {
        return [s = state](const WriteResult& r) {
            std::lock_guard lock(s->mutex);
            s->result = r;
            ++s->calls;
            s->cv.notify_all();
        };
    }
    std::optional<WriteResult> wait(std::chrono::milliseconds timeout = 10s) const {
        std::unique_lock lock(state->mutex);
        state->cv.wait_for(lock, timeout, [&] { return state->result.has_value(); });
        return state->result;
    }
    std::optional<WriteResult> result() const {
        std::lock_guard lock(state->mutex);
        return state->result;
    }
    bool called() const { return result().has_value(); }
};

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 5000ms) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

Position fix(Millis t, double lat = 59.93, double lon = 30.31) {
    Position p;
    p.device_time = t;
    p.latitude_deg = lat;
    p.longitude_deg = lon;
    p.satellites = 9;
    return p;
}

Packet packet(std::int64_t vehicle, std::vector<Position> positions,
              const std::string& device = "356307042441013", const std::string& raw_hex = "") {
    Packet p;
    p.vehicle_id = vehicle;
    p.protocol = "teltonika";
    p.device = device;
    if (!raw_hex.empty()) {
        p.raw = std::make_shared<const Bytes>(from_hex(raw_hex));
    }
    for (auto& pos : positions) {
        p.positions.push_back({vehicle, std::move(pos)});
    }
    return p;
}

WriterConfig quick_config() {
    WriterConfig c;
    c.max_wait = 5ms;
    c.quiet = 1000us;
    c.reconnect = {50ms, 100ms, 0ms};
    return c;
}

// A writer on a scratch database with vehicles 1..20.
struct Fixture {
    test::MigratedDatabase db;
    Counters counters;
    ProtocolCounters& protocol = counters.protocol("teltonika");
    PositionWriter writer;

    explicit Fixture(WriterConfig config = quick_config())
        : writer(geo::ConnectionFactory({.url = db.url()}), config, counters) {
        pqxx::work tx(db.conn());
        tx.exec(
            "INSERT INTO fleet.vehicles (vehicle_id, registration)"
            " SELECT g, 'V' || g FROM generate_series(1, 20) g");
        tx.commit();
    }
    ~Fixture() { writer.stop(2s); }

    WriteResult write(Packet p) {
        p.counters = &protocol;
        Done done;
        writer.submit(std::move(p), done.callback());
        const auto r = done.wait();
        REQUIRE(r.has_value());
        return *r;
    }
    void submit(Packet p, Done& done) {
        p.counters = &protocol;
        writer.submit(std::move(p), done.callback());
    }
    long count(const std::string& sql) {
        pqxx::read_transaction tx(db.conn());
        return tx.exec1(sql)[0].as<long>();
    }
    std::string text(const std::string& sql) {
        pqxx::read_transaction tx(db.conn());
        const auto row = tx.exec1(sql);
        return row[0].is_null() ? "NULL" : row[0].c_str();
    }
};

// The text COPY formatting the writer used before binary COPY, kept here to compare with.
std::string text_number(double v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

std::optional<std::string> text_of(const std::optional<double>& v) {
    return v ? std::optional(text_number(*v)) : std::nullopt;
}

std::string text_point_ewkb(double lon, double lat) {
    std::string out = "0101000020E6100000";
    static constexpr char digits[] = "0123456789ABCDEF";
    for (double v : {lon, lat}) {
        const auto bits = std::bit_cast<std::uint64_t>(v);
        for (int i = 0; i < 8; ++i) {
            const auto byte = static_cast<unsigned>((bits >> (8 * i)) & 0xff);
            out += digits[byte >> 4];
            out += digits[byte & 15];
        }
    }
    return out;
}

// Inserts `p` for `vehicle` the way the text COPY path did: every value as the text it wrote.
void insert_as_text(pqxx::work& tx, std::int64_t vehicle, const Position& p) {
    const auto bool_text = [](const std::optional<bool>& b) {
        return b ? std::optional<std::string>(*b ? "t" : "f") : std::nullopt;
    };
    const std::string time = detail::iso_utc(p.device_time);
    tx.exec_params(
        "INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, course_deg,"
        " altitude_m, satellites, valid, odometer_m, fuel_l, ignition, attributes) VALUES"
        " ($1, $2::timestamptz, $3::geometry, $4::real, $5::real, $6::real, $7::smallint,"
        " $8::boolean, $9::double precision, $10::real, $11::boolean, $12::jsonb)",
        vehicle, time, text_point_ewkb(p.longitude_deg, p.latitude_deg), text_of(p.speed_kmh),
        text_of(p.course_deg), text_of(p.altitude_m),
        p.satellites ? std::optional(std::to_string(*p.satellites)) : std::nullopt,
        p.valid ? "t" : "f", text_of(p.odometer_m), text_of(p.fuel_l), bool_text(p.ignition),
        p.attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// Accepts TCP connections on 127.0.0.1 and never answers: a black-holed or frozen server.
class SilentListener {
  public:
    SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd pfd{fd_, POLLIN, 0};
                if (::poll(&pfd, 1, 50) > 0) {
                    const int c = ::accept(fd_, nullptr, nullptr);
                    if (c >= 0) {
                        std::lock_guard lock(mutex_);
                        accepted_.push_back(c);
                    }
                }
            }
        });
    }
    ~SilentListener() {
        stop_ = true;
        thread_.join();
        for (int c : accepted_) {
            ::close(c);
        }
        ::close(fd_);
    }
    std::uint16_t port() const { return port_; }
    std::size_t accepted() {
        std::lock_guard lock(mutex_);
        return accepted_.size();
    }

  private:
    int fd_;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<int> accepted_;
    std::thread thread_;
};

}  // namespace

TEST_CASE("writer: a full queue refuses a packet at once, counted; a status counts as one") {
    Counters counters;
    WriterConfig config;
    config.max_queued = 10;
    // Never started: nothing leaves the queue, nothing connects.
    PositionWriter writer(geo::ConnectionFactory({.url = "host=/nonexistent dbname=fleet"}), config,
                          counters);
    std::vector<Position> six;
    for (int i = 0; i < 6; ++i) {
        six.push_back(fix(t0 + std::chrono::seconds(i)));
    }
    Done first;
    CHECK(writer.submit(packet(1, six), first.callback()) != 0);
    CHECK_FALSE(first.called());
    CHECK(writer.queued_positions() == 6);
    CHECK(counters.writer_queue_records == 6);

    Done too_many;
    std::vector<Position> five(5, fix(t0));
    CHECK(writer.submit(packet(2, five), too_many.callback()) == 0);
    REQUIRE(too_many.called());  // at once, on this thread
    CHECK(too_many.result()->refused);
    CHECK_FALSE(too_many.result()->committed);
    CHECK(counters.queue_refusals == 1);

    Done status_only;
    Packet status = packet(3, {});
    status.status = DeviceStatus{t0, {{"gsm_level", 3}}};
    CHECK(writer.submit(std::move(status), status_only.callback()) != 0);
    CHECK(writer.queued_positions() == 7);
    Done four;
    CHECK(writer.submit(packet(4, std::vector<Position>(4, fix(t0))), four.callback()) == 0);
    CHECK(four.result()->refused);
    CHECK(counters.queue_refusals == 2);

    Done empty;
    CHECK(writer.submit(packet(5, {}), empty.callback()) == 0);
    CHECK(empty.result()->committed);  // nothing to store: done at once
    CHECK(counters.prometheus_text().find("fleet_ingest_queue_refusals_total 2\n") !=
          std::string::npos);
}

TEST_CASE("writer: a silent server costs the deadline; stop completes uncommitted in time") {
    SilentListener silent;
    Counters counters;
    WriterConfig config = quick_config();
    config.statement_margin = 100ms;
    geo::DatabaseOptions options;
    options.url = "host=127.0.0.1 port=" + std::to_string(silent.port()) +
                  " dbname=fleet user=fleet sslmode=disable";
    options.connect_timeout = 0s;  // the connect deadline is then the statement timeout's
    options.statement_timeout = 200ms;
    PositionWriter writer(geo::ConnectionFactory(options), config, counters);
    writer.start();
    Done done;
    Packet p = packet(1, {fix(t0)});
    writer.submit(std::move(p), done.callback());

    // Each attempt connects, waits 300 ms for an answer that never comes, drops the
    // connection and backs off.
    CHECK(eventually([&] { return counters.statement_timeouts >= 2; }));
    CHECK(silent.accepted() >= 2);
    CHECK_FALSE(done.called());
    CHECK(counters.batches_committed == 0);
    CHECK(counters.prometheus_text().find("fleet_ingest_statement_timeouts_total") !=
          std::string::npos);

    const auto before = std::chrono::steady_clock::now();
    writer.stop(250ms);
    const auto took = std::chrono::steady_clock::now() - before;
    CHECK(took < 250ms + 150ms);
    REQUIRE(done.called());
    CHECK_FALSE(done.result()->committed);
    CHECK_FALSE(done.result()->refused);
}

TEST_SUITE("db") {
    TEST_CASE("writer: binary COPY stores every column exactly as the text path did") {
        Fixture f;
        std::vector<Position> odd;
        odd.push_back(fix(t0));  // every optional column NULL, attributes {}
        odd.back().satellites.reset();
        auto all = fix(t0 + 1s, -33.8688, 151.2093);
        all.speed_kmh = 12.5;
        all.course_deg = 359.9;
        all.altitude_m = -12.25;
        all.satellites = 12;
        all.valid = false;
        all.odometer_m = 123456789.123;
        all.fuel_l = 0.1;
        all.ignition = false;
        all.attributes = {{"text", "Привет, 🚚 \"quoted\" back\\slash tab\t nl\n cr\r ctl\x01"},
                          {"", "empty key"},
                          {"key with spaces", {1, 2.5, nullptr, true, "x"}},
                          {"nested", {{"a", {{"b", {{"c", -0.0}}}}}}},
                          {"big", 1e300},
                          {"u64", std::numeric_limits<std::uint64_t>::max()},
                          {"i64", std::numeric_limits<std::int64_t>::min()},
                          {"tenth", 0.1},
                          {"invalid_utf8", "bad \xff byte"},
                          {"merged", "a device's own attribute of that name"}};
        odd.push_back(all);
        auto extreme = fix(t0 + 2s, 89.999999, -179.999999);
        extreme.speed_kmh = std::numeric_limits<float>::max();
        extreme.course_deg = std::numeric_limits<double>::quiet_NaN();
        extreme.altitude_m = -std::numeric_limits<double>::infinity();
        extreme.satellites = -32768;
        extreme.odometer_m = 1e308;
        extreme.fuel_l = 1.17549435e-38;  // FLT_MIN
        extreme.ignition = true;
        odd.push_back(extreme);
        auto sats_max = fix(t0 + std::chrono::milliseconds(2999), 0, 0);
        sats_max.satellites = 32767;
        sats_max.speed_kmh = 0.30000000000000004;
        odd.push_back(sats_max);
        odd.push_back(fix(Millis(std::chrono::milliseconds(-1)), 51.4779, -0.0015));       // 1969
        odd.push_back(fix(Millis(std::chrono::milliseconds(4'102'444'800'999)), 1, 1));    // 2100
        odd.push_back(fix(Millis(std::chrono::milliseconds(-62'135'596'800'000)), 2, 2));  // 0001

        f.writer.start();
        const auto r = f.write(packet(1, odd));
        CHECK(r.committed);
        CHECK(r.stored == odd.size());
        {
            pqxx::work tx(f.db.conn());
            for (const auto& p : odd) {
                insert_as_text(tx, 2, p);
            }
            tx.commit();
        }
        CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id = 1") ==
              static_cast<long>(odd.size()));
        CHECK(f.count("SELECT count(*) FROM fleet.positions a JOIN fleet.positions b"
                      " ON a.vehicle_id = 1 AND b.vehicle_id = 2 AND a.device_time = b.device_time"
                      " WHERE ST_AsEWKB(a.geom) = ST_AsEWKB(b.geom) AND ST_SRID(a.geom) = 4326"
                      " AND (a.speed_kmh, a.course_deg, a.altitude_m, a.satellites, a.valid,"
                      "      a.odometer_m, a.fuel_l, a.ignition, a.attributes)"
                      " IS NOT DISTINCT FROM"
                      "     (b.speed_kmh, b.course_deg, b.altitude_m, b.satellites, b.valid,"
                      "      b.odometer_m, b.fuel_l, b.ignition, b.attributes)") ==
              static_cast<long>(odd.size()));
        // And what it is, read back: NULLs, the values, the attributes' text.
        CHECK(f.text("SELECT concat_ws(',', speed_kmh, course_deg, altitude_m, satellites,"
                     " odometer_m, fuel_l, ignition) FROM fleet.positions"
                     " WHERE vehicle_id = 1 AND device_time = '2025-11-24 16:00:00+00'") == "");
        CHECK(f.text("SELECT concat_ws(',', speed_kmh, course_deg, altitude_m, satellites, valid,"
                     " odometer_m, fuel_l, ignition, ST_AsText(geom)) FROM fleet.positions"
                     " WHERE vehicle_id = 1 AND device_time = '2025-11-24 16:00:01+00'") ==
              "12.5,359.9,-12.25,12,f,123456789.123,0.1,f,POINT(151.2093 -33.8688)");
        const auto stored = nlohmann::json::parse(
            f.text("SELECT attributes::text FROM fleet.positions WHERE vehicle_id = 1"
                   " AND device_time = '2025-11-24 16:00:01+00'"));
        CHECK(stored["text"] == all.attributes["text"]);
        CHECK(stored["u64"] == all.attributes["u64"]);
        CHECK(stored["i64"] == all.attributes["i64"]);
        CHECK(stored["invalid_utf8"] == "bad \xEF\xBF\xBD byte");
        CHECK(stored["merged"] == "a device's own attribute of that name");
        CHECK(f.text("SELECT device_time FROM fleet.positions WHERE vehicle_id = 1 ORDER BY"
                     " device_time LIMIT 1") == "0001-01-01 00:00:00+00");
        CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id = 1"
                      " AND device_time = '1969-12-31 23:59:59.999+00'") == 1);
        // The newest valid fix is the vehicle's latest position.
        CHECK(f.text("SELECT device_time FROM fleet.latest_positions WHERE vehicle_id = 1") ==
              "2100-01-01 00:00:00.999+00");
    }

    TEST_CASE("writer: records the database refuses are quarantined; the rest is committed") {
        Fixture f;
        // Straight to the writer, bypassing the validator: each bad record among good packets
        // of other vehicles, all in one batch (submitted before the writer starts).
        std::vector<std::unique_ptr<Done>> good;
        for (std::int64_t v = 1; v <= 4; ++v) {
            good.push_back(std::make_unique<Done>());
            f.submit(packet(v, {fix(t0), fix(t0 + 1s), fix(t0 + 2s)}, "good-" + std::to_string(v)),
                     *good.back());
        }
        auto speed = fix(t0);
        speed.speed_kmh = 1e39;
        auto nul = fix(t0);
        nul.attributes["note"] = std::string("a\0b", 3);
        auto nul_key = fix(t0);
        nul_key.attributes["io"] = {{std::string("k\0", 2), 1}};
        auto sats = fix(t0, 59.9, 30.3);
        sats.satellites = 70000;
        auto far = fix(Millis(std::chrono::milliseconds(9'404'000'000'000'000)));  // year ~300000
        auto ancient = fix(Millis(std::chrono::milliseconds(-220'000'000'000'000)));  // 5000 BC
        struct Bad {
            std::int64_t vehicle;
            Position record;
            const char* raw;
            const char* sqlstate;
        };
        const std::vector<Bad> bad = {
            {5, speed, "0a0b0c05", "22003"},   {6, nul, "0a0b0c06", "22P05"},
            {7, sats, "0a0b0c07", "22003"},    {8, far, "0a0b0c08", "22008"},
            {9, nul_key, "0a0b0c09", "22P05"}, {10, ancient, "0a0b0c0a", "22008"},
        };
        std::vector<std::unique_ptr<Done>> refused;
        for (const auto& b : bad) {
            refused.push_back(std::make_unique<Done>());
            f.submit(packet(b.vehicle, {b.record}, "bad-" + std::to_string(b.vehicle), b.raw),
                     *refused.back());
        }
        // One packet with good and bad records: only the bad one is held back.
        Done mixed;
        auto mixed_bad = fix(t0 + 1s);
        mixed_bad.attributes["text"] = std::string("\0", 1);
        f.submit(packet(11, {fix(t0), mixed_bad, fix(t0 + 2s)}, "mixed", "ffee"), mixed);
        f.writer.start();

        for (auto& d : good) {
            const auto r = d->wait();
            REQUIRE(r.has_value());
            CHECK(r->committed);
            CHECK(r->stored == 3);
            CHECK(r->quarantined == 0);
        }
        for (std::size_t i = 0; i < bad.size(); ++i) {
            CAPTURE(bad[i].vehicle);
            const auto r = refused[i]->wait();
            REQUIRE(r.has_value());
            CHECK(r->committed);
            CHECK(r->stored == 0);
            CHECK(r->quarantined == 1);
            const std::string where =
                " FROM fleet.quarantine WHERE vehicle_id = " + std::to_string(bad[i].vehicle);
            CHECK(f.text("SELECT sqlstate" + where) == bad[i].sqlstate);
            CHECK(f.text("SELECT encode(raw, 'hex')" + where) == bad[i].raw);
            CHECK(f.text("SELECT protocol || ' ' || device" + where) ==
                  "teltonika bad-" + std::to_string(bad[i].vehicle));
            CHECK(f.count("SELECT count(*)" + where + " AND record ->> 'vehicle_id' = '" +
                          std::to_string(bad[i].vehicle) + "' AND length(reason) > 10") == 1);
            CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id = " +
                          std::to_string(bad[i].vehicle)) == 0);
        }
        CHECK(f.count("SELECT count(*) FROM fleet.quarantine WHERE vehicle_id = 5"
                      " AND (record ->> 'speed_kmh')::float8 = 1e39") == 1);
        CHECK(f.text("SELECT reason FROM fleet.quarantine WHERE vehicle_id = 7") ==
              "satellites 70000 is out of range for type smallint");
        CHECK(f.text("SELECT record -> 'attributes' ->> 'note' FROM fleet.quarantine"
                     " WHERE vehicle_id = 6") == "a\\u0000b");
        const auto m = mixed.wait();
        REQUIRE(m.has_value());
        CHECK(m->stored == 2);
        CHECK(m->quarantined == 1);
        CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id = 11") == 2);
        CHECK(f.text("SELECT encode(raw, 'hex') FROM fleet.quarantine WHERE vehicle_id = 11") ==
              "ffee");
        CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id <= 4") == 12);
        CHECK(f.count("SELECT count(*) FROM fleet.latest_positions") == 5);  // 1-4 and 11
        CHECK(f.counters.records_quarantined == 7);
        CHECK(f.protocol.quarantined == 7);
        CHECK(f.counters.batches_committed == 1);
        CHECK(f.counters.batch_failures == 0);

        // The next batch is not held up by anything of the last one.
        const auto next = f.write(packet(1, {fix(t0 + 3s)}));
        CHECK(next.committed);
        CHECK(next.stored == 1);
        CHECK(f.counters.records_quarantined == 7);
    }

    TEST_CASE("writer: the queue bound is shared by the lanes; a packet is cancelled on its lane") {
        auto config = quick_config();
        config.connections = 3;
        config.max_queued = 5;
        Fixture f(config);
        // The bound is shared by the lanes: vehicles 1, 2 and 3 fall on three lanes.
        Done a, b, c, refused;
        f.submit(packet(1, {fix(t0), fix(t0 + 1s)}), a);
        f.submit(packet(2, {fix(t0)}), b);
        Packet pc = packet(3, {fix(t0), fix(t0 + 1s)});
        pc.counters = &f.protocol;
        const auto ticket = f.writer.submit(std::move(pc), c.callback());
        f.submit(packet(4, {fix(t0)}), refused);
        REQUIRE(refused.result().has_value());
        CHECK(refused.result()->refused);
        CHECK(f.writer.queued_positions() == 5);
        CHECK(f.writer.cancel(ticket));  // on the third lane
        CHECK(f.writer.queued_positions() == 3);
        f.writer.start();
        REQUIRE(a.wait().has_value());
        REQUIRE(b.wait().has_value());
        CHECK_FALSE(c.called());
        CHECK(f.count("SELECT count(*) FROM fleet.positions") == 3);
    }

    TEST_CASE("writer: each vehicle's packets committed and handed on in order on its lane") {
        auto config = quick_config();
        config.connections = 3;
        Fixture f(config);
        struct Sink : PositionSink {
            std::mutex mutex;
            std::map<std::int64_t, std::vector<Millis>> times;
            std::set<std::thread::id> threads;
            void on_committed(std::span<const StoredPosition> positions) override {
                std::lock_guard lock(mutex);
                threads.insert(std::this_thread::get_id());
                for (const auto& p : positions) {
                    times[p.vehicle_id].push_back(p.position.device_time);
                }
            }
        } sink;
        f.writer.add_sink(sink);
        f.writer.start();
        // Then many packets of six vehicles at once, each vehicle's in time order.
        std::vector<Done> dones(60);
        for (int i = 0; i < 10; ++i) {
            for (std::int64_t v = 5; v <= 10; ++v) {
                f.submit(packet(v, {fix(t0 + std::chrono::seconds(10 + i))}),
                         dones[static_cast<std::size_t>(i * 6 + (v - 5))]);
            }
        }
        for (auto& d : dones) {
            REQUIRE(d.wait().has_value());
            CHECK(d.result()->committed);
        }
        CHECK(f.count("SELECT count(*) FROM fleet.positions") == 60);
        CHECK(f.count("SELECT count(*) FROM pg_stat_activity"
                      " WHERE application_name = 'fleetd writer'"
                      " AND datname = current_database()") == 3);
        f.writer.stop(2s);  // the sinks are called after the completions
        std::lock_guard lock(sink.mutex);
        CHECK(sink.threads.size() >= 2);
        for (std::int64_t v = 5; v <= 10; ++v) {
            REQUIRE(sink.times[v].size() == 10);
            CHECK(std::is_sorted(sink.times[v].begin(), sink.times[v].end()));
        }
    }

    TEST_CASE("writer: a cancelled packet is never committed and never completed") {
        Fixture f;
        Done a, b, c;
        f.submit(packet(1, {fix(t0)}), a);
        Packet pb = packet(2, {fix(t0), fix(t0 + 1s)});
        pb.counters = &f.protocol;
        const auto ticket = f.writer.submit(std::move(pb), b.callback());
        f.submit(packet(3, {fix(t0)}), c);
        CHECK(f.writer.queued_positions() == 4);
        CHECK(f.writer.cancel(ticket));
        CHECK_FALSE(f.writer.cancel(ticket));  // gone already
        CHECK(f.writer.queued_positions() == 2);
        f.writer.start();
        REQUIRE(a.wait().has_value());
        REQUIRE(c.wait().has_value());
        CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id = 2") == 0);
        CHECK(f.count("SELECT count(*) FROM fleet.positions") == 2);
        // A later batch does not bring it back either.
        f.write(packet(4, {fix(t0)}));
        CHECK_FALSE(b.called());
        CHECK(f.count("SELECT count(*) FROM fleet.positions WHERE vehicle_id = 2") == 0);
        CHECK_FALSE(f.writer.cancel(ticket));
        CHECK_FALSE(f.writer.cancel(0));
    }

    TEST_CASE("writer: two records at one vehicle and time both keep what they carried") {
        // The location, then an alarm in the same second that adds what the location lacks,
        // then a second tracker on the vehicle that reports another place and speed.
        auto location = fix(t0, 59.93, 30.31);
        location.speed_kmh = 40;
        location.attributes = {{"motion", true}, {"power_v", 12.6}};
        auto alarm = fix(t0, 59.93, 30.31);
        alarm.ignition = true;
        alarm.attributes = {{"alarm", "sos"}, {"motion", true}};
        auto second = fix(t0, 59.9301, 30.3102);
        second.speed_kmh = 55;
        second.satellites = 4;
        second.attributes = {{"motion", false}, {"alarm", "sos"}};

        auto check_row = [](Fixture& f, std::int64_t vehicle) {
            const std::string where =
                " FROM fleet.positions WHERE vehicle_id = " + std::to_string(vehicle);
            CHECK(f.count("SELECT count(*)" + where) == 1);
            CHECK(f.text("SELECT concat_ws(',', speed_kmh, satellites, ignition, ST_AsText(geom))" +
                         where) == "40,9,t,POINT(30.31 59.93)");
            const auto a = nlohmann::json::parse(f.text("SELECT attributes::text" + where));
            CHECK(a["motion"] == true);
            CHECK(a["power_v"] == 12.6);
            CHECK(a["alarm"] == "sos");  // added from the alarm
            REQUIRE(a["merged"].is_array());
            REQUIRE(a["merged"].size() == 1);  // the alarm only added; the tracker differs
            const auto& m = a["merged"][0];
            CHECK(m["device"] == "tracker-2");
            CHECK(m["protocol"] == "teltonika");
            CHECK(m["speed_kmh"] == 55);
            CHECK(m["latitude_deg"] == 59.9301);
            CHECK(m["satellites"] == 4);
            CHECK(m["ignition"].is_null());
            CHECK(m["attributes"]["motion"] == false);
        };

        SUBCASE("within one batch") {
            Fixture f;
            Done l, a, s;
            f.submit(packet(1, {location}, "tracker-1"), l);
            f.submit(packet(1, {alarm}, "tracker-1"), a);
            f.submit(packet(1, {second}, "tracker-2"), s);
            f.writer.start();
            CHECK(l.wait()->stored == 1);
            CHECK(a.wait()->merged == 1);
            CHECK(s.wait()->merged == 1);
            CHECK(f.counters.batches_committed == 1);
            check_row(f, 1);
            CHECK(f.protocol.merged == 2);
        }
        SUBCASE("against rows of earlier batches, and the resends") {
            Fixture f;
            f.writer.start();
            CHECK(f.write(packet(1, {location}, "tracker-1")).stored == 1);
            const auto a = f.write(packet(1, {alarm}, "tracker-1"));
            CHECK(a.merged == 1);
            CHECK(a.stored == 0);
            CHECK(f.write(packet(1, {second}, "tracker-2")).merged == 1);
            check_row(f, 1);
            // Each resent again, and all three in one more batch: nothing changes.
            for (const auto& [record, device] :
                 {std::pair(location, "tracker-1"), std::pair(alarm, "tracker-1"),
                  std::pair(second, "tracker-2")}) {
                const auto r = f.write(packet(1, {record}, device));
                CHECK(r.duplicates == 1);
                CHECK(r.stored + r.merged == 0);
            }
            Done l2, a2, s2;
            f.writer.stop(2s);
            PositionWriter again(geo::ConnectionFactory({.url = f.db.url()}), quick_config(),
                                 f.counters);
            again.submit(packet(1, {location}, "tracker-1"), l2.callback());
            again.submit(packet(1, {alarm}, "tracker-1"), a2.callback());
            again.submit(packet(1, {second}, "tracker-2"), s2.callback());
            again.start();
            CHECK(l2.wait()->duplicates == 1);
            CHECK(a2.wait()->duplicates == 1);
            CHECK(s2.wait()->duplicates == 1);
            again.stop(2s);
            check_row(f, 1);
        }
        SUBCASE("an exact repeat in one batch stays on the fast path") {
            Fixture f;
            Done first, repeat;
            f.submit(packet(1, {location}), first);
            f.submit(packet(1, {location}), repeat);
            f.writer.start();
            CHECK(first.wait()->stored == 1);
            CHECK(repeat.wait()->duplicates == 1);
            CHECK(f.text("SELECT attributes ? 'merged' FROM fleet.positions") == "f");
        }
    }

    TEST_CASE("writer: device status kept per vehicle, merged key by key, only forward") {
        Fixture f;
        pqxx::connection observer(f.db.url());
        auto status_packet = [](std::int64_t vehicle, Millis at, nlohmann::json values) {
            Packet p = packet(vehicle, {});
            p.protocol = "gt06";
            p.status = DeviceStatus{at, std::move(values)};
            return p;
        };
        f.writer.start();
        // A packet with only a status completes after its commit: its row is visible from
        // another connection when the completion runs.
        Done only;
        long seen_at_completion = -1;
        Packet first = status_packet(1, t0 + 10s, {{"gsm_level", 3}, {"voltage_level", 5}});
        first.counters = &f.protocol;
        f.writer.submit(std::move(first), [&](const WriteResult& r) {
            pqxx::read_transaction tx(observer);
            seen_at_completion =
                tx.exec1("SELECT count(*) FROM fleet.vehicle_status WHERE vehicle_id = 1")[0]
                    .as<long>();
            only.callback()(r);
        });
        REQUIRE(only.wait().has_value());
        CHECK(only.result()->committed);
        CHECK(seen_at_completion == 1);

        f.write(status_packet(1, t0 + 20s, {{"gsm_level", 4}, {"charging", true}}));
        f.write(status_packet(1, t0 + 15s, {{"gsm_level", 1}, {"ignition", false}}));  // older
        const std::string values =
            "SELECT \"values\"::text FROM fleet.vehicle_status WHERE vehicle_id = 1";
        CHECK(nlohmann::json::parse(f.text(values)) ==
              nlohmann::json{{"gsm_level", 4}, {"voltage_level", 5}, {"charging", true}});
        CHECK(f.text("SELECT reported_at FROM fleet.vehicle_status WHERE vehicle_id = 1") ==
              "2025-11-24 16:00:20+00");

        // In one batch, with positions: oldest first; a refused one is quarantined alone.
        f.writer.stop(2s);
        PositionWriter batch(geo::ConnectionFactory({.url = f.db.url()}), quick_config(),
                             f.counters);
        Done newer, older, bad, with_fix;
        batch.submit(status_packet(1, t0 + 40s, {{"gsm_level", 2}}), newer.callback());
        batch.submit(status_packet(1, t0 + 30s, {{"gsm_level", 0}, {"armed", true}}),
                     older.callback());
        batch.submit(status_packet(2, t0, {{"text", std::string("\0", 1)}}), bad.callback());
        Packet both = status_packet(3, t0, {{"gsm_level", 1}});
        both.positions.push_back({3, fix(t0)});
        batch.submit(std::move(both), with_fix.callback());
        batch.start();
        CHECK(newer.wait()->committed);
        CHECK(older.wait()->committed);
        CHECK(bad.wait()->quarantined == 1);
        CHECK(with_fix.wait()->stored == 1);
        batch.stop(2s);
        CHECK(nlohmann::json::parse(f.text(values)) ==
              nlohmann::json{
                  {"gsm_level", 2}, {"voltage_level", 5}, {"charging", true}, {"armed", true}});
        CHECK(f.text("SELECT reported_at FROM fleet.vehicle_status WHERE vehicle_id = 1") ==
              "2025-11-24 16:00:40+00");
        CHECK(f.count("SELECT count(*) FROM fleet.vehicle_status WHERE vehicle_id = 2") == 0);
        CHECK(f.text("SELECT sqlstate || ' ' || protocol FROM fleet.quarantine"
                     " WHERE vehicle_id = 2") == "22P05 gt06");
        CHECK(f.count("SELECT count(*) FROM fleet.vehicle_status WHERE vehicle_id = 3") == 1);
    }

    TEST_CASE("writer: a frozen backend (SIGSTOP) costs the deadline, then a new connection") {
        Fixture setup;  // the scratch database
        Counters counters;
        WriterConfig config = quick_config();
        config.statement_margin = 200ms;
        geo::DatabaseOptions options;
        options.url = setup.db.url();
        options.statement_timeout = 300ms;
        PositionWriter writer(geo::ConnectionFactory(options), config, counters);
        writer.start();
        Done first;
        writer.submit(packet(1, {fix(t0)}), first.callback());
        REQUIRE(first.wait().has_value());
        const long backend = setup.count(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'fleetd writer'"
            " AND datname = current_database()");
        REQUIRE(backend > 0);
        REQUIRE(::kill(static_cast<pid_t>(backend), SIGSTOP) == 0);
        struct Resume {
            pid_t pid;
            ~Resume() { ::kill(pid, SIGCONT); }
        } resume{static_cast<pid_t>(backend)};

        Done second;
        const auto before = std::chrono::steady_clock::now();
        writer.submit(packet(1, {fix(t0 + 1s)}), second.callback());
        const auto r = second.wait(5s);
        REQUIRE(r.has_value());
        CHECK(r->committed);
        CHECK(r->stored == 1);
        CHECK(counters.statement_timeouts >= 1);
        // The deadline (300 + 200 ms), one back-off (50 ms), a new connection and the commit.
        CHECK(std::chrono::steady_clock::now() - before < 3s);
        writer.stop(2s);
    }
}
