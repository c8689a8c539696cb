#include "ingest/native/frame.hpp"

#include "ingest/decode_error.hpp"

namespace fleet::ingest::native {

std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) {
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < buffered.size(); ++i) {
        if (i == 5) {
            throw DecodeError(protocol_name, DecodeFault::bad_length, i,
                              "length prefix longer than 5 bytes");
        }
        length |= static_cast<std::uint64_t>(buffered[i] & 0x7f) << (7 * i);
        if ((buffered[i] & 0x80) == 0) {
            const std::size_t total = i + 1 + length;
            if (total > max_frame) {
                throw DecodeError(protocol_name, DecodeFault::oversized, 0,
                                  "message of " + std::to_string(length) + " bytes, cap " +
                                      std::to_string(max_frame));
            }
            if (length == 0) {
                throw DecodeError(protocol_name, DecodeFault::bad_length, 0, "empty message");
            }
            return buffered.size() >= total ? std::optional(total) : std::nullopt;
        }
    }
    return std::nullopt;
}

Bytes frame(const std::string& message) {
    Bytes out;
    std::uint64_t n = message.size();
    do {
        std::uint8_t b = n & 0x7f;
        n >>= 7;
        out.push_back(n != 0 ? (b | 0x80) : b);
    } while (n != 0);
    out.insert(out.end(), message.begin(), message.end());
    return out;
}

}  // namespace fleet::ingest::native
