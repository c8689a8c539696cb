#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
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
    double speed_kmh = 0;
    std::optional<double> fuel_l;
    bool valid = true;
};

/// Connects to `database_url` and calls `on_row` for every position of every period, periods in
/// the order given and each period's positions in device-time order. Throws DatabaseError.
void copy_fixes(const std::string& database_url, const std::vector<PeriodQuery>& periods,
                const std::function<void(const FixRow&)>& on_row);

}  // namespace fleet::waybills::detail
