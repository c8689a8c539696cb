#pragma once

#include <cstdint>
#include <string_view>

#include "ingest/bytes.hpp"

/// Builds what the server sends to a Teltonika device: login replies, acknowledgements and
/// Codec 12 commands.
namespace fleet::ingest::teltonika {

/// The one-byte answer to the IMEI login: 0x01 accepts the device, 0x00 rejects it.
Bytes encode_login_reply(bool accepted);

/// The acknowledgement of an AVL data packet: the number of records received, as 4 bytes
/// big-endian. The device resends the packet if the number does not match.
Bytes encode_ack(std::uint32_t record_count);

/// A Codec 12 frame carrying one command (type 0x05) with `text` as its ASCII payload, e.g.
/// "getinfo". Throws std::length_error if the text cannot fit a 4-byte size field.
Bytes encode_command(std::string_view text);

}  // namespace fleet::ingest::teltonika
