#include "ingest/native/encoder.hpp"

#include "ingest/native/frame.hpp"
#include "proto/terminal.pb.h"

namespace fleet::ingest::native {

Bytes encode_notice(const DownlinkMessage& message) {
    proto::terminal::Frame f;
    auto& n = *f.mutable_notice();
    n.set_notice_id(message.id);
    n.set_title(message.title);
    n.set_text(message.text);
    n.set_valid_from_ms(message.valid_from.time_since_epoch().count());
    n.set_valid_until_ms(message.valid_until.time_since_epoch().count());
    n.set_severity(message.severity);
    n.set_message(message.message);
    for (const auto& r : message.replies) {
        n.add_replies(r);
    }
    return frame(f.SerializeAsString());
}

}  // namespace fleet::ingest::native
