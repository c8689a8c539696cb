#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "ingest/bytes.hpp"
#include "ingest/position.hpp"

/// GT06 (Concox) decoding: one complete frame (as cut by frame_length) into a Message.
namespace fleet::ingest::gt06 {

/// Protocol numbers of the messages a terminal sends that this decoder handles.
inline constexpr std::uint8_t msg_login = 0x01;           ///< login, GT06 §5.1
inline constexpr std::uint8_t msg_location = 0x12;        ///< GPS + LBS location, GT06 §5.2
inline constexpr std::uint8_t msg_heartbeat = 0x13;       ///< status information, GT06 §5.4
inline constexpr std::uint8_t msg_alarm = 0x16;           ///< GPS + LBS + status alarm, GT06 §5.3
inline constexpr std::uint8_t msg_location_utc = 0x22;    ///< 2G location, JM-VL03 §3
inline constexpr std::uint8_t msg_alarm_utc = 0x26;       ///< 2G alarm, JM-VL03 §5
inline constexpr std::uint8_t msg_online_command = 0x80;  ///< server command, GT06 §6.1
inline constexpr std::uint8_t msg_command_reply = 0x15;   ///< answer to 0x80, GT06
/// Answer to 0x80 of later Concox terminals, with an encoding byte.
inline constexpr std::uint8_t msg_command_reply_coded = 0x21;

/// The parts of a frame that every message has, after its start, length, stop bytes and CRC
/// were checked. `content` views into the frame it was opened from.
struct Envelope {
    bool extended = false;  ///< 0x79 0x79 start, 2-byte packet length
    std::uint8_t protocol_number = 0;
    std::uint16_t serial = 0;        ///< information serial number, echoed in replies
    ByteView content;                ///< information content, between protocol number and serial
    std::size_t content_offset = 0;  ///< where `content` starts in the frame
};

/// Login message (0x01): the terminal's identity.
struct Login {
    std::string imei;                        ///< 15 digits (16 if the BCD's first digit is not 0)
    std::optional<std::uint16_t> type_code;  ///< type identity code, newer terminals only
    std::optional<int> utc_offset_min;       ///< terminal time zone, newer terminals only
    std::optional<std::uint8_t> language;    ///< language select bits of the time zone word
};

/// Status information as carried by heartbeats (0x13) and alarms (0x16, 0x26).
struct Status {
    bool fuel_cut = false;                      ///< oil and electricity disconnected
    bool gps_tracking = false;                  ///< GPS tracking is on
    std::optional<std::string> terminal_alarm;  ///< bits 3-5: "sos", "low_battery", ...
    bool charging = false;                      ///< charge on (external power connected)
    bool ignition = false;                      ///< ACC high
    bool armed = false;                         ///< defence activated
    std::uint8_t voltage_level = 0;             ///< 0 (no power) to 6 (very high)
    std::uint8_t gsm_signal = 0;                ///< 0 (no signal) to 4 (strong)
    std::optional<std::uint8_t> alarm_code;     ///< former byte of Alarm/Language when sent
    std::optional<std::uint8_t> language;       ///< latter byte: 1 Chinese, 2 English
};

/// Alarm message (0x16, 0x26): a position with attributes["alarm"], and the status it came with.
struct Alarm {
    Position position;
    Status status;
};

/// A terminal's answer (0x15, 0x21) to an online command 0x80.
struct CommandReply {
    std::uint32_t server_flag = 0;  ///< the flag of the command answered, as the server sent it
    std::string text;               ///< the answer, UTF-8 (0x21 may send it as UTF-16BE)
};

/// What a message carries: Login, Position (0x12, 0x22), Status (0x13), Alarm (0x16, 0x26) or
/// CommandReply (0x15, 0x21).
using Payload = std::variant<Login, Position, Status, Alarm, CommandReply>;

/// What earlier frames of a connection tell about the frames that follow it.
struct Context {
    /// The terminal's time zone as its login gave it (VL03 §1), minutes east of UTC. The GT06
    /// message types 0x12 and 0x16 carry the terminal's local time in this zone; the VL03 types
    /// 0x22 and 0x26 carry UTC. 0 when the login had no time zone: the date is taken as UTC.
    int utc_offset_min = 0;
};

/// Whether a message type carries the terminal's local time rather than UTC: the GT06 location
/// (0x12) and alarm (0x16), dated by the terminal's clock in the zone set by its "GMT" command
/// (GMT+8 out of the factory). The JM-VL03 document names 0x22 and 0x26 "UTC" in its table of
/// protocol numbers, in contrast to them.
bool carries_local_time(std::uint8_t protocol_number);

/// The largest time zone offset a login may give, in minutes either side of UTC (UTC+14:00 is
/// the easternmost zone in use; VL03 §1's own example is GMT-12:45).
inline constexpr int max_utc_offset_min = 14 * 60;

/// One decoded frame.
struct Message {
    bool extended = false;  ///< came in a 0x79 0x79 frame (and is answered in one)
    std::uint8_t protocol_number = 0;
    std::uint16_t serial = 0;
    Payload payload;
};

/// Checks a complete frame (start bytes, length field against the frame's size, stop bytes, CRC
/// over length..serial) and returns its envelope. Throws DecodeError: bad_value (start or stop
/// bytes), truncated (shorter than the length field says), bad_length (longer), bad_checksum.
Envelope open_frame(ByteView frame);

/// Decodes a complete frame. Throws what open_frame throws; truncated or bad_length when the
/// content is shorter or longer than its message type allows; bad_value for a field the protocol
/// does not allow (a non-BCD IMEI digit, an impossible date); unsupported for a protocol number
/// not handled here, thrown only after the CRC matched, so a session may still reply using
/// open_frame's serial number. The date of 0x12 and 0x16 is converted from local time to UTC
/// with `context.utc_offset_min`.
Message decode(ByteView frame, const Context& context = {});

/// The login message content (GT06 §5.1.1; type code and time zone per JM-VL03 §1). Throws
/// bad_value for a time zone that is not hhmm or lies beyond max_utc_offset_min.
Login decode_login(ByteView frame, const Envelope& envelope);
/// The location content of 0x12 (GT06 §5.2.1) and 0x22 (JM-VL03 §3, with ACC, upload mode,
/// re-upload and optional mileage). The date of 0x12 is local time, converted with `context`.
Position decode_location(ByteView frame, const Envelope& envelope, const Context& context = {});
/// The heartbeat content, 0x13 (GT06 §5.4.1).
Status decode_heartbeat(ByteView frame, const Envelope& envelope);
/// The alarm content of 0x16 (GT06 §5.3.1) and 0x26 (JM-VL03 §5). The date of 0x16 is local
/// time, converted with `context`.
Alarm decode_alarm(ByteView frame, const Envelope& envelope, const Context& context = {});

/// The answer 0x15 to an online command, the layout of the GT06 document's terminal reply (and of
/// Traccar's MSG_STRING): length of the command (server flag and text, 1 byte), server flag (4),
/// the text in ASCII, then on terminals that mirror the 0x80 they answer its 2-byte language.
/// A byte that is not printable ASCII (nor CR, LF, tab) becomes U+FFFD in `text`. Throws
/// bad_length when the length byte cannot hold the server flag or leaves other than 0 or 2 bytes
/// after the text, truncated when the content ends before the text does.
CommandReply decode_command_reply(ByteView frame, const Envelope& envelope);
/// The answer 0x21 to an online command of later Concox terminals, as Traccar's
/// Gt06ProtocolDecoder reads it (MSG_STRING_INFO, in 0x78 0x78 or 0x79 0x79 frames) and the real
/// frames of its tests show it: server flag (4), encoding (1: 0x01 ASCII, 0x02 UTF-16BE), the
/// text filling the rest of the content; what is not text (a byte that is not printable ASCII,
/// an unpaired surrogate) becomes U+FFFD. Throws truncated for content shorter than flag and
/// encoding, bad_value for another encoding, bad_length for an odd number of UTF-16 bytes.
CommandReply decode_command_reply_coded(ByteView frame, const Envelope& envelope);

/// The name of an alarm code (former byte of Alarm/Language): "sos", "power_cut", "vibration",
/// "geofence_enter", "geofence_exit", "overspeed", ...; std::nullopt for 0x00 (normal);
/// "unknown" for codes no document lists.
std::optional<std::string> alarm_name(std::uint8_t code);

}  // namespace fleet::ingest::gt06
