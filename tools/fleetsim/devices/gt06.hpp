#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/bytes.hpp"
#include "tools/fleetsim/devices/fix.hpp"

/// What a GT06 (Concox) tracker sends, and the server replies it reads (Concox GT06 protocol
/// document: §5.1 login, §5.2 location 0x12, §5.4 heartbeat 0x13). The server answers a login,
/// a heartbeat and (as the leading open-source server does) each location with the echo reply.
namespace fleet::tools::fleetsim::devices::gt06 {

using ingest::Bytes;
using ingest::ByteView;

inline constexpr std::uint8_t msg_login = 0x01;
inline constexpr std::uint8_t msg_location = 0x12;
inline constexpr std::uint8_t msg_heartbeat = 0x13;
inline constexpr std::uint8_t msg_command_reply = 0x21;  ///< answer to an online command
inline constexpr std::uint8_t msg_online_command = 0x80;

/// The cell a location frame names (LBS part of 0x12).
struct Cell {
    std::uint16_t mcc = 250;
    std::uint8_t mnc = 1;
    std::uint16_t lac = 0x1234;
    std::uint32_t cell_id = 0x00ABCD;  ///< 3 bytes on the wire
};

/// A server reply (78 78 05 <protocol> <serial> <crc> 0D 0A), after its CRC was checked.
struct Reply {
    std::uint8_t protocol_number = 0;
    std::uint16_t serial = 0;
};

/// An online command 0x80 of the server, after its CRC was checked.
struct Command {
    std::uint32_t server_flag = 0;  ///< echoed in the answer
    std::string text;               ///< the command, ASCII ("DYD#")
    std::uint16_t serial = 0;
};

/// Login 0x01: the IMEI as 8 BCD bytes (a leading 0 pads 15 digits to 16). Throws InputError
/// when the IMEI is not 15 or 16 decimal digits.
Bytes encode_login(std::string_view imei, std::uint16_t serial);

/// Location 0x12: UTC date and time, GPS info (length 12, satellites), latitude and longitude in
/// degrees × 1 800 000 with the hemisphere in the status word (0x0400 north, 0x0800 west), speed
/// in km/h, course (10 bits) with 0x1000 "positioned", then the cell.
Bytes encode_location(const Fix& fix, const Cell& cell, std::uint16_t serial);

/// What encode_location(fix) carries, as the ingest decoder reads it: time in whole seconds,
/// coordinates in 1/1 800 000 degree, whole km/h (0..255) and degrees, satellites (0..15). No
/// altitude, odometer, fuel or ignition: location 0x12 has none.
SentFix sent_fix(const Fix& fix);

/// Heartbeat 0x13: terminal information (ACC from fix.ignition, charging, GPS tracking on),
/// voltage level 4, GSM signal 4, alarm/language 0x0002 (no alarm, English). The links do not
/// send it (every location is answered on its own); kept for tests of servers.
Bytes encode_heartbeat(bool ignition, std::uint16_t serial);

/// Length of the first complete frame in `buffered` (0x78 0x78 frames), or nullopt when more
/// bytes are needed. Throws ReplyError on bad start bytes.
std::optional<std::size_t> frame_length(ByteView buffered);

/// Checks a complete reply frame (start, stop, length, CRC) and returns protocol and serial.
/// Throws ReplyError when any check fails.
Reply decode_reply(ByteView frame);

/// Decodes a complete 0x80 frame (GT06 §6.1: length of command, server flag, command, language),
/// with the checks of decode_reply. Throws ReplyError when a check fails or it is no 0x80.
Command decode_command(ByteView frame);

/// The answer 0x21 to an online command, as Concox terminals send it: the command's server flag,
/// encoding 0x01 (ASCII), `text`.
Bytes encode_command_reply(std::uint32_t server_flag, std::string_view text, std::uint16_t serial);

/// CRC-ITU as GT06 defines it: CRC-16/X-25 (reflected 0x8408, init 0xFFFF, xorout 0xFFFF).
std::uint16_t crc_itu(ByteView data);

}  // namespace fleet::tools::fleetsim::devices::gt06
