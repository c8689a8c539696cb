#pragma once

#include <cstdint>
#include <string_view>

#include "ingest/bytes.hpp"

/// GT06 (Concox) encoding: the server's replies and commands to a terminal.
namespace fleet::ingest::gt06 {

/// Whether the server must answer a message with encode_reply: login (0x01), heartbeat (0x13)
/// and the alarms (0x16, 0x26). A terminal that gets no reply reconnects, then reboots.
bool expects_reply(std::uint8_t protocol_number);

/// The server's response to a login, heartbeat or alarm: 78 78 05 <protocol number> <serial>
/// <CRC> 0D 0A, echoing the protocol number and serial number of the message it answers.
Bytes encode_reply(std::uint8_t protocol_number, std::uint16_t serial);

/// An online command (protocol number 0x80): the ASCII text of an SMS command such as "DYD#",
/// the 4-byte server flag the terminal echoes in its answer, language English (0x00 0x02).
/// Throws InputError when the text does not fit a 1-byte packet length (more than 243 bytes).
Bytes encode_command(std::uint32_t server_flag, std::string_view text, std::uint16_t serial);

}  // namespace fleet::ingest::gt06
