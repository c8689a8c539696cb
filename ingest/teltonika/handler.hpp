#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "ingest/handler.hpp"
#include "ingest/teltonika/frame.hpp"

namespace fleet::ingest::teltonika {

/// Commands a connection remembers as unanswered at most; older ones are forgotten (a device that
/// answers none of 32 commands will not answer the 33rd either).
inline constexpr std::size_t max_outstanding_commands = 32;

/// Teltonika Codec 8 / 8 Extended on the ingest side: IMEI login answered 0x01 or 0x00, AVL
/// packets acknowledged with their record count after the commit.
///
/// Each downlink message goes down as a Codec 12 command; its id is remembered, oldest first, up
/// to max_outstanding_commands. A Codec 12 response carries no id of the command it answers, and
/// the device answers its commands in the order they came: so each response is taken as the
/// answer to the oldest outstanding command, and becomes a delivered receipt with that id
/// (read_at zero: the server dates it). A response with no command outstanding yields nothing.
/// Responses get no answer of their own.
class Handler : public FrameHandler {
  public:
    const char* protocol() const override { return "teltonika"; }
    std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) override;
    Step on_frame(ByteView frame) override;
    Bytes login_reply(bool accepted) override;
    void on_downlink(const DownlinkMessage& message) override;

  private:
    std::deque<std::uint64_t> outstanding_;  // ids of the commands sent, oldest first
};

}  // namespace fleet::ingest::teltonika
