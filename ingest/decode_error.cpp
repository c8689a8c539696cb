#include "ingest/decode_error.hpp"

namespace fleet::ingest {

const char* to_string(DecodeFault fault) {
    switch (fault) {
        case DecodeFault::truncated:
            return "truncated frame";
        case DecodeFault::oversized:
            return "oversized frame";
        case DecodeFault::bad_checksum:
            return "bad checksum";
        case DecodeFault::bad_length:
            return "bad length";
        case DecodeFault::bad_value:
            return "bad value";
        case DecodeFault::unsupported:
            return "unsupported message";
    }
    return "decode error";
}

}  // namespace fleet::ingest
