#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <pqxx/pqxx>

/// Small pieces shared by the waybill store and the reconciliation.
namespace fleet::waybills::detail {

/// SQL formatting a timestamptz column as UTC ISO 8601 text ("2026-11-27T04:30:00Z").
#define FLEET_UTC(column) \
    "to_char((" column ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/// Throws InputError with the first line of the database's message.
[[noreturn]] void throw_input(const pqxx::sql_error& e);

/// Runs `step` in a transaction of its own, committed at its end; the database's refusals of bad
/// values (an unreadable time, a broken check constraint) become InputError with its message.
template <typename Step>
auto in_transaction(pqxx::connection& conn, Step&& step) {
    try {
        pqxx::work tx(conn);
        if constexpr (std::is_void_v<decltype(step(tx))>) {
            step(tx);
            tx.commit();
        } else {
            auto result = step(tx);
            tx.commit();
            return result;
        }
    } catch (const pqxx::data_exception& e) {
        throw_input(e);
    } catch (const pqxx::integrity_constraint_violation& e) {
        throw_input(e);
    }
}

/// A nullable column as an optional value.
template <typename T>
std::optional<T> opt(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

/// A nullable text column; NULL reads as empty.
inline std::string text(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

/// A PostgreSQL array literal ("{1,2,3}") of ids, passed as one parameter.
std::string bigint_array(const std::vector<std::int64_t>& ids);

/// The waybill's subject in the journal: "ISSUER/NUMBER".
std::string subject(pqxx::transaction_base& tx, std::int64_t waybill_id);

}  // namespace fleet::waybills::detail
