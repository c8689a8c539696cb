// libFuzzer target: native. Built and run by tools/fuzz (seeds in tests/fuzz/seeds/native.hex).
// The input is the byte stream of one terminal connection, cut and decoded as a session does.
// Only DecodeError is an expected outcome; anything else is a finding.
#include <cstddef>
#include <cstdint>

#include "ingest/decode_error.hpp"
#include "ingest/native/handler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fleet::ingest::native::Handler handler;
    fleet::ingest::ByteView stream(data, size);
    try {
        while (!stream.empty()) {
            const auto length = handler.frame_length(stream, 4096);
            if (!length) {
                break;
            }
            auto step = handler.on_frame(stream.first(*length));
            stream = stream.subspan(*length);
            if (step.login) {
                (void)handler.login_reply(true);
                handler.set_logged_in(true);
            }
            for (const auto& p : step.positions) {
                (void)p.attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            }
        }
    } catch (const fleet::ingest::DecodeError&) {
    }
    return 0;
}
