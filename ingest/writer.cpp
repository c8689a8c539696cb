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

// A lane's state; its queue and flags under its own mutex, its session used on its thread only.
struct PositionWriter::Lane {
    std::size_t index = 0;
    detail::Interrupt interrupt;                 ///< ends the lane's waits at a stop
    std::unique_ptr<detail::PgSession> session;  ///< used on the lane's thread only
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<Submission> queue;
    std::size_t queued_records = 0;  ///< in `queue`
    std::uint64_t next_ticket = 1;
    bool stopping = false;
    Clock::time_point stop_deadline{};
    std::atomic<bool> give_up{false};
    std::thread thread;
};

namespace {

// A ticket names its lane in its low byte; 0 is no ticket.
constexpr unsigned lane_bits = 8;
constexpr std::size_t max_lanes = 64;

}  // namespace

PositionWriter::PositionWriter(const geo::ConnectionFactory& connections, WriterConfig config,
                               Counters& counters)
    : url_(connections.conninfo("fleetd writer")),
      config_(config),
      statement_timeout_(connections.options().statement_timeout),
      connect_timeout_(std::chrono::duration_cast<std::chrono::milliseconds>(
          connections.options().connect_timeout)),
      counters_(counters) {
    const std::size_t n = std::clamp<std::size_t>(config_.connections, 1, max_lanes);
    for (std::size_t i = 0; i < n; ++i) {
        lanes_.push_back(std::make_unique<Lane>());
        lanes_.back()->index = i;
    }
}

PositionWriter::~PositionWriter() {
    stop(std::chrono::milliseconds(0));
}

void PositionWriter::start() {
    for (auto& lane : lanes_) {
        lane->thread = std::thread([this, &lane = *lane] { run(lane); });
    }
}

PositionWriter::Lane& PositionWriter::lane_of(std::int64_t vehicle_id) {
    return *lanes_[static_cast<std::uint64_t>(vehicle_id) % lanes_.size()];
}

void PositionWriter::taken(std::size_t records) {
    const auto left = queued_records_.fetch_sub(records) - records;
    counters_.writer_queue_records = static_cast<std::int64_t>(left);
}

PositionWriter::Ticket PositionWriter::submit(Packet packet, Completion done) {
    const std::size_t records = records_of(packet);
    if (records == 0) {
        done(WriteResult{.committed = true});
        return 0;
    }
    Lane& lane = lane_of(packet.vehicle_id);
    Ticket ticket = 0;
    {
        std::unique_lock lock(lane.mutex);
        if (lane.stopping && lane.give_up) {
            // Too late: never acknowledged, so the device keeps and resends them.
            lock.unlock();
            done(WriteResult{});
            return 0;
        }
        const std::size_t before = queued_records_.fetch_add(records);
        if (before + records > config_.max_queued) {
            queued_records_ -= records;
            lock.unlock();
            ++counters_.queue_refusals;
            done(WriteResult{.refused = true});
            return 0;
        }
        counters_.writer_queue_records = static_cast<std::int64_t>(before + records);
        ticket = (lane.next_ticket++ << lane_bits) | lane.index;
        lane.queued_records += records;
        const auto received = std::chrono::time_point_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now());
        lane.queue.push_back({ticket, std::move(packet), std::move(done), Clock::now(), received});
    }
    lane.wake.notify_one();
    return ticket;
}

bool PositionWriter::cancel(Ticket ticket) {
    const std::size_t index = ticket & ((1U << lane_bits) - 1);
    if (ticket == 0 || index >= lanes_.size()) {
        return false;
    }
    Lane& lane = *lanes_[index];
    std::lock_guard lock(lane.mutex);
    const auto it = std::find_if(lane.queue.begin(), lane.queue.end(),
                                 [ticket](const Submission& s) { return s.ticket == ticket; });
    if (it == lane.queue.end()) {
        return false;
    }
    lane.queued_records -= records_of(it->packet);
    taken(records_of(it->packet));
    lane.queue.erase(it);
    return true;
}

std::size_t PositionWriter::queued_positions() const {
    return queued_records_.load();
}

void PositionWriter::stop(std::chrono::milliseconds deadline) {
    const auto until = Clock::now() + deadline;
    bool any = false;
    for (auto& lane : lanes_) {
        {
            std::lock_guard lock(lane->mutex);
            if (!lane->thread.joinable()) {
                continue;
            }
            any = true;
            lane->stopping = true;
            lane->stop_deadline = until;
            // A call into the database in progress ends by the deadline too.
            lane->interrupt.set_limit(until);
        }
        lane->wake.notify_all();
    }
    if (!any) {
        return;
    }
    for (auto& lane : lanes_) {
        if (lane->thread.joinable()) {
            lane->thread.join();
        }
    }
}

void PositionWriter::run(Lane& lane) {
    std::unique_lock lock(lane.mutex);
    for (;;) {
        lane.wake.wait(lock, [&] { return lane.stopping || !lane.queue.empty(); });
        if (lane.queue.empty()) {
            return;  // stopping, nothing left
        }
        std::vector<Submission> batch = take_batch(lane, lock);
        lock.unlock();
        commit_with_retry(lane, batch);
        batch.clear();  // the completions' captures go before the lock is taken again
        lock.lock();
    }
}

// Gathers until the batch is full, or its oldest entry has waited max_wait, or nothing has
// arrived for `quiet`: every connection with data in flight is then waiting for this commit,
// and waiting longer would only add latency.
std::vector<PositionWriter::Submission> PositionWriter::take_batch(
    Lane& lane, std::unique_lock<std::mutex>& lock) {
    auto& queue = lane.queue;
    const auto flush_at = queue.front().queued_at + config_.max_wait;
    for (;;) {
        const auto now = Clock::now();
        if (lane.stopping || now >= flush_at || now >= queue.back().queued_at + config_.quiet ||
            lane.queued_records >= config_.max_batch) {
            break;
        }
        lane.wake.wait_until(lock, std::min(flush_at, queue.back().queued_at + config_.quiet));
        if (queue.empty()) {
            return {};  // every packet was cancelled meanwhile
        }
    }
    std::vector<Submission> batch;
    std::size_t n = 0;
    while (!queue.empty() &&
           (batch.empty() || n + records_of(queue.front().packet) <= config_.max_batch)) {
        n += records_of(queue.front().packet);
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
    }
    lane.queued_records -= n;
    taken(n);
    return batch;
}

PositionWriter::Clock::time_point PositionWriter::statement_deadline() const {
    if (statement_timeout_.count() <= 0) {
        return Clock::time_point::max();
    }
    return Clock::now() + statement_timeout_ + config_.statement_margin;
}

detail::PgSession& PositionWriter::session(Lane& lane) {
    if (!lane.session || !lane.session->healthy()) {
        lane.session.reset();
        const auto bound = connect_timeout_.count() > 0 ? connect_timeout_ : statement_timeout_;
        const auto deadline = bound.count() > 0 ? Clock::now() + bound + config_.statement_margin
                                                : Clock::time_point::max();
        auto fresh = std::make_unique<PgSession>(url_, deadline, lane.interrupt);
        detail::prepare_session(*fresh, statement_deadline());
        lane.session = std::move(fresh);
    }
    return *lane.session;
}

bool PositionWriter::back_off(Lane& lane, std::chrono::milliseconds delay) {
    const auto until = Clock::now() + delay;
    std::unique_lock lock(lane.mutex);
    for (;;) {
        const auto now = Clock::now();
        if (lane.stopping && now >= lane.stop_deadline) {
            lane.give_up = true;
            return false;
        }
        if (now >= until) {
            return true;
        }
        lane.wake.wait_until(lock, lane.stopping ? std::min(until, lane.stop_deadline) : until);
    }
}

void PositionWriter::commit_with_retry(Lane& lane, std::vector<Submission>& batch) {
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
            PgSession& db = session(lane);
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
            lane.session.reset();
            encoded.reset_outcomes();
            log::warn("writer", "batch of " + std::to_string(records) + " records not committed (" +
                                    describe(e) + "); retrying, nothing acknowledged meanwhile");
        }
        if (!back_off(lane, delay)) {
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
            case Outcome::stored: {
                ++r.stored;
                // Moved, not copied (attributes and all): the batch's packets are done with once
                // their completions below have run, and nothing reads their records again.
                auto& positions = batch[row.packet].packet.positions;
                committed.push_back(
                    std::move(positions[static_cast<std::size_t>(row.record - positions.data())]));
                break;
            }
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
