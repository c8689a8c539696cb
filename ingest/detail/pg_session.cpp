#include "ingest/detail/pg_session.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace fleet::ingest::detail {

namespace {

std::string trimmed(const char* message) {
    std::string s = message != nullptr ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    for (auto& c : s) {
        if (c == '\n' || c == '\t') {
            c = ' ';
        }
    }
    return s;
}

// COPY data goes out in pieces of this size, so that libpq's output buffer stays small.
constexpr std::size_t copy_chunk_bytes = 256 * 1024;

}  // namespace

Interrupt::Interrupt() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) {
        throw Error(std::string("cannot create the writer's wake-up descriptor: ") +
                    std::strerror(errno));
    }
}

Interrupt::~Interrupt() {
    ::close(fd_);
}

void Interrupt::set_limit(SteadyClock::time_point limit) {
    limit_ = limit.time_since_epoch().count();
    limited_ = true;
    const std::uint64_t one = 1;
    // A full counter (impossible here) would only mean the descriptor is readable already.
    [[maybe_unused]] const auto written = ::write(fd_, &one, sizeof one);
}

std::optional<SteadyClock::time_point> Interrupt::limit() const {
    if (!limited_) {
        return std::nullopt;
    }
    return SteadyClock::time_point(SteadyClock::duration(limit_.load()));
}

void Interrupt::clear() {
    std::uint64_t value = 0;
    [[maybe_unused]] const auto got = ::read(fd_, &value, sizeof value);
}

PgResult::~PgResult() {
    if (r_ != nullptr) {
        PQclear(r_);
    }
}

PgResult& PgResult::operator=(PgResult&& other) noexcept {
    if (this != &other) {
        if (r_ != nullptr) {
            PQclear(r_);
        }
        r_ = other.r_;
        other.r_ = nullptr;
    }
    return *this;
}

int PgResult::rows() const {
    return r_ != nullptr ? PQntuples(r_) : 0;
}

std::string_view PgResult::text(int row, int column) const {
    return std::string_view(PQgetvalue(r_, row, column),
                            static_cast<std::size_t>(PQgetlength(r_, row, column)));
}

long long PgResult::integer(int row, int column) const {
    return std::strtoll(PQgetvalue(r_, row, column), nullptr, 10);
}

bool PgResult::boolean(int row, int column) const {
    return text(row, column) == "t";
}

PgSession::PgSession(const std::string& conninfo, SteadyClock::time_point deadline,
                     Interrupt& interrupt)
    : conn_(PQconnectStart(conninfo.c_str())), interrupt_(interrupt) {
    if (conn_ == nullptr) {
        throw DatabaseError("cannot connect to the database: out of memory");
    }
    try {
        if (PQstatus(conn_) == CONNECTION_BAD) {
            lost("cannot connect to the database");
        }
        // PQconnectPoll does not apply connect_timeout itself: the deadline does.
        PostgresPollingStatusType state = PGRES_POLLING_WRITING;
        while (state != PGRES_POLLING_OK) {
            if (state == PGRES_POLLING_FAILED) {
                lost("cannot connect to the database");
            }
            wait(state == PGRES_POLLING_WRITING, deadline);
            state = PQconnectPoll(conn_);
        }
        if (PQsetnonblocking(conn_, 1) != 0) {
            lost("cannot make the database connection non-blocking");
        }
    } catch (const DatabaseError&) {
        PQfinish(conn_);
        conn_ = nullptr;
        throw;
    }
}

PgSession::~PgSession() {
    if (conn_ != nullptr) {
        PQfinish(conn_);  // non-blocking: never waits for a server that does not read
    }
}

bool PgSession::healthy() const {
    return !broken_ && PQstatus(conn_) == CONNECTION_OK;
}

void PgSession::lost(const std::string& what) {
    broken_ = true;
    throw DatabaseError(what + ": " + trimmed(PQerrorMessage(conn_)));
}

void PgSession::wait(bool for_write, SteadyClock::time_point deadline) {
    for (;;) {
        const auto now = SteadyClock::now();
        const auto limit = interrupt_.limit();
        if (limit && now >= *limit) {
            broken_ = true;
            throw Interrupted("stopped waiting for the database");
        }
        if (now >= deadline) {
            broken_ = true;
            throw StatementTimeout("no answer from the database within the statement deadline");
        }
        const auto until = limit ? std::min(deadline, *limit) : deadline;
        int timeout_ms = -1;
        if (until != SteadyClock::time_point::max()) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
            timeout_ms = static_cast<int>(std::min<long long>(left, 60'000));
        }
        pollfd fds[2] = {
            {PQsocket(conn_), static_cast<short>(for_write ? POLLOUT | POLLIN : POLLIN), 0},
            {interrupt_.fd(), POLLIN, 0},
        };
        const int ready = ::poll(fds, 2, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            broken_ = true;
            throw DatabaseError(std::string("poll on the database connection failed: ") +
                                std::strerror(errno));
        }
        if ((fds[1].revents & POLLIN) != 0) {
            interrupt_.clear();  // the limit is in interrupt_.limit() from now on
        }
        if (fds[0].revents != 0) {
            return;
        }
    }
}

void PgSession::flush(SteadyClock::time_point deadline) {
    for (;;) {
        const int rc = PQflush(conn_);
        if (rc == 0) {
            return;
        }
        if (rc < 0) {
            lost("lost the database connection while sending");
        }
        wait(true, deadline);
        // libpq's advice for a pending flush: take in what the server sent meanwhile.
        if (PQconsumeInput(conn_) == 0) {
            lost("lost the database connection while sending");
        }
    }
}

PgResult PgSession::finish(SteadyClock::time_point deadline, bool copy_in_expected) {
    flush(deadline);
    PgResult last;
    std::optional<StatementError> failure;
    for (;;) {
        while (PQisBusy(conn_) != 0) {
            wait(false, deadline);
            if (PQconsumeInput(conn_) == 0) {
                lost("lost the database connection");
            }
        }
        PGresult* r = PQgetResult(conn_);
        if (r == nullptr) {
            break;
        }
        const ExecStatusType status = PQresultStatus(r);
        if (status == PGRES_COPY_IN) {
            if (!copy_in_expected || failure) {
                PQclear(r);
                // A COPY nobody feeds: end it so that the connection is usable again.
                if (PQputCopyEnd(conn_, "unexpected COPY") < 0) {
                    lost("lost the database connection");
                }
                flush(deadline);
                continue;
            }
            return PgResult(r);
        }
        if (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR ||
            status == PGRES_BAD_RESPONSE) {
            if (PQstatus(conn_) == CONNECTION_BAD) {
                PQclear(r);
                lost("lost the database connection");
            }
            if (!failure) {
                const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
                std::string message = trimmed(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
                if (message.empty()) {
                    message = trimmed(PQresultErrorMessage(r));
                }
                const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
                if (detail != nullptr && *detail != '\0') {
                    message += " (" + trimmed(detail) + ")";
                }
                failure.emplace(state != nullptr ? state : "", message);
            }
            PQclear(r);
            continue;
        }
        last = PgResult(r);
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
        lost("lost the database connection");
    }
    if (failure) {
        throw *failure;
    }
    return last;
}

PgResult PgSession::exec(const char* sql, SteadyClock::time_point deadline) {
    if (PQsendQuery(conn_, sql) == 0) {
        lost("cannot send a statement");
    }
    return finish(deadline, false);
}

PgResult PgSession::exec_params(const char* sql, std::span<const Param> params,
                                SteadyClock::time_point deadline) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    for (const auto& p : params) {
        values.push_back(p.null ? nullptr : p.value.data());
        lengths.push_back(static_cast<int>(p.value.size()));
        formats.push_back(p.binary ? 1 : 0);
    }
    // Text parameters must end with a NUL: the callers pass views of std::strings.
    if (PQsendQueryParams(conn_, sql, static_cast<int>(params.size()), nullptr, values.data(),
                          lengths.data(), formats.data(), 0) == 0) {
        lost("cannot send a statement");
    }
    return finish(deadline, false);
}

void PgSession::copy_in(const char* sql, std::string_view data, SteadyClock::time_point deadline) {
    if (PQsendQuery(conn_, sql) == 0) {
        lost("cannot send a COPY");
    }
    finish(deadline, true);  // the COPY IN state; its result is freed at once
    for (std::size_t at = 0; at < data.size();) {
        const std::size_t n = std::min(copy_chunk_bytes, data.size() - at);
        const int rc = PQputCopyData(conn_, data.data() + at, static_cast<int>(n));
        if (rc < 0) {
            lost("lost the database connection during COPY");
        }
        if (rc == 0) {
            wait(true, deadline);
            continue;
        }
        at += n;
        flush(deadline);
    }
    for (;;) {
        const int rc = PQputCopyEnd(conn_, nullptr);
        if (rc < 0) {
            lost("lost the database connection during COPY");
        }
        if (rc == 1) {
            break;
        }
        wait(true, deadline);
    }
    finish(deadline, false);
}

}  // namespace fleet::ingest::detail
