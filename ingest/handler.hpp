#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingest/bytes.hpp"
#include "ingest/downlink.hpp"
#include "ingest/position.hpp"

/// The protocol side of a TCP connection, without the socket: one object per connection, fed
/// complete frames. Each device protocol folder provides one (`<protocol>/handler.hpp`).
namespace fleet::ingest {

/// A device's receipt for a downlink message (DownlinkMessage::id): from an in-cab terminal
/// for a notice, or from a tracker answering a text command.
struct NoticeReceipt {
    /// How far the message got.
    enum class Stage {
        delivered,  ///< the device has the message (a terminal shows it, a tracker answered it)
        read,       ///< the driver opened it on the terminal (native terminals only)
        replied,    ///< the driver answered a dispatcher's message (native terminals only)
    };
    /// A driver's answer to a message.
    enum class Reply { acknowledged, cannot_comply, canned, free_text };
    std::uint64_t notice_id = 0;
    /// When the driver read (or replied), by the terminal's clock; zero when the device gives
    /// no time (every delivered receipt): the server dates it.
    Millis read_at{};
    bool accepted = false;  ///< read: confirmed by the driver, not only displayed; else false
    Stage stage = Stage::read;
    Reply reply = Reply::acknowledged;  ///< replied only
    std::string reply_text{};           ///< replied: the canned reply or the driver's text
};

/// What the connection must do after a frame.
struct Step {
    /// The device identified itself: resolve it, then send login_reply(accepted).
    std::optional<std::string> login;
    /// Positions to store; `reply` is sent only after they are committed.
    std::vector<Position> positions;
    /// The device's own state (a heartbeat's), kept as the vehicle's latest status; stored with
    /// the positions, and `reply` sent only after it is.
    std::optional<DeviceStatus> status;
    /// Receipts for notices, handed to the notices module.
    std::vector<NoticeReceipt> receipts;
    /// Bytes for the device (an acknowledgement), possibly empty.
    Bytes reply;
    /// Close the connection after sending the reply.
    bool close = false;
};

class FrameHandler {
  public:
    virtual ~FrameHandler() = default;

    virtual const char* protocol() const = 0;

    /// The length of the next complete frame at the start of `buffered`, or nullopt when more
    /// bytes are needed. Throws DecodeError when the bytes cannot start a valid frame or the
    /// frame would exceed `max_frame` bytes.
    virtual std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) = 0;

    /// Decodes one complete frame. Throws DecodeError.
    virtual Step on_frame(ByteView frame) = 0;

    /// The answer to a login, once the device is accepted or refused.
    virtual Bytes login_reply(bool accepted) = 0;

    /// `message` was just encoded for this connection and queued behind its writes (called on
    /// the connection's network thread, like on_frame): protocols whose devices answer commands
    /// remember what is outstanding, to turn the answers into delivered receipts.
    virtual void on_downlink(const DownlinkMessage& message) { (void)message; }

    /// Whether the device has logged in and been accepted (positions before that are refused).
    bool logged_in() const { return logged_in_; }
    void set_logged_in(bool v) { logged_in_ = v; }

  private:
    bool logged_in_ = false;
};

}  // namespace fleet::ingest
