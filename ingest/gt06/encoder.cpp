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
    // GT06 §5.1.2, §5.3.2 and §5.4.2; VL03 §5 for 0x26. VL03 §3 says 0x22 needs no answer, and
    // GT06 §5.2 gives 0x12 none, but Traccar's Gt06ProtocolDecoder answers both with the same
    // echo, and Concox terminals that buffer unsent fixes resend those that get no answer.
    switch (protocol_number) {
        case msg_login:
        case msg_location:
        case msg_heartbeat:
        case msg_alarm:
        case msg_location_utc:
        case msg_alarm_utc:
            return true;
        default:
            return false;
    }
}

Bytes encode_reply(std::uint8_t protocol_number, std::uint16_t serial, bool extended) {
    // GT06 §5.1.2: the response repeats the terminal's protocol number, with no content; the
    // packet length (5: protocol number, serial, CRC) takes two bytes after 0x79 0x79.
    Bytes out = extended ? Bytes{0x79, 0x79, 0x00, 0x05} : Bytes{0x78, 0x78, 0x05};
    put_u8(out, protocol_number);
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
