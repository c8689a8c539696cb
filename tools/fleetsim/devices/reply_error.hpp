#pragma once

#include <string>

#include "geo/error.hpp"

namespace fleet::tools::fleetsim::devices {

/// The server answered something a device cannot accept: a malformed or unexpected reply.
class ReplyError : public Error {
  public:
    ReplyError(const std::string& protocol, const std::string& problem)
        : Error(protocol + ": " + problem) {}
};

}  // namespace fleet::tools::fleetsim::devices
