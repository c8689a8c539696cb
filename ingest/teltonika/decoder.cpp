#include "ingest/teltonika/decoder.hpp"

#include <chrono>
#include <cmath>
#include <string>

#include "ingest/teltonika/detail/envelope.hpp"
#include "ingest/teltonika/frame.hpp"

namespace fleet::ingest::teltonika {

namespace {

using detail::protocol_name;

// Teltonika "Codec" documentation: Codec 8 "IO Element" uses 1-byte IO ids and 1-byte counts;
// Codec 8 Extended uses 2-byte ids and counts and adds the NX group of variable-length values.
struct IoLayout {
    std::size_t id_bytes;
    std::size_t count_bytes;
    bool variable_group;
};
constexpr IoLayout codec8_layout{1, 1, false};
constexpr IoLayout codec8_extended_layout{2, 2, true};

// Well-known AVL ids (Teltonika "FMB AVL ID" list).
constexpr std::uint32_t io_gsm_signal = 21;
constexpr std::uint32_t io_total_odometer = 16;
constexpr std::uint32_t io_external_voltage = 66;
constexpr std::uint32_t io_fuel_level = 89;
constexpr std::uint32_t io_trip_odometer = 199;
constexpr std::uint32_t io_ignition = 239;
constexpr std::uint32_t io_movement = 240;

std::uint32_t read_field(Reader& in, std::size_t bytes) {
    return bytes == 1 ? in.u8() : in.u16();
}

std::uint64_t read_value(Reader& in, std::size_t bytes) {
    switch (bytes) {
        case 1:
            return in.u8();
        case 2:
            return in.u16();
        case 4:
            return in.u32();
        default:
            return in.u64();
    }
}

std::string io_key(std::uint32_t id) {
    return "io" + std::to_string(id);
}

// Maps one fixed-width IO element onto the Position, after the AVL id list ("FMB AVL ID",
// "Teltonika Data Sending Parameters ID"). AVL id 89 is the CAN adapter's fuel level in percent
// (the LV-CAN200 parameter table gives litres as id 84), so it stays an attribute and does not
// become fuel_l.
void apply_io(Position& position, std::uint32_t id, std::uint64_t value) {
    switch (id) {
        case io_ignition:
            position.ignition = value != 0;
            break;
        case io_movement:
            position.attributes["motion"] = value != 0;
            break;
        case io_total_odometer:
            position.odometer_m = static_cast<double>(value);
            break;
        case io_external_voltage:
            position.attributes["power_v"] = static_cast<double>(value) / 1000.0;
            break;
        case io_fuel_level:
            position.attributes["fuel_level"] = value;
            break;
        case io_gsm_signal:
            position.attributes["gsm_signal"] = value;
            break;
        case io_trip_odometer:
            position.attributes["trip_odometer_m"] = value;
            break;
        default:
            position.attributes[io_key(id)] = value;
            break;
    }
}

// Codec 8 / Codec 8 Extended "IO Element": event IO id, total count, then the groups of 1, 2, 4
// and 8-byte values (and, for Codec 8 Extended, NX: id, 2-byte length, value).
void read_io_element(Reader& in, const IoLayout& layout, Position& position) {
    position.attributes["event_io_id"] = read_field(in, layout.id_bytes);
    const std::size_t total_offset = in.offset();
    const std::uint32_t total = read_field(in, layout.count_bytes);
    std::uint64_t seen = 0;
    constexpr std::size_t group_widths[] = {1, 2, 4, 8};
    for (const std::size_t value_bytes : group_widths) {
        const std::uint32_t count = read_field(in, layout.count_bytes);
        seen += count;
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::uint32_t id = read_field(in, layout.id_bytes);
            apply_io(position, id, read_value(in, value_bytes));
        }
    }
    if (layout.variable_group) {
        const std::uint32_t count = in.u16();
        seen += count;
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::uint32_t id = in.u16();
            const std::uint16_t length = in.u16();
            position.attributes[io_key(id)] = to_hex(in.bytes(length));
        }
    }
    if (seen != total) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, total_offset,
                          "IO element count " + std::to_string(total) + " but the groups hold " +
                              std::to_string(seen));
    }
}

// Codec 8 "AVL Data": timestamp (8), priority (1), GPS element (15), IO element.
// "GPS Element": longitude (4), latitude (4), altitude (2), angle (2), satellites (1), speed (2).
Position read_record(Reader& in, const IoLayout& layout) {
    Position position;
    // The timestamp is unsigned on the wire; C++20 defines the conversion to the signed
    // representation as modular, so an absurd value stays well defined.
    position.device_time = Millis{std::chrono::milliseconds{static_cast<std::int64_t>(in.u64())}};
    position.attributes["priority"] = in.u8();
    // Coordinates are two's complement, longitude first, in units of 1e-7 degree.
    position.longitude_deg = in.i32() / 1e7;
    position.latitude_deg = in.i32() / 1e7;
    position.altitude_m = static_cast<std::int16_t>(in.u16());
    position.course_deg = in.u16();
    const std::uint8_t satellites = in.u8();
    position.satellites = satellites;
    position.speed_kmh = in.u16();
    // Without a fix the device repeats the last known coordinates with angle, satellites and
    // speed at 0 ("GPS Element" notes); there is no other validity flag.
    position.valid = satellites > 0 && std::abs(position.latitude_deg) <= 90.0 &&
                     std::abs(position.longitude_deg) <= 180.0;
    read_io_element(in, layout, position);
    return position;
}

AvlPacket read_avl_data(Reader& in, std::uint8_t codec_id, const IoLayout& layout) {
    AvlPacket packet;
    packet.codec_id = codec_id;
    packet.record_count = in.u8();
    packet.records.reserve(packet.record_count);
    for (std::uint32_t i = 0; i < packet.record_count; ++i) {
        packet.records.push_back(read_record(in, layout));
    }
    // "Number of Data 2" is the last byte of the data field and must equal "Number of Data 1".
    if (in.remaining() != 1) {
        if (in.remaining() == 0) {
            in.fail(DecodeFault::truncated, "no room left for the second number of data");
        }
        in.fail(DecodeFault::bad_length,
                std::to_string(in.remaining() - 1) + " bytes after the last record");
    }
    const std::size_t count_offset = in.offset();
    const std::uint8_t second_count = in.u8();
    if (second_count != packet.record_count) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, count_offset,
                          "number of data 1 is " + std::to_string(packet.record_count) +
                              ", number of data 2 is " + std::to_string(second_count));
    }
    return packet;
}

// Returns a reader over header and data (not the CRC), positioned at the codec id, after the
// envelope checks. Offsets in errors thus count from the start of the frame.
Reader open_frame(ByteView frame) {
    const std::size_t data_bytes = detail::check_envelope(frame);
    Reader in(frame.first(detail::header_bytes + data_bytes), protocol_name);
    in.skip(detail::header_bytes);
    return in;
}

[[noreturn]] void unsupported_codec(std::uint8_t codec_id, const char* expected) {
    throw DecodeError(
        protocol_name, DecodeFault::unsupported, detail::header_bytes,
        "codec 0x" + to_hex(ByteView(&codec_id, 1)) + " where " + expected + " was expected");
}

}  // namespace

// Teltonika "Codec" documentation, "Communication with server": the IMEI arrives as a 2-byte
// length and that many ASCII digits.
std::string decode_imei(ByteView frame) {
    Reader in(frame, protocol_name);
    const std::uint16_t length = in.u16();
    if (length == 0 || length > max_imei_digits) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, 0,
                          "IMEI length " + std::to_string(length));
    }
    const ByteView digits = in.bytes(length);
    if (in.remaining() != 0) {
        in.fail(DecodeFault::bad_length, "bytes after the IMEI");
    }
    std::string imei;
    imei.reserve(length);
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (digits[i] < '0' || digits[i] > '9') {
            throw DecodeError(protocol_name, DecodeFault::bad_value, 2 + i,
                              "IMEI byte is not an ASCII digit");
        }
        imei += static_cast<char>(digits[i]);
    }
    return imei;
}

std::uint8_t frame_codec(ByteView frame) {
    Reader in(frame, protocol_name);
    in.skip(detail::header_bytes);
    return in.u8();
}

// Teltonika "Codec" documentation, sections "Codec 8" and "Codec 8 Extended": AVL data packet
// = preamble, data field length, codec id, number of data 1, AVL data, number of data 2, CRC-16.
AvlPacket decode_packet(ByteView frame) {
    Reader in = open_frame(frame);
    const std::uint8_t codec_id = in.u8();
    switch (codec_id) {
        case codec8:
            return read_avl_data(in, codec_id, codec8_layout);
        case codec8_extended:
            return read_avl_data(in, codec_id, codec8_extended_layout);
        default:
            unsupported_codec(codec_id, "Codec 8 or 8 Extended");
    }
}

// Teltonika "Codec" documentation, section "Codec 12": preamble, data size, codec id (0x0C),
// response quantity 1, type (0x06), response size (4), response, response quantity 2, CRC-16.
CommandResponse decode_command_response(ByteView frame) {
    Reader in = open_frame(frame);
    const std::uint8_t codec_id = in.u8();
    if (codec_id != codec12) {
        unsupported_codec(codec_id, "Codec 12");
    }
    const std::size_t quantity_offset = in.offset();
    const std::uint8_t quantity = in.u8();
    CommandResponse response;
    response.type = in.u8();
    if (response.type != response_type) {
        throw DecodeError(
            protocol_name, DecodeFault::unsupported, quantity_offset + 1,
            "Codec 12 type " + std::to_string(response.type) + " is not a response (6)");
    }
    const std::size_t size_offset = in.offset();
    const std::uint32_t size = in.u32();
    // The response fills the data field up to the one-byte second quantity.
    if (in.remaining() == 0 || size != in.remaining() - 1) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, size_offset,
                          "response size " + std::to_string(size) + " but " +
                              std::to_string(in.remaining()) + " bytes remain in the data");
    }
    const ByteView text = in.bytes(size);
    response.text.assign(text.begin(), text.end());
    const std::size_t second_offset = in.offset();
    const std::uint8_t second_quantity = in.u8();
    if (second_quantity != quantity) {
        throw DecodeError(protocol_name, DecodeFault::bad_length, second_offset,
                          "response quantity 1 is " + std::to_string(quantity) +
                              ", quantity 2 is " + std::to_string(second_quantity));
    }
    if (quantity != 1) {
        throw DecodeError(protocol_name, DecodeFault::bad_value, quantity_offset,
                          "a Codec 12 frame carries one response, not " + std::to_string(quantity));
    }
    return response;
}

}  // namespace fleet::ingest::teltonika
