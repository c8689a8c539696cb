#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/strand.hpp>
#include <pqxx/pqxx>

#include "geo/metrics.hpp"
#include "geo/store.hpp"
#include "ingest/handler.hpp"

/// The receipt sink fleetd wires to the listeners: a driver's receipt for a notice (the native
/// terminal's NoticeAck) is recorded on its delivery in fleet.notice_deliveries, off the network
/// threads, one at a time on a strand of the worker pool.
namespace fleet::server {

class ReceiptRecorder {
  public:
    struct Figures {
        std::uint64_t recorded = 0;   ///< a delivery row took the receipt
        std::uint64_t unmatched = 0;  ///< no delivery of that notice to that vehicle
        std::uint64_t dropped = 0;    ///< more than `max_pending` waiting: not recorded
        std::uint64_t failed = 0;     ///< the database refused or was away
    };

    ReceiptRecorder(geo::ConnectionFactory connections, boost::asio::any_io_executor workers,
                    std::function<ingest::Millis()> clock, std::size_t max_pending = 1000);

    /// Any thread; never blocks. Queues the receipt for recording.
    void on_receipt(std::int64_t vehicle_id, const ingest::NoticeReceipt& receipt);
    /// Waits until what was queued is recorded, or `deadline`.
    void drain(std::chrono::steady_clock::time_point deadline);
    Figures figures() const;
    /// The figures as metric families (fleet_receipts_*).
    void write_metrics(std::string& out) const;

  private:
    void record(std::int64_t vehicle_id, const ingest::NoticeReceipt& receipt);

    geo::ConnectionFactory connections_;
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    std::function<ingest::Millis()> clock_;
    std::size_t max_pending_;
    std::unique_ptr<pqxx::connection> conn_;  // used on the strand only
    std::mutex mutex_;
    std::condition_variable idle_;
    std::size_t pending_ = 0;
    std::atomic<std::uint64_t> recorded_{0}, unmatched_{0}, dropped_{0}, failed_{0};
};

}  // namespace fleet::server
