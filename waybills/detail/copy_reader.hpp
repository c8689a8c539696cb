#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Reading many rows fast: a binary COPY over a libpq connection of its own (libpqxx 6.4 reads
/// COPY only as text), for the reconciliation's pass over the positions.
namespace fleet::waybills::detail {

/// A period of one vehicle whose positions are wanted.
struct PeriodQuery {
    std::int64_t waybill_id = 0;
    std::int64_t vehicle_id = 0;
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;
};

/// One stored fix as the COPY delivers it.
struct FixRow {
    std::int64_t waybill_id = 0;
    std::int64_t time_ms = 0;
    double lon_deg = 0;
    double lat_deg = 0;
    std::optional<double> speed_kmh;  ///< empty when the device reported none (NULL)
    std::optional<double> fuel_l;     ///< empty without a level sensor (NULL)
    bool valid = true;
};

/// Parses PostgreSQL's binary COPY format (the documentation's "Binary Format": header, tuples,
/// trailer) of tuples (int8 waybill_id, timestamptz device_time, float8 lon, float8 lat,
/// float4 speed_kmh, float4 fuel_l, bool valid), fed in chunks cut anywhere. Only speed_kmh and
/// fuel_l may be NULL. Nothing in the stream is trusted: a wrong field count or width, an unknown
/// critical header flag, a bad header extension length or bytes after the trailer throw
/// DatabaseError.
class FixCopyParser {
  public:
    explicit FixCopyParser(std::function<void(const FixRow&)> on_row);

    /// Consumes the next bytes of the stream; calls on_row for each tuple they complete.
    void feed(std::string_view chunk);
    /// The stream is over: throws DatabaseError unless it ended right after its trailer.
    void finish() const;

  private:
    bool parse_header(std::size_t& pos);
    bool parse_tuple(std::size_t& pos);

    std::function<void(const FixRow&)> on_row_;
    std::string buffer_;  ///< bytes fed but not parsed yet: the start of an incomplete part
    bool header_seen_ = false;
    bool trailer_seen_ = false;
};

/// Connects to `database_url` and calls `on_row` for every position of every period, periods in
/// the order given and each period's positions in device-time order. Throws DatabaseError.
void copy_fixes(const std::string& database_url, const std::vector<PeriodQuery>& periods,
                const std::function<void(const FixRow&)>& on_row);

}  // namespace fleet::waybills::detail
