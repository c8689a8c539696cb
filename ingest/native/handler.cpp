#include "ingest/native/handler.hpp"

#include <cmath>
#include <mutex>

#include "geo/utf8.hpp"
#include "ingest/decode_error.hpp"
#include "proto/terminal.pb.h"

namespace fleet::ingest::native {

namespace pb = fleet::proto::terminal;

namespace {

[[noreturn]] void bad(DecodeFault fault, const std::string& detail) {
    throw DecodeError(protocol_name, fault, 0, detail);
}

Position to_position(const pb::Position& m, std::size_t index) {
    const std::string where = "position " + std::to_string(index) + ": ";
    if (m.device_time_ms() <= 0) {
        bad(DecodeFault::bad_value, where + "device_time_ms missing");
    }
    if (!std::isfinite(m.latitude()) || !std::isfinite(m.longitude())) {
        bad(DecodeFault::bad_value, where + "coordinates are not numbers");
    }
    Position p;
    p.device_time = Millis(std::chrono::milliseconds(m.device_time_ms()));
    p.latitude_deg = m.latitude();
    p.longitude_deg = m.longitude();
    p.speed_kmh = m.speed_kmh();
    p.course_deg = m.course_deg();
    p.altitude_m = m.altitude_m();
    p.satellites = static_cast<int>(m.satellites());
    p.valid = m.valid();
    if (m.has_odometer_m()) {
        p.odometer_m = m.odometer_m();
    }
    if (m.has_fuel_l()) {
        p.fuel_l = m.fuel_l();
    }
    if (m.has_ignition()) {
        p.ignition = m.ignition();
    }
    for (const auto& [key, value] : m.attributes()) {
        p.attributes[key] = value;
    }
    return p;
}

// protobuf logs every malformed string it parses; a bad frame is already reported as a
// DecodeError (counted, one log line per closed connection), so its own logging is silenced.
void silence_protobuf_logging() {
    static std::once_flag once;
    std::call_once(once, [] { google::protobuf::SetLogHandler(nullptr); });
}

Bytes frame_of(const pb::Frame& f) {
    return frame(f.SerializeAsString());
}

}  // namespace

std::optional<std::size_t> Handler::frame_length(ByteView buffered, std::size_t max_frame) {
    return native::frame_length(buffered, max_frame);
}

Handler::Handler() {
    silence_protobuf_logging();
}

Step Handler::on_frame(ByteView bytes) {
    // The prefix was validated by frame_length; skip it.
    std::size_t prefix = 0;
    while (prefix < bytes.size() && (bytes[prefix] & 0x80) != 0) {
        ++prefix;
    }
    ++prefix;
    pb::Frame f;
    if (prefix > bytes.size() ||
        !f.ParseFromArray(bytes.data() + prefix, static_cast<int>(bytes.size() - prefix))) {
        bad(DecodeFault::bad_value, "not a terminal.Frame message");
    }
    Step step;
    switch (f.body_case()) {
        case pb::Frame::kLogin:
            if (f.login().device_id().empty()) {
                bad(DecodeFault::bad_value, "login without device_id");
            }
            step.login = f.login().device_id();
            return step;
        case pb::Frame::kPositions: {
            const auto& batch = f.positions();
            for (int i = 0; i < batch.positions_size(); ++i) {
                step.positions.push_back(
                    to_position(batch.positions(i), static_cast<std::size_t>(i)));
            }
            pb::Frame ack;
            ack.mutable_ack()->set_batch_id(batch.batch_id());
            ack.mutable_ack()->set_stored(static_cast<std::uint32_t>(batch.positions_size()));
            step.reply = frame_of(ack);
            return step;
        }
        case pb::Frame::kNoticeAck: {
            const auto& a = f.notice_ack();
            if (a.delivered()) {
                // Shown, not yet read: what a delivered ack may carry besides its id means nothing.
                step.receipts.push_back(
                    {a.notice_id(), Millis{}, false, NoticeReceipt::Stage::delivered});
            } else {
                step.receipts.push_back({a.notice_id(),
                                         Millis(std::chrono::milliseconds(a.read_at_ms())),
                                         a.accepted(), NoticeReceipt::Stage::read});
            }
            return step;
        }
        case pb::Frame::kNoticeReply: {
            const auto& r = f.notice_reply();
            if (!geo::is_valid_utf8(r.text()) || geo::utf8_length(r.text()) > 500) {
                bad(DecodeFault::bad_value,
                    "a reply that is not UTF-8 text of at most 500 characters");
            }
            NoticeReceipt receipt{r.notice_id(),
                                  Millis(std::chrono::milliseconds(r.replied_at_ms())), false,
                                  NoticeReceipt::Stage::replied};
            switch (r.kind()) {
                case pb::NoticeReply::ACKNOWLEDGED:
                    receipt.reply = NoticeReceipt::Reply::acknowledged;
                    break;
                case pb::NoticeReply::CANNOT_COMPLY:
                    receipt.reply = NoticeReceipt::Reply::cannot_comply;
                    break;
                case pb::NoticeReply::CANNED:
                    receipt.reply = NoticeReceipt::Reply::canned;
                    break;
                case pb::NoticeReply::FREE_TEXT:
                    receipt.reply = NoticeReceipt::Reply::free_text;
                    break;
                default:
                    bad(DecodeFault::bad_value, "a reply of an unknown kind");
            }
            receipt.reply_text = r.text();
            step.receipts.push_back(std::move(receipt));
            return step;
        }
        case pb::Frame::kLoginResult:
        case pb::Frame::kAck:
        case pb::Frame::kNotice:
            bad(DecodeFault::unsupported, "server-to-terminal message sent by a terminal");
        case pb::Frame::BODY_NOT_SET:
            break;
    }
    bad(DecodeFault::bad_value, "frame without a body");
}

Bytes Handler::login_reply(bool accepted) {
    pb::Frame f;
    f.mutable_login_result()->set_accepted(accepted);
    if (!accepted) {
        f.mutable_login_result()->set_reason("unknown device");
    }
    return frame_of(f);
}

}  // namespace fleet::ingest::native
