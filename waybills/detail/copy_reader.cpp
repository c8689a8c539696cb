#include "waybills/detail/copy_reader.hpp"

#include <bit>
#include <cstring>
#include <iterator>
#include <memory>
#include <string_view>
#include <utility>

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

// The tuple's fields: their names for errors, their widths, and whether they may be NULL.
struct FieldSpec {
    const char* name;
    std::int32_t width;
    bool nullable;
};
constexpr FieldSpec fields[] = {
    {"waybill_id", 8, false}, {"device_time", 8, false}, {"lon", 8, false},  {"lat", 8, false},
    {"speed_kmh", 4, true},   {"fuel_l", 4, true},       {"valid", 1, false}};
constexpr std::int16_t field_count = std::size(fields);

// Header: an 11-byte signature, an int32 of flags and an int32 length of the extension area
// that follows it.
constexpr std::string_view signature{"PGCOPY\n\377\r\n\0", 11};
constexpr std::size_t header_fixed = 19;
// The extension area carries nothing yet; a long one is a corrupt stream, not one to buffer.
constexpr std::int32_t max_extension = 1 << 16;
// Flag bits 0-15 are backwards-incompatible changes a reader must refuse; bit 16 adds an OID
// field to every tuple; bits 17-31 may be ignored.
constexpr std::uint32_t refused_flags = 0x0001'ffff;

}  // namespace

FixCopyParser::FixCopyParser(std::function<void(const FixRow&)> on_row)
    : on_row_(std::move(on_row)) {}

void FixCopyParser::feed(std::string_view chunk) {
    if (trailer_seen_) {
        if (!chunk.empty()) {
            throw DatabaseError("binary COPY: data after the trailer");
        }
        return;
    }
    buffer_.append(chunk);
    std::size_t pos = 0;
    if (header_seen_ || parse_header(pos)) {
        while (!trailer_seen_ && parse_tuple(pos)) {
        }
    }
    buffer_.erase(0, pos);
    if (trailer_seen_ && !buffer_.empty()) {
        throw DatabaseError("binary COPY: data after the trailer");
    }
}

void FixCopyParser::finish() const {
    if (!trailer_seen_) {
        throw DatabaseError("binary COPY: stream ended without its trailer (" +
                            std::to_string(buffer_.size()) + " bytes left over)");
    }
}

bool FixCopyParser::parse_header(std::size_t& pos) {
    if (buffer_.size() < header_fixed) {
        return false;
    }
    if (std::string_view(buffer_).substr(0, signature.size()) != signature) {
        throw DatabaseError("binary COPY: unexpected header");
    }
    const auto flags = read_be<std::uint32_t>(buffer_.data() + 11);
    if ((flags & refused_flags) != 0) {
        throw DatabaseError("binary COPY: unsupported header flags " + std::to_string(flags));
    }
    const auto extension = read_be<std::int32_t>(buffer_.data() + 15);
    if (extension < 0 || extension > max_extension) {
        throw DatabaseError("binary COPY: header extension length " + std::to_string(extension));
    }
    if (buffer_.size() < header_fixed + static_cast<std::size_t>(extension)) {
        return false;
    }
    pos = header_fixed + static_cast<std::size_t>(extension);
    header_seen_ = true;
    return true;
}

bool FixCopyParser::parse_tuple(std::size_t& pos) {
    const std::size_t size = buffer_.size();
    if (size - pos < 2) {
        return false;
    }
    const auto count = read_be<std::int16_t>(buffer_.data() + pos);
    if (count == -1) {
        trailer_seen_ = true;
        pos += 2;
        return false;
    }
    if (count != field_count) {
        throw DatabaseError("binary COPY: " + std::to_string(count) + " fields, not " +
                            std::to_string(field_count));
    }
    // Check every length word as soon as it is there, and find where each field's bytes start;
    // consume nothing until the whole tuple is.
    const char* data[field_count] = {};
    std::size_t at = pos + 2;
    for (int f = 0; f < field_count; ++f) {
        if (size - at < 4) {
            return false;
        }
        const auto length = read_be<std::int32_t>(buffer_.data() + at);
        at += 4;
        if (length == -1 && fields[f].nullable) {
            continue;
        }
        if (length != fields[f].width) {
            throw DatabaseError(
                std::string("binary COPY: field ") + fields[f].name + " has " +
                (length == -1 ? std::string("NULL") : std::to_string(length) + " bytes") +
                ", not " + std::to_string(fields[f].width) + " bytes");
        }
        if (size - at < static_cast<std::size_t>(length)) {
            return false;
        }
        data[f] = buffer_.data() + at;
        at += static_cast<std::size_t>(length);
    }
    FixRow row;
    row.waybill_id = read_be<std::int64_t>(data[0]);
    // timestamptz: microseconds since PostgreSQL's epoch.
    row.time_ms = read_be<std::int64_t>(data[1]) / 1000 + pg_epoch_ms;
    row.lon_deg = read_be<double>(data[2]);
    row.lat_deg = read_be<double>(data[3]);
    if (data[4] != nullptr) {
        row.speed_kmh = read_be<float>(data[4]);
    }
    if (data[5] != nullptr) {
        row.fuel_l = read_be<float>(data[5]);
    }
    row.valid = *data[6] != 0;
    pos = at;
    on_row_(row);
    return true;
}

void copy_fixes(const std::string& url, const std::vector<PeriodQuery>& periods,
                const std::function<void(const FixRow&)>& on_row) {
    Conn conn(PQconnectdb(url.c_str()));
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        throw DatabaseError(message_of(conn.get()));
    }
    PGconn* c = conn.get();
    run(c, "BEGIN", PGRES_COMMAND_OK);
    run(c,
        "CREATE TEMP TABLE track_periods (seq serial PRIMARY KEY, waybill_id bigint, vehicle_id "
        "bigint,"
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
    // Known size and an ordered key: the plan walks the periods in order through a nested loop,
    // each period's positions sorted on their own, with no sort of the whole stream (a sort on
    // (seq, device_time) would re-sort every period). The reader checks the time order it
    // relies on and fails loudly if a plan ever broke it.
    run(c, "ANALYZE track_periods", PGRES_COMMAND_OK);
    run(c,
        "COPY (SELECT p.waybill_id, f.* FROM track_periods p, LATERAL (SELECT q.device_time,"
        " ST_X(q.geom), ST_Y(q.geom), q.speed_kmh, q.fuel_l, q.valid FROM fleet.positions q"
        " WHERE q.vehicle_id = p.vehicle_id AND q.device_time BETWEEN p.from_ts AND p.to_ts"
        " ORDER BY q.device_time) f ORDER BY p.seq) TO STDOUT (FORMAT binary)",
        PGRES_COPY_OUT);
    FixCopyParser parser(on_row);
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
        parser.feed(std::string_view(data, static_cast<std::size_t>(n)));
    }
    bool failed = false;
    while (PGresult* end = PQgetResult(c)) {
        failed = failed || PQresultStatus(end) != PGRES_COMMAND_OK;
        PQclear(end);
    }
    if (failed) {
        throw DatabaseError(message_of(c));
    }
    parser.finish();
    run(c, "COMMIT", PGRES_COMMAND_OK);
}

}  // namespace fleet::waybills::detail
