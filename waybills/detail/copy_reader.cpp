#include "waybills/detail/copy_reader.hpp"

#include <bit>
#include <cstring>
#include <memory>

#include <libpq-fe.h>

#include "geo/error.hpp"
#include "waybills/detail/sql.hpp"

namespace fleet::waybills::detail {

namespace {

// PostgreSQL's epoch (2000-01-01 UTC) in Unix milliseconds.
constexpr std::int64_t pg_epoch_ms = 946'684'800'000;

struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string message_of(PGconn* c) {
    std::string m = PQerrorMessage(c);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) {
        m.pop_back();
    }
    return m;
}

void run(PGconn* c, const char* sql, ExecStatusType expected) {
    Result r(PQexec(c, sql));
    if (PQresultStatus(r.get()) != expected) {
        throw DatabaseError(message_of(c));
    }
}

// Big-endian reads of the binary COPY format.
template <typename T>
T read_be(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) {
        if constexpr (sizeof(T) == 8) {
            std::uint64_t u;
            std::memcpy(&u, &v, 8);
            u = __builtin_bswap64(u);
            std::memcpy(&v, &u, 8);
        } else if constexpr (sizeof(T) == 4) {
            std::uint32_t u;
            std::memcpy(&u, &v, 4);
            u = __builtin_bswap32(u);
            std::memcpy(&v, &u, 4);
        } else if constexpr (sizeof(T) == 2) {
            std::uint16_t u;
            std::memcpy(&u, &v, 2);
            u = __builtin_bswap16(u);
            std::memcpy(&v, &u, 2);
        }
    }
    return v;
}

// Parses tuples of (int8 waybill, timestamptz, float8 x, float8 y, float4 speed, float4 fuel,
// bool valid) out of `buffer` from `pos`; returns false when the trailer was seen.
class TupleParser {
  public:
    explicit TupleParser(const std::function<void(const FixRow&)>& on_row) : on_row_(on_row) {}

    bool feed(const char* data, int size) {
        buffer_.append(data, static_cast<std::size_t>(size));
        std::size_t pos = 0;
        if (!header_seen_) {
            static constexpr char signature[] = "PGCOPY\n\377\r\n";
            if (buffer_.size() < 19) {
                return true;
            }
            if (std::memcmp(buffer_.data(), signature, 11) != 0) {
                throw DatabaseError("binary COPY: unexpected header");
            }
            pos = 19 + static_cast<std::size_t>(read_be<std::int32_t>(buffer_.data() + 15));
            header_seen_ = true;
        }
        bool more = true;
        while (more) {
            const std::size_t start = pos;
            if (buffer_.size() - pos < 2) {
                break;
            }
            const auto fields = read_be<std::int16_t>(buffer_.data() + pos);
            pos += 2;
            if (fields == -1) {
                more = false;
                pos = buffer_.size();
                break;
            }
            if (fields != 7) {
                throw DatabaseError("binary COPY: " + std::to_string(fields) + " fields, not 7");
            }
            FixRow row;
            bool complete = true;
            for (int f = 0; f < 7 && complete; ++f) {
                if (buffer_.size() - pos < 4) {
                    complete = false;
                    break;
                }
                const auto len = read_be<std::int32_t>(buffer_.data() + pos);
                pos += 4;
                if (len > 0 && buffer_.size() - pos < static_cast<std::size_t>(len)) {
                    complete = false;
                    break;
                }
                const char* p = buffer_.data() + pos;
                switch (f) {
                    case 0:
                        row.waybill_id = read_be<std::int64_t>(p);
                        break;
                    case 1:
                        row.time_ms = read_be<std::int64_t>(p) / 1000 + pg_epoch_ms;
                        break;
                    case 2:
                        row.lon_deg = read_be<double>(p);
                        break;
                    case 3:
                        row.lat_deg = read_be<double>(p);
                        break;
                    case 4:
                        row.speed_kmh = len < 0 ? 0 : read_be<float>(p);
                        break;
                    case 5:
                        if (len >= 0) {
                            row.fuel_l = read_be<float>(p);
                        }
                        break;
                    case 6:
                        row.valid = *p != 0;
                        break;
                }
                pos += len > 0 ? static_cast<std::size_t>(len) : 0;
            }
            if (!complete) {
                pos = start;
                break;
            }
            on_row_(row);
        }
        buffer_.erase(0, pos);
        return more;
    }

  private:
    const std::function<void(const FixRow&)>& on_row_;
    std::string buffer_;
    bool header_seen_ = false;
};

}  // namespace

void copy_fixes(const std::string& url, const std::vector<PeriodQuery>& periods,
                const std::function<void(const FixRow&)>& on_row) {
    Conn conn(PQconnectdb(url.c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        throw DatabaseError(message_of(conn.get()));
    }
    PGconn* c = conn.get();
    run(c, "BEGIN", PGRES_COMMAND_OK);
    run(c,
        "CREATE TEMP TABLE track_periods (seq serial, waybill_id bigint, vehicle_id bigint,"
        " from_ts timestamptz, to_ts timestamptz) ON COMMIT DROP",
        PGRES_COMMAND_OK);
    std::vector<std::int64_t> ids, vehicles, from, to;
    for (const auto& p : periods) {
        ids.push_back(p.waybill_id);
        vehicles.push_back(p.vehicle_id);
        from.push_back(p.from_ms);
        to.push_back(p.to_ms);
    }
    const std::string arrays[] = {bigint_array(ids), bigint_array(vehicles), bigint_array(from),
                                  bigint_array(to)};
    const char* values[] = {arrays[0].c_str(), arrays[1].c_str(), arrays[2].c_str(),
                            arrays[3].c_str()};
    Result filled(PQexecParams(
        c,
        "INSERT INTO track_periods (waybill_id, vehicle_id, from_ts, to_ts)"
        " SELECT w, v, to_timestamp(f / 1000.0), to_timestamp(t / 1000.0)"
        " FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) u(w, v, f, t)",
        4, nullptr, values, nullptr, nullptr, 0));
    if (PQresultStatus(filled.get()) != PGRES_COMMAND_OK) {
        throw DatabaseError(message_of(c));
    }
    run(c,
        "COPY (SELECT p.waybill_id, f.* FROM track_periods p, LATERAL (SELECT q.device_time,"
        " ST_X(q.geom), ST_Y(q.geom), q.speed_kmh, q.fuel_l, q.valid FROM fleet.positions q"
        " WHERE q.vehicle_id = p.vehicle_id AND q.device_time BETWEEN p.from_ts AND p.to_ts"
        " ORDER BY q.device_time) f ORDER BY p.seq) TO STDOUT (FORMAT binary)",
        PGRES_COPY_OUT);
    TupleParser parser(on_row);
    for (;;) {
        char* data = nullptr;
        const int n = PQgetCopyData(c, &data, 0);
        if (n == -1) {
            break;
        }
        if (n == -2) {
            throw DatabaseError(message_of(c));
        }
        const std::unique_ptr<char, decltype(&PQfreemem)> owned(data, &PQfreemem);
        parser.feed(data, n);
    }
    bool failed = false;
    while (PGresult* end = PQgetResult(c)) {
        failed = failed || PQresultStatus(end) != PGRES_COMMAND_OK;
        PQclear(end);
    }
    if (failed) {
        throw DatabaseError(message_of(c));
    }
    run(c, "COMMIT", PGRES_COMMAND_OK);
}

}  // namespace fleet::waybills::detail
