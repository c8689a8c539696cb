#include "ingest/gt06/decoder.hpp"

#include <chrono>
#include <limits>
#include <string>

#include "ingest/gt06/frame.hpp"

// Section numbers cite "GPS Tracker Communication Protocol" (Shenzhen Concox, GT06; "GT06 §")
// and the Concox JM-VL03 communication protocol V1.1.2, which documents the 2G "UTC" messages
// 0x22 and 0x26 and the 0x79 0x79 start ("VL03 §").

namespace fleet::ingest::gt06 {

namespace {

// GT06 §5.2.1.6: degrees × 60 minutes × 30000.
constexpr double units_per_degree = 30000.0 * 60.0;

// Course/status word, GT06 §5.2.1.9: BYTE_1 bit 5 differential, bit 4 positioned, bit 3 west
// longitude when set, bit 2 north latitude when set; bits 0-9 of the word the course.
constexpr std::uint16_t status_differential = 0x2000;
constexpr std::uint16_t status_positioned = 0x1000;
constexpr std::uint16_t status_west = 0x0800;
constexpr std::uint16_t status_north = 0x0400;
constexpr std::uint16_t status_course_mask = 0x03FF;

// Information content sizes, in bytes.
constexpr std::size_t gps_block_size = 18;  // date 6, GPS info 1, lat 4, lon 4, speed 1, course 2
constexpr std::size_t lbs_block_size = 8;   // MCC 2, MNC 1, LAC 2, cell ID 3
constexpr std::size_t status_block_size = 5;
constexpr std::size_t mileage_size = 4;

/// A reader over the frame up to the end of the content, positioned at its start: offsets in
/// errors are frame offsets, and reading past the content is `truncated`.
Reader content_reader(ByteView frame, const Envelope& envelope) {
    Reader r(frame.first(envelope.content_offset + envelope.content.size()), protocol_name);
    r.skip(envelope.content_offset);
    return r;
}

void expect_end(const Reader& r, const char* message) {
    if (r.remaining() != 0) {
        r.fail(DecodeFault::bad_length,
               std::to_string(r.remaining()) + " bytes left after the " + message + " content");
    }
}

std::uint32_t u24(Reader& r) {
    const std::uint32_t high = r.u8();
    return (high << 16) | r.u16();
}

// GT06 §5.2.1.4: YY MM DD hh mm ss, one binary byte each, UTC for the "UTC" message types.
Millis read_date_time(Reader& r) {
    const std::size_t at = r.offset();
    const auto b = r.bytes(6);
    const std::chrono::year_month_day date{std::chrono::year{2000 + b[0]}, std::chrono::month{b[1]},
                                           std::chrono::day{b[2]}};
    if (!date.ok() || b[3] > 23 || b[4] > 59 || b[5] > 59) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, at,
                          "impossible date/time " + to_hex(b));
    }
    const auto time =
        std::chrono::hours{b[3]} + std::chrono::minutes{b[4]} + std::chrono::seconds{b[5]};
    return Millis{std::chrono::sys_days{date} + time};
}

// GT06 §5.2.1.4 to §5.2.1.9: the GPS block shared by location and alarm messages. The date is
// the terminal's clock, `utc_offset_min` east of UTC.
Position read_gps(Reader& r, int utc_offset_min) {
    Position p;
    p.device_time = read_date_time(r) - std::chrono::minutes{utc_offset_min};
    // §5.2.1.5: high nibble the length of the GPS information, low nibble the satellites in use.
    const std::uint8_t gps_info = r.u8();
    p.satellites = gps_info & 0x0F;
    p.attributes["gps_info_length"] = gps_info >> 4;
    const std::uint32_t latitude = r.u32();
    const std::uint32_t longitude = r.u32();
    p.speed_kmh = r.u8();  // §5.2.1.8
    const std::uint16_t course_status = r.u16();
    p.course_deg = course_status & status_course_mask;
    p.valid = (course_status & status_positioned) != 0;
    p.latitude_deg = latitude / units_per_degree;
    p.longitude_deg = longitude / units_per_degree;
    if ((course_status & status_north) == 0) {
        p.latitude_deg = -p.latitude_deg;
    }
    if ((course_status & status_west) != 0) {
        p.longitude_deg = -p.longitude_deg;
    }
    p.attributes["differential"] = (course_status & status_differential) != 0;
    return p;
}

// GT06 §5.2.1.10 to §5.2.1.13.
void read_lbs(Reader& r, Position& p) {
    p.attributes["mcc"] = r.u16();
    p.attributes["mnc"] = r.u8();
    p.attributes["lac"] = r.u16();
    p.attributes["cell_id"] = u24(r);
}

// GT06 §5.3.1.14 and §5.4.1.4: bits 3-5 of the terminal information byte.
std::optional<std::string> terminal_alarm_name(std::uint8_t bits) {
    switch (bits) {
        case 0:
            return std::nullopt;
        case 1:
            return "vibration";  // "Shock Alarm"
        case 2:
            return "power_cut";
        case 3:
            return "low_battery";
        case 4:
            return "sos";
        default:
            return "unknown";
    }
}

// GT06 §5.4.1.4 to §5.4.1.7 (and §5.3.1.14 to §5.3.1.17 for alarms).
Status read_status(Reader& r, bool with_alarm_language) {
    Status s;
    const std::uint8_t info = r.u8();
    s.fuel_cut = (info & 0x80) != 0;
    s.gps_tracking = (info & 0x40) != 0;
    s.terminal_alarm = terminal_alarm_name(static_cast<std::uint8_t>((info >> 3) & 0x07));
    s.charging = (info & 0x04) != 0;
    s.ignition = (info & 0x02) != 0;
    s.armed = (info & 0x01) != 0;
    s.voltage_level = r.u8();
    s.gsm_signal = r.u8();
    if (with_alarm_language) {
        s.alarm_code = r.u8();
        s.language = r.u8();
    }
    return s;
}

// The offset of the date a message carries from UTC: the login's time zone for the types dated
// in local time, none for the "UTC" types.
int local_offset_min(const Envelope& envelope, const Context& context) {
    return carries_local_time(envelope.protocol_number) ? context.utc_offset_min : 0;
}

void put_status_attributes(const Status& s, Position& p) {
    p.ignition = s.ignition;
    p.attributes["fuel_cut"] = s.fuel_cut;
    p.attributes["gps_tracking"] = s.gps_tracking;
    p.attributes["charging"] = s.charging;
    p.attributes["armed"] = s.armed;
    p.attributes["voltage_level"] = s.voltage_level;
    p.attributes["gsm_signal"] = s.gsm_signal;
    if (s.language) {
        p.attributes["language"] = *s.language;
    }
}

// Command answers are for people and logs, and a terminal's odd byte in one is no reason to
// drop its connection: what is not text becomes U+FFFD, the replacement character.
constexpr std::uint32_t replacement = 0xFFFD;

void append_utf8(std::string& out, std::uint32_t code_point) {
    if (code_point < 0x80) {
        out.push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
}

// Printable ASCII and the line breaks devices put between the lines of an answer.
std::string read_ascii(Reader& r, std::size_t n) {
    std::string text;
    text.reserve(n);
    for (const std::uint8_t b : r.bytes(n)) {
        const bool printable = (b >= 0x20 && b <= 0x7E) || b == '\r' || b == '\n' || b == '\t';
        append_utf8(text, printable ? b : replacement);
    }
    return text;
}

// UTF-16 big-endian, as Concox terminals send answers in Chinese, to UTF-8.
std::string read_utf16be(Reader& r, std::size_t n) {
    if (n % 2 != 0) {
        r.fail(DecodeFault::bad_length,
               "UTF-16 command answer of " + std::to_string(n) + " bytes, an odd number");
    }
    std::string text;
    text.reserve(n);
    const std::size_t end = r.offset() + n;
    while (r.offset() < end) {
        std::uint32_t unit = r.u16();
        if (unit >= 0xD800 && unit <= 0xDBFF && r.offset() < end) {
            const std::uint16_t low = r.u16();
            if (low >= 0xDC00 && low <= 0xDFFF) {
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00U);
            } else {
                append_utf8(text, replacement);  // a high surrogate alone
                unit = low;
            }
        }
        if (unit >= 0xD800 && unit <= 0xDFFF) {
            unit = replacement;  // a surrogate that pairs with nothing
        }
        append_utf8(text, unit);
    }
    return text;
}

}  // namespace

bool carries_local_time(std::uint8_t protocol_number) {
    return protocol_number == msg_location || protocol_number == msg_alarm;
}

Envelope open_frame(ByteView frame) {
    // The frame checks of GT06 §4 (start, length, stop) are frame_length's; a frame handed in
    // whole must be exactly as long as its length field says.
    const auto total = frame_length(frame, std::numeric_limits<std::size_t>::max());
    if (!total) {
        throw DecodeError(protocol_name, DecodeFault::truncated, frame.size(),
                          "frame ends before its packet length says it does");
    }
    if (*total != frame.size()) {
        throw DecodeError(
            protocol_name, DecodeFault::bad_length, *total,
            std::to_string(frame.size() - *total) + " bytes after the end the packet length gives");
    }
    Envelope e;
    e.extended = frame[0] == 0x79;
    const std::size_t length_end = e.extended ? 4 : 3;
    // §4.6: CRC-ITU from the packet length to the information serial number, inclusive.
    const std::size_t crc_at = *total - 4;
    const std::uint16_t sent = static_cast<std::uint16_t>((frame[crc_at] << 8) | frame[crc_at + 1]);
    const std::uint16_t computed = crc_itu(frame.subspan(2, crc_at - 2));
    if (sent != computed) {
        throw DecodeError(protocol_name, DecodeFault::bad_checksum, crc_at,
                          "CRC " + to_hex(frame.subspan(crc_at, 2)) + " sent, " +
                              to_hex(Bytes{static_cast<std::uint8_t>(computed >> 8),
                                           static_cast<std::uint8_t>(computed)}) +
                              " computed");
    }
    e.protocol_number = frame[length_end];
    e.serial = static_cast<std::uint16_t>((frame[crc_at - 2] << 8) | frame[crc_at - 1]);
    e.content_offset = length_end + 1;
    e.content = frame.subspan(e.content_offset, crc_at - 2 - e.content_offset);
    return e;
}

Login decode_login(ByteView frame, const Envelope& envelope) {
    Reader r = content_reader(frame, envelope);
    Login login;
    // GT06 §5.1.1.4: the 15-digit IMEI as 8 BCD bytes, with a leading 0 digit.
    const std::size_t imei_at = r.offset();
    for (const std::uint8_t byte : r.bytes(8)) {
        for (const int digit : {byte >> 4, byte & 0x0F}) {
            if (digit > 9) {
                throw DecodeError(protocol_name, DecodeFault::bad_value, imei_at,
                                  "terminal ID is not BCD");
            }
            login.imei.push_back(static_cast<char>('0' + digit));
        }
    }
    if (login.imei.front() == '0') {
        login.imei.erase(0, 1);
    }
    if (r.remaining() == 0) {
        return login;
    }
    // VL03 §1: type identity code, then time zone/language: bits 15-4 the offset as hhmm
    // ("expanded by 100"), bit 3 set for west of Greenwich, bits 1-0 the language.
    login.type_code = r.u16();
    const std::size_t zone_at = r.offset();
    const std::uint16_t zone = r.u16();
    const int hhmm = zone >> 4;
    if (hhmm % 100 > 59) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, zone_at,
                          "time zone " + std::to_string(hhmm) + " is not hhmm");
    }
    const int minutes = hhmm / 100 * 60 + hhmm % 100;
    if (minutes > max_utc_offset_min) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, zone_at,
                          "time zone " + std::to_string(hhmm / 100) + ":" +
                              std::to_string(hhmm % 100) + " is beyond 14:00 from UTC");
    }
    login.utc_offset_min = (zone & 0x0008) != 0 ? -minutes : minutes;
    login.language = static_cast<std::uint8_t>(zone & 0x0003);
    expect_end(r, "login");
    return login;
}

Position decode_location(ByteView frame, const Envelope& envelope, const Context& context) {
    Reader r = content_reader(frame, envelope);
    Position p = read_gps(r, local_offset_min(envelope, context));
    read_lbs(r, p);
    if (envelope.protocol_number == msg_location_utc) {
        // VL03 §3: ACC, data upload mode, GPS real-time re-upload, then mileage if the product
        // counts it.
        p.ignition = r.u8() != 0;
        p.attributes["upload_mode"] = r.u8();
        p.attributes["reupload"] = r.u8() != 0;
        if (r.remaining() == mileage_size) {
            p.attributes["mileage"] = r.u32();
        }
    }
    expect_end(r, "location");
    return p;
}

Status decode_heartbeat(ByteView frame, const Envelope& envelope) {
    Reader r = content_reader(frame, envelope);
    // GT06 §5.4.1 lists five bytes, but the document's own example (§5.4.3) has a length and a
    // CRC computed for three: terminal information, voltage level, GSM signal strength. Both
    // forms are accepted.
    const bool with_alarm_language = r.remaining() >= status_block_size;
    Status s = read_status(r, with_alarm_language);
    expect_end(r, "heartbeat");
    return s;
}

Alarm decode_alarm(ByteView frame, const Envelope& envelope, const Context& context) {
    Reader r = content_reader(frame, envelope);
    Alarm alarm;
    alarm.position = read_gps(r, local_offset_min(envelope, context));
    // GT06 §5.3.1: an LBS length byte precedes MCC..cell ID. Devices disagree on whether it
    // counts itself (9, as in the GT06 example) or not (8), so only zero is given meaning: no
    // cell, and the 8 LBS bytes are present (zeroed) only if the content has room for them.
    const std::uint8_t lbs_length = r.u8();
    if (lbs_length != 0) {
        read_lbs(r, alarm.position);
    } else if (r.remaining() >= lbs_block_size + status_block_size) {
        r.skip(lbs_block_size);
    }
    alarm.status = read_status(r, true);
    if (envelope.protocol_number == msg_alarm_utc && r.remaining() == mileage_size) {
        alarm.position.attributes["mileage"] = r.u32();  // VL03 §5, "Mileage Statistics"
    }
    expect_end(r, "alarm");

    Position& p = alarm.position;
    put_status_attributes(alarm.status, p);
    // GT06 §5.3.1.17: the Alarm/Language byte names the alarm; the terminal information bits
    // (§5.3.1.14) repeat it for the four alarms they can express, so they stand in when it is 0.
    const std::uint8_t code = *alarm.status.alarm_code;
    p.attributes["alarm_code"] = code;
    if (auto name = alarm_name(code)) {
        p.attributes["alarm"] = *name;
    } else if (alarm.status.terminal_alarm) {
        p.attributes["alarm"] = *alarm.status.terminal_alarm;
    }
    return alarm;
}

CommandReply decode_command_reply(ByteView frame, const Envelope& envelope) {
    Reader r = content_reader(frame, envelope);
    const std::size_t length_at = r.offset();
    const std::uint8_t length = r.u8();  // server flag and text
    if (length < 4) {
        throw DecodeError(
            protocol_name, DecodeFault::bad_length, length_at,
            "command length " + std::to_string(length) + " cannot hold the 4-byte server flag");
    }
    CommandReply reply;
    reply.server_flag = r.u32();
    reply.text = read_ascii(r, length - 4U);
    // The language word of the 0x80 answered, on the terminals that repeat it.
    if (r.remaining() == 2) {
        r.skip(2);
    }
    expect_end(r, "command answer");
    return reply;
}

CommandReply decode_command_reply_coded(ByteView frame, const Envelope& envelope) {
    Reader r = content_reader(frame, envelope);
    CommandReply reply;
    reply.server_flag = r.u32();
    const std::size_t encoding_at = r.offset();
    const std::uint8_t encoding = r.u8();
    switch (encoding) {
        case 0x01:
            reply.text = read_ascii(r, r.remaining());
            break;
        case 0x02:
            reply.text = read_utf16be(r, r.remaining());
            break;
        default:
            throw DecodeError(
                protocol_name, DecodeFault::bad_value, encoding_at,
                "command answer encoding " + std::to_string(encoding) + " (1 ASCII, 2 UTF-16BE)");
    }
    return reply;
}

Message decode(ByteView frame, const Context& context) {
    const Envelope envelope = open_frame(frame);
    Message m;
    m.extended = envelope.extended;
    m.protocol_number = envelope.protocol_number;
    m.serial = envelope.serial;
    switch (envelope.protocol_number) {
        case msg_login:
            m.payload = decode_login(frame, envelope);
            break;
        case msg_location:
        case msg_location_utc:
            m.payload = decode_location(frame, envelope, context);
            break;
        case msg_heartbeat:
            m.payload = decode_heartbeat(frame, envelope);
            break;
        case msg_alarm:
        case msg_alarm_utc:
            m.payload = decode_alarm(frame, envelope, context);
            break;
        case msg_command_reply:
            m.payload = decode_command_reply(frame, envelope);
            break;
        case msg_command_reply_coded:
            m.payload = decode_command_reply_coded(frame, envelope);
            break;
        default:
            throw DecodeError(
                protocol_name, DecodeFault::unsupported, envelope.content_offset - 1,
                "protocol number 0x" + to_hex(frame.subspan(envelope.content_offset - 1, 1)));
    }
    return m;
}

std::optional<std::string> alarm_name(std::uint8_t code) {
    // GT06 §5.3.1.17 defines 0x00-0x05; VL03 §5 "Alert and Language" the rest.
    switch (code) {
        case 0x00:
            return std::nullopt;
        case 0x01:
            return "sos";
        case 0x02:
            return "power_cut";
        case 0x03:
            return "vibration";
        case 0x04:
            return "geofence_enter";
        case 0x05:
            return "geofence_exit";
        case 0x06:
            return "overspeed";
        case 0x09:
            return "tow";
        case 0x0A:
            return "gps_blind_spot_enter";
        case 0x0B:
            return "gps_blind_spot_exit";
        case 0x0C:
            return "power_on";
        case 0x0D:
            return "gps_first_fix";
        case 0x0E:
            return "low_external_battery";
        case 0x0F:
            return "external_battery_protection";
        case 0x10:
            return "sim_changed";
        case 0x11:
            return "power_off";
        case 0x12:
            return "airplane_mode";
        case 0x13:
            return "tamper";
        case 0x14:
            return "door";
        case 0x15:
            return "power_off_low_battery";
        case 0x16:
            return "sound";
        case 0x17:
            return "fake_base_station";
        case 0x18:
            return "cover_open";
        case 0x19:
            return "low_internal_battery";
        case 0x20:
            return "deep_sleep";
        case 0x23:
            return "fall";
        case 0x29:
            return "harsh_acceleration";
        case 0x2A:
            return "sharp_left_turn";
        case 0x2B:
            return "sharp_right_turn";
        case 0x2C:
            return "collision";
        case 0x30:
            return "harsh_braking";
        case 0x32:
            return "device_unplugged";
        case 0xFE:
            return "acc_on";
        case 0xFF:
            return "acc_off";
        default:
            return "unknown";
    }
}

}  // namespace fleet::ingest::gt06
