#include "ingest/teltonika/frame.hpp"

#include <algorithm>
#include <string>

#include "ingest/teltonika/detail/envelope.hpp"

namespace fleet::ingest::teltonika {

namespace {

using detail::protocol_name;

// The smallest data field: codec id, first count and second count (a Codec 8 packet with no
// records). Anything shorter cannot be a Teltonika packet.
constexpr std::size_t min_data_bytes = 3;

[[noreturn]] void fail(DecodeFault fault, std::size_t offset, const std::string& detail) {
    throw DecodeError(protocol_name, fault, offset, detail);
}

void check_cap(std::size_t frame_bytes, std::size_t max_frame_bytes) {
    if (frame_bytes > max_frame_bytes) {
        fail(DecodeFault::oversized, 0,
             "frame of " + std::to_string(frame_bytes) + " bytes exceeds the cap of " +
                 std::to_string(max_frame_bytes));
    }
}

}  // namespace

// Teltonika "Codec" documentation, "Communication with server": the device first sends its IMEI
// as a 2-byte length followed by the IMEI in ASCII (e.g. 000F333536333037303432343431303133).
std::optional<std::size_t> imei_frame_length(ByteView buffered, std::size_t max_frame_bytes) {
    if (buffered.size() < 2) {
        return std::nullopt;
    }
    const std::size_t digits = static_cast<std::size_t>(buffered[0]) << 8 | buffered[1];
    if (digits == 0 || digits > max_imei_digits) {
        fail(DecodeFault::bad_length, 0,
             "IMEI length " + std::to_string(digits) + " outside 1.." +
                 std::to_string(max_imei_digits));
    }
    const std::size_t frame_bytes = 2 + digits;
    check_cap(frame_bytes, max_frame_bytes);
    // Reject a non-digit as soon as it arrives: a device that skips the login (or a stray client)
    // is told off without waiting for bytes that may never come.
    const std::size_t seen = std::min(buffered.size(), frame_bytes);
    for (std::size_t i = 2; i < seen; ++i) {
        if (buffered[i] < '0' || buffered[i] > '9') {
            fail(DecodeFault::bad_value, i, "IMEI byte is not an ASCII digit");
        }
    }
    if (buffered.size() < frame_bytes) {
        return std::nullopt;
    }
    return frame_bytes;
}

// Teltonika "Codec" documentation, "Codec 8 > AVL Data Packet" and "Codec 12 > Structure": both
// are "4 zero bytes | 4-byte data field length | data | 4-byte CRC-16".
std::optional<std::size_t> packet_frame_length(ByteView buffered, std::size_t max_frame_bytes) {
    const std::size_t preamble_seen = std::min<std::size_t>(buffered.size(), 4);
    for (std::size_t i = 0; i < preamble_seen; ++i) {
        if (buffered[i] != 0) {
            fail(DecodeFault::bad_value, i, "preamble is not 4 zero bytes");
        }
    }
    if (buffered.size() < detail::header_bytes) {
        return std::nullopt;
    }
    Reader header(buffered.subspan(4, 4), protocol_name);
    const std::size_t data_bytes = header.u32();
    if (data_bytes < min_data_bytes) {
        fail(DecodeFault::bad_length, 4,
             "data length " + std::to_string(data_bytes) + " cannot hold a codec id and counts");
    }
    // data_bytes is at most 2^32 - 1, so the sum cannot overflow a 64-bit size_t; compare
    // before adding anyway so a 32-bit build stays correct.
    if (data_bytes > max_frame_bytes ||
        max_frame_bytes - data_bytes < detail::header_bytes + detail::trailer_bytes) {
        fail(DecodeFault::oversized, 4,
             "data length " + std::to_string(data_bytes) + " exceeds the frame cap of " +
                 std::to_string(max_frame_bytes));
    }
    const std::size_t frame_bytes = detail::header_bytes + data_bytes + detail::trailer_bytes;
    if (buffered.size() < frame_bytes) {
        return std::nullopt;
    }
    return frame_bytes;
}

std::optional<std::size_t> next_frame_length(ByteView buffered, FrameState state,
                                             std::size_t max_frame_bytes) {
    switch (state) {
        case FrameState::login:
            return imei_frame_length(buffered, max_frame_bytes);
        case FrameState::logged_in:
            return packet_frame_length(buffered, max_frame_bytes);
    }
    return std::nullopt;
}

}  // namespace fleet::ingest::teltonika
