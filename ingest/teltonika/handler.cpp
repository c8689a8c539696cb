#include "ingest/teltonika/handler.hpp"

#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/encoder.hpp"

namespace fleet::ingest::teltonika {

std::optional<std::size_t> Handler::frame_length(ByteView buffered, std::size_t max_frame) {
    return next_frame_length(buffered, logged_in() ? FrameState::logged_in : FrameState::login,
                             max_frame);
}

Step Handler::on_frame(ByteView frame) {
    Step step;
    if (!logged_in()) {
        step.login = decode_imei(frame);
        return step;
    }
    if (frame_codec(frame) == codec12) {
        // Checked whole before it counts as an answer; its text is the device's business.
        decode_command_response(frame);
        if (!outstanding_.empty()) {
            step.receipts.push_back(
                {outstanding_.front(), Millis{}, false, NoticeReceipt::Stage::delivered});
            outstanding_.pop_front();
        }
        return step;
    }
    AvlPacket packet = decode_packet(frame);
    step.positions = std::move(packet.records);
    step.reply = encode_ack(packet.record_count);
    return step;
}

Bytes Handler::login_reply(bool accepted) {
    return encode_login_reply(accepted);
}

void Handler::on_downlink(const DownlinkMessage& message) {
    if (outstanding_.size() >= max_outstanding_commands) {
        outstanding_.pop_front();
    }
    outstanding_.push_back(message.id);
}

}  // namespace fleet::ingest::teltonika
