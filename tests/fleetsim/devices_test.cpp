#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ingest/bytes.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/encoder.hpp"
#include "ingest/native/frame.hpp"
#include "ingest/native/handler.hpp"
#include "ingest/osmand/decoder.hpp"
#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/encoder.hpp"
#include "tools/fleetsim/devices/gt06.hpp"
#include "tools/fleetsim/devices/native.hpp"
#include "tools/fleetsim/devices/osmand.hpp"
#include "tools/fleetsim/devices/reply_error.hpp"
#include "tools/fleetsim/devices/teltonika.hpp"

using namespace std::chrono;
using fleet::ingest::Bytes;
using fleet::ingest::ByteView;
using fleet::ingest::from_hex;
using fleet::ingest::to_hex;
namespace devices = fleet::tools::fleetsim::devices;
using devices::Fix;

namespace {

ByteView ascii(std::string_view s) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// A fix away from every default, so that each field is checked.
Fix sample_fix() {
    Fix f;
    f.device_time = sys_days(2026y / 3 / 14) + 9h + 26min + 53s + 250ms;
    f.latitude_deg = 59.9375123;
    f.longitude_deg = -30.3086456;
    f.speed_kmh = 47;
    f.course_deg = 271;
    f.altitude_m = 112;
    f.satellites = 11;
    f.ignition = true;
    f.moving = true;
    f.odometer_m = 123456;
    f.power_v = 12.456;
    return f;
}

}  // namespace

TEST_CASE("teltonika: IMEI login as documented") {
    // Teltonika Data Sending Protocols, "Communication with server": IMEI 356307042441013.
    CHECK(to_hex(devices::teltonika::encode_imei("356307042441013")) ==
          "000f333536333037303432343431303133");
}

TEST_CASE("teltonika: CRC-16/IBM check value") {
    CHECK(devices::teltonika::crc16_ibm(ascii("123456789")) == 0xBB3D);
}

TEST_CASE("teltonika: Codec 8 Extended 1st example from the documentation") {
    // Teltonika Data Sending Protocols, "Codec 8 Extended > 1st example"
    // (https://wiki.teltonika-gps.com/view/Teltonika_Data_Sending_Protocols): one record at
    // 0x16B412CEE00 ms, priority 1, no GPS, event IO 1, IO 1 = 1 (1 byte), IO 17 = 0x1D
    // (2 bytes), IO 16 = 0x015E2C88 (4 bytes), IO 11 and IO 14 (8 bytes).
    devices::teltonika::AvlRecord r;
    r.timestamp_ms = 0x0000016B412CEE00;
    r.priority = 1;
    r.event_io_id = 1;
    r.io = {{0x0001, 1, 0x01},
            {0x0011, 2, 0x001D},
            {0x0010, 4, 0x015E2C88},
            {0x000B, 8, 0x000000003544C87A},
            {0x000E, 8, 0x000000001DD7E06A}};
    const std::vector<devices::teltonika::AvlRecord> records{r};
    CHECK(to_hex(devices::teltonika::encode_packet(records)) ==
          to_hex(from_hex("000000000000004A8E010000016B412CEE000100000000000000000000000000000000"
                          "010005000100010100010011001D00010010015E2C880002000B000000003544C87A00"
                          "0E000000001DD7E06A00000100002994")));
}

TEST_CASE("teltonika: packets decode back through the ingest decoder") {
    Fix a = sample_fix();
    Fix b = a;
    b.device_time += 5s;
    b.latitude_deg = -33.5;
    b.ignition = false;
    b.moving = false;
    b.speed_kmh = 0;
    const std::vector<devices::teltonika::AvlRecord> records{
        devices::teltonika::record_from_fix(a), devices::teltonika::record_from_fix(b)};
    const auto packet =
        fleet::ingest::teltonika::decode_packet(devices::teltonika::encode_packet(records));
    CHECK(packet.codec_id == 0x8E);
    REQUIRE(packet.record_count == 2);
    const auto& p = packet.records[0];
    CHECK(p.device_time == a.device_time);
    CHECK(p.latitude_deg == doctest::Approx(59.9375123).epsilon(1e-9));
    CHECK(p.longitude_deg == doctest::Approx(-30.3086456).epsilon(1e-9));
    CHECK(p.speed_kmh == 47.0);
    CHECK(p.course_deg == 271.0);
    CHECK(p.altitude_m == 112.0);
    CHECK(p.satellites == 11);
    CHECK(p.ignition == true);
    CHECK(p.odometer_m == 123456.0);
    CHECK(p.attributes["motion"] == true);
    CHECK(p.attributes["power_v"].get<double>() == doctest::Approx(12.456));
    const auto& q = packet.records[1];
    CHECK(q.device_time == b.device_time);
    CHECK(q.latitude_deg == doctest::Approx(-33.5));
    CHECK(q.ignition == false);
    CHECK(q.attributes["motion"] == false);
}

TEST_CASE("teltonika: more than 255 records do not fit one packet") {
    const std::vector<devices::teltonika::AvlRecord> records(256);
    CHECK_THROWS_AS(devices::teltonika::encode_packet(records), std::length_error);
}

TEST_CASE("gt06: CRC-ITU check value") {
    CHECK(devices::gt06::crc_itu(ascii("123456789")) == 0x906E);
}

TEST_CASE("gt06: login as in the GT06 protocol document §5.1.3") {
    CHECK(to_hex(devices::gt06::encode_login("123456789012345", 1)) ==
          to_hex(from_hex("78 78 0D 01 01 23 45 67 89 01 23 45 00 01 8C DD 0D 0A")));
    CHECK_THROWS_AS(devices::gt06::encode_login("12345", 1), fleet::InputError);
    CHECK_THROWS_AS(devices::gt06::encode_login("12345678901234x", 1), fleet::InputError);
}

TEST_CASE("gt06: location 0x12 as in the GT06 protocol document §5.2.2") {
    // The example frame with byte 10 as the field table of §5.2.1 gives it (0xCF: GPS info
    // length 12, 15 satellites); the printed example line has 0xCC there, which fails its CRC.
    Fix f;
    f.device_time = sys_days(2011y / 8 / 29) + 17h + 46min + 16s;
    f.satellites = 15;
    f.latitude_deg = 0x027AC7EB / 1800000.0;
    f.longitude_deg = 0x0C465849 / 1800000.0;
    f.speed_kmh = 0;
    f.course_deg = 0x08F;
    const devices::gt06::Cell cell{0x01CC, 0x00, 0x287D, 0x001FB8};
    CHECK(to_hex(devices::gt06::encode_location(f, cell, 3)) ==
          to_hex(from_hex("78 78 1F 12 0B 08 1D 11 2E 10 CF 02 7A C7 EB 0C 46 58 49 00 14 8F 01 CC "
                          "00 28 7D 00 1F B8 00 03 80 81 0D 0A")));
}

TEST_CASE("gt06: locations and heartbeats decode back through the ingest decoder") {
    const Fix f = sample_fix();
    const auto location = fleet::ingest::gt06::decode(devices::gt06::encode_location(f, {}, 42));
    CHECK(location.protocol_number == 0x12);
    CHECK(location.serial == 42);
    const auto& p = std::get<fleet::ingest::Position>(location.payload);
    CHECK(p.device_time == floor<seconds>(f.device_time));
    CHECK(p.latitude_deg == doctest::Approx(f.latitude_deg).epsilon(1e-6));
    CHECK(p.longitude_deg == doctest::Approx(f.longitude_deg).epsilon(1e-6));  // west
    CHECK(p.speed_kmh == 47.0);
    CHECK(p.course_deg == 271.0);
    CHECK(p.satellites == 11);
    CHECK(p.valid);

    const auto heartbeat = fleet::ingest::gt06::decode(devices::gt06::encode_heartbeat(true, 43));
    CHECK(heartbeat.protocol_number == 0x13);
    CHECK(heartbeat.serial == 43);
    const auto& status = std::get<fleet::ingest::gt06::Status>(heartbeat.payload);
    CHECK(status.ignition);
    CHECK(status.gps_tracking);
    CHECK(status.voltage_level == 4);
    CHECK(status.gsm_signal == 4);
}

TEST_CASE("gt06: reading the server's replies") {
    const Bytes reply = fleet::ingest::gt06::encode_reply(0x13, 0x0107);
    CHECK(devices::gt06::frame_length(ByteView(reply).first(5)) == std::nullopt);
    CHECK(devices::gt06::frame_length(reply) == reply.size());
    const auto r = devices::gt06::decode_reply(reply);
    CHECK(r.protocol_number == 0x13);
    CHECK(r.serial == 0x0107);

    Bytes corrupt = reply;
    corrupt[4] ^= 0x01;
    CHECK_THROWS_AS(devices::gt06::decode_reply(corrupt), devices::ReplyError);
    CHECK_THROWS_AS(devices::gt06::frame_length(from_hex("7978")), devices::ReplyError);
}

TEST_CASE("osmand: the request decodes back through the ingest decoder") {
    const Fix f = sample_fix();
    const std::string target = devices::osmand::encode_target("356307042441000", f);
    CHECK(target.starts_with("/?id=356307042441000&lat=59.9375123&lon=-30.3086456&timestamp="));
    const auto now = time_point_cast<milliseconds>(system_clock::now());
    const auto report = fleet::ingest::osmand::decode({"GET", target, "", ""}, now);
    CHECK(report.device_id == "356307042441000");
    REQUIRE(report.positions.size() == 1);
    const auto& p = report.positions.front();
    CHECK(p.device_time == floor<seconds>(f.device_time));
    CHECK(p.latitude_deg == doctest::Approx(59.9375123).epsilon(1e-9));
    CHECK(p.longitude_deg == doctest::Approx(-30.3086456).epsilon(1e-9));
    CHECK(p.speed_kmh.value() == doctest::Approx(47).epsilon(1e-3));  // sent as knots
    CHECK(p.course_deg == 271.0);
    CHECK(p.altitude_m == 112.0);
}

TEST_CASE("osmand: the device id is percent-encoded") {
    CHECK(devices::osmand::encode_target("bus 7&x", Fix{}).starts_with("/?id=bus%207%26x&lat="));
}

TEST_CASE("native: length-delimited frames round-trip") {
    std::vector<Fix> fixes(10, sample_fix());
    const Bytes bytes = devices::native::encode_batch(77, fixes);
    const auto span = devices::native::frame_span(bytes);
    REQUIRE(span);
    CHECK(span->header_bytes == 2);  // a body over 127 bytes needs a 2-byte varint
    CHECK(span->header_bytes + span->body_bytes == bytes.size());
    CHECK(devices::native::frame_span(ByteView(bytes).first(bytes.size() - 1)) == std::nullopt);
    CHECK(devices::native::frame_span(ByteView(bytes).first(1)) == std::nullopt);

    const auto frame = devices::native::decode_frame(ByteView(bytes).subspan(span->header_bytes));
    REQUIRE(frame.has_positions());
    CHECK(frame.positions().batch_id() == 77);
    REQUIRE(frame.positions().positions_size() == 10);
    const auto& p = frame.positions().positions(0);
    CHECK(p.device_time_ms() ==
          duration_cast<milliseconds>(fixes[0].device_time.time_since_epoch()).count());
    CHECK(p.latitude() == 59.9375123);
    CHECK(p.longitude() == -30.3086456);
    CHECK(p.speed_kmh() == 47.0f);
    CHECK(p.valid());
    CHECK(p.odometer_m() == 123456.0);
    CHECK(p.ignition());

    const Bytes login = devices::native::encode_login("T-1");
    const auto login_span = devices::native::frame_span(login);
    REQUIRE(login_span);
    CHECK(login_span->header_bytes == 1);
    const auto login_frame =
        devices::native::decode_frame(ByteView(login).subspan(login_span->header_bytes));
    CHECK(login_frame.login().device_id() == "T-1");
    CHECK(login_frame.login().protocol_version() == 1);
}

TEST_CASE("native: the ingest framing cuts the simulator's frames where they end") {
    const std::vector<Fix> fixes(20, sample_fix());
    const Bytes batch = devices::native::encode_batch(5, fixes);
    Bytes stream = devices::native::encode_login("356307042441000");
    const std::size_t login_size = stream.size();
    stream.insert(stream.end(), batch.begin(), batch.end());
    CHECK(fleet::ingest::native::frame_length(stream, 1 << 20) == login_size);
    CHECK(fleet::ingest::native::frame_length(ByteView(stream).subspan(login_size), 1 << 20) ==
          batch.size());
}

TEST_CASE("native: oversized or garbled frames are refused") {
    CHECK_THROWS_AS(devices::native::frame_span(from_hex("ffffffffff01")), devices::ReplyError);
    CHECK_THROWS_AS(devices::native::frame_span(from_hex("8080808001")), devices::ReplyError);
    CHECK_THROWS_AS(devices::native::decode_frame(from_hex("ff")), devices::ReplyError);
}

namespace {

// Fixes that round every way: the sample, one in the south-east with a course just below 360
// (OsmAnd's 1 decimal makes it 360.0, which the decoder folds to 0) and odd fractions, one
// standing still with fuel and without satellites.
std::vector<Fix> awkward_fixes() {
    Fix a = sample_fix();
    Fix b = a;
    b.device_time += 1234ms;
    b.latitude_deg = -33.86785123456;
    b.longitude_deg = 151.20732987654;
    b.speed_kmh = 88.8888;
    b.course_deg = 359.97;
    b.altitude_m = -3.25;
    b.satellites = 4;
    b.odometer_m = 98765.4321;
    b.ignition = false;
    Fix c = a;
    c.device_time += 3s;
    c.speed_kmh = 0.004;
    c.course_deg = 0.449;
    c.satellites = 0;
    c.fuel_l = 123.456789;
    return {a, b, c};
}

// What the packet carried is exactly what the ingest decoder read: same doubles, and the
// fields the protocol lacks empty on both sides.
void check_carried(const devices::SentFix& sent, const fleet::ingest::Position& decoded) {
    CHECK(sent.device_time == decoded.device_time);
    CHECK(sent.latitude_deg == decoded.latitude_deg);
    CHECK(sent.longitude_deg == decoded.longitude_deg);
    CHECK(sent.speed_kmh == decoded.speed_kmh);
    CHECK(sent.course_deg == decoded.course_deg);
    CHECK(sent.altitude_m == decoded.altitude_m);
    CHECK(sent.satellites == decoded.satellites);
    CHECK(sent.odometer_m == decoded.odometer_m);
    CHECK(sent.fuel_l == decoded.fuel_l);
    CHECK(sent.ignition == decoded.ignition);
}

}  // namespace

TEST_CASE("sent_fix: what each protocol carries is what the ingest decoder reads") {
    const auto fixes = awkward_fixes();
    for (const Fix& f : fixes) {
        const auto teltonika = fleet::ingest::teltonika::decode_packet(
            devices::teltonika::encode_packet(std::vector{devices::teltonika::record_from_fix(f)}));
        check_carried(devices::teltonika::sent_fix(f), teltonika.records.at(0));

        const auto gt06 = fleet::ingest::gt06::decode(devices::gt06::encode_location(f, {}, 9));
        check_carried(devices::gt06::sent_fix(f), std::get<fleet::ingest::Position>(gt06.payload));

        const auto osmand = fleet::ingest::osmand::decode(
            {"GET", devices::osmand::encode_target("356307042441000", f), "", ""},
            time_point_cast<milliseconds>(system_clock::now()));
        check_carried(devices::osmand::sent_fix(f), osmand.positions.at(0));

        fleet::ingest::native::Handler native;
        native.set_logged_in(true);
        const auto step = native.on_frame(devices::native::encode_batch(1, std::vector{f}));
        check_carried(devices::native::sent_fix(f), step.positions.at(0));
    }
    // The precision each protocol has, on the south-eastern fix.
    const Fix& b = fixes[1];
    CHECK(devices::gt06::sent_fix(b).latitude_deg ==
          std::llround(-b.latitude_deg * 1800000) / -1800000.0);
    CHECK(devices::gt06::sent_fix(b).speed_kmh == 89.0);
    CHECK(devices::gt06::sent_fix(b).device_time == floor<seconds>(b.device_time));
    CHECK(devices::gt06::sent_fix(b).altitude_m == std::nullopt);
    CHECK(devices::teltonika::sent_fix(b).latitude_deg == -338678512 / 1e7);
    CHECK(devices::teltonika::sent_fix(b).odometer_m == 98765.0);
    CHECK(devices::osmand::sent_fix(b).speed_kmh == 48.0 * 1.852);  // 88.8888 km/h = 47.996 kn
    CHECK(devices::osmand::sent_fix(b).course_deg == 0.0);
    CHECK(devices::osmand::sent_fix(b).satellites == std::nullopt);
    CHECK(devices::native::sent_fix(b).speed_kmh == static_cast<double>(88.8888f));
    CHECK(devices::native::sent_fix(fixes[2]).fuel_l == static_cast<double>(123.456789f));
    CHECK(devices::native::sent_fix(b).fuel_l == std::nullopt);
}

TEST_CASE("teltonika: Codec 12 commands read and responses written as the server has them") {
    // Teltonika Data Sending Protocols, "Codec 12 > 1st example": the server's "getinfo".
    const Bytes getinfo = from_hex("000000000000000F0C010500000007676574696E666F0100004312");
    CHECK(devices::teltonika::command_frame_length(ByteView(getinfo).first(10)) == std::nullopt);
    CHECK(devices::teltonika::command_frame_length(getinfo) == getinfo.size());
    CHECK(devices::teltonika::decode_command(getinfo) == "getinfo");
    CHECK(devices::teltonika::decode_command(fleet::ingest::teltonika::encode_command("")) == "");
    const auto response = fleet::ingest::teltonika::decode_command_response(
        devices::teltonika::encode_response("OK getinfo"));
    CHECK(response.text == "OK getinfo");

    Bytes corrupt = getinfo;
    corrupt[12] ^= 0x01;
    CHECK_THROWS_AS(devices::teltonika::decode_command(corrupt), devices::ReplyError);
    // A response is not a command.
    CHECK_THROWS_AS(devices::teltonika::decode_command(devices::teltonika::encode_response("x")),
                    devices::ReplyError);
    CHECK_THROWS_AS(devices::teltonika::command_frame_length(from_hex("00000001")),
                    devices::ReplyError);
}

TEST_CASE("gt06: online commands read and answered with 0x21 as the server decodes it") {
    const Bytes dyd = fleet::ingest::gt06::encode_command(0x12345678, "DYD#", 2);
    const auto command = devices::gt06::decode_command(dyd);
    CHECK(command.server_flag == 0x12345678);
    CHECK(command.text == "DYD#");
    CHECK(command.serial == 2);
    CHECK_THROWS_AS(devices::gt06::decode_command(fleet::ingest::gt06::encode_reply(0x12, 1)),
                    devices::ReplyError);

    // The hand-computed frame of tests/ingest/gt06_test.cpp (flag 9, "DYD=Success!", serial 3).
    const Bytes reply = devices::gt06::encode_command_reply(9, "DYD=Success!", 3);
    CHECK(to_hex(reply) ==
          to_hex(from_hex("7878162100000009014459443D53756363657373210003A53F0D0A")));
    const auto decoded = fleet::ingest::gt06::decode(reply);
    CHECK(decoded.protocol_number == 0x21);
    CHECK(std::get<fleet::ingest::gt06::CommandReply>(decoded.payload).server_flag == 9);
    CHECK(std::get<fleet::ingest::gt06::CommandReply>(decoded.payload).text == "DYD=Success!");
}

TEST_CASE("native: notice acks are receipts of the stage they say") {
    fleet::ingest::native::Handler handler;
    handler.set_logged_in(true);
    const auto delivered = handler.on_frame(devices::native::encode_notice_delivered(5));
    REQUIRE(delivered.receipts.size() == 1);
    CHECK(delivered.receipts[0].notice_id == 5);
    CHECK(delivered.receipts[0].stage == fleet::ingest::NoticeReceipt::Stage::delivered);
    const auto read = handler.on_frame(devices::native::encode_notice_read(5, 1767225600000));
    REQUIRE(read.receipts.size() == 1);
    CHECK(read.receipts[0].stage == fleet::ingest::NoticeReceipt::Stage::read);
    CHECK(read.receipts[0].accepted);
    CHECK(read.receipts[0].read_at.time_since_epoch() == milliseconds(1767225600000));
}
