#pragma once

#include "ingest/gt06/frame.hpp"
#include "ingest/handler.hpp"

namespace fleet::ingest::gt06 {

/// GT06 on the ingest side. Login is answered (with the login's serial) once the device is
/// accepted; a refused device gets no answer and the connection closes. Locations are stored and
/// not answered (the protocol has no location acknowledgement); heartbeats and alarms are
/// answered after everything before them, the alarm's own position included, is committed.
/// Well-formed messages of types not handled are counted and skipped, as the device expects no
/// answer to them.
class Handler : public FrameHandler {
  public:
    const char* protocol() const override { return protocol_name; }
    std::optional<std::size_t> frame_length(ByteView buffered, std::size_t max_frame) override;
    Step on_frame(ByteView frame) override;
    Bytes login_reply(bool accepted) override;

  private:
    std::uint16_t login_serial_ = 0;
};

}  // namespace fleet::ingest::gt06
