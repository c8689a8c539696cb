// libFuzzer target: gt06. Built and run by tools/fuzz (seeds in tests/fuzz/seeds/gt06.hex).
#include <cstddef>
#include <cstdint>

#include "ingest/decode_error.hpp"
#include "ingest/gt06/decoder.hpp"
#include "ingest/gt06/frame.hpp"
#include "ingest/gt06/handler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fleet::ingest::ByteView rest(data, size);
    // A session's handler, logged in, with a fixed clock: logins set the time zone, heartbeats
    // and alarms the status that later locations carry.
    fleet::ingest::gt06::Handler handler([] { return fleet::ingest::Millis{}; });
    handler.set_logged_in(true);
    // Commands outstanding with the server flags of the seeds' answers (0 and 9), so that
    // answers 0x15 and 0x21 become receipts.
    for (const std::uint64_t id : {0, 9}) {
        handler.on_downlink(
            {.kind = fleet::ingest::DownlinkMessage::Kind::command, .id = id, .text = "DYD#"});
    }
    try {
        // Cut the input like a session cuts its receive buffer, and decode every whole frame.
        while (auto length = fleet::ingest::gt06::frame_length(rest)) {
            const auto frame = rest.first(*length);
            rest = rest.subspan(*length);
            try {
                (void)handler.on_frame(frame);
            } catch (const fleet::ingest::DecodeError&) {
                // A rejected frame is an expected outcome; the next one is still tried.
            }
        }
    } catch (const fleet::ingest::DecodeError&) {
        // The framer gave up on the stream, as a session would close the connection.
    }
    // The decoder alone, on input that was not cut by the framer, in the extreme time zones.
    for (const int offset_min :
         {0, fleet::ingest::gt06::max_utc_offset_min, -fleet::ingest::gt06::max_utc_offset_min}) {
        try {
            (void)fleet::ingest::gt06::decode(fleet::ingest::ByteView(data, size),
                                              {.utc_offset_min = offset_min});
        } catch (const fleet::ingest::DecodeError&) {
            // Rejected, as most random inputs are; only crashes and sanitizer reports matter.
        }
    }
    return 0;
}
