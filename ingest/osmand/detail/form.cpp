#include "ingest/osmand/detail/form.hpp"

#include "ingest/bytes.hpp"
#include "ingest/decode_error.hpp"

namespace fleet::ingest::osmand::detail {

namespace {

/// Decodes one name or value; on a bad escape the error offset is `offset` plus the position of the
/// '%' in the body, or 0 for the query string.
std::string decode_component(std::string_view text, bool in_body, std::size_t offset) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            const int high = i + 1 < text.size() ? hex_digit_value(text[i + 1]) : -1;
            const int low = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
            if (high < 0 || low < 0) {
                // Echo at most the two characters after '%', printable ones only, so the message
                // stays safe to send back as an HTTP reason phrase.
                std::string shown = "%";
                for (std::size_t j = i + 1; j < text.size() && j < i + 3; ++j) {
                    const auto byte = static_cast<unsigned char>(text[j]);
                    shown.push_back(byte >= 0x20 && byte < 0x7f ? text[j] : '?');
                }
                throw DecodeError("osmand", DecodeFault::bad_value, in_body ? offset + i : 0,
                                  "malformed percent-encoding '" + shown +
                                      "': '%' must be followed by two hex digits");
            }
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace

std::string percent_decode(std::string_view text, std::size_t offset) {
    return decode_component(text, true, offset);
}

std::vector<Param> parse_form(std::string_view text, bool in_body, std::size_t base_offset) {
    std::vector<Param> params;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('&', start);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const std::string_view pair = text.substr(start, end - start);
        if (!pair.empty()) {
            const std::size_t at = in_body ? base_offset + start : 0;
            const std::size_t eq = pair.find('=');
            Param param;
            param.offset = at;
            if (eq == std::string_view::npos) {
                param.name = decode_component(pair, in_body, at);
            } else {
                param.name = decode_component(pair.substr(0, eq), in_body, at);
                param.value = decode_component(pair.substr(eq + 1), in_body, at + eq + 1);
            }
            params.push_back(std::move(param));
        }
        start = end + 1;
    }
    return params;
}

}  // namespace fleet::ingest::osmand::detail
