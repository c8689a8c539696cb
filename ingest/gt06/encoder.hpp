#pragma once

#include <cstdint>
#include <string_view>

#include "ingest/bytes.hpp"

/// GT06 (Concox) encoding: the server's replies and commands to a terminal.
namespace fleet::ingest::gt06 {

/// Whether the server answers a message with encode_reply: login (0x01), the locations (0x12,
/// 0x22), heartbeat (0x13) and the alarms (0x16, 0x26). The documents ask for answers to login,
/// heartbeat and alarms (a terminal that gets none reconnects, then reboots); the locations are
/// answered as Traccar answers them, which Concox terminals that keep a buffer of unsent fixes
/// take as the fix's acknowledgement.
bool expects_reply(std::uint8_t protocol_number);

/// The server's response: 78 78 05 <protocol number> <serial> <CRC> 0D 0A, echoing the protocol
/// number and serial number of the message it answers. `extended` answers a 0x79 0x79 frame in
/// its own form: 79 79 00 05 <protocol number> <serial> <CRC> 0D 0A.
Bytes encode_reply(std::uint8_t protocol_number, std::uint16_t serial, bool extended = false);

/// The server flag that carries a downlink message's id in its 0x80 command: the id's low 32
/// bits (the terminal echoes them in its answer, 0x15 or 0x21).
inline std::uint32_t server_flag_of(std::uint64_t message_id) {
    return static_cast<std::uint32_t>(message_id);
}

/// An online command (protocol number 0x80): the ASCII text of an SMS command such as "DYD#",
/// the 4-byte server flag the terminal echoes in its answer, language English (0x00 0x02).
/// Throws InputError when the text does not fit a 1-byte packet length (more than 243 bytes).
Bytes encode_command(std::uint32_t server_flag, std::string_view text, std::uint16_t serial);

}  // namespace fleet::ingest::gt06
