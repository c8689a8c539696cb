// libFuzzer target: teltonika. Built and run by tools/fuzz (seeds in
// tests/fuzz/seeds/teltonika.hex). libFuzzer target for the Teltonika framing and decoders: the
// input is treated as the byte stream of one connection (IMEI login, then packets), cut into frames
// and decoded the way a session does. Only DecodeError is an expected outcome; anything else is a
// finding.
//

#include <cstddef>
#include <cstdint>

#include "ingest/decode_error.hpp"
#include "ingest/teltonika/decoder.hpp"
#include "ingest/teltonika/frame.hpp"

namespace teltonika = fleet::ingest::teltonika;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A small cap so that the fuzzer reaches the oversized path too.
    constexpr std::size_t max_frame_bytes = 4096;
    fleet::ingest::ByteView stream(data, size);
    auto state = teltonika::FrameState::login;
    try {
        while (!stream.empty()) {
            const auto length = teltonika::next_frame_length(stream, state, max_frame_bytes);
            if (!length) {
                break;
            }
            const auto frame = stream.first(*length);
            stream = stream.subspan(*length);
            if (state == teltonika::FrameState::login) {
                (void)teltonika::decode_imei(frame);
                state = teltonika::FrameState::logged_in;
            } else if (teltonika::frame_codec(frame) == teltonika::codec12) {
                (void)teltonika::decode_command_response(frame);
            } else {
                const auto packet = teltonika::decode_packet(frame);
                // Serialise what a store would see, so every attribute value is touched.
                for (const auto& position : packet.records) {
                    (void)position.attributes.dump();
                }
            }
        }
    } catch (const fleet::ingest::DecodeError&) {
        // Malformed input is expected here; the session would drop the connection.
    }
    // Also the decoders on the raw input, without framing.
    try {
        (void)teltonika::decode_packet(fleet::ingest::ByteView(data, size));
    } catch (const fleet::ingest::DecodeError&) {
        // Expected for most inputs, as above.
    }
    try {
        (void)teltonika::decode_command_response(fleet::ingest::ByteView(data, size));
    } catch (const fleet::ingest::DecodeError&) {
        // Expected for most inputs, as above.
    }
    return 0;
}
