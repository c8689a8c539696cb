#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/bytes.hpp"
#include "tools/fleetsim/devices/fix.hpp"

/// What a Teltonika tracker sends over TCP: the IMEI login, Codec 8 Extended AVL packets
/// (Teltonika Data Sending Protocols, "Codec 8 Extended") and Codec 12 responses to the server's
/// commands ("Codec 12").
namespace fleet::tools::fleetsim::devices::teltonika {

using ingest::Bytes;
using ingest::ByteView;

/// IO element ids the simulator fills from a Fix.
inline constexpr std::uint16_t io_ignition = 239;         ///< 1 byte, 0/1
inline constexpr std::uint16_t io_movement = 240;         ///< 1 byte, 0/1
inline constexpr std::uint16_t io_total_odometer = 16;    ///< 4 bytes, metres
inline constexpr std::uint16_t io_external_voltage = 66;  ///< 2 bytes, mV

/// Codec 8 Extended carries at most 255 records per packet (1-byte record count).
inline constexpr std::size_t max_records_per_packet = 255;

/// One fixed-width IO element; `width_bytes` is 1, 2, 4 or 8.
struct IoElement {
    std::uint16_t id = 0;
    std::uint8_t width_bytes = 1;
    std::uint64_t value = 0;
};

/// One AVL record with its raw field values as they go on the wire.
struct AvlRecord {
    std::uint64_t timestamp_ms = 0;
    std::uint8_t priority = 0;
    std::int32_t longitude_e7 = 0;
    std::int32_t latitude_e7 = 0;
    std::int16_t altitude_m = 0;
    std::uint16_t angle_deg = 0;
    std::uint8_t satellites = 0;
    std::uint16_t speed_kmh = 0;
    std::uint16_t event_io_id = 0;
    std::vector<IoElement> io;  ///< grouped by width on encoding, order kept within a group
};

/// The login message: 2-byte length and the IMEI as ASCII digits.
Bytes encode_imei(std::string_view imei);

/// The record a tracker would log for `fix`: priority 0 (low), event IO 0, and IO 239 ignition,
/// 240 movement, 16 total odometer (m), 66 external voltage (mV).
AvlRecord record_from_fix(const devices::Fix& fix);

/// What record_from_fix(fix) carries, as the ingest decoder reads it: time in ms, coordinates
/// in 1e-7 degrees, whole metres, degrees and km/h, satellites, odometer (whole m), ignition.
SentFix sent_fix(const devices::Fix& fix);

/// A complete Codec 8 Extended packet: 4 zero bytes, data length, codec 0x8E, record count,
/// the records, record count, CRC-16/IBM over codec..second count as 4 bytes. Throws
/// std::length_error for more than max_records_per_packet records or an IO width not 1/2/4/8.
Bytes encode_packet(std::span<const AvlRecord> records);

/// Length of the first complete Codec 12 frame in `buffered` (4 zero bytes, 4-byte data size,
/// data, 4-byte CRC), or nullopt when more bytes are needed. Throws ReplyError when the preamble
/// is not zero or the data size is beyond any command (64 KiB).
std::optional<std::size_t> command_frame_length(ByteView buffered);

/// The text of a complete Codec 12 frame holding one command (type 0x05), after its preamble,
/// sizes, quantities and CRC were checked. Throws ReplyError when any check fails.
std::string decode_command(ByteView frame);

/// A Codec 12 frame holding one response (type 0x06) with `text` as its ASCII payload, as a
/// device answers a command ("Codec 12 > response").
Bytes encode_response(std::string_view text);

/// CRC-16/IBM (also called CRC-16/ARC): reflected polynomial 0xA001, initial value 0.
std::uint16_t crc16_ibm(ByteView data);

}  // namespace fleet::tools::fleetsim::devices::teltonika
