#include "ingest/detail/batch.hpp"

#include <algorithm>

#include "ingest/detail/copy_binary.hpp"

namespace fleet::ingest::detail {

EncodedBatch::EncodedBatch(std::vector<const Packet*> packets) : packets_(std::move(packets)) {
    for (std::size_t s = 0; s < packets_.size(); ++s) {
        for (const auto& p : packets_[s]->positions) {
            Row row;
            row.packet = s;
            row.record = &p;
            rows_.push_back(std::move(row));
        }
        if (packets_[s]->status) {
            StatusRow status;
            status.packet = s;
            status.status = &*packets_[s]->status;
            status.vehicle_id = packets_[s]->vehicle_id;
            statuses_.push_back(std::move(status));
        }
    }
    encode_rows();
    rank_statuses();
}

// Encodes the rows in (vehicle, time) order, which is also the order that suits the primary
// key's index. A record without a binary form is quarantined at once; an exact repeat of an
// earlier record of its key (the same encoded bytes) is a duplicate and not sent.
void EncodedBatch::encode_rows() {
    key_order_.resize(rows_.size());
    for (std::size_t i = 0; i < key_order_.size(); ++i) {
        key_order_[i] = i;
    }
    auto key = [&](std::size_t i) {
        return std::pair(rows_[i].record->vehicle_id, rows_[i].record->position.device_time);
    };
    std::stable_sort(key_order_.begin(), key_order_.end(),
                     [&](std::size_t a, std::size_t b) { return key(a) < key(b); });

    direct_copy_.reserve(rows_.size() * 160 + 32);
    append_copy_header(direct_copy_);
    std::size_t group_begin = 0;  // first position in key_order_ of the current key
    for (std::size_t k = 0; k < key_order_.size(); ++k) {
        Row& row = rows_[key_order_[k]];
        if (k > 0 && key(key_order_[k - 1]) != key(key_order_[k])) {
            group_begin = k;
        }
        const std::size_t start = direct_copy_.size();
        put_i16(direct_copy_, position_field_count);
        if (auto why = append_position_fields(direct_copy_, *row.record)) {
            direct_copy_.resize(start);
            row.outcome = Outcome::quarantined;
            row.refusal = {std::move(why->sqlstate), std::move(why->message)};
            continue;
        }
        row.fields_at = start + 2;
        row.fields_size = direct_copy_.size() - row.fields_at;
        std::int32_t rank = 1;
        bool repeat = false;
        for (std::size_t j = group_begin; j < k && !repeat; ++j) {
            const Row& earlier = rows_[key_order_[j]];
            if (earlier.rank == 0) {
                continue;
            }
            repeat = fields(earlier) == fields(row);
            ++rank;
        }
        if (repeat) {
            direct_copy_.resize(start);
            row.fields_size = 0;
            row.outcome = Outcome::duplicate;
            continue;
        }
        row.rank = rank;
        needs_merge_ = needs_merge_ || rank > 1;
    }
    append_copy_trailer(direct_copy_);
}

// Statuses of one vehicle apply oldest first, one rank per statement (a statement may change a
// row once).
void EncodedBatch::rank_statuses() {
    std::stable_sort(statuses_.begin(), statuses_.end(),
                     [](const StatusRow& a, const StatusRow& b) {
                         return std::pair(a.vehicle_id, a.status->reported_at) <
                                std::pair(b.vehicle_id, b.status->reported_at);
                     });
    for (std::size_t i = 0; i < statuses_.size(); ++i) {
        if (i > 0 && statuses_[i - 1].vehicle_id == statuses_[i].vehicle_id) {
            statuses_[i].rank = statuses_[i - 1].rank + 1;
        }
    }
}

std::vector<std::size_t> EncodedBatch::sent_rows() const {
    std::vector<std::size_t> out;
    out.reserve(rows_.size());
    for (std::size_t i = 0; i < rows_.size(); ++i) {
        if (rows_[i].rank > 0) {
            out.push_back(i);
        }
    }
    return out;
}

std::string EncodedBatch::staging_copy(std::span<const std::size_t> which) {
    std::string out;
    append_copy_header(out);
    for (const std::size_t i : which) {
        Row& row = rows_[i];
        if (row.entry.empty()) {
            const Packet& packet = *packets_[row.packet];
            row.entry = record_json(*row.record, packet.device, packet.protocol);
        }
        put_i16(out, 2 + position_field_count + 1);
        append_int4_field(out, static_cast<std::int32_t>(i));
        append_int4_field(out, row.rank);
        out += fields(row);
        append_jsonb_field(out, row.entry);
    }
    append_copy_trailer(out);
    return out;
}

std::string EncodedBatch::latest_copy() const {
    std::string out;
    // Walk back from each vehicle's newest key; the first committed valid row wins.
    const Row* chosen = nullptr;
    auto emit = [&] {
        if (chosen != nullptr) {
            if (out.empty()) {
                append_copy_header(out);
            }
            put_i16(out, position_field_count);
            out += fields(*chosen);
            chosen = nullptr;
        }
    };
    for (std::size_t k = key_order_.size(); k-- > 0;) {
        const Row& row = rows_[key_order_[k]];
        if (chosen != nullptr && chosen->record->vehicle_id != row.record->vehicle_id) {
            emit();
        }
        const bool committed = row.rank > 0 && row.outcome != Outcome::quarantined;
        if (!committed || !row.record->position.valid) {
            continue;
        }
        if (chosen == nullptr ||
            (chosen->record->position.device_time == row.record->position.device_time)) {
            chosen = &row;  // walking backwards: the earliest of the newest key ends up chosen
        }
    }
    emit();
    if (!out.empty()) {
        append_copy_trailer(out);
    }
    return out;
}

void EncodedBatch::reset_outcomes() {
    for (auto& row : rows_) {
        if (row.rank > 0) {
            row.outcome = Outcome::pending;
            row.refusal = {};
        }
    }
    for (auto& status : statuses_) {
        status.outcome = Outcome::pending;
        status.refusal = {};
    }
}

/// One attempt at committing a batch, in one transaction. Throws what the session throws for
/// anything but the records the database refuses; those are isolated and quarantined.

}  // namespace fleet::ingest::detail
