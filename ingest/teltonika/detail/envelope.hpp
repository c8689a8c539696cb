#pragma once

#include <cstddef>
#include <cstdint>

#include "ingest/bytes.hpp"

/// The TCP envelope shared by AVL data packets (Codec 8, 8E) and GPRS command frames (Codec 12):
/// 4 zero bytes, a 4-byte data length, the data, and a 4-byte field holding the CRC-16/IBM of the
/// data. Internal to the Teltonika decoder and encoder.
namespace fleet::ingest::teltonika::detail {

/// Name used in every DecodeError raised by this protocol.
inline constexpr const char* protocol_name = "teltonika";

/// Bytes before the data: preamble (4) and data length (4).
inline constexpr std::size_t header_bytes = 8;
/// Bytes after the data: the CRC field (4).
inline constexpr std::size_t trailer_bytes = 4;

/// CRC-16/IBM (also known as CRC-16/ARC): polynomial 0x8005 reflected (0xA001), initial value 0,
/// no final XOR.
std::uint16_t crc16_ibm(ByteView data);

/// Checks the envelope of a whole frame (preamble, data length against the frame size, CRC) and
/// returns the number of data bytes. The data are frame[header_bytes, header_bytes + result).
/// Throws DecodeError: truncated, bad_value (preamble), bad_length, bad_checksum.
std::size_t check_envelope(ByteView frame);

/// Wraps `data` (codec id .. second quantity) in preamble, length and CRC.
Bytes seal_envelope(ByteView data);

}  // namespace fleet::ingest::teltonika::detail
