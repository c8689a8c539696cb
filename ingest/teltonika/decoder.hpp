#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ingest/bytes.hpp"
#include "ingest/position.hpp"

/// Decodes Teltonika frames (IMEI login, Codec 8, Codec 8 Extended, Codec 12) into plain values.
namespace fleet::ingest::teltonika {

/// Codec ids as they appear in the byte after the data length.
inline constexpr std::uint8_t codec8 = 0x08;
inline constexpr std::uint8_t codec8_extended = 0x8E;
inline constexpr std::uint8_t codec12 = 0x0C;

/// Codec 12 message types.
inline constexpr std::uint8_t command_type = 0x05;   ///< server to device
inline constexpr std::uint8_t response_type = 0x06;  ///< device to server

/// One AVL data packet, decoded.
struct AvlPacket {
    std::uint8_t codec_id = 0;       ///< codec8 or codec8_extended
    std::uint32_t record_count = 0;  ///< number of data; the server acknowledges this value
    std::vector<Position> records;   ///< in packet order (devices may send newest first)
};

/// A Codec 12 answer of the device to a GPRS command.
struct CommandResponse {
    std::uint8_t type = response_type;  ///< message type (0x06 for a response)
    std::string text;                   ///< the device's answer, bytes as sent (ASCII)
};

/// The IMEI from a login frame (2-byte length, ASCII digits). Throws DecodeError: truncated,
/// bad_length (length field disagrees with the frame), bad_value (a non-digit).
std::string decode_imei(ByteView frame);

/// The codec id of a complete packet frame (byte 8), to choose between decode_packet and
/// decode_command_response. Throws DecodeError (truncated) if the frame is shorter.
std::uint8_t frame_codec(ByteView frame);

/// Decodes a complete AVL data packet frame (Codec 8 or Codec 8 Extended), checking the preamble,
/// the data length, the CRC-16/IBM and that both record counts agree.
///
/// Each record becomes a Position: device_time from the millisecond timestamp; longitude and
/// latitude (signed, 1e-7 degrees); altitude_m (signed); course_deg; satellites; speed_kmh.
/// valid is true when satellites > 0 (and the coordinates are within WGS 84 range): Teltonika
/// repeats the last known fix with angle, satellites and speed set to 0 when there is no GPS fix,
/// and sends no separate validity flag. Speed and course are reported as sent either way.
/// Well-known IO elements fill the typed fields (239 ignition, 16 odometer_m) or named attributes
/// (240 "motion", 66 "power_v" in volts, 89 "fuel_level" in percent as sent, 21 "gsm_signal",
/// 199 "trip_odometer_m"); every other IO goes into attributes["io<ID>"] as an unsigned integer,
/// or for Codec 8 Extended variable-length elements as a lowercase hex string. attributes also
/// hold "priority" and "event_io_id".
///
/// Throws DecodeError: truncated, bad_value, bad_length (counts or lengths that disagree),
/// bad_checksum, unsupported (any other codec, including Codec 12).
AvlPacket decode_packet(ByteView frame);

/// Decodes a complete Codec 12 frame holding one response (type 0x06) of the device, with the
/// same envelope checks as decode_packet. Throws DecodeError as decode_packet does; a Codec 12
/// frame of another type, or another codec, is unsupported.
CommandResponse decode_command_response(ByteView frame);

}  // namespace fleet::ingest::teltonika
