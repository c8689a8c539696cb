#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>  // before Asio: Boost 1.74 awaitable.hpp uses std::exchange unincluded

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tools/fleetsim/devices/fix.hpp"

/// One simulated device's connection to the server, speaking one device protocol.
namespace fleet::tools::fleetsim {

using Clock = std::chrono::steady_clock;

enum class Protocol { teltonika, gt06, osmand, native };

/// "teltonika", "gt06", "osmand" or "native"; throws InputError for anything else.
Protocol parse_protocol(std::string_view name);
const char* protocol_name(Protocol protocol);
/// Traccar's customary ports (5027, 5023, 5055) and the native terminal port 5100.
std::uint16_t default_port(Protocol protocol);
/// Most records one packet of the protocol can carry (Teltonika 255, GT06 and OsmAnd 1).
std::size_t max_records_per_packet(Protocol protocol);
/// What one packet of `protocol` carries of `fix`, as the server decodes it.
devices::SentFix sent_fix(Protocol protocol, const devices::Fix& fix);

/// The server's answer to one packet.
struct Answer {
    std::size_t acked = 0;               ///< records the server confirmed as stored
    std::optional<std::string> failure;  ///< set when the answer was negative or did not match
};

/// A device's session. Every operation takes an absolute deadline; missing it throws
/// boost::system::system_error with boost::beast::error::timeout. I/O errors throw
/// system_error, unacceptable replies throw devices::ReplyError.
class Link {
  public:
    virtual ~Link() = default;

    /// Connects and logs in (IMEI, login frame, ...), waiting for the server's acceptance.
    virtual boost::asio::awaitable<void> open(boost::asio::ip::tcp::endpoint server,
                                              Clock::time_point deadline) = 0;
    /// Writes one packet holding `fixes`; returns once its last byte is written.
    virtual boost::asio::awaitable<void> write_packet(std::span<const devices::Fix> fixes,
                                                      Clock::time_point deadline) = 0;
    /// Waits for the server's answer to the packet last written.
    virtual boost::asio::awaitable<Answer> read_answer(Clock::time_point deadline) = 0;
    /// Closes the connection; open() may be called again.
    virtual void close() = 0;
};

/// How a simulated device answers what the server sends down, besides acknowledgements.
struct LinkOptions {
    /// Native terminals: how long after a notice arrived the driver reads it (the terminal then
    /// sends NoticeAck with read_at_ms and accepted); empty: never read. Reads fall due while
    /// the device goes on reporting, and go out before its next packet or after an answer.
    std::optional<Clock::duration> read_after = std::chrono::seconds(2);
};

/// A link speaking `protocol` as device `device_id` (an IMEI, or the OsmAnd/native id). While it
/// waits for an answer it answers the server's downlink as the device would: the native
/// terminal acknowledges each Notice at once with NoticeAck{delivered} and, unless it is a
/// withdrawal (severity 0), again once read (`options.read_after`); Teltonika answers a Codec
/// 12 command with a Codec 12 response "OK <command>"; GT06 answers an online command 0x80 with
/// 0x21 echoing its server flag and "OK <command>". OsmAnd clients answer nothing.
std::unique_ptr<Link> make_link(Protocol protocol, boost::asio::any_io_executor executor,
                                std::string device_id, LinkOptions options = {});

}  // namespace fleet::tools::fleetsim
