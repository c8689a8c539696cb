#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ingest/bytes.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/encoder.hpp"
#include "ingest/gt06/frame.hpp"
#include "ingest/gt06/handler.hpp"
#include "ingest/protocols.hpp"
#include "ingest/teltonika/encoder.hpp"

// Sources of the frames below:
//  [GT06]  Shenzhen Concox, "GPS Tracker Communication Protocol" (GT06), the examples of §5.1.3,
//          §5.2.2, §5.3.1.21, §5.3.2.7 and §5.4.3.
//  [VL03]  Shenzhen Concox, "GPS Tracker Communication Protocol - JM-VL03" V1.1.2 (2G devices),
//          the examples of §1 (login), §2 (heartbeat), §3 (0x22), §5 (0x26), §7 (0x80).
//  [forum] Real device traffic posted on the Traccar forum ("Differences in alarm report
//          (protocol GT06)"): a GT06 heartbeat.
//  [traccar] Real device frame from Traccar's Gt06ProtocolDecoderTest.
//  [issue604], [issue2064] Real device traffic and Traccar's answers, from the logs posted in
//          Traccar issues #604 ("Local time sent by GT06 device not converted to UTC") and #2064.
//  [synth] Synthesized frames, their CRC computed with an independent bitwise CRC-16/X-25.
// Every CRC was checked with an independent bitwise CRC-16/X-25 before use.

namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using fleet::ingest::Bytes;
using fleet::ingest::ByteView;
using fleet::ingest::DecodeError;
using fleet::ingest::DecodeFault;
using fleet::ingest::from_hex;
using fleet::ingest::Millis;
using fleet::ingest::Position;
using fleet::ingest::to_hex;
namespace gt06 = fleet::ingest::gt06;

template <typename F>
std::optional<DecodeError> error_of(F&& f) {
    try {
        f();
    } catch (const DecodeError& e) {
        return e;
    }
    return std::nullopt;
}

std::optional<DecodeError> decode_error(const Bytes& frame) {
    return error_of([&] { (void)gt06::decode(frame); });
}

Millis utc(year_month_day date, seconds time_of_day) {
    return Millis{sys_days{date} + time_of_day};
}

// Builds a frame around `content` with a correct length and CRC: for frames no document gives.
// crc_itu itself is pinned by the check value and by the documents' frames.
Bytes build_frame(std::uint8_t protocol_number, const Bytes& content, std::uint16_t serial,
                  bool extended = false) {
    const std::size_t packet_length = 1 + content.size() + 2 + 2;
    Bytes out;
    if (extended) {
        out = {0x79, 0x79};
        fleet::ingest::put_u16(out, static_cast<std::uint16_t>(packet_length));
    } else {
        out = {0x78, 0x78, static_cast<std::uint8_t>(packet_length)};
    }
    out.push_back(protocol_number);
    out.insert(out.end(), content.begin(), content.end());
    fleet::ingest::put_u16(out, serial);
    fleet::ingest::put_u16(out, gt06::crc_itu(ByteView(out).subspan(2)));
    out.push_back(0x0D);
    out.push_back(0x0A);
    return out;
}

// [GT06] §5.1.3: login of terminal 123456789012345, serial 1.
const std::string_view gt06_login = "78 78 0D 01 01 23 45 67 89 01 23 45 00 01 8C DD 0D 0A";
// [GT06] §5.2.2 location 0x12, with byte 10 as the field table of §5.2.1 prints it (0xCF); the
// example line prints 0xCC there, which fails the CRC (see "GT06: vendor example typo").
const std::string_view gt06_location =
    "78 78 1F 12 0B 08 1D 11 2E 10 CF 02 7A C7 EB 0C 46 58 49 00 14 8F 01 CC 00 28 7D 00 1F B8 "
    "00 03 80 81 0D 0A";
// [GT06] §5.3.1.21: SOS alarm 0x16.
const std::string_view gt06_alarm =
    "78 78 25 16 0B 0B 0F 0E 24 1D CF 02 7A C8 87 0C 46 57 E6 00 14 02 09 01 CC 00 28 7D 00 1F 72 "
    "65 06 04 01 01 00 36 56 A4 0D 0A";
// [VL03] §1: login with type identity code 0x7000 and time zone/language 0x3201 (GMT+8).
const std::string_view vl03_login = "78781101075253367890024270003201000512790D0A";
// [VL03] §2: heartbeat with the Alarm/Language word.
const std::string_view vl03_heartbeat = "78780A134004040001000FDCEE0D0A";
// [VL03] §3: location 0x22.
const std::string_view vl03_location =
    "787822220F0C1D023305C9027AC8180C46586000140001CC00287D001F71000001000820860D0A";
// [issue2064] Traccar issue #2064, "GT06 timezone on traccar 3.5": a GT06 device's location 0x12.
const std::string_view traccar_2064_location =
    "78781f121007010e030ec9006a2993013bf8232134c202700100ca00087202e86c9a0d0a";
// [synth] Synthesized, CRC from an independent bitwise CRC-16/X-25: 2024-03-05 17:30:00 on the
// terminal's clock, 9 satellites, VL03 §3's coordinates, 50 km/h, course 332 (0x154C), MCC 250
// MNC 1 LAC 0x1F40 cell 0xA1B2; as 0x12 (serial 2) and as 0x22 with ACC off (serial 3).
const std::string_view synth_location_local =
    "78781f12180305111e00c9027ac8180c46586032154c00fa011f4000a1b20002e2030d0a";
const std::string_view synth_location_utc =
    "78782222180305111e00c9027ac8180c46586032154c00fa011f4000a1b200000000031acd0d0a";
// [synth] Login of 356307042441013, type code 0x0001, time zone +03:00 English (0x12C2), serial 1.
const std::string_view synth_login_moscow = "787811010356307042441013000112c20001c6bc0d0a";
// [VL03] §5: alarm 0x26, tamper.
const std::string_view vl03_alarm =
    "787825260F0C1D030B26C9027AC8180C4658600004000901CC00287D001F718004041302000C472A0D0A";

}  // namespace

TEST_CASE("GT06: CRC-ITU is CRC-16/X-25") {
    const std::string_view check = "123456789";
    const Bytes bytes(check.begin(), check.end());
    CHECK(gt06::crc_itu(bytes) == 0x906E);
    CHECK(gt06::crc_itu({}) == 0x0000);
    // [GT06] §5.1.3: CRC over packet length..serial of the login example.
    const Bytes login = from_hex(gt06_login);
    CHECK(gt06::crc_itu(ByteView(login).subspan(2, 12)) == 0x8CDD);
    // [VL03] §7: the online command example ("sos#", no language word) carries 0x6D6A.
    const Bytes command = from_hex("78780E800800000000736F732300016D6A0D0A");
    CHECK(gt06::crc_itu(ByteView(command).subspan(2, command.size() - 6)) == 0x6D6A);
}

TEST_CASE("GT06: framing of whole, partial and back-to-back frames") {
    const Bytes login = from_hex(gt06_login);
    const Bytes location = from_hex(gt06_location);
    REQUIRE(login.size() == 18);
    REQUIRE(location.size() == 36);

    SUBCASE("a whole frame") {
        CHECK(gt06::frame_length(login) == 18u);
    }
    SUBCASE("every proper prefix needs more bytes") {
        for (std::size_t n = 0; n < login.size(); ++n) {
            CAPTURE(n);
            CHECK_FALSE(gt06::frame_length(ByteView(login).first(n)).has_value());
        }
    }
    SUBCASE("back-to-back frames are cut one at a time") {
        Bytes stream = login;
        stream.insert(stream.end(), location.begin(), location.end());
        stream.insert(stream.end(), login.begin(), login.begin() + 5);  // a third, begun
        ByteView rest(stream);
        const auto first = gt06::frame_length(rest);
        REQUIRE(first == 18u);
        CHECK(gt06::decode(rest.first(*first)).protocol_number == gt06::msg_login);
        rest = rest.subspan(*first);
        const auto second = gt06::frame_length(rest);
        REQUIRE(second == 36u);
        CHECK(gt06::decode(rest.first(*second)).protocol_number == gt06::msg_location);
        rest = rest.subspan(*second);
        CHECK(rest.size() == 5);
        CHECK_FALSE(gt06::frame_length(rest).has_value());
    }
    SUBCASE("0x79 0x79 frames have a 2-byte length") {
        const Bytes extended = build_frame(0x94, from_hex("0A 01 02"), 7, true);
        REQUIRE(extended.size() == 14);
        CHECK(gt06::frame_length(extended) == 14u);
        CHECK_FALSE(gt06::frame_length(ByteView(extended).first(3)).has_value());
        CHECK_FALSE(gt06::frame_length(ByteView(extended).first(13)).has_value());
    }
    SUBCASE("a 0x0D 0x0A inside the content does not end the frame") {
        // Serial number 0x0D0A: the stop bytes are found by the length field, not by scanning.
        const Bytes frame = gt06::encode_reply(0x13, 0x0D0A);
        CHECK(gt06::frame_length(ByteView(frame).first(7)) == std::nullopt);
        CHECK(gt06::frame_length(frame) == 10u);
    }
}

TEST_CASE("GT06: framing errors") {
    SUBCASE("wrong first start byte, known from one byte") {
        const auto e = error_of([] { (void)gt06::frame_length(from_hex("24")); });
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 0);
        CHECK(e->protocol() == "gt06");
    }
    SUBCASE("mixed start bytes") {
        const auto e = error_of([] { (void)gt06::frame_length(from_hex("78 79 0D")); });
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 1);
    }
    SUBCASE("missing stop bytes") {
        Bytes frame = from_hex(gt06_login);
        frame[17] = 0x0B;
        const auto e = error_of([&] { (void)gt06::frame_length(frame); });
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 16);
    }
    SUBCASE("length field too small for protocol number, serial and CRC") {
        const auto e = error_of([] { (void)gt06::frame_length(from_hex("78 78 04 01")); });
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_length);
        CHECK(e->offset() == 2);
    }
    SUBCASE("oversized, reported from the length field alone") {
        // 0x79 0x79 with packet length 0xFFFF announces 65 541 bytes.
        const auto e = error_of([] { (void)gt06::frame_length(from_hex("79 79 FF FF")); });
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::oversized);
        CHECK(e->offset() == 2);
        // The cap is a parameter: the 18-byte login passes a cap of 18 and fails one of 17.
        const Bytes login = from_hex(gt06_login);
        CHECK(gt06::frame_length(login, 18) == 18u);
        const auto small = error_of([&] { (void)gt06::frame_length(login, 17); });
        REQUIRE(small);
        CHECK(small->fault() == DecodeFault::oversized);
    }
}

TEST_CASE("GT06: login 0x01 (GT06 §5.1.3)") {
    const auto m = gt06::decode(from_hex(gt06_login));
    CHECK(m.protocol_number == 0x01);
    CHECK(m.serial == 1);
    const auto* login = std::get_if<gt06::Login>(&m.payload);
    REQUIRE(login);
    CHECK(login->imei == "123456789012345");
    CHECK_FALSE(login->type_code.has_value());
    CHECK_FALSE(login->utc_offset_min.has_value());
    CHECK_FALSE(login->language.has_value());
}

TEST_CASE("GT06: login 0x01 of a real device") {
    // [traccar] Gt06ProtocolDecoderTest, a GT06 login: IMEI 864717003283581, serial 9.
    const auto m = gt06::decode(from_hex("78780D01086471700328358100093F040D0A"));
    CHECK(m.serial == 9);
    const auto& login = std::get<gt06::Login>(m.payload);
    CHECK(login.imei == "864717003283581");
    CHECK_FALSE(login.type_code.has_value());
}

TEST_CASE("GT06: login 0x01 with type code and time zone (VL03 §1)") {
    const auto m = gt06::decode(from_hex(vl03_login));
    CHECK(m.protocol_number == 0x01);
    CHECK(m.serial == 5);
    const auto& login = std::get<gt06::Login>(m.payload);
    CHECK(login.imei == "752533678900242");
    CHECK(login.type_code == std::optional<std::uint16_t>(0x7000));
    CHECK(login.utc_offset_min == std::optional<int>(8 * 60));
    CHECK(login.language == std::optional<std::uint8_t>(1));

    // Synthesized from VL03 §1's second time zone example, 0x4D 0xD8 = GMT-12:45 (bit 3 west).
    const auto west =
        gt06::decode(build_frame(0x01, from_hex("03 53 99 47 11 01 18 22 00 01 4D D8"), 0x0102));
    const auto& west_login = std::get<gt06::Login>(west.payload);
    CHECK(west_login.imei == "353994711011822");
    CHECK(west_login.type_code == std::optional<std::uint16_t>(0x0001));
    CHECK(west_login.utc_offset_min == std::optional<int>(-(12 * 60 + 45)));
    CHECK(west_login.language == std::optional<std::uint8_t>(0));
    CHECK(west.serial == 0x0102);
}

TEST_CASE("GT06: location 0x12 (GT06 §5.2.2)") {
    const auto m = gt06::decode(from_hex(gt06_location));
    CHECK(m.protocol_number == 0x12);
    CHECK(m.serial == 3);
    const auto* p = std::get_if<Position>(&m.payload);
    REQUIRE(p);
    CHECK(p->device_time == utc(2011y / 8 / 29, 17h + 46min + 16s));
    CHECK(p->satellites == 15);
    CHECK(p->attributes["gps_info_length"] == 12);
    CHECK(p->latitude_deg == doctest::Approx(41601003 / 1800000.0).epsilon(1e-12));
    CHECK(p->latitude_deg == doctest::Approx(23.111668).epsilon(1e-7));
    CHECK(p->longitude_deg == doctest::Approx(205936713 / 1800000.0).epsilon(1e-12));
    CHECK(p->longitude_deg == doctest::Approx(114.409285).epsilon(1e-7));
    CHECK(p->speed_kmh == 0.0);
    CHECK(p->course_deg == 143.0);  // 0x148F: positioned, north, east, course 0x08F
    CHECK(p->valid);
    CHECK(p->attributes["differential"] == false);
    CHECK(p->attributes["mcc"] == 460);
    CHECK(p->attributes["mnc"] == 0);
    CHECK(p->attributes["lac"] == 0x287D);
    CHECK(p->attributes["cell_id"] == 0x1FB8);
    CHECK_FALSE(p->ignition.has_value());
    CHECK_FALSE(p->altitude_m.has_value());
    CHECK(p->attributes.size() == 6);
}

TEST_CASE("GT06: vendor example typo") {
    // [GT06] §5.2.2 as printed (0xCC at byte 10) does not match its own CRC.
    const Bytes printed = from_hex(
        "78 78 1F 12 0B 08 1D 11 2E 10 CC 02 7A C7 EB 0C 46 58 49 00 14 8F 01 CC 00 28 7D 00 1F B8 "
        "00 03 80 81 0D 0A");
    const auto e = decode_error(printed);
    REQUIRE(e);
    CHECK(e->fault() == DecodeFault::bad_checksum);
    CHECK(e->offset() == 32);

    // [GT06] §5.4.3 as printed: the length field says 8 but 10 bytes follow, so the stop bytes
    // are not where the length puts them.
    const auto heartbeat = decode_error(from_hex("78 78 08 13 4B 04 03 00 01 00 11 06 1F 0D 0A"));
    REQUIRE(heartbeat);
    CHECK(heartbeat->fault() == DecodeFault::bad_value);
    CHECK(heartbeat->offset() == 11);
}

TEST_CASE("GT06: location 0x22 (VL03 §3)") {
    const auto m = gt06::decode(from_hex(vl03_location));
    CHECK(m.protocol_number == 0x22);
    CHECK(m.serial == 8);
    const auto& p = std::get<Position>(m.payload);
    CHECK(p.device_time == utc(2015y / 12 / 29, 2h + 51min + 5s));
    CHECK(p.satellites == 9);
    CHECK(p.attributes["gps_info_length"] == 12);
    CHECK(p.latitude_deg == doctest::Approx(41601048 / 1800000.0).epsilon(1e-12));
    CHECK(p.latitude_deg == doctest::Approx(23.111693).epsilon(1e-7));
    CHECK(p.longitude_deg == doctest::Approx(114.409298).epsilon(1e-7));
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.course_deg == 0.0);  // 0x1400: positioned, north, east
    CHECK(p.valid);
    CHECK(p.attributes["differential"] == false);
    CHECK(p.attributes["mcc"] == 460);
    CHECK(p.attributes["mnc"] == 0);
    CHECK(p.attributes["lac"] == 10365);
    CHECK(p.attributes["cell_id"] == 0x1F71);
    CHECK(p.ignition == std::optional<bool>(false));
    CHECK(p.attributes["upload_mode"] == 0);
    CHECK(p.attributes["reupload"] == true);
    CHECK_FALSE(p.attributes.contains("mileage"));
}

TEST_CASE("GT06: location 0x22 south, west, differential, moving, with mileage") {
    // Synthesized: VL03 §3 layout with mileage. 2024-02-29 23:59:58 (a leap day), 7 satellites,
    // 33°52.4'S and 151°12.6'W (as GT06 §5.2.1.6 converts them), 87 km/h, course 359,
    // MCC 505 MNC 1 LAC 0x1234 cell 0xABCDEF, ACC on, upload mode 0x03, real time,
    // mileage 123456 (0x0001E240).
    const std::uint32_t lat = static_cast<std::uint32_t>((33 * 60 + 52.4) * 30000);
    const std::uint32_t lon = static_cast<std::uint32_t>((151 * 60 + 12.6) * 30000);
    Bytes content = from_hex("18 02 1D 17 3B 3A C7");
    fleet::ingest::put_u32(content, lat);
    fleet::ingest::put_u32(content, lon);
    fleet::ingest::put_u8(content, 87);
    // Bit 13 differential, bit 12 positioned, bit 11 west, bit 10 clear (south), course 359.
    fleet::ingest::put_u16(content, 0x2000 | 0x1000 | 0x0800 | 359);
    const Bytes tail = from_hex("01 F9 01 12 34 AB CD EF 01 03 00 00 01 E2 40");
    content.insert(content.end(), tail.begin(), tail.end());
    const auto m = gt06::decode(build_frame(0x22, content, 0xFFFF));
    CHECK(m.serial == 0xFFFF);
    const auto& p = std::get<Position>(m.payload);
    CHECK(p.device_time == utc(2024y / 2 / 29, 23h + 59min + 58s));
    CHECK(p.satellites == 7);
    CHECK(p.latitude_deg == doctest::Approx(-(33 + 52.4 / 60)).epsilon(1e-9));
    CHECK(p.longitude_deg == doctest::Approx(-(151 + 12.6 / 60)).epsilon(1e-9));
    CHECK(p.speed_kmh == 87.0);
    CHECK(p.course_deg == 359.0);
    CHECK(p.valid);
    CHECK(p.attributes["differential"] == true);
    CHECK(p.attributes["mcc"] == 505);
    CHECK(p.attributes["mnc"] == 1);
    CHECK(p.attributes["lac"] == 0x1234);
    CHECK(p.attributes["cell_id"] == 0xABCDEF);
    CHECK(p.ignition == std::optional<bool>(true));
    CHECK(p.attributes["upload_mode"] == 3);
    CHECK(p.attributes["reupload"] == false);
    CHECK(p.attributes["mileage"] == 123456);
}

TEST_CASE("GT06: heartbeat 0x13") {
    SUBCASE("GT06 §5.4.3, with the length and CRC the example carries (3-byte content)") {
        // [GT06] §5.4.3 without the two "Reserved bit (Language)" bytes 00 01 that the example
        // shows but its length and CRC do not count.
        const auto m = gt06::decode(from_hex("78 78 08 13 4B 04 03 00 11 06 1F 0D 0A"));
        CHECK(m.protocol_number == 0x13);
        CHECK(m.serial == 0x11);
        const auto* s = std::get_if<gt06::Status>(&m.payload);
        REQUIRE(s);
        // 0x4B = 0100 1011: GPS tracking on, shock alarm (001), charge off, ACC high, activated.
        CHECK_FALSE(s->fuel_cut);
        CHECK(s->gps_tracking);
        CHECK(s->terminal_alarm == std::optional<std::string>("vibration"));
        CHECK_FALSE(s->charging);
        CHECK(s->ignition);
        CHECK(s->armed);
        CHECK(s->voltage_level == 4);
        CHECK(s->gsm_signal == 3);
        CHECK_FALSE(s->alarm_code.has_value());
        CHECK_FALSE(s->language.has_value());
    }
    SUBCASE("VL03 §2, with Alarm/Language") {
        const auto m = gt06::decode(from_hex(vl03_heartbeat));
        CHECK(m.serial == 0x000F);
        const auto& s = std::get<gt06::Status>(m.payload);
        // 0x40: only GPS tracking on.
        CHECK_FALSE(s.fuel_cut);
        CHECK(s.gps_tracking);
        CHECK_FALSE(s.terminal_alarm.has_value());
        CHECK_FALSE(s.charging);
        CHECK_FALSE(s.ignition);
        CHECK_FALSE(s.armed);
        CHECK(s.voltage_level == 4);
        CHECK(s.gsm_signal == 4);
        CHECK(s.alarm_code == std::optional<std::uint8_t>(0));
        CHECK(s.language == std::optional<std::uint8_t>(1));
    }
    SUBCASE("a real device reporting power cut in Alarm/Language") {
        // [forum] 78780a13400503020100741c3b0d0a
        const auto m = gt06::decode(from_hex("78780a13400503020100741c3b0d0a"));
        CHECK(m.serial == 0x0074);
        const auto& s = std::get<gt06::Status>(m.payload);
        CHECK(s.gps_tracking);
        CHECK_FALSE(s.terminal_alarm.has_value());
        CHECK(s.voltage_level == 5);
        CHECK(s.gsm_signal == 3);
        CHECK(s.alarm_code == std::optional<std::uint8_t>(2));
        CHECK(s.language == std::optional<std::uint8_t>(1));
    }
}

TEST_CASE("GT06: alarm 0x16 (GT06 §5.3.1.21)") {
    const auto m = gt06::decode(from_hex(gt06_alarm));
    CHECK(m.protocol_number == 0x16);
    CHECK(m.serial == 0x36);
    const auto* alarm = std::get_if<gt06::Alarm>(&m.payload);
    REQUIRE(alarm);
    const Position& p = alarm->position;
    CHECK(p.device_time == utc(2011y / 11 / 15, 14h + 36min + 29s));
    CHECK(p.satellites == 15);
    CHECK(p.latitude_deg == doctest::Approx(41601159 / 1800000.0).epsilon(1e-12));
    CHECK(p.longitude_deg == doctest::Approx(205936614 / 1800000.0).epsilon(1e-12));
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.course_deg == 2.0);  // 0x1402
    CHECK(p.valid);
    CHECK(p.attributes["mcc"] == 460);
    CHECK(p.attributes["mnc"] == 0);
    CHECK(p.attributes["lac"] == 0x287D);
    CHECK(p.attributes["cell_id"] == 0x1F72);
    CHECK(p.attributes["alarm"] == "sos");
    CHECK(p.attributes["alarm_code"] == 1);
    CHECK(p.ignition == std::optional<bool>(false));
    CHECK(p.attributes["charging"] == true);
    CHECK(p.attributes["armed"] == true);
    CHECK(p.attributes["fuel_cut"] == false);
    CHECK(p.attributes["gps_tracking"] == true);
    CHECK(p.attributes["voltage_level"] == 6);
    CHECK(p.attributes["gsm_signal"] == 4);
    CHECK(p.attributes["language"] == 1);
    // 0x65 = 0110 0101: GPS tracking, SOS (100), charge on, ACC low, activated.
    const gt06::Status& s = alarm->status;
    CHECK_FALSE(s.fuel_cut);
    CHECK(s.gps_tracking);
    CHECK(s.terminal_alarm == std::optional<std::string>("sos"));
    CHECK(s.charging);
    CHECK_FALSE(s.ignition);
    CHECK(s.armed);
    CHECK(s.voltage_level == 6);
    CHECK(s.gsm_signal == 4);
    CHECK(s.alarm_code == std::optional<std::uint8_t>(1));
    CHECK(s.language == std::optional<std::uint8_t>(1));
}

TEST_CASE("GT06: alarm 0x26 (VL03 §5)") {
    const auto m = gt06::decode(from_hex(vl03_alarm));
    CHECK(m.protocol_number == 0x26);
    CHECK(m.serial == 0x0C);
    const auto& alarm = std::get<gt06::Alarm>(m.payload);
    const Position& p = alarm.position;
    CHECK(p.device_time == utc(2015y / 12 / 29, 3h + 11min + 38s));
    CHECK(p.satellites == 9);
    CHECK(p.latitude_deg == doctest::Approx(23.111693).epsilon(1e-7));
    CHECK(p.longitude_deg == doctest::Approx(114.409298).epsilon(1e-7));
    CHECK(p.speed_kmh == 0.0);
    CHECK(p.course_deg == 0.0);
    CHECK_FALSE(p.valid);  // 0x0400: north, not positioned
    CHECK(p.attributes["mcc"] == 460);
    CHECK(p.attributes["mnc"] == 0);
    CHECK(p.attributes["lac"] == 10365);
    CHECK(p.attributes["cell_id"] == 8049);
    CHECK(p.attributes["alarm"] == "tamper");
    CHECK(p.attributes["alarm_code"] == 0x13);
    CHECK(p.attributes["language"] == 2);
    CHECK(p.attributes["fuel_cut"] == true);
    CHECK(p.ignition == std::optional<bool>(false));
    const gt06::Status& s = alarm.status;
    CHECK(s.fuel_cut);  // 0x80
    CHECK_FALSE(s.gps_tracking);
    CHECK_FALSE(s.terminal_alarm.has_value());
    CHECK_FALSE(s.charging);
    CHECK_FALSE(s.ignition);
    CHECK_FALSE(s.armed);
    CHECK(s.voltage_level == 4);
    CHECK(s.gsm_signal == 4);
}

TEST_CASE("GT06: alarm 0x26 without LBS, alarm from terminal information") {
    // Synthesized: 0x26 with LBS length 0 and no LBS bytes, Alarm/Language 00 02, terminal
    // information 0x56 = 0101 0110 (GPS tracking, power cut 010, charging, ACC high).
    const Bytes content =
        from_hex("19 07 04 08 09 0A C5 02 7A C8 18 0C 46 58 60 32 15 4C 00 56 03 02 00 02");
    const auto m = gt06::decode(build_frame(0x26, content, 0x0042));
    const auto& alarm = std::get<gt06::Alarm>(m.payload);
    const Position& p = alarm.position;
    CHECK(p.device_time == utc(2025y / 7 / 4, 8h + 9min + 10s));
    CHECK(p.satellites == 5);
    CHECK(p.speed_kmh == 50.0);
    CHECK(p.course_deg == 332.0);  // 0x154C, the example of GT06 §5.2.1.9
    CHECK(p.valid);
    CHECK(p.latitude_deg > 0);
    CHECK(p.longitude_deg > 0);
    CHECK_FALSE(p.attributes.contains("mcc"));
    CHECK(p.attributes["alarm"] == "power_cut");
    CHECK(p.attributes["alarm_code"] == 0);
    CHECK(p.ignition == std::optional<bool>(true));
    CHECK(alarm.status.terminal_alarm == std::optional<std::string>("power_cut"));
    CHECK(alarm.status.voltage_level == 3);
    CHECK(alarm.status.gsm_signal == 2);
}

TEST_CASE("GT06: alarm names") {
    CHECK_FALSE(gt06::alarm_name(0x00).has_value());
    CHECK(gt06::alarm_name(0x01) == std::optional<std::string>("sos"));
    CHECK(gt06::alarm_name(0x02) == std::optional<std::string>("power_cut"));
    CHECK(gt06::alarm_name(0x03) == std::optional<std::string>("vibration"));
    CHECK(gt06::alarm_name(0x04) == std::optional<std::string>("geofence_enter"));
    CHECK(gt06::alarm_name(0x05) == std::optional<std::string>("geofence_exit"));
    CHECK(gt06::alarm_name(0x06) == std::optional<std::string>("overspeed"));
    CHECK(gt06::alarm_name(0x13) == std::optional<std::string>("tamper"));
    CHECK(gt06::alarm_name(0xFF) == std::optional<std::string>("acc_off"));
    CHECK(gt06::alarm_name(0x07) == std::optional<std::string>("unknown"));
}

TEST_CASE("GT06: malformed frames") {
    SUBCASE("bad CRC") {
        Bytes frame = from_hex(gt06_login);
        frame[14] ^= 0x01;
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_checksum);
        CHECK(e->offset() == 14);
    }
    SUBCASE("a flipped content bit fails the CRC") {
        Bytes frame = from_hex(gt06_location);
        frame[12] ^= 0x80;
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_checksum);
    }
    SUBCASE("truncated: fewer bytes than the length field says") {
        const Bytes frame = from_hex(gt06_location);
        const auto e = decode_error(Bytes(frame.begin(), frame.end() - 3));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::truncated);
        CHECK(e->offset() == 33);
        const auto empty = decode_error(Bytes{});
        REQUIRE(empty);
        CHECK(empty->fault() == DecodeFault::truncated);
    }
    SUBCASE("wrong length: bytes after the end the length field gives") {
        Bytes frame = from_hex(gt06_login);
        frame.push_back(0x78);
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_length);
        CHECK(e->offset() == 18);
    }
    SUBCASE("wrong length: the length field is one too large") {
        Bytes frame = from_hex(gt06_login);
        frame[2] = 0x0E;
        frame.push_back(0x00);  // so the stop bytes are where neither length expects them
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 17);
    }
    SUBCASE("wrong start bytes") {
        Bytes frame = from_hex(gt06_login);
        frame[0] = 0x79;
        frame[1] = 0x78;
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 1);
    }
    SUBCASE("wrong stop bytes") {
        Bytes frame = from_hex(gt06_alarm);
        frame[frame.size() - 2] = 0x0A;
        frame[frame.size() - 1] = 0x0D;
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == frame.size() - 2);
    }
    SUBCASE("content too short for its message type, with a valid CRC") {
        // A 0x12 whose content stops inside the cell ID.
        const Bytes full = from_hex(gt06_location);
        const Bytes content(full.begin() + 4, full.begin() + 4 + 24);
        const auto e = decode_error(build_frame(0x12, content, 3));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::truncated);
        CHECK(e->offset() == 4 + 24);  // the cell ID's last 2 bytes, past the content
    }
    SUBCASE("content too long for its message type, with a valid CRC") {
        Bytes content = from_hex("01 23 45 67 89 01 23 45 00");
        const auto e = decode_error(build_frame(0x01, content, 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::truncated);  // 9 bytes: a type code cut short
        content.insert(content.end(), {0x01, 0x32, 0x00, 0xAA});
        const auto longer = decode_error(build_frame(0x01, content, 1));
        REQUIRE(longer);
        CHECK(longer->fault() == DecodeFault::bad_length);
        CHECK(longer->offset() == 4 + 12);
    }
    SUBCASE("heartbeat of 4 content bytes") {
        const auto e = decode_error(build_frame(0x13, from_hex("40 04 04 00"), 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_length);
        CHECK(e->offset() == 7);
    }
    SUBCASE("IMEI that is not BCD") {
        const auto e = decode_error(build_frame(0x01, from_hex("01 23 45 67 89 0A 23 45"), 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 4);
    }
    SUBCASE("impossible date") {
        const Bytes full = from_hex(gt06_location);
        Bytes content(full.begin() + 4, full.end() - 6);
        content[1] = 13;  // month 13
        const auto e = decode_error(build_frame(0x12, content, 3));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 4);
        content[1] = 2;
        content[2] = 30;  // 2011-02-30
        CHECK(decode_error(build_frame(0x12, content, 3))->fault() == DecodeFault::bad_value);
        content[2] = 28;
        content[5] = 60;  // second 60
        CHECK(decode_error(build_frame(0x12, content, 3))->fault() == DecodeFault::bad_value);
        content[5] = 59;
        CHECK_FALSE(decode_error(build_frame(0x12, content, 3)).has_value());
    }
}

TEST_CASE("GT06: unsupported protocol numbers after a valid CRC") {
    SUBCASE("time calibration 0x8A (VL03 §8), serial still readable") {
        const Bytes frame = from_hex("7878058A000688290D0A");
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::unsupported);
        CHECK(e->offset() == 3);
        const auto envelope = gt06::open_frame(frame);
        CHECK(envelope.protocol_number == 0x8A);
        CHECK(envelope.serial == 6);
        CHECK(envelope.content.empty());
        CHECK_FALSE(envelope.extended);
    }
    SUBCASE("information transmission 0x94 in a 0x79 0x79 frame") {
        // Synthesized: sub-protocol 0x00 external battery voltage 0x049F (11.83 V, VL03 §9).
        const Bytes frame = build_frame(0x94, from_hex("00 04 9F"), 0x0203, true);
        const auto e = decode_error(frame);
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::unsupported);
        CHECK(e->offset() == 4);
        const auto envelope = gt06::open_frame(frame);
        CHECK(envelope.extended);
        CHECK(envelope.protocol_number == 0x94);
        CHECK(envelope.serial == 0x0203);
        CHECK(to_hex(envelope.content) == "00049f");
        CHECK(envelope.content_offset == 5);
    }
    SUBCASE("a bad CRC is reported before the protocol number is looked at") {
        Bytes frame = from_hex("7878058A000688290D0A");
        frame[6] = 0x00;
        CHECK(decode_error(frame)->fault() == DecodeFault::bad_checksum);
    }
}

TEST_CASE("GT06: server replies") {
    // [GT06] §5.1.3, §5.4.3, §5.3.2.7 and [VL03] §1, §2, §5: the documents' reply frames.
    CHECK(gt06::encode_reply(0x01, 0x0001) == from_hex("78 78 05 01 00 01 D9 DC 0D 0A"));
    CHECK(gt06::encode_reply(0x13, 0x0011) == from_hex("78 78 05 13 00 11 F9 70 0D 0A"));
    CHECK(gt06::encode_reply(0x16, 0x0036) == from_hex("78 78 05 16 00 36 95 70 0D 0A"));
    CHECK(gt06::encode_reply(0x01, 0x0005) == from_hex("7878050100059FF80D0A"));
    CHECK(gt06::encode_reply(0x13, 0x0100) == from_hex("78 78 05 13 01 00 E1 A0 0D 0A"));
    CHECK(gt06::encode_reply(0x26, 0x001C) == from_hex("78780526001C9D860D0A"));

    // The reply echoes the serial of the message it answers.
    const auto login = gt06::decode(from_hex(gt06_login));
    CHECK(gt06::encode_reply(login.protocol_number, login.serial) ==
          from_hex("78 78 05 01 00 01 D9 DC 0D 0A"));

    CHECK(gt06::expects_reply(0x01));
    CHECK(gt06::expects_reply(0x13));
    CHECK(gt06::expects_reply(0x16));
    CHECK(gt06::expects_reply(0x26));
    CHECK(gt06::expects_reply(0x12));
    CHECK(gt06::expects_reply(0x22));
    CHECK_FALSE(gt06::expects_reply(0x80));
    CHECK_FALSE(gt06::expects_reply(0x8A));
}

TEST_CASE("GT06: locations are answered with the echo Traccar sends") {
    // [issue2064] A GT06 device's 0x12 with serial 0x02E8, and the answer Traccar sent it.
    const auto m = gt06::decode(from_hex(traccar_2064_location));
    CHECK(m.protocol_number == 0x12);
    CHECK(m.serial == 0x02E8);
    CHECK(to_hex(gt06::encode_reply(m.protocol_number, m.serial)) == "7878051202e8fa520d0a");
    // [issue2064] The same device's next location, serial 0x02F7.
    CHECK(to_hex(gt06::encode_reply(0x12, 0x02F7)) == "7878051202f712240d0a");
    // [VL03] §3's 0x22 (serial 8): the same echo, CRC from an independent bitwise CRC-16/X-25.
    const auto utc = gt06::decode(from_hex(vl03_location));
    CHECK(utc.serial == 8);
    CHECK(to_hex(gt06::encode_reply(utc.protocol_number, utc.serial)) == "787805220008a8420d0a");
    // A 0x79 0x79 frame is answered in its own form (2-byte packet length; independent CRC).
    const Bytes extended = gt06::encode_reply(0x22, 8, true);
    CHECK(to_hex(extended) == "797900052200089beb0d0a");
    CHECK(gt06::frame_length(extended) == extended.size());
    CHECK(gt06::open_frame(extended).serial == 8);
}

TEST_CASE("GT06: location 0x12 of a real device") {
    // [issue2064] 2016-07-01 14:03:14, 9 satellites, 3.86526 N 11.50409 E, 33 km/h, course 194.
    const auto m = gt06::decode(from_hex(traccar_2064_location));
    const auto& p = std::get<Position>(m.payload);
    CHECK(p.device_time == utc(2016y / 7 / 1, 14h + 3min + 14s));
    CHECK(p.satellites == 9);
    CHECK(p.latitude_deg == doctest::Approx(0x006A2993 / 1800000.0).epsilon(1e-12));
    CHECK(p.latitude_deg == doctest::Approx(3.86526).epsilon(1e-5));
    CHECK(p.longitude_deg == doctest::Approx(0x013BF823 / 1800000.0).epsilon(1e-12));
    CHECK(p.longitude_deg == doctest::Approx(11.50409).epsilon(1e-5));
    CHECK(p.speed_kmh == 33.0);
    CHECK(p.course_deg == 194.0);  // 0x34C2: differential, positioned, north, east
    CHECK(p.valid);
    CHECK(p.attributes["differential"] == true);
    CHECK(p.attributes["mcc"] == 624);
    CHECK(p.attributes["mnc"] == 1);
    CHECK(p.attributes["lac"] == 0xCA);
    CHECK(p.attributes["cell_id"] == 0x0872);
}

TEST_CASE("GT06: login time zone of a real device (GMT-4:00)") {
    // [issue604] A GT06 login with type code 0x100F and time zone word 0x190A: 400 (4:00), bit 3
    // west, language bits 2 (English); Traccar answered it with 787805010002eb470d0a.
    const auto m = gt06::decode(from_hex("787811010864717003664467100f190a0002c6d20d0a"));
    CHECK(m.serial == 2);
    const auto& login = std::get<gt06::Login>(m.payload);
    CHECK(login.imei == "864717003664467");
    CHECK(login.type_code == std::optional<std::uint16_t>(0x100F));
    CHECK(login.utc_offset_min == std::optional<int>(-4 * 60));
    CHECK(login.language == std::optional<std::uint8_t>(2));
    CHECK(to_hex(gt06::encode_reply(0x01, m.serial)) == "787805010002eb470d0a");
}

TEST_CASE("GT06: the dates of 0x12 and 0x16 are local time, those of 0x22 and 0x26 UTC") {
    CHECK(gt06::carries_local_time(0x12));
    CHECK(gt06::carries_local_time(0x16));
    CHECK_FALSE(gt06::carries_local_time(0x22));
    CHECK_FALSE(gt06::carries_local_time(0x26));
    // [synth] 2024-03-05 17:30:00 on the terminal's clock, as 0x12 and as 0x22.
    const gt06::Context moscow{.utc_offset_min = 3 * 60};
    const auto local = gt06::decode(from_hex(synth_location_local), moscow);
    CHECK(std::get<Position>(local.payload).device_time == utc(2024y / 3 / 5, 14h + 30min));
    const auto same = gt06::decode(from_hex(synth_location_utc), moscow);
    CHECK(std::get<Position>(same.payload).device_time == utc(2024y / 3 / 5, 17h + 30min));
    // West of Greenwich, and no time zone at all.
    const auto west = gt06::decode(from_hex(synth_location_local), {.utc_offset_min = -4 * 60});
    CHECK(std::get<Position>(west.payload).device_time == utc(2024y / 3 / 5, 21h + 30min));
    const auto none = gt06::decode(from_hex(synth_location_local));
    CHECK(std::get<Position>(none.payload).device_time == utc(2024y / 3 / 5, 17h + 30min));
    // Alarms: 0x16 local, 0x26 UTC.
    const auto alarm = gt06::decode(from_hex(gt06_alarm), moscow);
    CHECK(std::get<gt06::Alarm>(alarm.payload).position.device_time ==
          utc(2011y / 11 / 15, 11h + 36min + 29s));
    const auto alarm_utc = gt06::decode(from_hex(vl03_alarm), moscow);
    CHECK(std::get<gt06::Alarm>(alarm_utc.payload).position.device_time ==
          utc(2015y / 12 / 29, 3h + 11min + 38s));
}

TEST_CASE("GT06: a login time zone beyond 14:00 from UTC is a bad value") {
    // Synthesized logins: 14:00 east (0x5780) is the edge; 15:00 (1500 = 0x5DC, word 0x5DC0) and
    // 14:01 west (1401 = 0x579, word 0x5798) are not time zones.
    const auto edge =
        gt06::decode(build_frame(0x01, from_hex("03 56 30 70 42 44 10 13 00 01 57 80"), 1));
    CHECK(std::get<gt06::Login>(edge.payload).utc_offset_min == std::optional<int>(14 * 60));
    for (const char* zone : {"5D C0", "57 98"}) {
        CAPTURE(zone);
        Bytes content = from_hex("03 56 30 70 42 44 10 13 00 01");
        const Bytes word = from_hex(zone);
        content.insert(content.end(), word.begin(), word.end());
        const auto e = decode_error(build_frame(0x01, content, 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 4 + 10);
    }
}

TEST_CASE("GT06: online command 0x80 (GT06 §6.1)") {
    // Expected bytes computed with an independent bitwise CRC-16/X-25; the layout is GT06 §6.1:
    // length, 0x80, command length (4 + text), server flag, ASCII text, language 00 02, serial.
    CHECK(to_hex(gt06::encode_command(0, "sos#", 1)) ==
          "787810800800000000736f7323000200019a170d0a");
    CHECK(to_hex(gt06::encode_command(1, "DWXX#", 0x0A0B)) ==
          "787811800900000001445758582300020a0b3fb70d0a");
    const Bytes dyd = gt06::encode_command(0x12345678, "DYD#", 2);
    CHECK(to_hex(dyd) == "7878108008123456784459442300020002ac8a0d0a");

    // The framer and the envelope accept what the encoder writes.
    CHECK(gt06::frame_length(dyd) == dyd.size());
    const auto envelope = gt06::open_frame(dyd);
    CHECK(envelope.protocol_number == 0x80);
    CHECK(envelope.serial == 2);
    CHECK(to_hex(envelope.content) == "0812345678445944230002");

    // The longest text that fits a 1-byte packet length, and one byte more.
    const std::string longest(243, 'A');
    const Bytes big = gt06::encode_command(0, longest, 0);
    CHECK(big.size() == 260);
    CHECK(big[2] == 0xFF);
    CHECK(gt06::frame_length(big, 260) == 260u);
    CHECK_THROWS_AS(gt06::encode_command(0, longest + "A", 0), fleet::InputError);
}

TEST_CASE("text downlinks on Codec 12 and GT06: transliterated to ASCII, refused when too long") {
    fleet::ingest::DownlinkMessage m;
    m.id = 7;
    m.text = "Гололёд на мосту";
    const auto gt06 = fleet::ingest::find_protocol("gt06")->encode_downlink(m, 1);
    REQUIRE(gt06);
    CHECK(to_hex(*gt06) ==
          to_hex(gt06::encode_command(gt06::server_flag_of(7), "Gololed na mostu", 1)));
    const auto teltonika = fleet::ingest::find_protocol("teltonika")->encode_downlink(m, 1);
    REQUIRE(teltonika);
    CHECK(to_hex(*teltonika) == to_hex(fleet::ingest::teltonika::encode_command("Gololed na mostu")));
    // "Щ" is four letters in ASCII: 60 of them fit GT06's 243 bytes, 128 Codec 12's 512.
    std::string shch;
    for (int i = 0; i < 60; ++i) {
        shch += "Щ";
    }
    m.text = shch;
    CHECK(fleet::ingest::find_protocol("gt06")->encode_downlink(m, 1));
    m.text = shch + "Щ";
    CHECK_FALSE(fleet::ingest::find_protocol("gt06")->encode_downlink(m, 1));
    CHECK(fleet::ingest::find_protocol("teltonika")->encode_downlink(m, 1));
    m.text.clear();
    for (int i = 0; i < 129; ++i) {
        m.text += "щ";
    }
    CHECK_FALSE(fleet::ingest::find_protocol("teltonika")->encode_downlink(m, 1));
    m.text = "";
    CHECK_FALSE(fleet::ingest::find_protocol("gt06")->encode_downlink(m, 1));
}

// [traccar] A terminal's 0x15 answer (its ICCID), server flag 0, with the language word 00 02
// after the text; serial 0x0D44.
const std::string_view traccar_reply_iccid =
    "7878281520000000003c49434349443a38393838323339303030303039373330323635303e00020d446f260d0a";
// [traccar] A 0x21 answer in a 0x79 0x79 frame, server flag 0, UTF-16BE "Command error!";
// serial 0x0023.
const std::string_view traccar_reply_utf16 =
    "797900262100000000020043006f006d006d0061006e00640020006500720072006f0072002100236e850d0a";
// [synth] 0x21 answering the 0x80 with server flag 9 (as the sessions test sends it), ASCII
// "DYD=Success!", serial 3.
const std::string_view synth_reply_flag9 = "7878162100000009014459443D53756363657373210003A53F0D0A";
// [synth] 0x15 answering the same, with the language word; serial 4.
const std::string_view synth_reply_15_flag9 =
    "7878181510000000094459443D5375636365737321000200048D110D0A";

TEST_CASE("GT06: command answer 0x15 (length of command, server flag, ASCII, language)") {
    const auto iccid = gt06::decode(from_hex(traccar_reply_iccid));
    CHECK(iccid.protocol_number == gt06::msg_command_reply);
    CHECK(iccid.serial == 0x0D44);
    const auto& reply = std::get<gt06::CommandReply>(iccid.payload);
    CHECK(reply.server_flag == 0);
    CHECK(reply.text == "<ICCID:89882390000097302650>");

    const auto ours = gt06::decode(from_hex(synth_reply_15_flag9));
    CHECK(std::get<gt06::CommandReply>(ours.payload).server_flag == 9);
    CHECK(std::get<gt06::CommandReply>(ours.payload).text == "DYD=Success!");

    SUBCASE("without the language word") {
        const auto m = gt06::decode(build_frame(0x15, from_hex("06 0000002A 4F 4B"), 5));
        CHECK(std::get<gt06::CommandReply>(m.payload).server_flag == 42);
        CHECK(std::get<gt06::CommandReply>(m.payload).text == "OK");
    }
    SUBCASE("a byte that is no text becomes U+FFFD; the answer still counts") {
        const auto m = gt06::decode(build_frame(0x15, from_hex("07 00000001 4F 00 4B"), 5));
        CHECK(std::get<gt06::CommandReply>(m.payload).text == "O\xEF\xBF\xBDK");
    }
    SUBCASE("a length byte that cannot hold the server flag") {
        const auto e = decode_error(build_frame(0x15, from_hex("03 000000"), 5));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_length);
        CHECK(e->offset() == 4);
    }
    SUBCASE("a length byte beyond the content") {
        const auto e = decode_error(build_frame(0x15, from_hex("10 00000001 4F4B"), 5));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::truncated);
    }
    SUBCASE("bytes after the text that are not a language word") {
        const auto e = decode_error(build_frame(0x15, from_hex("06 00000001 4F4B 000201"), 5));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_length);
    }
    SUBCASE("an empty content") {
        CHECK(decode_error(build_frame(0x15, {}, 5))->fault() == DecodeFault::truncated);
    }
}

TEST_CASE("GT06: command answer 0x21 (server flag, encoding, text)") {
    const auto utf16 = gt06::decode(from_hex(traccar_reply_utf16));
    CHECK(utf16.extended);
    CHECK(utf16.protocol_number == gt06::msg_command_reply_coded);
    CHECK(utf16.serial == 0x0023);
    CHECK(std::get<gt06::CommandReply>(utf16.payload).server_flag == 0);
    CHECK(std::get<gt06::CommandReply>(utf16.payload).text == "Command error!");

    const auto ascii = gt06::decode(from_hex(synth_reply_flag9));
    CHECK_FALSE(ascii.extended);
    CHECK(ascii.serial == 3);
    CHECK(std::get<gt06::CommandReply>(ascii.payload).server_flag == 9);
    CHECK(std::get<gt06::CommandReply>(ascii.payload).text == "DYD=Success!");

    SUBCASE("UTF-16: a pair of surrogates is one character; a lone one is U+FFFD") {
        // U+1F697 (oncoming automobile) as D83D DE97; "A" then a high surrogate followed by "B".
        const auto pair = gt06::decode(build_frame(0x21, from_hex("00000001 02 D83D DE97"), 1));
        CHECK(std::get<gt06::CommandReply>(pair.payload).text == "\xF0\x9F\x9A\x97");
        const auto lone =
            gt06::decode(build_frame(0x21, from_hex("00000001 02 0041 D83D 0042 DC00"), 1));
        CHECK(std::get<gt06::CommandReply>(lone.payload).text ==
              "A\xEF\xBF\xBD"
              "B\xEF\xBF\xBD");
        // Non-ASCII in UTF-16: "Привет" (Cyrillic), as a terminal set to Russian answers.
        const auto cyrillic = gt06::decode(
            build_frame(0x21, from_hex("00000001 02 041F 0440 0438 0432 0435 0442"), 1));
        CHECK(std::get<gt06::CommandReply>(cyrillic.payload).text ==
              "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
    }
    SUBCASE("an empty answer is still an answer") {
        const auto m = gt06::decode(build_frame(0x21, from_hex("00000007 01"), 1));
        CHECK(std::get<gt06::CommandReply>(m.payload).server_flag == 7);
        CHECK(std::get<gt06::CommandReply>(m.payload).text.empty());
    }
    SUBCASE("an encoding that is neither ASCII nor UTF-16BE") {
        const auto e = decode_error(build_frame(0x21, from_hex("00000001 03 4F4B"), 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_value);
        CHECK(e->offset() == 8);
    }
    SUBCASE("an odd number of UTF-16 bytes") {
        const auto e = decode_error(build_frame(0x21, from_hex("00000001 02 004F00"), 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::bad_length);
    }
    SUBCASE("content shorter than server flag and encoding") {
        const auto e = decode_error(build_frame(0x21, from_hex("00000001"), 1));
        REQUIRE(e);
        CHECK(e->fault() == DecodeFault::truncated);
    }
}

namespace {

// [synth] A location at 2024-03-05 hh:mm:ss on the terminal's clock (the frame of
// synth_location_local with another time), as 0x12 or as 0x22 with the given ACC byte.
Bytes location_at(std::uint8_t protocol_number, seconds time_of_day, std::uint16_t serial,
                  std::uint8_t acc = 0) {
    const hh_mm_ss<seconds> t{time_of_day};
    Bytes content{24,
                  3,
                  5,
                  static_cast<std::uint8_t>(t.hours().count()),
                  static_cast<std::uint8_t>(t.minutes().count()),
                  static_cast<std::uint8_t>(t.seconds().count())};
    const Bytes rest = from_hex("C9 027AC818 0C465860 32 154C 00FA 01 1F40 00A1B2");
    content.insert(content.end(), rest.begin(), rest.end());
    if (protocol_number == gt06::msg_location_utc) {
        content.insert(content.end(), {acc, 0x00, 0x00});
    }
    return build_frame(protocol_number, content, serial);
}

// A handler whose clock the test sets, logged in with `login` and accepted.
struct LoggedIn {
    Millis now{};
    gt06::Handler handler{[this] { return now; }};
    explicit LoggedIn(std::string_view login, Millis at = {}) : now(at) {
        const auto step = handler.on_frame(from_hex(login));
        REQUIRE(step.login);
        handler.set_logged_in(true);
    }
};

}  // namespace

TEST_CASE("GT06 handler: login with +03:00, then locations in local time and in UTC") {
    gt06::Handler handler;
    const auto login = handler.on_frame(from_hex(synth_login_moscow));
    REQUIRE(login.login);
    CHECK(*login.login == "356307042441013");
    CHECK(login.reply.empty());  // answered only once the registry accepts the device
    handler.set_logged_in(true);
    CHECK(to_hex(handler.login_reply(true)) == "787805010001d9dc0d0a");

    // 0x12 dated 17:30 on a +03:00 clock is 14:30 UTC; answered with its own echo.
    const auto local = handler.on_frame(from_hex(synth_location_local));
    REQUIRE(local.positions.size() == 1);
    CHECK(local.positions[0].device_time == utc(2024y / 3 / 5, 14h + 30min));
    CHECK(to_hex(local.reply) == "78780512000281b60d0a");  // independent CRC
    // 0x22 is UTC whatever the zone.
    const auto in_utc = handler.on_frame(from_hex(synth_location_utc));
    REQUIRE(in_utc.positions.size() == 1);
    CHECK(in_utc.positions[0].device_time == utc(2024y / 3 / 5, 17h + 30min));
    CHECK(in_utc.positions[0].ignition == std::optional<bool>(false));
    CHECK(to_hex(in_utc.reply) == "78780522000316910d0a");  // independent CRC

    // A login without a time zone: 0x12 is taken as UTC.
    gt06::Handler plain;
    REQUIRE(plain.on_frame(from_hex(gt06_login)).login);
    plain.set_logged_in(true);
    const auto taken_as_utc = plain.on_frame(from_hex(synth_location_local));
    CHECK(taken_as_utc.positions[0].device_time == utc(2024y / 3 / 5, 17h + 30min));
}

TEST_CASE("GT06 handler: a heartbeat is the vehicle's status, answered, and carried into fixes") {
    // The heartbeat arrives at 14:25 UTC; the terminal's clock is +03:00.
    LoggedIn device(synth_login_moscow, utc(2024y / 3 / 5, 14h + 25min));
    // [GT06] §5.4.3: 0x4B = GPS tracking, shock alarm, ACC high, armed; voltage 4, GSM 3.
    const auto beat = device.handler.on_frame(from_hex("78 78 08 13 4B 04 03 00 11 06 1F 0D 0A"));
    CHECK(beat.positions.empty());
    REQUIRE(beat.status);
    CHECK(beat.status->reported_at == utc(2024y / 3 / 5, 14h + 25min));
    const auto& v = beat.status->values;
    CHECK(v["ignition"] == true);
    CHECK(v["armed"] == true);
    CHECK(v["charging"] == false);
    CHECK(v["fuel_cut"] == false);
    CHECK(v["gps_tracking"] == true);
    CHECK(v["voltage_level"] == 4);
    CHECK(v["gsm_signal"] == 3);
    CHECK(v["terminal_alarm"] == "vibration");
    CHECK_FALSE(v.contains("alarm"));
    CHECK(to_hex(beat.reply) == "787805130011f9700d0a");  // [GT06] §5.4.3's own answer

    SUBCASE("0x12 five minutes later carries ignition and the state, not the alarm") {
        const auto step = device.handler.on_frame(location_at(0x12, 17h + 30min, 2));
        REQUIRE(step.positions.size() == 1);
        const Position& p = step.positions[0];
        CHECK(p.device_time == utc(2024y / 3 / 5, 14h + 30min));
        CHECK(p.ignition == std::optional<bool>(true));
        CHECK(p.attributes["armed"] == true);
        CHECK(p.attributes["charging"] == false);
        CHECK(p.attributes["fuel_cut"] == false);
        CHECK(p.attributes["gps_tracking"] == true);
        CHECK(p.attributes["voltage_level"] == 4);
        CHECK(p.attributes["gsm_signal"] == 3);
        CHECK(p.attributes["status_age_s"] == 300);
        CHECK_FALSE(p.attributes.contains("terminal_alarm"));
        CHECK_FALSE(p.attributes.contains("alarm"));
        CHECK_FALSE(step.status.has_value());
        CHECK(step.reply == gt06::encode_reply(0x12, 2));
    }
    SUBCASE("0x22 keeps its own ACC and takes the rest") {
        const auto step = device.handler.on_frame(location_at(0x22, 14h + 29min, 3, /*acc=*/0));
        const Position& p = step.positions[0];
        CHECK(p.ignition == std::optional<bool>(false));
        CHECK(p.attributes["voltage_level"] == 4);
        CHECK(p.attributes["armed"] == true);
        CHECK(p.attributes["status_age_s"] == 240);
    }
    SUBCASE("up to 10 minutes either side the status is carried, then it is stale") {
        const auto edge = device.handler.on_frame(location_at(0x12, 17h + 35min, 4));
        CHECK(edge.positions[0].ignition == std::optional<bool>(true));
        CHECK(edge.positions[0].attributes["status_age_s"] == 600);
        const auto stale = device.handler.on_frame(location_at(0x12, 17h + 35min + 1s, 5));
        CHECK_FALSE(stale.positions[0].ignition.has_value());
        CHECK_FALSE(stale.positions[0].attributes.contains("voltage_level"));
        CHECK_FALSE(stale.positions[0].attributes.contains("status_age_s"));
        // A fix from long before the status (sent late from the terminal's buffer).
        const auto buffered = device.handler.on_frame(location_at(0x12, 17h + 14min + 59s, 6));
        CHECK_FALSE(buffered.positions[0].ignition.has_value());
        const auto before = device.handler.on_frame(location_at(0x12, 17h + 15min, 7));
        CHECK(before.positions[0].attributes["status_age_s"] == -600);
        CHECK(edge.reply == gt06::encode_reply(0x12, 4));
        CHECK(stale.reply == gt06::encode_reply(0x12, 5));
    }
    SUBCASE("an alarm carries the status it came with, which becomes the latest") {
        // [GT06] §5.3.1.21 (0x16, 2011, so far from the heartbeat): ACC low, charging, voltage 6.
        const auto alarm = device.handler.on_frame(from_hex(gt06_alarm));
        REQUIRE(alarm.positions.size() == 1);
        const Position& p = alarm.positions[0];
        CHECK(p.ignition == std::optional<bool>(false));
        CHECK(p.attributes["voltage_level"] == 6);
        CHECK(p.attributes["charging"] == true);
        CHECK(p.attributes["alarm"] == "sos");
        CHECK_FALSE(p.attributes.contains("status_age_s"));
        REQUIRE(alarm.status);
        CHECK(alarm.status->values["voltage_level"] == 6);
        CHECK(alarm.status->values["alarm"] == "sos");
        CHECK(alarm.status->values["alarm_code"] == 1);
        CHECK(to_hex(alarm.reply) == "78780516003695700d0a");  // [GT06] §5.3.2.7
        // The next fix, near the alarm's arrival, carries the alarm's status, not the
        // heartbeat's.
        const auto next = device.handler.on_frame(location_at(0x12, 17h + 26min, 8));
        CHECK(next.positions[0].ignition == std::optional<bool>(false));
        CHECK(next.positions[0].attributes["voltage_level"] == 6);
        CHECK_FALSE(next.positions[0].attributes.contains("alarm"));
    }
}

TEST_CASE("GT06 handler: before an accepted login a heartbeat is neither kept nor answered") {
    gt06::Handler handler([] { return Millis{}; });
    const auto beat = handler.on_frame(from_hex(vl03_heartbeat));
    CHECK_FALSE(beat.status.has_value());
    CHECK(beat.reply.empty());
    // A location before login still decodes; the session refuses data before login.
    const auto location = handler.on_frame(from_hex(gt06_location));
    CHECK(location.positions.size() == 1);
}

TEST_CASE("GT06 handler: a heartbeat's Alarm/Language byte names its alarm") {
    LoggedIn device(gt06_login);
    // [forum] A heartbeat reporting power cut (alarm byte 0x02) in Alarm/Language.
    const auto beat = device.handler.on_frame(from_hex("78780a13400503020100741c3b0d0a"));
    REQUIRE(beat.status);
    CHECK(beat.status->values["alarm"] == "power_cut");
    CHECK(beat.status->values["alarm_code"] == 2);
    CHECK(beat.status->values["voltage_level"] == 5);
    CHECK(beat.status->values["ignition"] == false);
    CHECK(beat.reply == gt06::encode_reply(0x13, 0x0074));
}

TEST_CASE("GT06 handler: well-formed unsupported messages are skipped unanswered") {
    LoggedIn device(gt06_login);
    // [VL03] §8: time calibration request.
    const auto step = device.handler.on_frame(from_hex("7878058A000688290D0A"));
    CHECK(step.positions.empty());
    CHECK(step.reply.empty());
    CHECK_FALSE(step.status.has_value());
    // A broken frame is still an error, with its offset.
    Bytes bad = from_hex(gt06_location);
    bad[10] ^= 0x01;
    const auto e = error_of([&] { (void)device.handler.on_frame(bad); });
    REQUIRE(e);
    CHECK(e->fault() == DecodeFault::bad_checksum);
}

TEST_CASE("GT06 handler: an answer to an outstanding command is its delivered receipt") {
    LoggedIn device(gt06_login);
    using Stage = fleet::ingest::NoticeReceipt::Stage;
    const fleet::ingest::DownlinkMessage command{
        .kind = fleet::ingest::DownlinkMessage::Kind::command, .id = 9, .text = "DYD#"};
    SUBCASE("0x21 with the flag sent: a receipt with the message's id, and no reply") {
        device.handler.on_downlink(command);
        const auto step = device.handler.on_frame(from_hex(synth_reply_flag9));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].notice_id == 9);
        CHECK(step.receipts[0].stage == Stage::delivered);
        CHECK(step.receipts[0].read_at == Millis{});
        CHECK_FALSE(step.receipts[0].accepted);
        CHECK(step.reply.empty());
        CHECK(step.positions.empty());
        // Answered once: the same answer again is no second receipt.
        CHECK(device.handler.on_frame(from_hex(synth_reply_flag9)).receipts.empty());
    }
    SUBCASE("0x15 answers as well") {
        device.handler.on_downlink(command);
        const auto step = device.handler.on_frame(from_hex(synth_reply_15_flag9));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].notice_id == 9);
        CHECK(step.reply.empty());
    }
    SUBCASE("a flag this connection did not send: nothing") {
        device.handler.on_downlink(
            {.kind = fleet::ingest::DownlinkMessage::Kind::command, .id = 10, .text = "DYD#"});
        const auto step = device.handler.on_frame(from_hex(synth_reply_flag9));
        CHECK(step.receipts.empty());
        CHECK(step.reply.empty());
    }
    SUBCASE("the flag is the id's low 32 bits; the receipt has the whole id") {
        const std::uint64_t id = (std::uint64_t{5} << 32) | 9;
        CHECK(gt06::server_flag_of(id) == 9);
        device.handler.on_downlink(
            {.kind = fleet::ingest::DownlinkMessage::Kind::command, .id = id, .text = "DYD#"});
        const auto step = device.handler.on_frame(from_hex(synth_reply_flag9));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].notice_id == id);
    }
    SUBCASE("at most 32 commands are remembered: the oldest is forgotten") {
        device.handler.on_downlink(command);  // flag 9, the oldest
        for (std::uint64_t id = 100; id < 100 + gt06::max_outstanding_commands; ++id) {
            device.handler.on_downlink(
                {.kind = fleet::ingest::DownlinkMessage::Kind::command, .id = id, .text = "DYD#"});
        }
        CHECK(device.handler.on_frame(from_hex(synth_reply_flag9)).receipts.empty());
        const auto newest = device.handler.on_frame(build_frame(0x21, from_hex("00000083 01"), 9));
        REQUIRE(newest.receipts.size() == 1);
        CHECK(newest.receipts[0].notice_id == 0x83);
    }
}
