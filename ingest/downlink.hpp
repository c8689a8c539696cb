#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ingest/position.hpp"

/// Messages from the server to the device of a vehicle, through the connection it is on.
namespace fleet::ingest {

/// What is sent down. Each protocol carries what it can (see protocols.hpp): the native terminal
/// shows a notice (title, text, validity, severity) and acknowledges it; Teltonika (Codec 12)
/// and GT06 (0x80) take `text` as a text command; OsmAnd clients get `text` in the body of the
/// next HTTP response.
struct DownlinkMessage {
    enum class Kind {
        command,  ///< a device command ("getinfo", "DYD#"): for the tracker, not the driver
        notice,   ///< for the driver: a road or weather notice, a dispatcher's message
    };
    Kind kind = Kind::notice;
    std::uint64_t id = 0;  ///< the sender's id (a notice's), echoed by terminals in receipts
    std::string title{};   ///< native terminals only
    std::string text{};    ///< short text: terminal screens and text commands
    Millis valid_from{};
    Millis valid_until{};
    /// 1 info, 2 warning, 3 danger; 0 withdraws the notice with this id (native terminals
    /// remove it and acknowledge only its delivery).
    std::uint32_t severity = 1;
    /// A dispatcher's message (native terminals offer `replies` and send the driver's answer).
    bool message = false;
    std::vector<std::string> replies{};
};

/// The outcome of one send.
enum class DownlinkResult {
    /// written to the device's connection (OsmAnd: put into a response body); the device's
    /// own answer, where it gives one, comes later as a NoticeReceipt (IngestServices::on_receipt)
    written,
    not_connected,  ///< no connection of the vehicle's device is open now
    unsupported,    ///< the device's protocol cannot carry this message
    failed,         ///< the connection closed before the message was written
};
const char* to_string(DownlinkResult result);

/// Sends to the connected device of a vehicle, through that connection's write queue (one write
/// in flight; replies and downlink messages in order). `done` runs once, on a network thread:
/// it must be quick.
class Downlink {
  public:
    virtual ~Downlink() = default;
    virtual void send(std::int64_t vehicle_id, DownlinkMessage message,
                      std::function<void(DownlinkResult)> done) = 0;
};

}  // namespace fleet::ingest
