#include "ingest/teltonika/detail/envelope.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace fleet::ingest::teltonika::detail {

// Teltonika "Codec" documentation, section "CRC-16": CRC-16/IBM, computed bit by bit over the
// bytes from the codec id to the second number of data (records or quantities), reflected
// polynomial 0xA001, preset 0.
std::uint16_t crc16_ibm(ByteView data) {
    std::uint16_t crc = 0;
    for (const std::uint8_t byte : data) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1U) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001U)
                                  : static_cast<std::uint16_t>(crc >> 1);
        }
    }
    return crc;
}

// Teltonika "Codec" documentation, "Codec 8 > AVL Data Packet" (the same envelope is used by
// Codec 8 Extended and by Codec 12): "4 zeros | Data Field Length | <data> | CRC-16", where the
// data field length counts the bytes from the codec id to the second number of data, and the CRC
// field is 4 bytes of which the first two are zero.
std::size_t check_envelope(ByteView frame) {
    Reader in(frame, protocol_name);
    if (in.u32() != 0) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, 0, "preamble is not 4 zero bytes");
    }
    const std::uint32_t data_length = in.u32();
    const std::size_t available = in.remaining();
    if (available < trailer_bytes || data_length > available - trailer_bytes) {
        throw DecodeError(protocol_name, DecodeFault::truncated, 4,
                          "data length " + std::to_string(data_length) + " but only " +
                              std::to_string(available) + " bytes follow the header");
    }
    if (data_length != available - trailer_bytes) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, 4,
                          "data length " + std::to_string(data_length) + " leaves " +
                              std::to_string(available - trailer_bytes - data_length) +
                              " stray bytes in the frame");
    }
    const ByteView data = in.bytes(data_length);
    const std::size_t crc_offset = in.offset();
    const std::uint32_t sent = in.u32();
    const std::uint16_t computed = crc16_ibm(data);
    if (sent != computed) {
        const std::uint8_t computed_bytes[] = {static_cast<std::uint8_t>(computed >> 8),
                                               static_cast<std::uint8_t>(computed)};
        throw DecodeError(protocol_name, DecodeFault::bad_checksum, crc_offset,
                          "CRC field " + to_hex(frame.subspan(crc_offset, trailer_bytes)) +
                              ", computed " + to_hex(computed_bytes));
    }
    return data_length;
}

Bytes seal_envelope(ByteView data) {
    if (data.size() > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("teltonika: frame data longer than a 4-byte length can state");
    }
    Bytes out;
    out.reserve(header_bytes + data.size() + trailer_bytes);
    put_u32(out, 0);
    put_u32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    put_u32(out, crc16_ibm(data));
    return out;
}

}  // namespace fleet::ingest::teltonika::detail
