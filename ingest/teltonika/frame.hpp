#pragma once

#include <cstddef>
#include <optional>

#include "ingest/bytes.hpp"

/// Cuts a Teltonika TCP byte stream into frames.
namespace fleet::ingest::teltonika {

/// What the device sends next on a connection.
enum class FrameState {
    login,      ///< before the IMEI is accepted: a 2-byte length and the IMEI as ASCII digits
    logged_in,  ///< afterwards: AVL data packets (Codec 8, 8E) and command responses (Codec 12)
};

/// Longest IMEI message body accepted (an IMEI has 15 digits; the length field allows more).
inline constexpr std::size_t max_imei_digits = 64;

/// A default cap on the size of one frame. Teltonika documents at most 1280 bytes per AVL packet
/// for most devices; Codec 8 Extended variable-length elements and long Codec 12 answers can
/// exceed that, so the default leaves generous room while still bounding the buffer.
inline constexpr std::size_t default_max_frame_bytes = 64 * 1024;

/// Length in bytes of the IMEI login frame at the start of `buffered`, or nullopt if more bytes
/// are needed. Throws DecodeError: bad_length (length 0 or above max_imei_digits), oversized
/// (longer than `max_frame_bytes`), bad_value (a byte received so far is not an ASCII digit).
std::optional<std::size_t> imei_frame_length(ByteView buffered,
                                             std::size_t max_frame_bytes = default_max_frame_bytes);

/// Length in bytes of the packet (preamble, data length, data, CRC) at the start of `buffered`,
/// or nullopt if more bytes are needed. Used for AVL data packets and Codec 12 frames alike.
/// Throws DecodeError: bad_value (preamble not zero), bad_length (data length too small to hold
/// a codec id and two counts), oversized (longer than `max_frame_bytes`; raised as soon as the
/// header is in, before the rest is buffered).
std::optional<std::size_t> packet_frame_length(
    ByteView buffered, std::size_t max_frame_bytes = default_max_frame_bytes);

/// Length of the next complete frame for a connection in `state`; see imei_frame_length and
/// packet_frame_length.
std::optional<std::size_t> next_frame_length(ByteView buffered, FrameState state,
                                             std::size_t max_frame_bytes = default_max_frame_bytes);

}  // namespace fleet::ingest::teltonika
