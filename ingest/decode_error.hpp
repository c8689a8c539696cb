#pragma once

#include <cstddef>
#include <string>

#include "geo/error.hpp"

namespace fleet::ingest {

/// What was wrong with a frame, for counters and logs.
enum class DecodeFault {
    truncated,     ///< fewer bytes than the frame says it has
    oversized,     ///< longer than the protocol or the configured cap allows
    bad_checksum,  ///< CRC or checksum mismatch
    bad_length,    ///< a length or count field contradicts the data
    bad_value,     ///< a field holds a value the protocol does not allow
    unsupported,   ///< a well-formed message type or codec that is not handled
};

const char* to_string(DecodeFault fault);

/// A frame that cannot be decoded. Carries the protocol, the byte offset in the frame where the
/// problem was found, and the kind of fault.
class DecodeError : public Error {
  public:
    DecodeError(std::string protocol, DecodeFault fault, std::size_t offset,
                const std::string& detail)
        : Error(protocol + ": " + to_string(fault) + " at byte " + std::to_string(offset) + ": " +
                detail),
          protocol_(std::move(protocol)),
          fault_(fault),
          offset_(offset) {}

    const std::string& protocol() const noexcept { return protocol_; }
    DecodeFault fault() const noexcept { return fault_; }
    std::size_t offset() const noexcept { return offset_; }

  private:
    std::string protocol_;
    DecodeFault fault_;
    std::size_t offset_;
};

}  // namespace fleet::ingest
