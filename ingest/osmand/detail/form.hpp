#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

/// Query-string and application/x-www-form-urlencoded parsing for the OsmAnd decoder.
namespace fleet::ingest::osmand::detail {

/// One decoded `name=value` pair, in the order it appeared.
struct Param {
    std::string name;
    std::string value;
    std::size_t offset = 0;  ///< byte position of the pair in the request body; 0 for the query
};

/// Decodes `%XX` escapes and '+' as space (WHATWG URL standard, "application/x-www-form-urlencoded
/// parsing"). A '%' not followed by two hex digits throws DecodeError (bad_value) at `offset` plus
/// the position of the '%', so that the client learns which escape is broken.
std::string percent_decode(std::string_view text, std::size_t offset);

/// Splits `a=1&b=2` into pairs and percent-decodes names and values. Empty segments (`a=1&&b=2`)
/// are skipped; a segment without '=' is a name with an empty value. When `in_body` is true,
/// offsets are `base_offset` plus the position in `text`; otherwise every offset is 0.
std::vector<Param> parse_form(std::string_view text, bool in_body, std::size_t base_offset = 0);

}  // namespace fleet::ingest::osmand::detail
