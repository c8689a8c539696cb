#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "ingest/bytes.hpp"

/// GT06 (Concox) framing: cutting a TCP byte stream into frames, and the frame check sequence.
namespace fleet::ingest::gt06 {

/// The protocol name carried by every DecodeError this module throws.
inline constexpr const char* protocol_name = "gt06";

/// A cap well above any frame the decoder handles (a 0x78 0x78 frame is at most 260 bytes),
/// small enough that a 0x79 0x79 length field cannot make a session buffer 64 KiB.
inline constexpr std::size_t default_max_frame_bytes = 1024;

/// The length of the first complete frame in `buffered`, or std::nullopt when more bytes are
/// needed to know it or to hold all of it. Frames start 0x78 0x78 (1-byte length) or 0x79 0x79
/// (2-byte length) and end 0x0D 0x0A. Throws DecodeError: bad_value for wrong start bytes or a
/// missing stop 0x0D 0x0A, bad_length for a length field too small to hold protocol number,
/// serial number and CRC, oversized for a frame longer than `max_frame_bytes` (thrown as soon as
/// the length field is read, before the rest arrives).
std::optional<std::size_t> frame_length(ByteView buffered,
                                        std::size_t max_frame_bytes = default_max_frame_bytes);

/// CRC-ITU as the GT06 document defines it: CRC-16/X-25 (reflected polynomial 0x8408, initial
/// value 0xFFFF, final XOR 0xFFFF). Its check value for "123456789" is 0x906E.
std::uint16_t crc_itu(ByteView data);

}  // namespace fleet::ingest::gt06
