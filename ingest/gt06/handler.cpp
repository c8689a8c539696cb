#include "ingest/gt06/handler.hpp"

#include "ingest/decode_error.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/encoder.hpp"

namespace fleet::ingest::gt06 {

namespace {
template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
}  // namespace

std::optional<std::size_t> Handler::frame_length(ByteView buffered, std::size_t max_frame) {
    return gt06::frame_length(buffered, max_frame);
}

Step Handler::on_frame(ByteView frame) {
    Message message;
    try {
        message = decode(frame);
    } catch (const DecodeError& e) {
        if (e.fault() == DecodeFault::unsupported) {
            return {};
        }
        throw;
    }
    Step step;
    std::visit(Overloaded{
                   [&](Login& login) {
                       login_serial_ = message.serial;
                       step.login = std::move(login.imei);
                   },
                   [&](Position& p) { step.positions.push_back(std::move(p)); },
                   [&](Status& status) {
                       if (logged_in()) {
                           step.reply = encode_reply(message.protocol_number, message.serial);
                       }
                       (void)status;
                   },
                   [&](Alarm& alarm) {
                       step.positions.push_back(std::move(alarm.position));
                       step.reply = encode_reply(message.protocol_number, message.serial);
                   },
               },
               message.payload);
    return step;
}

Bytes Handler::login_reply(bool accepted) {
    return accepted ? encode_reply(msg_login, login_serial_) : Bytes{};
}

}  // namespace fleet::ingest::gt06
