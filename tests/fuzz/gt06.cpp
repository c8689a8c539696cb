// libFuzzer target: gt06. Built and run by tools/fuzz (seeds in tests/fuzz/seeds/gt06.hex).
// /fuzz/ are excluded), e.g.:
#include <cstddef>
#include <cstdint>

#include "ingest/decode_error.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fleet::ingest::ByteView rest(data, size);
    try {
        // Cut the input like a session cuts its receive buffer, and decode every whole frame.
        while (auto length = fleet::ingest::gt06::frame_length(rest)) {
            const auto frame = rest.first(*length);
            rest = rest.subspan(*length);
            try {
                (void)fleet::ingest::gt06::decode(frame);
            } catch (const fleet::ingest::DecodeError&) {
                // A rejected frame is an expected outcome; the next one is still tried.
            }
        }
    } catch (const fleet::ingest::DecodeError&) {
        // The framer gave up on the stream, as a session would close the connection.
    }
    // The decoder alone, on input that was not cut by the framer.
    try {
        (void)fleet::ingest::gt06::decode(fleet::ingest::ByteView(data, size));
    } catch (const fleet::ingest::DecodeError&) {
        // Rejected, as most random inputs are; only crashes and sanitizer reports matter.
    }
    return 0;
}
