#pragma once

#include "ingest/handler.hpp"
#include "ingest/native/frame.hpp"

/// The native terminal protocol (proto/terminal.proto) on the ingest side.
namespace fleet::ingest::native {

/// Login → LoginResult; PositionBatch → its positions, then Ack{batch_id, stored} once they are
/// committed; NoticeAck → a receipt for the notices module (delivered when its `delivered` is
/// set, otherwise read, with read_at and accepted). Frames the server sends (LoginResult, Ack,
/// Notice) are refused when they come from a terminal.
class Handler : public FrameHandler {
  public:
    Handler();
    const char* protocol() const override { return protocol_name; }
    std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) override;
    Step on_frame(ByteView frame) override;
    Bytes login_reply(bool accepted) override;
};

}  // namespace fleet::ingest::native
