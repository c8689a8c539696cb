#include "ingest/writer.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <ctime>

#include "geo/error.hpp"
#include "geo/log.hpp"

namespace fleet::ingest {

namespace {

constexpr const char* staging_ddl =
    "CREATE TEMP TABLE incoming ("
    " seq integer, vehicle_id bigint, device_time timestamptz, geom geometry(Point, 4326),"
    " speed_kmh real, course_deg real, altitude_m real, satellites smallint, valid boolean,"
    " odometer_m double precision, fuel_l real, ignition boolean, attributes jsonb)"
    " ON COMMIT DELETE ROWS";

constexpr const char* copy_sql =
    "COPY pg_temp.incoming (seq, vehicle_id, device_time, geom, speed_kmh, course_deg,"
    " altitude_m, satellites, valid, odometer_m, fuel_l, ignition, attributes) FROM STDIN";

// New rows only; the sequence numbers of those that were inserted come back.
constexpr const char* insert_sql =
    "WITH ins AS ("
    " INSERT INTO fleet.positions (vehicle_id, device_time, geom, speed_kmh, course_deg,"
    "  altitude_m, satellites, valid, odometer_m, fuel_l, ignition, attributes)"
    " SELECT vehicle_id, device_time, geom, speed_kmh, course_deg, altitude_m, satellites, valid,"
    "  odometer_m, fuel_l, ignition, attributes FROM pg_temp.incoming"
    " ON CONFLICT DO NOTHING RETURNING vehicle_id, device_time)"
    " SELECT i.seq FROM pg_temp.incoming i JOIN ins USING (vehicle_id, device_time)";

// The latest valid fix per vehicle, moving only forward in device time.
constexpr const char* latest_sql =
    "INSERT INTO fleet.latest_positions (vehicle_id, device_time, server_time, geom, speed_kmh,"
    " course_deg, altitude_m, satellites, valid, odometer_m, fuel_l, ignition, attributes)"
    " SELECT DISTINCT ON (vehicle_id) vehicle_id, device_time, now(), geom, speed_kmh,"
    "  course_deg, altitude_m, satellites, valid, odometer_m, fuel_l, ignition, attributes"
    " FROM pg_temp.incoming WHERE valid ORDER BY vehicle_id, device_time DESC"
    " ON CONFLICT (vehicle_id) DO UPDATE SET device_time = EXCLUDED.device_time,"
    "  server_time = EXCLUDED.server_time, geom = EXCLUDED.geom,"
    "  speed_kmh = EXCLUDED.speed_kmh, course_deg = EXCLUDED.course_deg,"
    "  altitude_m = EXCLUDED.altitude_m, satellites = EXCLUDED.satellites,"
    "  valid = EXCLUDED.valid, odometer_m = EXCLUDED.odometer_m, fuel_l = EXCLUDED.fuel_l,"
    "  ignition = EXCLUDED.ignition, attributes = EXCLUDED.attributes"
    " WHERE fleet.latest_positions.device_time < EXCLUDED.device_time";

void append_number(std::string& out, double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

void append_integer(std::string& out, long long v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

template <typename T>
void append_optional(std::string& out, const std::optional<T>& v) {
    if (!v) {
        out += "\\N";
    } else if constexpr (std::is_same_v<T, bool>) {
        out += *v ? 't' : 'f';
    } else if constexpr (std::is_integral_v<T>) {
        append_integer(out, *v);
    } else {
        append_number(out, *v);
    }
}

void append_timestamp(std::string& out, Millis t) {
    const auto ms = t.time_since_epoch().count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long frac = static_cast<long>(ms % 1000);
    if (frac < 0) {
        frac += 1000;
        --secs;
    }
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char buf[48];
    const int n =
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03ld+00", utc.tm_year + 1900,
                      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, frac);
    out.append(buf, static_cast<std::size_t>(n));
}

// Hex EWKB of a point with SRID 4326: the cheapest geometry input for PostGIS to parse.
void append_point_ewkb(std::string& out, double lon, double lat) {
    static constexpr char digits[] = "0123456789ABCDEF";
    out += "0101000020E6100000";
    for (double v : {lon, lat}) {
        auto bits = std::bit_cast<std::uint64_t>(v);
        for (int i = 0; i < 8; ++i) {  // little-endian, as the header's 01 says
            const auto byte = static_cast<unsigned>((bits >> (8 * i)) & 0xff);
            out += digits[byte >> 4];
            out += digits[byte & 15];
        }
    }
}

void append_copy_text(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
}

std::string trimmed(const char* message) {
    std::string s = message != nullptr ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

void append_copy_line(std::string& out, std::size_t seq, const StoredPosition& sp) {
    const Position& p = sp.position;
    append_integer(out, static_cast<long long>(seq));
    out += '\t';
    append_integer(out, sp.vehicle_id);
    out += '\t';
    append_timestamp(out, p.device_time);
    out += '\t';
    append_point_ewkb(out, p.longitude_deg, p.latitude_deg);
    out += '\t';
    append_optional(out, p.speed_kmh);
    out += '\t';
    append_optional(out, p.course_deg);
    out += '\t';
    append_optional(out, p.altitude_m);
    out += '\t';
    append_optional(out, p.satellites);
    out += '\t';
    out += p.valid ? 't' : 'f';
    out += '\t';
    append_optional(out, p.odometer_m);
    out += '\t';
    append_optional(out, p.fuel_l);
    out += '\t';
    append_optional(out, p.ignition);
    out += '\t';
    append_copy_text(out,
                     p.attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    out += '\n';
}

// The writer's own libpq connection: COPY needs libpq's copy calls, which libpqxx 6.4 does not
// expose with raw lines.
class PositionWriter::Connection {
  public:
    explicit Connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string reason = trimmed(PQerrorMessage(conn_));
            PQfinish(conn_);
            conn_ = nullptr;
            throw DatabaseError(reason);
        }
        exec(staging_ddl, PGRES_COMMAND_OK);
    }
    ~Connection() {
        if (conn_ != nullptr) {
            PQfinish(conn_);
        }
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Writes the rows and returns the positions (by index) that were new.
    std::vector<std::size_t> write(const std::string& copy_data) {
        exec("BEGIN", PGRES_COMMAND_OK);
        try {
            exec(copy_sql, PGRES_COPY_IN);
            if (PQputCopyData(conn_, copy_data.data(), static_cast<int>(copy_data.size())) != 1 ||
                PQputCopyEnd(conn_, nullptr) != 1) {
                throw DatabaseError("COPY failed: " + trimmed(PQerrorMessage(conn_)));
            }
            finish_copy();
            PGresult* inserted = exec(insert_sql, PGRES_TUPLES_OK, /*keep=*/true);
            std::vector<std::size_t> fresh;
            fresh.reserve(static_cast<std::size_t>(PQntuples(inserted)));
            for (int i = 0; i < PQntuples(inserted); ++i) {
                fresh.push_back(std::strtoul(PQgetvalue(inserted, i, 0), nullptr, 10));
            }
            PQclear(inserted);
            exec(latest_sql, PGRES_COMMAND_OK);
            exec("COMMIT", PGRES_COMMAND_OK);
            return fresh;
        } catch (const DatabaseError&) {
            if (PQstatus(conn_) == CONNECTION_OK) {
                PQclear(PQexec(conn_, "ROLLBACK"));
            }
            throw;
        }
    }

    bool healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

  private:
    PGresult* exec(const char* sql, ExecStatusType expected, bool keep = false) {
        PGresult* r = PQexec(conn_, sql);
        if (PQresultStatus(r) != expected) {
            const std::string reason = trimmed(PQresultErrorMessage(r));
            PQclear(r);
            throw DatabaseError(reason.empty() ? trimmed(PQerrorMessage(conn_)) : reason);
        }
        if (keep) {
            return r;
        }
        PQclear(r);
        return nullptr;
    }

    void finish_copy() {
        std::string error;
        while (PGresult* r = PQgetResult(conn_)) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) {
                error = trimmed(PQresultErrorMessage(r));
            }
            PQclear(r);
        }
        if (!error.empty()) {
            throw DatabaseError("COPY failed: " + error);
        }
    }

    PGconn* conn_;
};

PositionWriter::PositionWriter(std::string database_url, WriterConfig config, Counters& counters)
    : url_(std::move(database_url)), config_(config), counters_(counters) {}

PositionWriter::~PositionWriter() {
    stop(std::chrono::milliseconds(0));
}

void PositionWriter::start() {
    thread_ = std::thread([this] { run(); });
}

void PositionWriter::submit(ProtocolCounters& counters, std::vector<StoredPosition> positions,
                            Completion done) {
    if (positions.empty()) {
        done(WriteResult{true, 0, 0});
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && give_up_) {
            // Too late: never acknowledged, so the device keeps and resends them.
            done(WriteResult{});
            return;
        }
        queued_positions_ += positions.size();
        queue_.push_back(
            {&counters, std::move(positions), std::move(done), std::chrono::steady_clock::now()});
    }
    wake_.notify_one();
}

std::size_t PositionWriter::queued_positions() const {
    std::lock_guard lock(mutex_);
    return queued_positions_;
}

void PositionWriter::stop(std::chrono::milliseconds deadline) {
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) {
            return;
        }
        stopping_ = true;
        stop_deadline_ = std::chrono::steady_clock::now() + deadline;
    }
    wake_.notify_all();
    thread_.join();
}

void PositionWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
            return;  // stopping, nothing left
        }
        // Gather until the batch is full or its oldest entry has waited max_wait.
        const auto flush_at = queue_.front().queued_at + config_.max_wait;
        wake_.wait_until(lock, flush_at,
                         [&] { return stopping_ || queued_positions_ >= config_.max_batch; });
        std::vector<Submission> batch;
        std::size_t n = 0;
        while (!queue_.empty() &&
               (batch.empty() || n + queue_.front().positions.size() <= config_.max_batch)) {
            n += queue_.front().positions.size();
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        queued_positions_ -= n;
        lock.unlock();
        commit_with_retry(batch);
        lock.lock();
    }
}

void PositionWriter::commit_with_retry(std::vector<Submission>& batch) {
    // Flatten, dropping repeats of the same (vehicle, time) inside the batch: the first wins,
    // as the database would keep the first stored.
    std::vector<const StoredPosition*> rows;
    std::vector<std::size_t> owner;  // submission index of each row
    for (std::size_t s = 0; s < batch.size(); ++s) {
        for (const auto& p : batch[s].positions) {
            rows.push_back(&p);
            owner.push_back(s);
        }
    }
    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(rows[a]->vehicle_id, rows[a]->position.device_time) <
               std::tie(rows[b]->vehicle_id, rows[b]->position.device_time);
    });
    std::string copy_data;
    copy_data.reserve(rows.size() * 200);
    for (std::size_t k = 0; k < order.size(); ++k) {
        const auto i = order[k];
        if (k > 0) {
            const auto j = order[k - 1];
            if (rows[i]->vehicle_id == rows[j]->vehicle_id &&
                rows[i]->position.device_time == rows[j]->position.device_time) {
                continue;
            }
        }
        append_copy_line(copy_data, i, *rows[i]);
    }

    auto& conn = conn_;
    auto delay = config_.reconnect.first_delay;
    for (;;) {
        try {
            if (!conn || !conn->healthy()) {
                conn.reset();
                conn = std::make_unique<Connection>(url_);
            }
            const auto fresh = conn->write(copy_data);
            ++counters_.batches_committed;

            std::vector<WriteResult> results(batch.size(), WriteResult{true, 0, 0});
            std::vector<bool> is_new(rows.size(), false);
            for (auto i : fresh) {
                if (i < rows.size()) {
                    is_new[i] = true;
                }
            }
            std::vector<StoredPosition> committed;
            committed.reserve(fresh.size());
            for (std::size_t i = 0; i < rows.size(); ++i) {
                auto& r = results[owner[i]];
                if (is_new[i]) {
                    ++r.stored;
                    committed.push_back(*rows[i]);
                } else {
                    ++r.duplicates;
                }
            }
            for (std::size_t s = 0; s < batch.size(); ++s) {
                batch[s].counters->positions_stored += results[s].stored;
                batch[s].counters->duplicates += results[s].duplicates;
                batch[s].done(results[s]);
            }
            std::sort(committed.begin(), committed.end(), [](const auto& a, const auto& b) {
                return std::tie(a.vehicle_id, a.position.device_time) <
                       std::tie(b.vehicle_id, b.position.device_time);
            });
            for (auto* sink : sinks_) {
                sink->on_committed(committed);
            }
            return;
        } catch (const Error& e) {
            ++counters_.batch_failures;
            const bool lost_connection = !conn || !conn->healthy();
            conn.reset();
            log::warn("writer", "batch of " + std::to_string(rows.size()) +
                                    " positions not committed (" + e.what() +
                                    "); retrying, nothing acknowledged meanwhile");
            if (lost_connection) {
                ++counters_.database_reconnects;
            }
        }
        bool give_up = false;
        {
            // Sleep out the back-off, but no longer than a stop's deadline.
            const auto until = std::chrono::steady_clock::now() + delay;
            std::unique_lock lock(mutex_);
            for (;;) {
                const auto now = std::chrono::steady_clock::now();
                if (stopping_ && now >= stop_deadline_) {
                    give_up = give_up_ = true;
                    break;
                }
                if (now >= until) {
                    break;
                }
                wake_.wait_until(lock, stopping_ ? std::min(until, stop_deadline_) : until);
            }
        }
        if (give_up) {
            log::warn("writer", "stopping without a database: " + std::to_string(rows.size()) +
                                    " positions left unacknowledged (devices resend them)");
            for (auto& s : batch) {
                s.done(WriteResult{});
            }
            return;
        }
        delay = std::min(delay * 2, config_.reconnect.max_delay);
    }
}

}  // namespace fleet::ingest
