#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tools/fleetsim/link.hpp"

/// A trivial server for measuring fleetsim itself: it speaks one device protocol just enough to
/// answer every login and every packet at once, positively and completely, storing nothing. What
/// fleetsim reaches against it is the most it can measure of a real server.
namespace fleet::tools::fleetsim {

/// What an echo server answered.
struct EchoReport {
    std::uint64_t connections = 0;  ///< accepted
    std::uint64_t packets = 0;      ///< answered (logins not counted)
    std::uint64_t records = 0;      ///< in the answered packets
    std::uint64_t errors = 0;       ///< connections ended by a malformed frame
};

/// Answers, per protocol: Teltonika IMEI with 0x01 and each AVL packet with its record count;
/// GT06 login, heartbeat and every location or alarm with the echo reply (78 78 05 <protocol>
/// <serial> <crc> 0D 0A); OsmAnd every request with 200; native Login with an accepted
/// LoginResult and each PositionBatch with Ack{batch_id, stored = its size}.
class EchoServer {
  public:
    /// Binds to host:port (port 0: any free port). Throws InputError when the address does not
    /// parse or cannot be bound.
    EchoServer(Protocol protocol, const std::string& host, std::uint16_t port, unsigned threads);
    ~EchoServer();
    EchoServer(const EchoServer&) = delete;
    EchoServer& operator=(const EchoServer&) = delete;

    /// The port it listens on.
    std::uint16_t port() const;
    /// Serves on `threads` threads until stop() or, with handle_signals, SIGINT/SIGTERM.
    EchoReport run(bool handle_signals);
    /// Makes run() return; callable from any thread, before or during run().
    void stop();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

/// `fleetsim echo: connections=.. packets=.. records=.. errors=..`
std::string echo_line(const EchoReport& report);

}  // namespace fleet::tools::fleetsim
