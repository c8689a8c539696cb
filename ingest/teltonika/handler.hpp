#pragma once

#include "ingest/handler.hpp"
#include "ingest/teltonika/frame.hpp"

namespace fleet::ingest::teltonika {

/// Teltonika Codec 8 / 8 Extended on the ingest side: IMEI login answered 0x01 or 0x00, AVL
/// packets acknowledged with their record count after the commit. Codec 12 responses to our
/// commands are taken without an answer.
class Handler : public FrameHandler {
  public:
    const char* protocol() const override { return "teltonika"; }
    std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) override;
    Step on_frame(ByteView frame) override;
    Bytes login_reply(bool accepted) override;
};

}  // namespace fleet::ingest::teltonika
