#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ingest/decode_error.hpp"

/// Big-endian reading and writing for binary device protocols.
namespace fleet::ingest {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

/// Reads big-endian integers from a frame; every read past the end throws DecodeError
/// (truncated) with the offset, so decoders never index out of bounds.
class Reader {
  public:
    Reader(ByteView data, const char* protocol) : data_(data), protocol_(protocol) {}

    std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)[0]); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(be(take(2))); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(be(take(4))); }
    std::uint64_t u64() { return be(take(8)); }
    std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
    ByteView bytes(std::size_t n) { return take(n); }
    void skip(std::size_t n) { take(n); }

    std::size_t offset() const { return pos_; }
    std::size_t remaining() const { return data_.size() - pos_; }
    const char* protocol() const { return protocol_; }

    /// Throws DecodeError at the current offset.
    [[noreturn]] void fail(DecodeFault fault, const std::string& detail) const {
        throw DecodeError(protocol_, fault, pos_, detail);
    }

  private:
    ByteView take(std::size_t n) {
        if (n > remaining()) {
            fail(DecodeFault::truncated, "needs " + std::to_string(n) + " more bytes, " +
                                             std::to_string(remaining()) + " left");
        }
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    static std::uint64_t be(ByteView b) {
        std::uint64_t v = 0;
        for (auto byte : b) {
            v = (v << 8) | byte;
        }
        return v;
    }

    ByteView data_;
    const char* protocol_;
    std::size_t pos_ = 0;
};

inline void put_u8(Bytes& out, std::uint8_t v) {
    out.push_back(v);
}
inline void put_u16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(Bytes& out, std::uint32_t v) {
    put_u16(out, static_cast<std::uint16_t>(v >> 16));
    put_u16(out, static_cast<std::uint16_t>(v));
}

/// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);

/// "0a1B.." → bytes; spaces ignored. For tests and tools; throws InputError on bad hex.
Bytes from_hex(std::string_view hex);
/// bytes → lowercase hex without separators.
std::string to_hex(ByteView bytes);

}  // namespace fleet::ingest
