#include "server/receipts.hpp"

#include <boost/asio/post.hpp>
#include <limits>

#include "geo/error.hpp"
#include "geo/log.hpp"

namespace fleet::server {

ReceiptRecorder::ReceiptRecorder(geo::ConnectionFactory connections,
                                 boost::asio::any_io_executor workers,
                                 std::function<ingest::Millis()> clock, std::size_t max_pending)
    : connections_(std::move(connections)),
      strand_(boost::asio::make_strand(std::move(workers))),
      clock_(std::move(clock)),
      max_pending_(max_pending) {}

void ReceiptRecorder::on_receipt(std::int64_t vehicle_id, const ingest::NoticeReceipt& receipt) {
    {
        std::lock_guard lock(mutex_);
        if (pending_ >= max_pending_) {
            ++dropped_;  // a terminal flooding receipts harms only its own
            return;
        }
        ++pending_;
    }
    boost::asio::post(strand_, [this, vehicle_id, receipt] {
        record(vehicle_id, receipt);
        {
            std::lock_guard lock(mutex_);
            --pending_;
        }
        idle_.notify_all();
    });
}

void ReceiptRecorder::record(std::int64_t vehicle_id, const ingest::NoticeReceipt& receipt) {
    if (receipt.notice_id > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        ++unmatched_;  // no notice has such an id
        return;
    }
    // The terminal's clock is only believed within reason: a receipt is never read before
    // 2000 nor after the server's now.
    const ingest::Millis now = clock_();
    ingest::Millis read_at = receipt.read_at;
    if (read_at < ingest::Millis(std::chrono::seconds(946684800)) || read_at > now) {
        read_at = now;
    }
    try {
        if (!conn_ || !conn_->is_open()) {
            conn_ = connections_.connect("fleetd receipts");
        }
        pqxx::work tx(*conn_);
        const auto r = tx.exec_params(
            "UPDATE fleet.notice_deliveries SET"
            " delivered_at = coalesce(delivered_at, to_timestamp($3::double precision / 1000)),"
            " read_at = coalesce(read_at, to_timestamp($3::double precision / 1000)),"
            " accepted = coalesce(accepted, false) OR $4"
            " WHERE notice_id = $1 AND vehicle_id = $2",
            static_cast<std::int64_t>(receipt.notice_id), vehicle_id,
            static_cast<double>(read_at.time_since_epoch().count()), receipt.accepted);
        tx.commit();
        ++(r.affected_rows() > 0 ? recorded_ : unmatched_);
    } catch (const std::exception& e) {
        ++failed_;
        conn_.reset();
        log::warn("receipts", std::string("a notice receipt was not recorded: ") + e.what());
    }
}

void ReceiptRecorder::drain(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    idle_.wait_until(lock, deadline, [this] { return pending_ == 0; });
}

ReceiptRecorder::Figures ReceiptRecorder::figures() const {
    return {recorded_.load(), unmatched_.load(), dropped_.load(), failed_.load()};
}

void ReceiptRecorder::write_metrics(std::string& out) const {
    const auto f = figures();
    geo::write_family(out, "fleet_receipts_total", "counter",
                      "Notice receipts from terminals, by outcome.",
                      {{geo::label("outcome", "recorded"), static_cast<double>(f.recorded)},
                       {geo::label("outcome", "unmatched"), static_cast<double>(f.unmatched)},
                       {geo::label("outcome", "dropped"), static_cast<double>(f.dropped)},
                       {geo::label("outcome", "failed"), static_cast<double>(f.failed)}});
}

}  // namespace fleet::server
