#include "ingest/writer.hpp"

#include <algorithm>

#include "geo/error.hpp"
#include "geo/log.hpp"
#include "ingest/detail/batch.hpp"
#include "ingest/detail/batch_store.hpp"
#include "ingest/detail/pg_session.hpp"

namespace fleet::ingest {

using detail::EncodedBatch;
using detail::Outcome;
using detail::PgSession;
using detail::StatementError;

namespace {

std::size_t records_of(const Packet& p) {
    return p.positions.size() + (p.status ? 1 : 0);
}

std::string describe(const Error& e) {
    std::string s = e.what();
    for (auto& c : s) {
        if (c == '\n') {
            c = ' ';
        }
    }
    return s;
}

}  // namespace

PositionWriter::PositionWriter(const geo::ConnectionFactory& connections, WriterConfig config,
                               Counters& counters)
    : url_(connections.conninfo("fleetd writer")),
      config_(config),
      statement_timeout_(connections.options().statement_timeout),
      connect_timeout_(std::chrono::duration_cast<std::chrono::milliseconds>(
          connections.options().connect_timeout)),
      interrupt_(std::make_unique<detail::Interrupt>()),
      counters_(counters) {}

PositionWriter::~PositionWriter() {
    stop(std::chrono::milliseconds(0));
}

void PositionWriter::start() {
    thread_ = std::thread([this] { run(); });
}

void PositionWriter::set_queue_depth() {
    counters_.writer_queue_records = static_cast<std::int64_t>(queued_records_);
}

PositionWriter::Ticket PositionWriter::submit(Packet packet, Completion done) {
    const std::size_t records = records_of(packet);
    if (records == 0) {
        done(WriteResult{.committed = true});
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
        if (queued_records_ + records > config_.max_queued) {
            lock.unlock();
            ++counters_.queue_refusals;
            done(WriteResult{.refused = true});
            return 0;
        }
        ticket = next_ticket_++;
        queued_records_ += records;
        set_queue_depth();
        const auto received = std::chrono::time_point_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now());
        queue_.push_back({ticket, std::move(packet), std::move(done), Clock::now(), received});
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
    queued_records_ -= records_of(it->packet);
    set_queue_depth();
    queue_.erase(it);
    return true;
}

std::size_t PositionWriter::queued_positions() const {
    std::lock_guard lock(mutex_);
    return queued_records_;
}

void PositionWriter::stop(std::chrono::milliseconds deadline) {
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) {
            return;
        }
        stopping_ = true;
        stop_deadline_ = Clock::now() + deadline;
        // A call into the database in progress ends by the deadline too.
        interrupt_->set_limit(stop_deadline_);
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
        std::vector<Submission> batch = take_batch(lock);
        lock.unlock();
        commit_with_retry(batch);
        batch.clear();  // the completions' captures go before the lock is taken again
        lock.lock();
    }
}

// Gathers until the batch is full, or its oldest entry has waited max_wait, or nothing has
// arrived for `quiet`: every connection with data in flight is then waiting for this commit,
// and waiting longer would only add latency.
std::vector<PositionWriter::Submission> PositionWriter::take_batch(
    std::unique_lock<std::mutex>& lock) {
    const auto flush_at = queue_.front().queued_at + config_.max_wait;
    for (;;) {
        const auto now = Clock::now();
        if (stopping_ || queued_records_ >= config_.max_batch || now >= flush_at ||
            now >= queue_.back().queued_at + config_.quiet) {
            break;
        }
        wake_.wait_until(lock, std::min(flush_at, queue_.back().queued_at + config_.quiet));
        if (queue_.empty()) {
            return {};  // every packet was cancelled meanwhile
        }
    }
    std::vector<Submission> batch;
    std::size_t n = 0;
    while (!queue_.empty() &&
           (batch.empty() || n + records_of(queue_.front().packet) <= config_.max_batch)) {
        n += records_of(queue_.front().packet);
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    queued_records_ -= n;
    set_queue_depth();
    return batch;
}

PositionWriter::Clock::time_point PositionWriter::statement_deadline() const {
    if (statement_timeout_.count() <= 0) {
        return Clock::time_point::max();
    }
    return Clock::now() + statement_timeout_ + config_.statement_margin;
}

detail::PgSession& PositionWriter::session() {
    if (!session_ || !session_->healthy()) {
        session_.reset();
        const auto bound = connect_timeout_.count() > 0 ? connect_timeout_ : statement_timeout_;
        const auto deadline = bound.count() > 0 ? Clock::now() + bound + config_.statement_margin
                                                : Clock::time_point::max();
        auto fresh = std::make_unique<PgSession>(url_, deadline, *interrupt_);
        detail::prepare_session(*fresh, statement_deadline());
        session_ = std::move(fresh);
    }
    return *session_;
}

bool PositionWriter::back_off(std::chrono::milliseconds delay) {
    const auto until = Clock::now() + delay;
    std::unique_lock lock(mutex_);
    for (;;) {
        const auto now = Clock::now();
        if (stopping_ && now >= stop_deadline_) {
            give_up_ = true;
            return false;
        }
        if (now >= until) {
            return true;
        }
        wake_.wait_until(lock, stopping_ ? std::min(until, stop_deadline_) : until);
    }
}

void PositionWriter::commit_with_retry(std::vector<Submission>& batch) {
    if (batch.empty()) {
        return;
    }
    std::vector<const Packet*> packets;
    std::vector<Millis> received_at;
    for (const auto& s : batch) {
        packets.push_back(&s.packet);
        received_at.push_back(s.received_at);
    }
    EncodedBatch encoded(std::move(packets));
    const std::size_t records = encoded.rows().size() + encoded.statuses().size();

    auto delay = config_.reconnect.first_delay;
    for (;;) {
        try {
            PgSession& db = session();
            const auto started = Clock::now();
            detail::store_batch(db, encoded, received_at, [this] { return statement_deadline(); });
            counters_.batch_commit_time.observe(Clock::now() - started);
            ++counters_.batches_committed;
            break;
        } catch (const Error& e) {
            ++counters_.batch_failures;
            const auto* error = dynamic_cast<const StatementError*>(&e);
            if (dynamic_cast<const detail::StatementTimeout*>(&e) != nullptr ||
                (error != nullptr && detail::is_query_canceled(error->sqlstate()))) {
                ++counters_.statement_timeouts;
            }
            if (error == nullptr) {
                ++counters_.database_reconnects;  // the session is gone; the next one is new
            }
            session_.reset();
            encoded.reset_outcomes();
            log::warn("writer", "batch of " + std::to_string(records) + " records not committed (" +
                                    describe(e) + "); retrying, nothing acknowledged meanwhile");
        }
        if (!back_off(delay)) {
            log::warn("writer", "stopping without a database: " + std::to_string(records) +
                                    " records left unacknowledged (devices resend them)");
            for (auto& s : batch) {
                s.done(WriteResult{});
            }
            return;
        }
        delay = std::min(delay * 2, config_.reconnect.max_delay);
    }

    std::vector<WriteResult> results(batch.size(), WriteResult{.committed = true});
    std::vector<StoredPosition> committed;
    committed.reserve(encoded.rows().size());
    std::size_t quarantined = 0;
    for (const auto& row : encoded.rows()) {
        auto& r = results[row.packet];
        switch (row.outcome) {
            case Outcome::stored:
                ++r.stored;
                committed.push_back(*row.record);
                break;
            case Outcome::merged:
                ++r.merged;
                break;
            case Outcome::duplicate:
            case Outcome::pending:
                ++r.duplicates;
                break;
            case Outcome::quarantined:
                ++r.quarantined;
                ++quarantined;
                break;
        }
    }
    for (const auto& s : encoded.statuses()) {
        if (s.outcome == Outcome::quarantined) {
            ++results[s.packet].quarantined;
            ++quarantined;
        }
    }
    counters_.records_quarantined += quarantined;
    if (quarantined > 0) {
        log::warn("writer", std::to_string(quarantined) +
                                " records refused by the database were kept in fleet.quarantine");
    }
    std::sort(committed.begin(), committed.end(), [](const auto& a, const auto& b) {
        return std::pair(a.vehicle_id, a.position.device_time) <
               std::pair(b.vehicle_id, b.position.device_time);
    });
    for (std::size_t s = 0; s < batch.size(); ++s) {
        if (ProtocolCounters* c = batch[s].packet.counters) {
            c->positions_stored += results[s].stored;
            c->duplicates += results[s].duplicates;
            c->merged += results[s].merged;
            c->quarantined += results[s].quarantined;
        }
        batch[s].done(results[s]);
    }
    for (auto* sink : sinks_) {
        sink->on_committed(committed);
    }
}

}  // namespace fleet::ingest
