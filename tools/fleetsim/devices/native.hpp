#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "ingest/bytes.hpp"
#include "proto/terminal.pb.h"
#include "tools/fleetsim/devices/fix.hpp"

/// The fleet's native in-cab terminal protocol (proto/terminal.proto): protobuf Frames, each
/// preceded by its length as a base-128 varint.
namespace fleet::tools::fleetsim::devices::native {

using ingest::Bytes;
using ingest::ByteView;

/// Largest frame the simulator accepts from the server.
inline constexpr std::size_t max_frame_bytes = 1024 * 1024;

/// Where a length-delimited frame sits at the start of a buffer.
struct FrameSpan {
    std::size_t header_bytes = 0;  ///< the varint
    std::size_t body_bytes = 0;    ///< the serialized Frame
};

/// A Login frame, length-prefixed, protocol_version 1.
Bytes encode_login(std::string_view device_id, std::string_view firmware = "fleetsim");

/// A PositionBatch frame, length-prefixed, one Position per fix (valid when satellites > 0,
/// odometer and ignition set, fuel when the fix has it).
Bytes encode_batch(std::uint64_t batch_id, std::span<const Fix> fixes);

/// What encode_batch carries of `fix`: time in ms, coordinates as doubles, speed, course,
/// altitude and fuel as floats, satellites, odometer, ignition.
SentFix sent_fix(const Fix& fix);

/// A NoticeAck frame, length-prefixed, with `delivered` set: the terminal received the notice and
/// shows it (sent at once, for withdrawals too).
Bytes encode_notice_delivered(std::uint64_t notice_id);

/// A NoticeAck frame, length-prefixed: the driver read the notice at `read_at_ms` and accepted it.
Bytes encode_notice_read(std::uint64_t notice_id, std::int64_t read_at_ms, bool accepted = true);

/// The varint and body sizes of the first frame in `buffered`, or nullopt when more bytes are
/// needed. Throws ReplyError for a varint over 5 bytes or a body over max_frame_bytes.
std::optional<FrameSpan> frame_span(ByteView buffered);

/// Parses a Frame body (without its varint). Throws ReplyError when it does not parse.
proto::terminal::Frame decode_frame(ByteView body);

/// Prefixes a serialized message with its length as a varint.
Bytes length_delimited(const proto::terminal::Frame& frame);

}  // namespace fleet::tools::fleetsim::devices::native
