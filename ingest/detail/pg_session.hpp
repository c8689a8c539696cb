#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "geo/error.hpp"

struct pg_conn;
struct pg_result;

/// The position writer's libpq connection, in which nothing waits without a deadline: libpq's
/// non-blocking calls and poll() on its socket, so that a frozen server (SIGSTOP), a black hole
/// or a peer that accepts and never answers costs at most the deadline of the call.
namespace fleet::ingest::detail {

using SteadyClock = std::chrono::steady_clock;

/// The server refused a statement; the connection is still usable (its transaction aborted).
class StatementError : public DatabaseError {
  public:
    StatementError(std::string sqlstate, std::string message)
        : DatabaseError(sqlstate + ": " + message),
          sqlstate_(std::move(sqlstate)),
          message_(std::move(message)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    const std::string& message() const noexcept { return message_; }

  private:
    std::string sqlstate_;
    std::string message_;
};

/// A call's deadline passed: the connection is no longer usable.
class StatementTimeout : public DatabaseError {
  public:
    using DatabaseError::DatabaseError;
};

/// The owner gave up waiting (Interrupt's limit passed): the connection is no longer usable.
class Interrupted : public DatabaseError {
  public:
    using DatabaseError::DatabaseError;
};

/// Lets another thread cut a session's waits short: after set_limit(t), every wait ends by t
/// with Interrupted. Thread-safe.
class Interrupt {
  public:
    Interrupt();
    ~Interrupt();
    Interrupt(const Interrupt&) = delete;
    Interrupt& operator=(const Interrupt&) = delete;

    /// From now on every wait ends by `limit`; a wait in progress re-checks at once.
    void set_limit(SteadyClock::time_point limit);
    std::optional<SteadyClock::time_point> limit() const;
    /// The descriptor a wait polls besides the socket (readable after set_limit).
    int fd() const { return fd_; }
    void clear();

  private:
    int fd_;
    std::atomic<bool> limited_{false};
    std::atomic<SteadyClock::rep> limit_{0};
};

/// A result of a statement; frees itself.
class PgResult {
  public:
    explicit PgResult(pg_result* r = nullptr) : r_(r) {}
    ~PgResult();
    PgResult(PgResult&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
    PgResult& operator=(PgResult&& other) noexcept;
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;

    int rows() const;
    /// The text of a cell; "" for NULL.
    std::string_view text(int row, int column) const;
    long long integer(int row, int column) const;
    bool boolean(int row, int column) const;

  private:
    pg_result* r_;
};

/// A parameter of exec_params: text unless `binary`; NULL when `null`.
struct Param {
    std::string_view value;
    bool binary = false;
    bool null = false;
};

/// One connection. Every call takes its deadline; past it the call throws StatementTimeout and
/// the session is broken (drop it). A server error throws StatementError; a lost connection
/// throws DatabaseError.
class PgSession {
  public:
    /// Connects (PQconnectStart/PQconnectPoll) by `deadline`.
    PgSession(const std::string& conninfo, SteadyClock::time_point deadline, Interrupt& interrupt);
    ~PgSession();
    PgSession(const PgSession&) = delete;
    PgSession& operator=(const PgSession&) = delete;

    /// Runs one or more statements (the simple query protocol, no parameters); returns the last
    /// result. Throws StatementError naming the first failure.
    PgResult exec(const char* sql, SteadyClock::time_point deadline);
    /// Runs one parameterised statement; results in text.
    PgResult exec_params(const char* sql, std::span<const Param> params,
                         SteadyClock::time_point deadline);
    /// Runs `sql` (a COPY ... FROM STDIN) with `data` as its whole input.
    void copy_in(const char* sql, std::string_view data, SteadyClock::time_point deadline);

    /// False once the connection broke or a call timed out.
    bool healthy() const;

  private:
    void wait(bool for_write, SteadyClock::time_point deadline);
    void flush(SteadyClock::time_point deadline);
    /// Reads every result of the statement in flight; returns the last, throws on the first
    /// failure (after reading them all, so the connection is ready for the next statement).
    PgResult finish(SteadyClock::time_point deadline, bool copy_in_expected);
    [[noreturn]] void lost(const std::string& what);

    pg_conn* conn_ = nullptr;
    Interrupt& interrupt_;
    bool broken_ = false;
};

}  // namespace fleet::ingest::detail
