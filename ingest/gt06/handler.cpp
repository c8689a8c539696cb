#include "ingest/gt06/handler.hpp"

#include <algorithm>

#include "ingest/decode_error.hpp"
#include "ingest/gt06/encoder.hpp"

namespace fleet::ingest::gt06 {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;  // clang 14 (the fuzz build) lacks aggregate CTAD

// The state fields a status carries into the fixes that follow it; "ignition" goes to the
// position's own column instead.
constexpr const char* carried_fields[] = {"charging",     "armed",         "fuel_cut",
                                          "gps_tracking", "voltage_level", "gsm_signal"};

}  // namespace

nlohmann::json status_values(const Status& status) {
    nlohmann::json values = {
        {"ignition", status.ignition},
        {"charging", status.charging},
        {"armed", status.armed},
        {"fuel_cut", status.fuel_cut},
        {"gps_tracking", status.gps_tracking},
        {"voltage_level", status.voltage_level},
        {"gsm_signal", status.gsm_signal},
    };
    if (status.terminal_alarm) {
        values["terminal_alarm"] = *status.terminal_alarm;
    }
    if (status.alarm_code && *status.alarm_code != 0) {
        values["alarm_code"] = *status.alarm_code;
        values["alarm"] = alarm_name(*status.alarm_code).value_or("unknown");
    }
    return values;
}

Handler::Handler(Clock clock, std::chrono::minutes max_status_age)
    : clock_(std::move(clock)), max_status_age_(max_status_age) {}

Millis Handler::system_clock() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

std::optional<std::size_t> Handler::frame_length(ByteView buffered, std::size_t max_frame) {
    return gt06::frame_length(buffered, max_frame);
}

Step Handler::on_frame(ByteView frame) {
    Message message;
    try {
        message = decode(frame, context_);
    } catch (const DecodeError& e) {
        if (e.fault() == DecodeFault::unsupported) {
            return {};
        }
        throw;
    }
    Envelope envelope;
    envelope.extended = message.extended;
    envelope.protocol_number = message.protocol_number;
    envelope.serial = message.serial;
    return std::visit(Overloaded{
                          [&](Login& login) { return on_login(login, envelope); },
                          [&](Position& p) { return on_location(p, envelope); },
                          [&](Status& status) { return on_heartbeat(status, envelope); },
                          [&](Alarm& alarm) { return on_alarm(alarm, envelope); },
                          [&](CommandReply& reply) { return on_command_reply(reply); },
                      },
                      message.payload);
}

Bytes Handler::login_reply(bool accepted) {
    return accepted ? encode_reply(msg_login, login_serial_, login_extended_) : Bytes{};
}

Step Handler::on_login(Login& login, const Envelope& envelope) {
    login_serial_ = envelope.serial;
    login_extended_ = envelope.extended;
    // VL03 §1: the time zone of the terminal's clock, which dates the 0x12 and 0x16 that follow.
    context_.utc_offset_min = login.utc_offset_min.value_or(0);
    Step step;
    step.login = std::move(login.imei);
    return step;
}

Step Handler::on_location(Position& position, const Envelope& envelope) {
    // 0x22 reports ACC itself (VL03 §3); 0x12 reports no state (GT06 §5.2.1).
    carry_status(position, envelope.protocol_number == msg_location_utc);
    Step step;
    step.positions.push_back(std::move(position));
    step.reply = encode_reply(envelope.protocol_number, envelope.serial, envelope.extended);
    return step;
}

Step Handler::on_heartbeat(const Status& status, const Envelope& envelope) {
    Step step;
    // Before an accepted login there is no vehicle to keep the status for, and nothing to answer.
    if (logged_in()) {
        step.status = report(status);
        step.reply = encode_reply(envelope.protocol_number, envelope.serial, envelope.extended);
    }
    return step;
}

Step Handler::on_alarm(Alarm& alarm, const Envelope& envelope) {
    Step step;
    if (logged_in()) {
        step.status = report(alarm.status);
    }
    step.positions.push_back(std::move(alarm.position));
    step.reply = encode_reply(envelope.protocol_number, envelope.serial, envelope.extended);
    return step;
}

void Handler::on_downlink(const DownlinkMessage& message) {
    if (outstanding_.size() >= max_outstanding_commands) {
        outstanding_.pop_front();
    }
    outstanding_.push_back({server_flag_of(message.id), message.id});
}

Step Handler::on_command_reply(const CommandReply& reply) {
    Step step;
    // Answers need no reply. The oldest command with the flag is the one answered (two messages
    // whose ids share their low 32 bits are answered in the order they went).
    const auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                                 [&](const auto& o) { return o.server_flag == reply.server_flag; });
    if (it != outstanding_.end()) {
        step.receipts.push_back({it->message_id, Millis{}, false, NoticeReceipt::Stage::delivered});
        outstanding_.erase(it);
    }
    return step;
}

DeviceStatus Handler::report(const Status& status) {
    const Millis now = clock_();
    last_status_ = Reported{status, now};
    return DeviceStatus{.reported_at = now, .values = status_values(status)};
}

void Handler::carry_status(Position& position, bool reports_ignition) const {
    if (!last_status_) {
        return;
    }
    const auto age = position.device_time - last_status_->received_at;
    if (age > max_status_age_ || -age > max_status_age_) {
        return;  // stale, or a fix from long before it (a buffered one sent late)
    }
    const nlohmann::json values = status_values(last_status_->status);
    for (const char* field : carried_fields) {
        if (!position.attributes.contains(field)) {
            position.attributes[field] = values[field];
        }
    }
    if (!reports_ignition && !position.ignition) {
        position.ignition = last_status_->status.ignition;
    }
    position.attributes["status_age_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(age).count();
}

}  // namespace fleet::ingest::gt06
