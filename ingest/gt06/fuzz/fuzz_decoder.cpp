// libFuzzer target for the GT06 framer and decoder. Built outside the normal build (paths with
// /fuzz/ are excluded), e.g.:
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     ingest/gt06/fuzz/fuzz_decoder.cpp ingest/gt06/*.cpp ingest/bytes.cpp ingest/decode_error.cpp
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
