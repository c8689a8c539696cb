#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "ingest/bytes.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/detail/envelope.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "ingest/teltonika/frame.hpp"
#include "ingest/teltonika/handler.hpp"

using namespace fleet::ingest;
using namespace fleet::ingest::teltonika;
using nlohmann::json;

namespace {

// Frames from Teltonika's public documentation, page "Teltonika Data Sending Protocols"
// (https://wiki.teltonika-gps.com/view/Teltonika_Data_Sending_Protocols, formerly
// https://wiki.teltonika-gps.com/view/Codec). Each is the hex shown there, with its breakdown
// table giving the decoded values checked below.

// "Communication with server": the IMEI 356307042441013 as sent at login.
constexpr const char* imei_login_hex = "000F333536333037303432343431303133";

// "Codec 8 > 1st example": one record, one IO of each width (1, 2, 4 and 8 bytes).
constexpr const char* codec8_example1_hex =
    "000000000000003608010000016B40D8EA30010000000000000000000000000000000105"
    "021503010101425E0F01F10000601A014E0000000000000000010000C7CF";

// "Codec 8 > 2nd example": one record, 1-byte and 2-byte IOs only.
constexpr const char* codec8_example2_hex =
    "000000000000002808010000016B40D9AD80010000000000000000000000000000000103"
    "021503010101425E100000010000F22A";

// "Codec 8 > 3rd example": two records, each with one 1-byte IO.
constexpr const char* codec8_example3_hex =
    "000000000000004308020000016B40D57B48010000000000000000000000000000000101"
    "0101000000000000016B40D5C19801000000000000000000000000000000010101010100"
    "0000020000252C";

// "Codec 8 Extended > 1st example": one record, 2-byte ids, no NX elements.
constexpr const char* codec8e_example_hex =
    "000000000000004A8E010000016B412CEE00010000000000000000000000000000000001"
    "0005000100010100010011001D00010010015E2C880002000B000000003544C87A000E00"
    "0000001DD7E06A00000100002994";

// "Codec 12 > 1st example": the server's "getinfo" command and the device's response.
constexpr const char* codec12_getinfo_hex =
    "000000000000000F0C010500000007676574696E666F0100004312";
constexpr const char* codec12_getinfo_response_hex =
    "00000000000000900C010600000088494E493A323031392F372F323220373A3232205254433A323031392F"
    "372F323220373A3533205253543A32204552523A312053523A302042523A302043463A302046473A302046"
    "4C3A302054553A302F302055543A3020534D533A30204E4F4750533A303A3330204750533A31205341543A"
    "302052533A332052463A36352053463A31204D443A30010000C78F";

// "Codec 12 > 2nd example": "getio" and its response.
constexpr const char* codec12_getio_hex = "000000000000000D0C010500000005676574696F01000000CB";
constexpr const char* codec12_getio_response_hex =
    "00000000000000370C01060000002F4449313A31204449323A30204449333A302041494E313A302041494E32"
    "3A313639323420444F313A3020444F323A3101000066E3";

// Hand-built, NOT from the documentation: the documented examples all carry zero coordinates
// and no NX elements, so this Codec 8 Extended frame was assembled field by field after the
// documented layout (CRC computed with an independent Python implementation) to cover signed
// coordinates and altitude, the mapped IO ids, NX values and a record without a fix. Two
// records, newest first:
//  1: 2024-03-05 14:30:15.250 UTC, priority 2, lon -58.3815591, lat -34.6037232, alt 25 m,
//     angle 275, 9 satellites, 63 km/h, event IO 239; N1 239=1 240=1 21=4; N2 66=12850 89=57;
//     N4 16=123456789 199=4321; N8 78=0x0102030405060708; NX 385=aabbcc, 10000=(empty)
//  2: one minute earlier, priority 0, lon 151.2093, lat -33.8688, alt -5 m, no fix; N1 239=0
constexpr const char* handmade_codec8e_hex =
    "00000000000000848E020000018E0F05B1D202DD33AE59EB5FE4100019011309003F00EF000A000300EF0100"
    "F0010015040002004232320059003900020010075BCD1500C7000010E10001004E0102030405060708000201"
    "810003AABBCC271000000000018E0F04C772005A20B548EBD00800FFFB000000000000000001000100EF0000"
    "00000000000000020000E827";

Millis at_ms(std::int64_t ms) {
    return Millis{std::chrono::milliseconds{ms}};
}

// The fault of the DecodeError thrown by `call`, or nullopt if it throws none.
std::optional<DecodeFault> fault_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const DecodeError& error) {
        CHECK(error.protocol() == "teltonika");
        return error.fault();
    }
    return std::nullopt;
}

// The offset of the DecodeError thrown by `call`, or nullopt if it throws none.
std::optional<std::size_t> offset_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const DecodeError& error) {
        return error.offset();
    }
    return std::nullopt;
}

// Replaces the CRC field of an edited packet so that the checks behind the CRC are reached.
Bytes with_fresh_crc(Bytes frame) {
    const ByteView data(frame.data() + detail::header_bytes,
                        frame.size() - detail::header_bytes - detail::trailer_bytes);
    const std::uint16_t crc = detail::crc16_ibm(data);
    frame[frame.size() - 2] = static_cast<std::uint8_t>(crc >> 8);
    frame[frame.size() - 1] = static_cast<std::uint8_t>(crc);
    return frame;
}

// Sets the 4-byte data length field.
void set_data_length(Bytes& frame, std::uint32_t length) {
    Bytes field;
    put_u32(field, length);
    std::copy(field.begin(), field.end(), frame.begin() + 4);
}

// Checks the GPS element of the documented examples, which carry no fix: all zero.
void check_zero_gps(const Position& p) {
    CHECK(p.longitude_deg == 0.0);
    CHECK(p.latitude_deg == 0.0);
    CHECK(p.altitude_m == 0.0);
    CHECK(p.course_deg == 0.0);
    CHECK(p.satellites == 0);
    CHECK(p.speed_kmh == 0.0);
    CHECK_FALSE(p.valid);
    CHECK_FALSE(p.fuel_l.has_value());
}

}  // namespace

TEST_CASE("teltonika crc16_ibm gives the CRC-16/ARC check value and the documented CRCs") {
    const std::string check = "123456789";
    CHECK(detail::crc16_ibm(ByteView(reinterpret_cast<const std::uint8_t*>(check.data()),
                                     check.size())) == 0xBB3D);
    const Bytes frame = from_hex(codec8_example1_hex);
    CHECK(detail::crc16_ibm(ByteView(frame).subspan(8, 0x36)) == 0xC7CF);
    CHECK(detail::crc16_ibm({}) == 0);
}

TEST_CASE("teltonika IMEI login frame from the documentation") {
    const Bytes frame = from_hex(imei_login_hex);
    CHECK(imei_frame_length(frame) == frame.size());
    CHECK(decode_imei(frame) == "356307042441013");
    // The documentation's reply accepting the device is 01.
    CHECK(to_hex(encode_login_reply(true)) == "01");
    CHECK(to_hex(encode_login_reply(false)) == "00");
}

TEST_CASE("teltonika decode_imei rejects malformed logins") {
    CHECK(fault_of([] { (void)decode_imei(from_hex("000F3335")); }) == DecodeFault::truncated);
    CHECK(fault_of([] { (void)decode_imei(from_hex("00")); }) == DecodeFault::truncated);
    CHECK(fault_of([] { (void)decode_imei(from_hex("0000")); }) == DecodeFault::bad_length);
    CHECK(fault_of([] { (void)decode_imei(from_hex("0041")); }) == DecodeFault::bad_length);
    CHECK(fault_of([] { (void)decode_imei(from_hex("0002313233")); }) == DecodeFault::bad_length);
    CHECK(decode_imei(from_hex("0003313233")) == "123");
    CHECK(fault_of([] { (void)decode_imei(from_hex("0003314133")); }) == DecodeFault::bad_value);
    CHECK(offset_of([] { (void)decode_imei(from_hex("0003314133")); }) == 3);
}

TEST_CASE("teltonika Codec 8 documentation example 1: one IO of every width") {
    const Bytes frame = from_hex(codec8_example1_hex);
    REQUIRE(frame_codec(frame) == codec8);
    const AvlPacket packet = decode_packet(frame);
    CHECK(packet.codec_id == codec8);
    CHECK(packet.record_count == 1);
    REQUIRE(packet.records.size() == 1);

    const Position& p = packet.records[0];
    CHECK(p.device_time == at_ms(1560161086000));  // Monday, June 10, 2019 10:04:46 AM GMT
    check_zero_gps(p);
    CHECK_FALSE(p.ignition.has_value());
    CHECK_FALSE(p.odometer_m.has_value());
    // Priority 1, event IO 1; IO 21 = 03, IO 1 = 01, IO 66 = 5E0F (24079 mV),
    // IO 241 = 0000601A, IO 78 = 0000000000000000.
    CHECK(p.attributes == json{{"priority", 1},
                               {"event_io_id", 1},
                               {"gsm_signal", 3},
                               {"io1", 1},
                               {"power_v", 24.079},
                               {"io241", 24602},
                               {"io78", 0}});
    // The documentation's server response: 00000001.
    CHECK(to_hex(encode_ack(packet.record_count)) == "00000001");
}

TEST_CASE("teltonika Codec 8 documentation example 2: 1-byte and 2-byte IOs") {
    const AvlPacket packet = decode_packet(from_hex(codec8_example2_hex));
    CHECK(packet.codec_id == codec8);
    CHECK(packet.record_count == 1);
    REQUIRE(packet.records.size() == 1);
    const Position& p = packet.records[0];
    CHECK(p.device_time == at_ms(1560161136000));  // Monday, June 10, 2019 10:05:36 AM GMT
    check_zero_gps(p);
    // Priority 1, event IO 1; IO 21 = 03, IO 1 = 01, IO 66 = 5E10 (24080 mV).
    CHECK(p.attributes == json{{"priority", 1},
                               {"event_io_id", 1},
                               {"gsm_signal", 3},
                               {"io1", 1},
                               {"power_v", 24.080}});
    CHECK(to_hex(encode_ack(packet.record_count)) == "00000001");
}

TEST_CASE("teltonika Codec 8 documentation example 3: two records kept in packet order") {
    const AvlPacket packet = decode_packet(from_hex(codec8_example3_hex));
    CHECK(packet.codec_id == codec8);
    CHECK(packet.record_count == 2);
    REQUIRE(packet.records.size() == 2);

    const Position& first = packet.records[0];
    CHECK(first.device_time == at_ms(1560160861000));  // Monday, June 10, 2019 10:01:01 AM GMT
    check_zero_gps(first);
    // Priority 1, event IO 1, IO 1 (DIN1) = 00.
    CHECK(first.attributes == json{{"priority", 1}, {"event_io_id", 1}, {"io1", 0}});

    const Position& second = packet.records[1];
    CHECK(second.device_time == at_ms(1560160879000));  // Monday, June 10, 2019 10:01:19 AM GMT
    check_zero_gps(second);
    // Priority 1, event IO 1, IO 1 (DIN1) = 01.
    CHECK(second.attributes == json{{"priority", 1}, {"event_io_id", 1}, {"io1", 1}});

    // The documentation's server response: 00000002.
    CHECK(to_hex(encode_ack(packet.record_count)) == "00000002");
}

TEST_CASE("teltonika Codec 8 Extended documentation example: 2-byte ids and counts") {
    const Bytes frame = from_hex(codec8e_example_hex);
    REQUIRE(frame_codec(frame) == codec8_extended);
    const AvlPacket packet = decode_packet(frame);
    CHECK(packet.codec_id == codec8_extended);
    CHECK(packet.record_count == 1);
    REQUIRE(packet.records.size() == 1);

    const Position& p = packet.records[0];
    CHECK(p.device_time == at_ms(1560166592000));  // Monday, June 10, 2019 11:36:32 AM GMT
    check_zero_gps(p);
    CHECK_FALSE(p.ignition.has_value());
    // IO 16 (total odometer) = 015E2C88.
    CHECK(p.odometer_m == 22949000.0);
    // Priority 1, event IO 0001; N1: IO 1 = 01; N2: IO 17 = 001D; N4: IO 16 (above);
    // N8: IO 11 = 000000003544C87A, IO 14 = 000000001DD7E06A; NX: none.
    CHECK(p.attributes == json{{"priority", 1},
                               {"event_io_id", 1},
                               {"io1", 1},
                               {"io17", 29},
                               {"io11", 893700218},
                               {"io14", 500686954}});
    CHECK(to_hex(encode_ack(packet.record_count)) == "00000001");
}

TEST_CASE("teltonika Codec 8 Extended hand-built frame: coordinates, mapped IOs, NX values") {
    const AvlPacket packet = decode_packet(from_hex(handmade_codec8e_hex));
    CHECK(packet.codec_id == codec8_extended);
    CHECK(packet.record_count == 2);
    REQUIRE(packet.records.size() == 2);

    const Position& newest = packet.records[0];
    CHECK(newest.device_time == at_ms(1709649015250));
    CHECK(newest.longitude_deg == doctest::Approx(-58.3815591).epsilon(1e-12));
    CHECK(newest.latitude_deg == doctest::Approx(-34.6037232).epsilon(1e-12));
    CHECK(newest.altitude_m == 25.0);
    CHECK(newest.course_deg == 275.0);
    CHECK(newest.satellites == 9);
    CHECK(newest.speed_kmh == 63.0);
    CHECK(newest.valid);
    CHECK(newest.ignition == true);
    CHECK(newest.odometer_m == 123456789.0);
    CHECK_FALSE(newest.fuel_l.has_value());
    CHECK(newest.attributes == json{{"priority", 2},
                                    {"event_io_id", 239},
                                    {"motion", true},
                                    {"gsm_signal", 4},
                                    {"power_v", 12.85},
                                    {"fuel_level", 57},
                                    {"trip_odometer_m", 4321},
                                    {"io78", 0x0102030405060708ULL},
                                    {"io385", "aabbcc"},
                                    {"io10000", ""}});

    const Position& older = packet.records[1];
    CHECK(older.device_time == at_ms(1709648955250));
    CHECK(older.longitude_deg == doctest::Approx(151.2093).epsilon(1e-12));
    CHECK(older.latitude_deg == doctest::Approx(-33.8688).epsilon(1e-12));
    CHECK(older.altitude_m == -5.0);
    CHECK(older.course_deg == 0.0);
    CHECK(older.satellites == 0);
    CHECK(older.speed_kmh == 0.0);
    CHECK_FALSE(older.valid);  // no satellites: the last known fix, repeated
    CHECK(older.ignition == false);
    CHECK_FALSE(older.odometer_m.has_value());
    CHECK(older.attributes == json{{"priority", 0}, {"event_io_id", 0}});
}

TEST_CASE("teltonika a fix with coordinates out of range is not valid") {
    Bytes frame = from_hex(handmade_codec8e_hex);
    // Latitude of the first record (bytes 23..26) set to 0x7FFFFFFF, about 214.7 degrees.
    frame[23] = 0x7F;
    frame[24] = 0xFF;
    frame[25] = 0xFF;
    frame[26] = 0xFF;
    const AvlPacket packet = decode_packet(with_fresh_crc(frame));
    REQUIRE(packet.records.size() == 2);
    CHECK(packet.records[0].latitude_deg == doctest::Approx(214.7483647));
    CHECK(packet.records[0].satellites == 9);
    CHECK_FALSE(packet.records[0].valid);
}

TEST_CASE("teltonika Codec 12 commands encode byte-exact to the documentation") {
    CHECK(encode_command("getinfo") == from_hex(codec12_getinfo_hex));
    CHECK(encode_command("getio") == from_hex(codec12_getio_hex));
    // An empty command still has the full envelope (CRC computed independently in Python).
    CHECK(to_hex(encode_command("")) ==
          "00000000000000080c0105000000000100"
          "0000d1");
}

TEST_CASE("teltonika Codec 12 responses from the documentation decode") {
    const Bytes getinfo = from_hex(codec12_getinfo_response_hex);
    REQUIRE(frame_codec(getinfo) == codec12);
    CHECK(packet_frame_length(getinfo) == getinfo.size());
    const CommandResponse info = decode_command_response(getinfo);
    CHECK(info.type == response_type);
    CHECK(info.text ==
          "INI:2019/7/22 7:22 RTC:2019/7/22 7:53 RST:2 ERR:1 SR:0 BR:0 CF:0 FG:0 FL:0 TU:0/0 "
          "UT:0 SMS:0 NOGPS:0:30 GPS:1 SAT:0 RS:3 RF:65 SF:1 MD:0");

    const CommandResponse io = decode_command_response(from_hex(codec12_getio_response_hex));
    CHECK(io.type == response_type);
    CHECK(io.text == "DI1:1 DI2:0 DI3:0 AIN1:0 AIN2:16924 DO1:0 DO2:1");
}

TEST_CASE("teltonika Codec 12: wrong type, codec or sizes are rejected") {
    // The documented command (type 5) is not a response.
    CHECK(fault_of([] { (void)decode_command_response(from_hex(codec12_getinfo_hex)); }) ==
          DecodeFault::unsupported);
    // An AVL packet is not a Codec 12 frame, and a Codec 12 frame is not an AVL packet.
    CHECK(fault_of([] { (void)decode_command_response(from_hex(codec8_example1_hex)); }) ==
          DecodeFault::unsupported);
    CHECK(fault_of([] { (void)decode_packet(from_hex(codec12_getio_response_hex)); }) ==
          DecodeFault::unsupported);

    Bytes size_off = from_hex(codec12_getio_response_hex);
    size_off[14] = 0x2E;  // response size 46 where 47 bytes follow
    CHECK(fault_of([&] { (void)decode_command_response(with_fresh_crc(size_off)); }) ==
          DecodeFault::bad_length);
    CHECK(offset_of([&] { (void)decode_command_response(with_fresh_crc(size_off)); }) == 11);

    Bytes quantities_differ = from_hex(codec12_getio_response_hex);
    quantities_differ[quantities_differ.size() - 5] = 0x02;  // response quantity 2
    CHECK(fault_of([&] { (void)decode_command_response(with_fresh_crc(quantities_differ)); }) ==
          DecodeFault::bad_length);

    Bytes bad_crc = from_hex(codec12_getio_response_hex);
    bad_crc.back() ^= 0x01;
    CHECK(fault_of([&] { (void)decode_command_response(bad_crc); }) == DecodeFault::bad_checksum);
}

TEST_CASE("teltonika encode_ack is 4 bytes big-endian") {
    CHECK(to_hex(encode_ack(0)) == "00000000");
    CHECK(to_hex(encode_ack(0x01020304)) == "01020304");
    CHECK(to_hex(encode_ack(255)) == "000000ff");
}

TEST_CASE("teltonika decode_packet rejects a bad CRC") {
    Bytes frame = from_hex(codec8_example1_hex);
    frame[20] ^= 0x40;  // a byte of the longitude
    CHECK(fault_of([&] { (void)decode_packet(frame); }) == DecodeFault::bad_checksum);
    CHECK(offset_of([&] { (void)decode_packet(frame); }) == frame.size() - 4);

    Bytes high_crc_bytes = from_hex(codec8_example1_hex);
    high_crc_bytes[frame.size() - 4] = 0x01;  // the two upper CRC bytes must be zero
    CHECK(fault_of([&] { (void)decode_packet(high_crc_bytes); }) == DecodeFault::bad_checksum);
}

TEST_CASE("teltonika decode_packet rejects truncated frames") {
    const Bytes frame = from_hex(codec8_example1_hex);
    for (std::size_t size = 0; size < frame.size(); ++size) {
        CAPTURE(size);
        const Bytes cut(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(size));
        CHECK(fault_of([&] { (void)decode_packet(cut); }) == DecodeFault::truncated);
    }
    // A data length larger than what follows.
    Bytes longer = frame;
    set_data_length(longer, 0x37);
    CHECK(fault_of([&] { (void)decode_packet(longer); }) == DecodeFault::truncated);
}

TEST_CASE("teltonika decode_packet rejects a wrong data length") {
    // Declared shorter than the frame: stray bytes between data and CRC.
    Bytes shorter = from_hex(codec8_example1_hex);
    set_data_length(shorter, 0x35);
    CHECK(fault_of([&] { (void)decode_packet(shorter); }) == DecodeFault::bad_length);
    CHECK(offset_of([&] { (void)decode_packet(shorter); }) == 4);

    // Length and CRC consistent, but the records end before the data: a stray byte ahead of
    // the second number of data.
    Bytes padded = from_hex(codec8_example1_hex);
    padded.insert(padded.end() - 5, 0x00);
    set_data_length(padded, 0x37);
    CHECK(fault_of([&] { (void)decode_packet(with_fresh_crc(padded)); }) ==
          DecodeFault::bad_length);

    // Records running past the end of the data: the first count says 2, only 1 is there.
    Bytes overrun = from_hex(codec8_example1_hex);
    overrun[9] = 0x02;
    overrun[overrun.size() - 5] = 0x02;
    CHECK(fault_of([&] { (void)decode_packet(with_fresh_crc(overrun)); }) ==
          DecodeFault::truncated);
}

TEST_CASE("teltonika decode_packet rejects differing record counts") {
    Bytes frame = from_hex(codec8_example3_hex);
    frame[frame.size() - 5] = 0x03;  // number of data 2
    CHECK(fault_of([&] { (void)decode_packet(with_fresh_crc(frame)); }) == DecodeFault::bad_length);
    CHECK(offset_of([&] { (void)decode_packet(with_fresh_crc(frame)); }) == frame.size() - 5);
}

TEST_CASE("teltonika decode_packet rejects an IO total that disagrees with the groups") {
    Bytes frame = from_hex(codec8_example1_hex);
    frame[35] = 0x04;  // N of total IO: 5 in the documentation
    CHECK(fault_of([&] { (void)decode_packet(with_fresh_crc(frame)); }) == DecodeFault::bad_length);
    CHECK(offset_of([&] { (void)decode_packet(with_fresh_crc(frame)); }) == 35);
}

TEST_CASE("teltonika decode_packet rejects unknown codecs and a non-zero preamble") {
    Bytes codec16 = from_hex(codec8_example1_hex);
    codec16[8] = 0x10;
    CHECK(fault_of([&] { (void)decode_packet(with_fresh_crc(codec16)); }) ==
          DecodeFault::unsupported);
    CHECK(offset_of([&] { (void)decode_packet(with_fresh_crc(codec16)); }) == 8);

    Bytes preamble = from_hex(codec8_example1_hex);
    preamble[2] = 0x01;
    CHECK(fault_of([&] { (void)decode_packet(preamble); }) == DecodeFault::bad_value);
}

TEST_CASE("teltonika packet framing waits for complete frames") {
    const Bytes frame = from_hex(codec8_example1_hex);
    for (std::size_t size = 0; size < frame.size(); ++size) {
        CAPTURE(size);
        const ByteView partial(frame.data(), size);
        CHECK(packet_frame_length(partial) == std::nullopt);
        CHECK(next_frame_length(partial, FrameState::logged_in) == std::nullopt);
    }
    CHECK(packet_frame_length(frame) == frame.size());

    // Two frames back to back: the first one's length.
    Bytes two = frame;
    const Bytes second = from_hex(codec8e_example_hex);
    two.insert(two.end(), second.begin(), second.end());
    REQUIRE(packet_frame_length(two) == frame.size());
    const ByteView rest = ByteView(two).subspan(frame.size());
    CHECK(packet_frame_length(rest) == second.size());
    CHECK(decode_packet(rest).codec_id == codec8_extended);
}

TEST_CASE("teltonika IMEI framing waits for complete frames") {
    const Bytes frame = from_hex(imei_login_hex);
    for (std::size_t size = 0; size < frame.size(); ++size) {
        CAPTURE(size);
        const ByteView partial(frame.data(), size);
        CHECK(imei_frame_length(partial) == std::nullopt);
        CHECK(next_frame_length(partial, FrameState::login) == std::nullopt);
    }
    // The device may send its first packet right behind the IMEI.
    Bytes both = frame;
    const Bytes packet = from_hex(codec8_example1_hex);
    both.insert(both.end(), packet.begin(), packet.end());
    CHECK(next_frame_length(both, FrameState::login) == frame.size());
}

TEST_CASE("teltonika framing rejects impossible headers") {
    // IMEI lengths 0 and above 64.
    CHECK(fault_of([] { (void)imei_frame_length(from_hex("0000")); }) == DecodeFault::bad_length);
    CHECK(fault_of([] { (void)imei_frame_length(from_hex("0041")); }) == DecodeFault::bad_length);
    CHECK(imei_frame_length(from_hex("0040")) == std::nullopt);  // 64 digits: wait for them
    // A non-digit is reported as soon as it arrives.
    CHECK(imei_frame_length(from_hex("000F3335")) == std::nullopt);
    CHECK(fault_of([] { (void)imei_frame_length(from_hex("000F33352D")); }) ==
          DecodeFault::bad_value);
    // An AVL packet where the IMEI is expected (length 0), and the reverse (preamble not zero).
    CHECK(fault_of([] {
              (void)next_frame_length(from_hex(codec8_example1_hex), FrameState::login);
          }) == DecodeFault::bad_length);
    CHECK(fault_of([] {
              (void)next_frame_length(from_hex(imei_login_hex), FrameState::logged_in);
          }) == DecodeFault::bad_value);
    // A non-zero preamble byte is rejected before the header is complete.
    CHECK(fault_of([] { (void)packet_frame_length(from_hex("0001")); }) == DecodeFault::bad_value);
    // A data length too short for codec id and two counts.
    CHECK(fault_of([] { (void)packet_frame_length(from_hex("0000000000000002")); }) ==
          DecodeFault::bad_length);
    CHECK(packet_frame_length(from_hex("0000000000000003")) == std::nullopt);
}

TEST_CASE("teltonika framing enforces the frame cap before buffering the frame") {
    // Only the 8-byte header of a 4 GiB packet is buffered.
    CHECK(fault_of([] { (void)packet_frame_length(from_hex("00000000FFFFFFFF")); }) ==
          DecodeFault::oversized);
    // The documented 66-byte frame fits a 66-byte cap, not a 65-byte one.
    const Bytes frame = from_hex(codec8_example1_hex);
    CHECK(packet_frame_length(frame, 66) == 66);
    CHECK(fault_of([&] { (void)packet_frame_length(ByteView(frame).first(8), 65); }) ==
          DecodeFault::oversized);
    CHECK(fault_of([&] {
              (void)next_frame_length(ByteView(frame).first(8), FrameState::logged_in, 65);
          }) == DecodeFault::oversized);
    // The 17-byte IMEI frame against caps of 17 and 16.
    const Bytes imei = from_hex(imei_login_hex);
    CHECK(imei_frame_length(imei, 17) == 17);
    CHECK(fault_of([&] { (void)imei_frame_length(ByteView(imei).first(2), 16); }) ==
          DecodeFault::oversized);
}

namespace {

// A handler past its login, as the session leaves it once the registry accepted the IMEI.
Handler logged_in_handler() {
    Handler handler;
    REQUIRE(handler.on_frame(from_hex(imei_login_hex)).login == "356307042441013");
    handler.set_logged_in(true);
    return handler;
}

DownlinkMessage command(std::uint64_t id, std::string text) {
    return {.kind = DownlinkMessage::Kind::command, .id = id, .text = std::move(text)};
}

}  // namespace

TEST_CASE("teltonika handler: a Codec 12 response is the delivered receipt of the oldest command") {
    Handler handler = logged_in_handler();
    SUBCASE("one command, one response") {
        handler.on_downlink(command(5, "getinfo"));
        const Step step = handler.on_frame(from_hex(codec12_getinfo_response_hex));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].notice_id == 5);
        CHECK(step.receipts[0].stage == NoticeReceipt::Stage::delivered);
        CHECK(step.receipts[0].read_at == Millis{});
        CHECK_FALSE(step.receipts[0].accepted);
        CHECK(step.reply.empty());  // responses are not acknowledged
        CHECK(step.positions.empty());
        // Nothing outstanding any more: a further response yields nothing.
        CHECK(handler.on_frame(from_hex(codec12_getio_response_hex)).receipts.empty());
    }
    SUBCASE("two outstanding commands are answered in the order they were sent") {
        handler.on_downlink(command(5, "getinfo"));
        handler.on_downlink(command(6, "getio"));
        const Step first = handler.on_frame(from_hex(codec12_getinfo_response_hex));
        const Step second = handler.on_frame(from_hex(codec12_getio_response_hex));
        REQUIRE(first.receipts.size() == 1);
        REQUIRE(second.receipts.size() == 1);
        CHECK(first.receipts[0].notice_id == 5);
        CHECK(second.receipts[0].notice_id == 6);
    }
    SUBCASE("AVL packets between command and response change nothing") {
        handler.on_downlink(command(5, "getinfo"));
        const Step avl = handler.on_frame(from_hex(codec8_example1_hex));
        CHECK(avl.receipts.empty());
        CHECK(avl.reply == encode_ack(1));
        const Step response = handler.on_frame(from_hex(codec12_getinfo_response_hex));
        REQUIRE(response.receipts.size() == 1);
        CHECK(response.receipts[0].notice_id == 5);
    }
    SUBCASE("at most 32 commands are remembered: the oldest are forgotten") {
        for (std::uint64_t id = 1; id <= max_outstanding_commands + 2; ++id) {
            handler.on_downlink(command(id, "getio"));
        }
        const Step step = handler.on_frame(from_hex(codec12_getio_response_hex));
        REQUIRE(step.receipts.size() == 1);
        CHECK(step.receipts[0].notice_id == 3);  // 1 and 2 were forgotten
    }
    SUBCASE("a response with nothing outstanding yields nothing") {
        const Step step = handler.on_frame(from_hex(codec12_getinfo_response_hex));
        CHECK(step.receipts.empty());
        CHECK(step.reply.empty());
    }
    SUBCASE("a malformed response is an error and answers nothing") {
        handler.on_downlink(command(5, "getinfo"));
        Bytes bad_crc = from_hex(codec12_getio_response_hex);
        bad_crc.back() ^= 0x01;
        CHECK(fault_of([&] { (void)handler.on_frame(bad_crc); }) == DecodeFault::bad_checksum);
        // The command is still outstanding for a good response.
        CHECK(handler.on_frame(from_hex(codec12_getio_response_hex)).receipts.size() == 1);
    }
}
