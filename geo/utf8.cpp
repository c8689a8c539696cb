#include "geo/utf8.hpp"

#include "geo/error.hpp"

namespace fleet::geo {

std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        return 1;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        lo = b0 == 0xE0 ? 0xA0 : 0x80;
        hi = b0 == 0xED ? 0x9F : 0xBF;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        lo = b0 == 0xF0 ? 0x90 : 0x80;
        hi = b0 == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (i + n > text.size()) {
        return 0;
    }
    if (byte(i + 1) < lo || byte(i + 1) > hi) {
        return 0;
    }
    for (std::size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
            return 0;
        }
    }
    return n;
}

bool is_valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

std::size_t utf8_length(std::string_view text) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < text.size(); ++count) {
        const std::size_t n = utf8_sequence_length(text, i);
        i += n == 0 ? 1 : n;
    }
    return count;
}

void check_text(const std::string& field, std::string_view text, std::size_t max, bool required,
                bool lines) {
    if (required && text.empty()) {
        throw InputError(field + " is empty");
    }
    if (!is_valid_utf8(text)) {
        throw InputError(field + " is not valid UTF-8");
    }
    for (const char c : text) {
        const auto b = static_cast<unsigned char>(c);
        if ((b < 0x20 && !(lines && (c == '\n' || c == '\r' || c == '\t'))) || b == 0x7f) {
            throw InputError(field + " holds a control character");
        }
    }
    if (const auto n = utf8_length(text); n > max) {
        throw InputError(field + " is " + std::to_string(n) + " characters; at most " +
                         std::to_string(max) + " fit");
    }
}

}  // namespace fleet::geo
