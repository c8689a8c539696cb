#include "ingest/teltonika/encoder.hpp"

#include <limits>
#include <stdexcept>

#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/detail/envelope.hpp"

namespace fleet::ingest::teltonika {

// Teltonika "Codec" documentation, "Communication with server": the server answers the IMEI
// with one byte, 01 to accept the device's data or 00 to refuse it.
Bytes encode_login_reply(bool accepted) {
    return Bytes{static_cast<std::uint8_t>(accepted)};
}

// Same section: after an AVL data packet the server replies with the number of data received
// as a 4-byte integer.
Bytes encode_ack(std::uint32_t record_count) {
    Bytes out;
    put_u32(out, record_count);
    return out;
}

// Teltonika "Codec" documentation, section "Codec 12": preamble, data size, codec id 0x0C,
// command quantity 1 (one command), type 0x05, command size (4 bytes), command, command
// quantity 2, CRC-16 over codec id .. command quantity 2.
Bytes encode_command(std::string_view text) {
    // Codec id, two quantities, type and the size field come to 8 bytes besides the text.
    constexpr std::size_t fixed_bytes = 8;
    if (text.size() > std::numeric_limits<std::uint32_t>::max() - fixed_bytes) {
        throw std::length_error("teltonika: Codec 12 command too long");
    }
    Bytes data;
    data.reserve(fixed_bytes + text.size());
    put_u8(data, codec12);
    put_u8(data, 1);
    put_u8(data, command_type);
    put_u32(data, static_cast<std::uint32_t>(text.size()));
    data.insert(data.end(), text.begin(), text.end());
    put_u8(data, 1);
    return detail::seal_envelope(data);
}

}  // namespace fleet::ingest::teltonika
