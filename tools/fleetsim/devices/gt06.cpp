#include "tools/fleetsim/devices/gt06.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "geo/error.hpp"
#include "tools/fleetsim/devices/reply_error.hpp"

namespace fleet::tools::fleetsim::devices::gt06 {

namespace {

// Start bytes, length (protocol number .. CRC), protocol number, content, serial, CRC over
// length..serial, stop bytes (GT06 §4, "Data Packet Format").
Bytes frame(std::uint8_t protocol_number, const Bytes& content, std::uint16_t serial) {
    Bytes out;
    out.reserve(content.size() + 10);
    out.push_back(0x78);
    out.push_back(0x78);
    ingest::put_u8(out, static_cast<std::uint8_t>(1 + content.size() + 2 + 2));
    ingest::put_u8(out, protocol_number);
    out.insert(out.end(), content.begin(), content.end());
    ingest::put_u16(out, serial);
    ingest::put_u16(out, crc_itu(ByteView(out).subspan(2)));
    out.push_back(0x0D);
    out.push_back(0x0A);
    return out;
}

}  // namespace

Bytes encode_login(std::string_view imei, std::uint16_t serial) {
    if (imei.size() != 15 && imei.size() != 16) {
        throw InputError("gt06: IMEI '" + std::string(imei) + "' must have 15 or 16 digits");
    }
    std::string digits = imei.size() == 15 ? "0" + std::string(imei) : std::string(imei);
    Bytes content;
    for (std::size_t i = 0; i < digits.size(); i += 2) {
        const char hi = digits[i];
        const char lo = digits[i + 1];
        if (hi < '0' || hi > '9' || lo < '0' || lo > '9') {
            throw InputError("gt06: IMEI '" + std::string(imei) + "' is not all decimal digits");
        }
        content.push_back(static_cast<std::uint8_t>(((hi - '0') << 4) | (lo - '0')));
    }
    return frame(msg_login, content, serial);
}

namespace {

constexpr double units_per_degree = 1800000.0;

// The GPS block's values as they go on the wire (§5.2.1.4 to §5.2.1.9).
struct WireGps {
    Millis time{};  // whole seconds
    std::uint8_t satellites = 0;
    std::uint32_t latitude_units = 0;
    std::uint32_t longitude_units = 0;
    std::uint8_t speed_kmh = 0;
    std::uint16_t course_deg = 0;
    bool north = true;
    bool west = false;
};

WireGps wire_gps(const Fix& fix) {
    WireGps w;
    w.time = std::chrono::floor<std::chrono::seconds>(fix.device_time);
    w.satellites = static_cast<std::uint8_t>(std::clamp(fix.satellites, 0, 15));
    w.latitude_units =
        static_cast<std::uint32_t>(std::llround(std::abs(fix.latitude_deg) * units_per_degree));
    w.longitude_units =
        static_cast<std::uint32_t>(std::llround(std::abs(fix.longitude_deg) * units_per_degree));
    w.speed_kmh = static_cast<std::uint8_t>(std::clamp(std::lround(fix.speed_kmh), 0L, 255L));
    w.course_deg = static_cast<std::uint16_t>(std::lround(fix.course_deg) % 360) & 0x03FF;
    w.north = fix.latitude_deg >= 0;
    w.west = fix.longitude_deg < 0;
    return w;
}

}  // namespace

Bytes encode_location(const Fix& fix, const Cell& cell, std::uint16_t serial) {
    using namespace std::chrono;
    const WireGps w = wire_gps(fix);
    const auto day = floor<days>(w.time);
    const year_month_day ymd{day};
    const hh_mm_ss hms{w.time - day};

    Bytes content;
    ingest::put_u8(content, static_cast<std::uint8_t>(static_cast<int>(ymd.year()) % 100));
    ingest::put_u8(content, static_cast<std::uint8_t>(static_cast<unsigned>(ymd.month())));
    ingest::put_u8(content, static_cast<std::uint8_t>(static_cast<unsigned>(ymd.day())));
    ingest::put_u8(content, static_cast<std::uint8_t>(hms.hours().count()));
    ingest::put_u8(content, static_cast<std::uint8_t>(hms.minutes().count()));
    ingest::put_u8(content, static_cast<std::uint8_t>(hms.seconds().count()));
    ingest::put_u8(content, static_cast<std::uint8_t>(0xC0 | w.satellites));
    ingest::put_u32(content, w.latitude_units);
    ingest::put_u32(content, w.longitude_units);
    ingest::put_u8(content, w.speed_kmh);
    std::uint16_t status = w.course_deg;
    if (w.satellites > 0) {
        status |= 0x1000;
    }
    if (w.north) {
        status |= 0x0400;
    }
    if (w.west) {
        status |= 0x0800;
    }
    ingest::put_u16(content, status);
    ingest::put_u16(content, cell.mcc);
    ingest::put_u8(content, cell.mnc);
    ingest::put_u16(content, cell.lac);
    ingest::put_u8(content, static_cast<std::uint8_t>(cell.cell_id >> 16));
    ingest::put_u16(content, static_cast<std::uint16_t>(cell.cell_id));
    return frame(msg_location, content, serial);
}

SentFix sent_fix(const Fix& fix) {
    const WireGps w = wire_gps(fix);
    SentFix s;
    s.device_time = w.time;
    s.latitude_deg = w.latitude_units / units_per_degree;
    s.longitude_deg = w.longitude_units / units_per_degree;
    if (!w.north) {
        s.latitude_deg = -s.latitude_deg;
    }
    if (w.west) {
        s.longitude_deg = -s.longitude_deg;
    }
    s.speed_kmh = w.speed_kmh;
    s.course_deg = w.course_deg;
    s.satellites = w.satellites;
    return s;
}

Bytes encode_heartbeat(bool ignition, std::uint16_t serial) {
    // Terminal information bits (GT06 §5.4.1.1): 0x40 GPS tracking on, 0x04 charge on,
    // 0x02 ACC high.
    const std::uint8_t info = static_cast<std::uint8_t>(0x40 | 0x04 | (ignition ? 0x02 : 0x00));
    return frame(msg_heartbeat, Bytes{info, 0x04, 0x04, 0x00, 0x02}, serial);
}

std::optional<std::size_t> frame_length(ByteView buffered) {
    if (buffered.size() >= 1 && buffered[0] != 0x78) {
        throw ReplyError("gt06", "reply does not start with 0x78 0x78");
    }
    if (buffered.size() >= 2 && buffered[1] != 0x78) {
        throw ReplyError("gt06", "reply does not start with 0x78 0x78");
    }
    if (buffered.size() < 3) {
        return std::nullopt;
    }
    const std::size_t total = 3 + std::size_t{buffered[2]} + 2;
    if (buffered.size() < total) {
        return std::nullopt;
    }
    return total;
}

Reply decode_reply(ByteView frame) {
    if (frame.size() < 10 || frame[0] != 0x78 || frame[1] != 0x78 ||
        frame.size() != 3 + std::size_t{frame[2]} + 2) {
        throw ReplyError("gt06", "malformed reply frame");
    }
    if (frame[frame.size() - 2] != 0x0D || frame[frame.size() - 1] != 0x0A) {
        throw ReplyError("gt06", "reply lacks the stop bytes 0D 0A");
    }
    const std::size_t crc_at = frame.size() - 4;
    const std::uint16_t crc = static_cast<std::uint16_t>((frame[crc_at] << 8) | frame[crc_at + 1]);
    if (crc != crc_itu(frame.subspan(2, crc_at - 2))) {
        throw ReplyError("gt06", "reply CRC mismatch");
    }
    return Reply{frame[3],
                 static_cast<std::uint16_t>((frame[crc_at - 2] << 8) | frame[crc_at - 1])};
}

Command decode_command(ByteView frame) {
    const Reply reply = decode_reply(frame);
    if (reply.protocol_number != msg_online_command) {
        throw ReplyError("gt06", "not an online command 0x80");
    }
    // Content: between the protocol number and the serial.
    const ByteView content = frame.subspan(4, frame.size() - 4 - 6);
    if (content.size() < 1 + 4 + 2 || content[0] != content.size() - 3) {
        throw ReplyError("gt06", "online command whose length of command disagrees with it");
    }
    Command command;
    command.server_flag = (std::uint32_t{content[1]} << 24) | (std::uint32_t{content[2]} << 16) |
                          (std::uint32_t{content[3]} << 8) | std::uint32_t{content[4]};
    command.text.assign(content.begin() + 5, content.end() - 2);
    command.serial = reply.serial;
    return command;
}

Bytes encode_command_reply(std::uint32_t server_flag, std::string_view text, std::uint16_t serial) {
    if (text.size() > 0xFF - 1 - 4 - 1 - 2 - 2) {
        throw InputError("gt06: command answer of " + std::to_string(text.size()) +
                         " bytes does not fit one frame");
    }
    Bytes content;
    ingest::put_u32(content, server_flag);
    ingest::put_u8(content, 0x01);  // ASCII
    content.insert(content.end(), text.begin(), text.end());
    return frame(msg_command_reply, content, serial);
}

std::uint16_t crc_itu(ByteView data) {
    std::uint16_t crc = 0xFFFF;
    for (auto byte : data) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1U) != 0 ? static_cast<std::uint16_t>((crc >> 1) ^ 0x8408)
                                  : static_cast<std::uint16_t>(crc >> 1);
        }
    }
    return static_cast<std::uint16_t>(~crc);
}

}  // namespace fleet::tools::fleetsim::devices::gt06
