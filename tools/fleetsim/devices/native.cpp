#include "tools/fleetsim/devices/native.hpp"

#include "tools/fleetsim/devices/reply_error.hpp"

namespace fleet::tools::fleetsim::devices::native {

Bytes length_delimited(const proto::terminal::Frame& frame) {
    const std::string body = frame.SerializeAsString();
    Bytes out;
    out.reserve(body.size() + 5);
    std::uint64_t n = body.size();
    while (n >= 0x80) {
        out.push_back(static_cast<std::uint8_t>(n | 0x80));
        n >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(n));
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

Bytes encode_login(std::string_view device_id, std::string_view firmware) {
    proto::terminal::Frame frame;
    auto* login = frame.mutable_login();
    login->set_device_id(std::string(device_id));
    login->set_firmware(std::string(firmware));
    login->set_protocol_version(1);
    return length_delimited(frame);
}

Bytes encode_batch(std::uint64_t batch_id, std::span<const Fix> fixes) {
    proto::terminal::Frame frame;
    auto* batch = frame.mutable_positions();
    batch->set_batch_id(batch_id);
    for (const auto& fix : fixes) {
        auto* p = batch->add_positions();
        p->set_device_time_ms(fix.device_time.time_since_epoch().count());
        p->set_latitude(fix.latitude_deg);
        p->set_longitude(fix.longitude_deg);
        p->set_speed_kmh(static_cast<float>(fix.speed_kmh));
        p->set_course_deg(static_cast<float>(fix.course_deg));
        p->set_altitude_m(static_cast<float>(fix.altitude_m));
        p->set_satellites(static_cast<std::uint32_t>(fix.satellites));
        p->set_valid(fix.satellites > 0);
        p->set_odometer_m(fix.odometer_m);
        p->set_ignition(fix.ignition);
        if (fix.fuel_l) {
            p->set_fuel_l(static_cast<float>(*fix.fuel_l));
        }
    }
    return length_delimited(frame);
}

SentFix sent_fix(const Fix& fix) {
    SentFix s;
    s.device_time = fix.device_time;
    s.latitude_deg = fix.latitude_deg;
    s.longitude_deg = fix.longitude_deg;
    s.speed_kmh = static_cast<float>(fix.speed_kmh);
    s.course_deg = static_cast<float>(fix.course_deg);
    s.altitude_m = static_cast<float>(fix.altitude_m);
    s.satellites = fix.satellites;
    s.odometer_m = fix.odometer_m;
    s.ignition = fix.ignition;
    if (fix.fuel_l) {
        s.fuel_l = static_cast<float>(*fix.fuel_l);
    }
    return s;
}

Bytes encode_notice_delivered(std::uint64_t notice_id) {
    proto::terminal::Frame frame;
    auto* ack = frame.mutable_notice_ack();
    ack->set_notice_id(notice_id);
    ack->set_delivered(true);
    return length_delimited(frame);
}

Bytes encode_notice_read(std::uint64_t notice_id, std::int64_t read_at_ms, bool accepted) {
    proto::terminal::Frame frame;
    auto* ack = frame.mutable_notice_ack();
    ack->set_notice_id(notice_id);
    ack->set_read_at_ms(read_at_ms);
    ack->set_accepted(accepted);
    return length_delimited(frame);
}

std::optional<FrameSpan> frame_span(ByteView buffered) {
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < buffered.size(); ++i) {
        if (i == 5) {
            throw ReplyError("native", "frame length varint longer than 5 bytes");
        }
        length |= std::uint64_t{buffered[i] & 0x7FU} << (7 * i);
        if ((buffered[i] & 0x80U) == 0) {
            if (length > max_frame_bytes) {
                throw ReplyError("native", "frame of " + std::to_string(length) + " bytes");
            }
            if (buffered.size() - (i + 1) < length) {
                return std::nullopt;
            }
            return FrameSpan{i + 1, static_cast<std::size_t>(length)};
        }
    }
    if (buffered.size() >= 5) {
        throw ReplyError("native", "frame length varint longer than 5 bytes");
    }
    return std::nullopt;
}

proto::terminal::Frame decode_frame(ByteView body) {
    proto::terminal::Frame frame;
    if (!frame.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
        throw ReplyError("native", "frame does not parse as fleet.proto.terminal.Frame");
    }
    return frame;
}

}  // namespace fleet::tools::fleetsim::devices::native
