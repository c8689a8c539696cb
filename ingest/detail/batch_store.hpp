#pragma once

#include <functional>
#include <span>
#include <string>

#include "ingest/detail/batch.hpp"
#include "ingest/detail/pg_session.hpp"

/// The position writer's SQL: one transaction per batch, a plain binary COPY on the fast path,
/// the merge rule of migration 0009 when a key repeats, the records the database refuses
/// isolated into fleet.quarantine, the batch's device statuses and latest positions.
namespace fleet::ingest::detail {

/// The deadline of the next call into the database.
using Deadline = std::function<SteadyClock::time_point()>;

/// Creates a new connection's staging tables.
void prepare_session(PgSession& session, SteadyClock::time_point deadline);

/// Commits `batch` in one transaction and sets the outcome of each of its records. Throws what
/// the session throws for anything but the records the database refuses (the transaction is
/// then not committed, and the batch may be retried after reset_outcomes()).
void store_batch(PgSession& session, EncodedBatch& batch, std::span<const Millis> received_at,
                 const Deadline& deadline);

/// Whether a SQLSTATE means the database refuses a record, so that retrying cannot help: a data
/// exception (class 22), an integrity constraint violation (class 23) other than the duplicate
/// key 23505 (the merge rule takes that), a program limit (class 54: a value too large or too
/// deeply nested).
bool is_data_error(const std::string& sqlstate);

/// Whether a SQLSTATE is the server's statement_timeout (57014 query_canceled).
bool is_query_canceled(const std::string& sqlstate);

}  // namespace fleet::ingest::detail
