#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/writer.hpp"

/// A batch of the position writer: the records of its packets encoded once, in the binary COPY
/// format, and what became of each.
namespace fleet::ingest::detail {

/// What became of a record of a batch.
enum class Outcome : std::uint8_t { pending, stored, merged, duplicate, quarantined };

/// Why a record is quarantined: the database's SQLSTATE and message (or, for a value without a
/// binary form in its column, those PostgreSQL gives the same value as text).
struct Refusal {
    std::string sqlstate;
    std::string message;
};

/// One position of a batch and what became of it.
struct Row {
    std::size_t packet = 0;  ///< index in the batch
    const StoredPosition* record = nullptr;
    std::size_t fields_at = 0;  ///< its 12 fields in EncodedBatch::direct_copy
    std::size_t fields_size = 0;
    std::int32_t rank = 0;  ///< 1 for its key's first record in the batch, 2 ...; 0: not sent
    Outcome outcome = Outcome::pending;
    Refusal refusal;    ///< when quarantined
    std::string entry;  ///< record_json, made when the merge rule needs it
};

/// One device status of a batch.
struct StatusRow {
    std::size_t packet = 0;
    const DeviceStatus* status = nullptr;
    std::int64_t vehicle_id = 0;
    std::int32_t rank = 1;  ///< 1 for the vehicle's oldest status in the batch, 2 ...
    Outcome outcome = Outcome::pending;
    Refusal refusal;
};

/// The packets of one batch with their rows encoded once, in the binary COPY format, and what
/// became of each record. Built on the writer thread; the packets outlive it.
class EncodedBatch {
  public:
    explicit EncodedBatch(std::vector<const Packet*> packets);

    const std::vector<const Packet*>& packets() const { return packets_; }
    std::vector<Row>& rows() { return rows_; }
    std::vector<StatusRow>& statuses() { return statuses_; }
    /// Two different records of one key: the batch needs the merge rule.
    bool needs_merge() const { return needs_merge_; }
    /// The sent rows (rank > 0) in (vehicle, time) order, ready for COPY into fleet.positions.
    const std::string& direct_copy() const { return direct_copy_; }
    /// The indices of the sent rows, in batch order.
    std::vector<std::size_t> sent_rows() const;
    /// The rows `which` for COPY into pg_temp.incoming.
    std::string staging_copy(std::span<const std::size_t> which);
    /// The newest valid fix per vehicle among the rows committed, for pg_temp.latest_incoming;
    /// empty when there is none.
    std::string latest_copy() const;
    /// Forgets what the database decided (for a retry); keeps the refusals of encoding.
    void reset_outcomes();

  private:
    void encode_rows();
    void rank_statuses();
    std::string_view fields(const Row& r) const {
        return std::string_view(direct_copy_).substr(r.fields_at, r.fields_size);
    }

    std::vector<const Packet*> packets_;
    std::vector<Row> rows_;
    std::vector<std::size_t> key_order_;  ///< rows by (vehicle, time, batch order)
    std::vector<StatusRow> statuses_;
    std::string direct_copy_;
    bool needs_merge_ = false;
};

}  // namespace fleet::ingest::detail
