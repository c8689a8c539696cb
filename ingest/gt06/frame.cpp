#include "ingest/gt06/frame.hpp"

#include <array>
#include <string>

namespace fleet::ingest::gt06 {

namespace {

constexpr std::uint8_t stop_cr = 0x0D;
constexpr std::uint8_t stop_lf = 0x0A;

// Protocol number (1) + information serial number (2) + error check (2): the smallest value the
// packet length field can hold (GT06 document §4.2, "totally (5+N) Bytes").
constexpr std::size_t min_packet_length = 5;

// The document's Appendix A gives a 256-entry lookup table for CRC-ITU; it is the table of the
// reflected polynomial 0x8408, so it is generated here rather than copied.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
    std::array<std::uint16_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1U) != 0 ? (crc >> 1) ^ 0x8408U : crc >> 1;
        }
        table[i] = static_cast<std::uint16_t>(crc);
    }
    return table;
}

constexpr auto crc_table = make_crc_table();

}  // namespace

std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame_bytes) {
    // §4.1 start bit: 0x78 0x78; the 2G/4G documents (JM-VL03 §"General Packet Format") add
    // 0x79 0x79, after which the packet length takes two bytes.
    if (buffered.empty()) {
        return std::nullopt;
    }
    const std::uint8_t start = buffered[0];
    if (start != 0x78 && start != 0x79) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, 0,
                          "frame does not start with 0x78 0x78 or 0x79 0x79");
    }
    if (buffered.size() < 2) {
        return std::nullopt;
    }
    if (buffered[1] != start) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, 1,
                          "second start byte does not repeat the first");
    }
    const std::size_t length_bytes = start == 0x78 ? 1 : 2;
    if (buffered.size() < 2 + length_bytes) {
        return std::nullopt;
    }
    std::size_t packet_length = buffered[2];
    if (length_bytes == 2) {
        packet_length = (packet_length << 8) | buffered[3];
    }
    if (packet_length < min_packet_length) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, 2,
                          "packet length " + std::to_string(packet_length) + " is below " +
                              std::to_string(min_packet_length));
    }
    // §4.2: the packet length counts protocol number to error check; start, length and stop
    // bytes come on top.
    const std::size_t total = 2 + length_bytes + packet_length + 2;
    if (total > max_frame_bytes) {
        throw DecodeError(protocol_name, DecodeFault::oversized, 2,
                          "frame of " + std::to_string(total) + " bytes exceeds the cap of " +
                              std::to_string(max_frame_bytes));
    }
    if (buffered.size() < total) {
        return std::nullopt;
    }
    // §4.7 stop bit: fixed 0x0D 0x0A. Not finding it where the length says the frame ends means
    // the length is wrong or the stream is out of step; either way the frame cannot be trusted.
    if (buffered[total - 2] != stop_cr || buffered[total - 1] != stop_lf) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, total - 2,
                          "no stop bytes 0x0D 0x0A where the packet length says the frame ends");
    }
    return total;
}

std::uint16_t crc_itu(ByteView data) {
    // Appendix A, GetCrc16: table-driven, initial value 0xFFFF, result negated.
    std::uint16_t fcs = 0xFFFF;
    for (const std::uint8_t byte : data) {
        fcs = static_cast<std::uint16_t>((fcs >> 8) ^ crc_table[(fcs ^ byte) & 0xFFU]);
    }
    return static_cast<std::uint16_t>(~fcs);
}

}  // namespace fleet::ingest::gt06
