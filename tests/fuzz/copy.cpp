// libFuzzer target: the binary COPY reader of waybill reconciliation (waybills/detail/
// copy_reader), fed arbitrary bytes in arbitrary chunks as PQgetCopyData would hand them over.
// Built and run by tools/fuzz (seeds in tests/fuzz/seeds/copy.hex).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "geo/error.hpp"
#include "waybills/detail/copy_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    std::size_t rows = 0;
    fleet::waybills::detail::FixCopyParser parser(
        [&](const fleet::waybills::detail::FixRow&) { ++rows; });
    // The first byte picks the chunk size, so the same stream is also cut in odd places.
    const std::size_t chunk = 1 + data[0] % 17;
    const auto* bytes = reinterpret_cast<const char*>(data + 1);
    const std::size_t n = size - 1;
    try {
        for (std::size_t at = 0; at < n; at += chunk) {
            parser.feed(std::string_view(bytes + at, at + chunk <= n ? chunk : n - at));
        }
        parser.finish();
    } catch (const fleet::DatabaseError&) {
        // Refused, as most random streams are; only crashes and sanitizer reports matter.
    }
    return 0;
}
