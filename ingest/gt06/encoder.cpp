#include "ingest/gt06/encoder.hpp"

#include <string>

#include "geo/error.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/frame.hpp"

namespace fleet::ingest::gt06 {

namespace {

// GT06 §6.1.7: Chinese 0x00 0x01, English 0x00 0x02.
constexpr std::uint16_t language_english = 0x0002;

// Appends serial number, CRC-ITU over packet length..serial (§4.6) and the stop bytes (§4.7) to
// a frame whose start, length, protocol number and content are written.
void finish(Bytes& out, std::uint16_t serial) {
    put_u16(out, serial);
    put_u16(out, crc_itu(ByteView(out).subspan(2)));
    put_u8(out, 0x0D);
    put_u8(out, 0x0A);
}

}  // namespace

bool expects_reply(std::uint8_t protocol_number) {
    // GT06 §5.1.2, §5.3.2 and §5.4.2; VL03 §5 for 0x26. Location messages get no reply.
    return protocol_number == msg_login || protocol_number == msg_heartbeat ||
           protocol_number == msg_alarm || protocol_number == msg_alarm_utc;
}

Bytes encode_reply(std::uint8_t protocol_number, std::uint16_t serial) {
    // GT06 §5.1.2: the response repeats the terminal's protocol number, with no content.
    Bytes out{0x78, 0x78, 0x05, protocol_number};
    finish(out, serial);
    return out;
}

Bytes encode_command(std::uint32_t server_flag, std::string_view text, std::uint16_t serial) {
    // GT06 §6.1: packet length, 0x80, length of command (server flag + command content), server
    // flag, command content, language, serial, CRC, stop.
    constexpr std::size_t fixed = 1 + 1 + 4 + 2 + 2 + 2;  // protocol..CRC without the text
    if (text.size() > 0xFF - fixed) {
        throw InputError("gt06 command of " + std::to_string(text.size()) +
                         " bytes does not fit one frame");
    }
    Bytes out{0x78, 0x78, static_cast<std::uint8_t>(fixed + text.size()), msg_online_command,
              static_cast<std::uint8_t>(4 + text.size())};
    put_u32(out, server_flag);
    out.insert(out.end(), text.begin(), text.end());
    put_u16(out, language_english);
    finish(out, serial);
    return out;
}

}  // namespace fleet::ingest::gt06
