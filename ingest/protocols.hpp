#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "ingest/bytes.hpp"
#include "ingest/downlink.hpp"
#include "ingest/handler.hpp"

/// The protocol registry: one row per device protocol, from which fleetd makes its listeners and
/// its `<name>-port` options. Adding a protocol is a folder and a row here.
namespace fleet::ingest {

enum class Transport {
    tcp,   ///< a byte stream cut into frames by the protocol's FrameHandler
    http,  ///< HTTP requests (OsmAnd), one report per request
};

struct ProtocolInfo {
    std::string_view name;       ///< "teltonika"; also the option prefix (teltonika-port)
    std::uint16_t default_port;  ///< Traccar's customary port, where there is one
    Transport transport;
    std::string_view description;  ///< for --help
    /// A handler for one connection (tcp only).
    std::function<std::unique_ptr<FrameHandler>()> make_handler;
    /// The bytes that carry `message` to a device of this protocol, or nullopt when it cannot;
    /// `serial` is the connection's next message number (protocols that number server frames).
    /// Empty for protocols that do not send frames of their own (http: the next response body).
    std::function<std::optional<Bytes>(const DownlinkMessage& message, std::uint16_t serial)>
        encode_downlink;
};

/// The longest text command, in bytes of its ASCII transliteration, that Teltonika Codec 12
/// and GT06 0x80 carry (GT06: what a frame's 1-byte length leaves).
inline constexpr std::size_t teltonika_command_max = 512;
inline constexpr std::size_t gt06_command_max = 0xFF - 12;

/// Every protocol of this build, in a stable order.
const std::vector<ProtocolInfo>& protocols();

/// The row of `name`, or nullptr.
const ProtocolInfo* find_protocol(std::string_view name);

}  // namespace fleet::ingest
