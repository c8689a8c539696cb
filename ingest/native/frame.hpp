#pragma once

#include <cstddef>
#include <optional>

#include "ingest/bytes.hpp"

/// Framing of the native terminal protocol (proto/terminal.proto): each message is preceded by
/// its length as a base-128 varint, as protobuf's length-delimited streams.
namespace fleet::ingest::native {

inline constexpr const char* protocol_name = "native";

/// Total length (prefix + message) of the next frame, nullopt when incomplete. Throws
/// DecodeError for a varint over 5 bytes (bad_length) or a message over `max_frame` (oversized).
std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame);

/// Prefix `message` with its varint length.
Bytes frame(const std::string& message);

}  // namespace fleet::ingest::native
