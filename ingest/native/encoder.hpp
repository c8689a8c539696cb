#pragma once

#include "ingest/bytes.hpp"
#include "ingest/downlink.hpp"

/// What the server sends to a native terminal besides replies (proto/terminal.proto).
namespace fleet::ingest::native {

/// A `Notice` frame (length-prefixed) carrying `message`: its id, title, text, validity and
/// severity, 0 (a withdrawal) included. The terminal answers with NoticeAck{delivered} on
/// receipt, and with another NoticeAck when the driver has read it.
Bytes encode_notice(const DownlinkMessage& message);

}  // namespace fleet::ingest::native
