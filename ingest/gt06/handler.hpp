#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/frame.hpp"
#include "ingest/handler.hpp"

namespace fleet::ingest::gt06 {

/// How long a terminal's status stays true of the fixes around it: a heartbeat (0x13) comes every
/// 3 minutes out of the factory, so 10 minutes outlasts two lost ones; after that the terminal
/// has been asleep or away, and what it said then is not carried into its fixes.
inline constexpr std::chrono::minutes default_max_status_age{10};

/// Online commands a connection remembers as unanswered at most.
inline constexpr std::size_t max_outstanding_commands = 32;

/// A status as plain named values (Step.status and position attributes): "ignition",
/// "charging", "armed", "fuel_cut", "gps_tracking" (booleans), "voltage_level" (0 no power to 6
/// very high; the documents give levels, not volts), "gsm_signal" (0 none to 4 strong), and,
/// only when the terminal reports one, "terminal_alarm" and "alarm" / "alarm_code".
nlohmann::json status_values(const Status& status);

/// GT06 on the ingest side, one per connection.
///
/// Login is answered (with the login's serial) once the device is accepted; a refused device
/// gets no answer and the connection closes. The login's time zone (VL03 §1) converts the local
/// dates of 0x12 and 0x16 to UTC; without one they are taken as UTC (configure such terminals
/// with "GMT,E,0#").
///
/// Every location (0x12, 0x22), heartbeat (0x13) and alarm (0x16, 0x26) is answered with the
/// echo reply, sent only after what it carries is committed: its position, or its status.
///
/// A heartbeat's status goes out as Step.status (the vehicle's latest state) and is remembered.
/// The fixes that follow carry the status fields they do not report themselves, when they are
/// within `max_status_age` of the status (by the fix's device time against the time the status
/// was received): 0x12, which reports no state at all, carries ignition (the `ignition` column)
/// and the attributes "charging", "armed", "fuel_cut", "gps_tracking", "voltage_level",
/// "gsm_signal"; 0x22 carries the same but ignition, since it reports ACC itself. A carried
/// status is marked with "status_age_s" (the fix's device time minus the status's, in seconds).
/// Alarms carry the status they came with, and their status is the latest too. An alarm a
/// status reports ("terminal_alarm", "alarm") is an event and never carried.
///
/// Each downlink message goes down as an online command 0x80 whose server flag is the message's
/// id (server_flag_of); the handler remembers the flags outstanding, up to
/// max_outstanding_commands (older ones are forgotten). The terminal's answer, 0x15 or 0x21,
/// echoes the flag: for an outstanding flag it becomes a delivered receipt with that message's
/// id (read_at zero: the server dates it); an answer with a flag not sent on this connection, or
/// already answered, yields nothing. Answers get no reply (the documents ask for none).
///
/// Well-formed messages of types not handled are counted and skipped, as the device expects no
/// answer to them.
class Handler : public FrameHandler {
  public:
    using Clock = std::function<Millis()>;

    /// `clock` dates the statuses as they arrive (heartbeats carry no time of their own).
    explicit Handler(Clock clock = system_clock,
                     std::chrono::minutes max_status_age = default_max_status_age);

    const char* protocol() const override { return protocol_name; }
    std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) override;
    Step on_frame(ByteView frame) override;
    Bytes login_reply(bool accepted) override;
    void on_downlink(const DownlinkMessage& message) override;

    /// The wall clock, in milliseconds.
    static Millis system_clock();

  private:
    struct Reported {
        Status status;
        Millis received_at;
    };

    Step on_login(Login& login, const Envelope& envelope);
    Step on_location(Position& position, const Envelope& envelope);
    Step on_heartbeat(const Status& status, const Envelope& envelope);
    Step on_alarm(Alarm& alarm, const Envelope& envelope);
    Step on_command_reply(const CommandReply& reply);
    /// Remembers `status` as the latest and returns it as the vehicle's status.
    DeviceStatus report(const Status& status);
    void carry_status(Position& position, bool reports_ignition) const;

    Clock clock_;
    std::chrono::minutes max_status_age_;
    std::uint16_t login_serial_ = 0;
    bool login_extended_ = false;
    Context context_;
    std::optional<Reported> last_status_;
    struct Outstanding {
        std::uint32_t server_flag;
        std::uint64_t message_id;
    };
    std::deque<Outstanding> outstanding_;  // commands sent and not answered, oldest first
};

}  // namespace fleet::ingest::gt06
