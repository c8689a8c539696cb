#include "ingest/writer.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <ctime>
#include <set>

#include "geo/error.hpp"
#include "geo/log.hpp"

namespace fleet::ingest {

namespace {

#define FLEET_POSITION_COLUMNS                                                             \
    "vehicle_id, device_time, geom, speed_kmh, course_deg, altitude_m, satellites, valid," \
    " odometer_m, fuel_l, ignition, attributes"

// Staging tables of the connection: rows of a batch that met a duplicate, and the newest valid
// fix per vehicle of every batch.
constexpr const char* staging_ddl =
    "CREATE TEMP TABLE incoming (vehicle_id bigint, device_time timestamptz,"
    " geom geometry(Point, 4326), speed_kmh real, course_deg real, altitude_m real,"
    " satellites smallint, valid boolean, odometer_m double precision, fuel_l real,"
    " ignition boolean, attributes jsonb) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE latest_incoming (LIKE pg_temp.incoming) ON COMMIT DELETE ROWS";

// The fast path: straight into the track store. Fails whole on a duplicate key.
constexpr const char* copy_direct_sql =
    "COPY fleet.positions (" FLEET_POSITION_COLUMNS ") FROM STDIN";
constexpr const char* copy_staging_sql =
    "COPY pg_temp.incoming (" FLEET_POSITION_COLUMNS ") FROM STDIN";
constexpr const char* copy_latest_sql =
    "COPY pg_temp.latest_incoming (" FLEET_POSITION_COLUMNS ") FROM STDIN";

// The slow path after a duplicate: new rows only; which ones were new comes back.
constexpr const char* insert_new_sql =
    "INSERT INTO fleet.positions (" FLEET_POSITION_COLUMNS
    ")"
    " SELECT " FLEET_POSITION_COLUMNS
    " FROM pg_temp.incoming"
    " ON CONFLICT DO NOTHING"
    " RETURNING vehicle_id, (extract(epoch FROM device_time) * 1000)::bigint";

// The latest valid fix per vehicle, moving only forward in device time.
constexpr const char* latest_sql =
    "INSERT INTO fleet.latest_positions (server_time, " FLEET_POSITION_COLUMNS
    ")"
    " SELECT now(), " FLEET_POSITION_COLUMNS
    " FROM pg_temp.latest_incoming"
    " ON CONFLICT (vehicle_id) DO UPDATE SET device_time = EXCLUDED.device_time,"
    "  server_time = EXCLUDED.server_time, geom = EXCLUDED.geom,"
    "  speed_kmh = EXCLUDED.speed_kmh, course_deg = EXCLUDED.course_deg,"
    "  altitude_m = EXCLUDED.altitude_m, satellites = EXCLUDED.satellites,"
    "  valid = EXCLUDED.valid, odometer_m = EXCLUDED.odometer_m, fuel_l = EXCLUDED.fuel_l,"
    "  ignition = EXCLUDED.ignition, attributes = EXCLUDED.attributes"
    " WHERE fleet.latest_positions.device_time < EXCLUDED.device_time";

constexpr const char* unique_violation = "23505";

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

void append_copy_line(std::string& out, const StoredPosition& sp) {
    const Position& p = sp.position;
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

    /// Commits `rows` (COPY text lines) and `latest` (the newest valid fix per vehicle). Returns
    /// nullopt when every row was new, else the keys (vehicle, device time in ms) of the rows
    /// that were: a batch with a duplicate is redone through the staging table.
    std::optional<std::vector<std::pair<std::int64_t, std::int64_t>>> write(
        const std::string& rows, const std::string& latest) {
        exec("BEGIN", PGRES_COMMAND_OK);
        try {
            std::optional<std::vector<std::pair<std::int64_t, std::int64_t>>> fresh;
            if (!copy(copy_direct_sql, rows, /*duplicate_ok=*/true)) {
                exec("ROLLBACK", PGRES_COMMAND_OK);
                exec("BEGIN", PGRES_COMMAND_OK);
                copy(copy_staging_sql, rows, false);
                PGresult* inserted = exec(insert_new_sql, PGRES_TUPLES_OK, /*keep=*/true);
                fresh.emplace();
                fresh->reserve(static_cast<std::size_t>(PQntuples(inserted)));
                for (int i = 0; i < PQntuples(inserted); ++i) {
                    fresh->emplace_back(std::strtoll(PQgetvalue(inserted, i, 0), nullptr, 10),
                                        std::strtoll(PQgetvalue(inserted, i, 1), nullptr, 10));
                }
                PQclear(inserted);
            }
            if (!latest.empty()) {
                copy(copy_latest_sql, latest, false);
                exec(latest_sql, PGRES_COMMAND_OK);
            }
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

    // Runs one COPY FROM STDIN. Returns false, leaving the transaction aborted, when
    // `duplicate_ok` and the only problem was a duplicate key; throws DatabaseError otherwise.
    bool copy(const char* sql, const std::string& data, bool duplicate_ok) {
        exec(sql, PGRES_COPY_IN);
        if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1 ||
            PQputCopyEnd(conn_, nullptr) != 1) {
            throw DatabaseError("COPY failed: " + trimmed(PQerrorMessage(conn_)));
        }
        std::string error;
        bool duplicate = false;
        while (PGresult* r = PQgetResult(conn_)) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) {
                error = trimmed(PQresultErrorMessage(r));
                const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                duplicate = state != nullptr && std::strcmp(state, unique_violation) == 0;
            }
            PQclear(r);
        }
        if (error.empty()) {
            return true;
        }
        if (duplicate && duplicate_ok) {
            return false;
        }
        throw DatabaseError("COPY failed: " + error);
    }

    PGconn* conn_;
};

PositionWriter::PositionWriter(const geo::ConnectionFactory& connections, WriterConfig config,
                               Counters& counters)
    : url_(connections.conninfo("fleetd writer")), config_(config), counters_(counters) {}

PositionWriter::~PositionWriter() {
    stop(std::chrono::milliseconds(0));
}

void PositionWriter::start() {
    thread_ = std::thread([this] { run(); });
}

PositionWriter::Ticket PositionWriter::submit(Packet packet, Completion done) {
    if (packet.positions.empty() && !packet.status) {
        done(WriteResult{true, 0, 0});
        return 0;
    }
    Ticket ticket = 0;
    {
        std::unique_lock lock(mutex_);
        if (stopping_ && give_up_) {
            // Too late: never acknowledged, so the device keeps and resends them.
            lock.unlock();
            done(WriteResult{});
            return 0;
        }
        if (queued_positions_ + packet.positions.size() > config_.max_queued) {
            lock.unlock();
            done(WriteResult{.refused = true});
            return 0;
        }
        ticket = next_ticket_++;
        queued_positions_ += packet.positions.size();
        queue_.push_back(
            {ticket, std::move(packet), std::move(done), std::chrono::steady_clock::now()});
    }
    wake_.notify_one();
    return ticket;
}

bool PositionWriter::cancel(Ticket ticket) {
    std::lock_guard lock(mutex_);
    const auto it = std::find_if(queue_.begin(), queue_.end(),
                                 [ticket](const Submission& s) { return s.ticket == ticket; });
    if (ticket == 0 || it == queue_.end()) {
        return false;
    }
    queued_positions_ -= it->packet.positions.size();
    queue_.erase(it);
    return true;
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
        // Gather until the batch is full, or its oldest entry has waited max_wait, or nothing
        // has arrived for `quiet`: every connection with data in flight is then waiting for
        // this commit, and waiting longer would only add latency.
        const auto flush_at = queue_.front().queued_at + config_.max_wait;
        for (;;) {
            const auto now = std::chrono::steady_clock::now();
            if (stopping_ || queued_positions_ >= config_.max_batch || now >= flush_at ||
                now >= queue_.back().queued_at + config_.quiet) {
                break;
            }
            wake_.wait_until(lock, std::min(flush_at, queue_.back().queued_at + config_.quiet));
        }
        std::vector<Submission> batch;
        std::size_t n = 0;
        while (!queue_.empty() &&
               (batch.empty() || n + queue_.front().packet.positions.size() <= config_.max_batch)) {
            n += queue_.front().packet.positions.size();
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
    // Flatten in (vehicle, time) order, dropping repeats of the same key inside the batch (the
    // first wins, as the database keeps the first stored).
    std::vector<const StoredPosition*> rows;
    std::vector<std::size_t> owner;  // submission index of each row
    for (std::size_t s = 0; s < batch.size(); ++s) {
        for (const auto& p : batch[s].packet.positions) {
            rows.push_back(&p);
            owner.push_back(s);
        }
    }
    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    auto key = [&](std::size_t i) {
        return std::pair(rows[i]->vehicle_id, rows[i]->position.device_time);
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
    std::vector<bool> sent(rows.size(), false);
    std::string copy_data;
    std::string latest_data;
    copy_data.reserve(rows.size() * 200);
    for (std::size_t k = 0; k < order.size(); ++k) {
        const auto i = order[k];
        if (k > 0 && key(order[k - 1]) == key(i)) {
            continue;
        }
        sent[i] = true;
        append_copy_line(copy_data, *rows[i]);
    }
    // The newest valid fix of each vehicle: the last valid one in the sorted order.
    {
        std::int64_t last_vehicle = 0;
        bool have_vehicle = false;
        for (std::size_t k = order.size(); k-- > 0;) {
            const auto i = order[k];
            if (!sent[i] || !rows[i]->position.valid) {
                continue;
            }
            if (have_vehicle && rows[i]->vehicle_id == last_vehicle) {
                continue;
            }
            append_copy_line(latest_data, *rows[i]);
            last_vehicle = rows[i]->vehicle_id;
            have_vehicle = true;
        }
    }

    auto delay = config_.reconnect.first_delay;
    for (;;) {
        try {
            if (!conn_ || !conn_->healthy()) {
                conn_.reset();
                conn_ = std::make_unique<Connection>(url_);
            }
            const auto fresh = conn_->write(copy_data, latest_data);
            ++counters_.batches_committed;

            std::vector<bool> is_new = sent;
            if (fresh) {
                std::set<std::pair<std::int64_t, std::int64_t>> inserted(fresh->begin(),
                                                                         fresh->end());
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    is_new[i] =
                        sent[i] && inserted.contains(
                                       {rows[i]->vehicle_id,
                                        rows[i]->position.device_time.time_since_epoch().count()});
                }
            }
            std::vector<WriteResult> results(batch.size(), WriteResult{true, 0, 0});
            std::vector<StoredPosition> committed;
            committed.reserve(rows.size());
            for (const auto i : order) {
                auto& r = results[owner[i]];
                if (is_new[i]) {
                    ++r.stored;
                    committed.push_back(*rows[i]);
                } else {
                    ++r.duplicates;
                }
            }
            for (std::size_t s = 0; s < batch.size(); ++s) {
                batch[s].packet.counters->positions_stored += results[s].stored;
                batch[s].packet.counters->duplicates += results[s].duplicates;
                batch[s].done(results[s]);
            }
            for (auto* sink : sinks_) {
                sink->on_committed(committed);
            }
            return;
        } catch (const Error& e) {
            ++counters_.batch_failures;
            const bool lost_connection = !conn_ || !conn_->healthy();
            conn_.reset();
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
