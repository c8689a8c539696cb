#pragma once

#include <string>
#include <utility>

#include <pqxx/pqxx>

#include "geo/calendar.hpp"
#include "geo/error.hpp"

namespace fleet::geo::detail {

/// Checks a query's period ([from, to), ISO 8601 with offsets) and sets the caller's
/// transaction's TimeZone to `zone`, so that to_char shows offsets in it. InputError naming the
/// field for a time without an offset, or for an unknown zone (the transaction is aborted then,
/// as by any error).
inline void use_period(pqxx::transaction_base& tx, const std::string& from, const std::string& to,
                       const std::string& zone) {
    for (const auto& [field, value] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
        if (!has_time_offset(*value)) {
            throw InputError(std::string(field) + ": expected a time with its offset (" +
                             "2026-11-27 07:30+03 or 2026-11-27T04:30:00Z), got '" + *value + "'");
        }
    }
    try {
        tx.exec_params("SELECT set_config('TimeZone', $1, true)", zone);
    } catch (const pqxx::data_exception&) {
        throw InputError("time zone: unknown zone '" + zone +
                         "' (an IANA name such as Europe/Moscow, or UTC)");
    }
}

}  // namespace fleet::geo::detail
