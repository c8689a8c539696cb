#include "tools/fleetsim/devices/teltonika.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "tools/fleetsim/devices/reply_error.hpp"

namespace fleet::tools::fleetsim::devices::teltonika {

namespace {

constexpr std::uint8_t codec12 = 0x0C;
constexpr std::uint8_t command_type = 0x05;
constexpr std::uint8_t response_type = 0x06;
constexpr std::size_t max_command_data_bytes = 64 * 1024;

std::uint32_t be32(ByteView b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
           (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// Preamble, data size, data, CRC-16/IBM over the data as 4 bytes.
Bytes seal(const Bytes& data) {
    Bytes out;
    out.reserve(data.size() + 12);
    ingest::put_u32(out, 0);
    ingest::put_u32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    ingest::put_u32(out, crc16_ibm(data));
    return out;
}

void put_u64(Bytes& out, std::uint64_t v) {
    ingest::put_u32(out, static_cast<std::uint32_t>(v >> 32));
    ingest::put_u32(out, static_cast<std::uint32_t>(v));
}

void put_sized(Bytes& out, std::uint64_t v, std::uint8_t width_bytes) {
    for (int shift = (width_bytes - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(v >> shift));
    }
}

// Codec 8 Extended AVL data: GPS element, then IO element with 2-byte ids and counts, grouped
// by value width (1, 2, 4, 8 bytes), then the variable-length group (always empty here).
void put_record(Bytes& out, const AvlRecord& r) {
    put_u64(out, r.timestamp_ms);
    ingest::put_u8(out, r.priority);
    ingest::put_u32(out, static_cast<std::uint32_t>(r.longitude_e7));
    ingest::put_u32(out, static_cast<std::uint32_t>(r.latitude_e7));
    ingest::put_u16(out, static_cast<std::uint16_t>(r.altitude_m));
    ingest::put_u16(out, r.angle_deg);
    ingest::put_u8(out, r.satellites);
    ingest::put_u16(out, r.speed_kmh);
    ingest::put_u16(out, r.event_io_id);
    for (const auto& e : r.io) {
        if (e.width_bytes != 1 && e.width_bytes != 2 && e.width_bytes != 4 && e.width_bytes != 8) {
            throw std::length_error("teltonika: IO " + std::to_string(e.id) + " has width " +
                                    std::to_string(e.width_bytes));
        }
    }
    ingest::put_u16(out, static_cast<std::uint16_t>(r.io.size()));
    for (std::uint8_t width : {1, 2, 4, 8}) {
        std::uint16_t count = 0;
        for (const auto& e : r.io) {
            count += e.width_bytes == width ? 1 : 0;
        }
        ingest::put_u16(out, count);
        for (const auto& e : r.io) {
            if (e.width_bytes == width) {
                ingest::put_u16(out, e.id);
                put_sized(out, e.value, width);
            }
        }
    }
    ingest::put_u16(out, 0);  // NX: no variable-length elements
}

}  // namespace

Bytes encode_imei(std::string_view imei) {
    Bytes out;
    ingest::put_u16(out, static_cast<std::uint16_t>(imei.size()));
    out.insert(out.end(), imei.begin(), imei.end());
    return out;
}

AvlRecord record_from_fix(const devices::Fix& fix) {
    AvlRecord r;
    r.timestamp_ms = static_cast<std::uint64_t>(fix.device_time.time_since_epoch().count());
    r.longitude_e7 = static_cast<std::int32_t>(std::lround(fix.longitude_deg * 1e7));
    r.latitude_e7 = static_cast<std::int32_t>(std::lround(fix.latitude_deg * 1e7));
    r.altitude_m = static_cast<std::int16_t>(std::lround(fix.altitude_m));
    r.angle_deg = static_cast<std::uint16_t>(std::lround(fix.course_deg) % 360);
    r.satellites = static_cast<std::uint8_t>(fix.satellites);
    r.speed_kmh = static_cast<std::uint16_t>(std::lround(fix.speed_kmh));
    r.io = {
        {io_ignition, 1, fix.ignition ? 1U : 0U},
        {io_movement, 1, fix.moving ? 1U : 0U},
        {io_external_voltage, 2, static_cast<std::uint64_t>(std::lround(fix.power_v * 1000))},
        {io_total_odometer, 4, static_cast<std::uint64_t>(std::llround(fix.odometer_m))},
    };
    return r;
}

SentFix sent_fix(const devices::Fix& fix) {
    const AvlRecord r = record_from_fix(fix);
    SentFix s;
    s.device_time = Millis(std::chrono::milliseconds(static_cast<std::int64_t>(r.timestamp_ms)));
    // The same expressions as the decoder's, so the doubles are identical.
    s.latitude_deg = r.latitude_e7 / 1e7;
    s.longitude_deg = r.longitude_e7 / 1e7;
    s.altitude_m = r.altitude_m;
    s.course_deg = r.angle_deg;
    s.satellites = r.satellites;
    s.speed_kmh = r.speed_kmh;
    for (const auto& e : r.io) {
        if (e.id == io_total_odometer) {
            s.odometer_m = static_cast<double>(e.value);
        } else if (e.id == io_ignition) {
            s.ignition = e.value != 0;
        }
    }
    return s;
}

Bytes encode_packet(std::span<const AvlRecord> records) {
    if (records.size() > max_records_per_packet) {
        throw std::length_error("teltonika: " + std::to_string(records.size()) +
                                " records do not fit one packet (at most 255)");
    }
    Bytes data;
    ingest::put_u8(data, 0x8E);
    ingest::put_u8(data, static_cast<std::uint8_t>(records.size()));
    for (const auto& r : records) {
        put_record(data, r);
    }
    ingest::put_u8(data, static_cast<std::uint8_t>(records.size()));
    return seal(data);
}

std::optional<std::size_t> command_frame_length(ByteView buffered) {
    for (std::size_t i = 0; i < std::min<std::size_t>(4, buffered.size()); ++i) {
        if (buffered[i] != 0) {
            throw ReplyError("teltonika", "Codec 12 frame without the 4 zero bytes");
        }
    }
    if (buffered.size() < 8) {
        return std::nullopt;
    }
    const std::size_t data_bytes = be32(buffered, 4);
    if (data_bytes > max_command_data_bytes) {
        throw ReplyError("teltonika",
                         "Codec 12 frame of " + std::to_string(data_bytes) + " data bytes");
    }
    const std::size_t total = 8 + data_bytes + 4;
    return buffered.size() >= total ? std::optional<std::size_t>(total) : std::nullopt;
}

// "Codec 12 > command": codec id, command quantity 1, type 0x05, command size (4), command,
// command quantity 2, then the CRC over codec id .. quantity 2.
std::string decode_command(ByteView frame) {
    const auto length = command_frame_length(frame);
    if (!length || *length != frame.size()) {
        throw ReplyError("teltonika", "Codec 12 frame length does not match its data size");
    }
    const ByteView data = frame.subspan(8, frame.size() - 12);
    if (be32(frame, frame.size() - 4) != crc16_ibm(data)) {
        throw ReplyError("teltonika", "Codec 12 CRC mismatch");
    }
    if (data.size() < 8 || data[0] != codec12 || data[1] != 1 || data[2] != command_type ||
        data[data.size() - 1] != 1 || be32(data, 3) != data.size() - 8) {
        throw ReplyError("teltonika", "not a Codec 12 frame holding one command");
    }
    return std::string(data.begin() + 7, data.end() - 1);
}

Bytes encode_response(std::string_view text) {
    Bytes data;
    data.reserve(text.size() + 8);
    ingest::put_u8(data, codec12);
    ingest::put_u8(data, 1);
    ingest::put_u8(data, response_type);
    ingest::put_u32(data, static_cast<std::uint32_t>(text.size()));
    data.insert(data.end(), text.begin(), text.end());
    ingest::put_u8(data, 1);
    return seal(data);
}

std::uint16_t crc16_ibm(ByteView data) {
    std::uint16_t crc = 0;
    for (auto byte : data) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1U) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001)
                                  : static_cast<std::uint16_t>(crc >> 1);
        }
    }
    return crc;
}

}  // namespace fleet::tools::fleetsim::devices::teltonika
