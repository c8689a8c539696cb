// libFuzzer target: osmand. Built and run by tools/fuzz (seeds in tests/fuzz/seeds/osmand.hex).
// The first input byte picks the method and content type; the rest is "target\nbody".
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/decode_error.hpp"
#include "ingest/osmand/decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace fleet::ingest;
    if (size == 0) {
        return 0;
    }
    static constexpr const char* methods[] = {"GET", "POST", "PUT", "HEAD"};
    static constexpr const char* types[] = {"", "application/json",
                                            "application/x-www-form-urlencoded", "text/plain"};
    const std::uint8_t selector = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t newline = rest.find('\n');

    osmand::Request request;
    request.method = methods[selector & 3];
    request.content_type = types[(selector >> 2) & 3];
    request.target = std::string(rest.substr(0, newline));
    if (newline != std::string_view::npos) {
        request.body = std::string(rest.substr(newline + 1));
    }

    const Millis now{std::chrono::milliseconds{1'700'000'000'000}};
    try {
        const osmand::Report report = osmand::decode(request, now, 4096);
        if (report.device_id.empty() || report.positions.empty()) {
            std::abort();
        }
        for (const Position& position : report.positions) {
            if (!(std::fabs(position.latitude_deg) <= 90) ||
                !(std::fabs(position.longitude_deg) <= 180)) {
                std::abort();
            }
            // Attributes must serialise: a throw here (invalid UTF-8) is a finding.
            (void)position.attributes.dump();
        }
    } catch (const DecodeError& error) {
        // Every rejection must be usable as an HTTP reason phrase.
        for (const char c : std::string_view(error.what())) {
            if (c == '\r' || c == '\n') {
                std::abort();
            }
        }
    }
    return 0;
}
