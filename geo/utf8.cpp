#include "geo/utf8.hpp"

#include <array>

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

namespace {

// The code point of the well-formed sequence of `n` bytes at text[i].
char32_t code_point(std::string_view text, std::size_t i, std::size_t n) {
    const auto b = [&](std::size_t k) { return static_cast<char32_t>(text[i + k]) & 0xFF; };
    switch (n) {
        case 1:
            return b(0);
        case 2:
            return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
        case 3:
            return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        default:
            return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) |
                   (b(3) & 0x3F);
    }
}

// А..Я (U+0410..U+042F) in ICAO Doc 9303; "" for Ь, which is not written.
constexpr std::array<const char*, 32> russian = {
    "A", "B", "V", "G", "D", "E",  "ZH", "Z",  "I",  "I",    "K",  "L", "M", "N", "O",  "P",
    "R", "S", "T", "U", "F", "KH", "TS", "CH", "SH", "SHCH", "IE", "Y", "",  "E", "IU", "IA"};

// U+00C0..U+00FF, capitals as capitals.
constexpr std::array<const char*, 64> latin1 = {
    "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I",  "I",
    "D", "N", "O", "O", "O", "O", "O",  "x", "O", "U", "U", "U", "U", "Y", "TH", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "/", "o", "u", "u", "u", "u", "y", "th", "y"};

// The letters of a Cyrillic or Latin-1 capital, in capitals; nullptr when `c` is none.
const char* capital_letters(char32_t c) {
    if (c >= 0x0410 && c <= 0x042F) {
        return russian[c - 0x0410];
    }
    switch (c) {
        case 0x0401:  // Ё
            return "E";
        case 0x0404:  // Є
            return "IE";
        case 0x0406:  // І
        case 0x0407:  // Ї
            return "I";
        case 0x040E:  // Ў
            return "U";
        case 0x0490:  // Ґ
            return "G";
        default:
            return nullptr;
    }
}

// The capital of a Cyrillic small letter, or 0.
char32_t cyrillic_capital(char32_t c) {
    if (c == 0) {
        return 0;
    }
    if (c >= 0x0430 && c <= 0x044F) {
        return c - 0x20;
    }
    if (c >= 0x0450 && c <= 0x045F) {
        return c - 0x50;
    }
    return c == 0x0491 ? 0x0490 : 0;
}

bool is_lower(char32_t c) {
    return (c >= 'a' && c <= 'z') || capital_letters(cyrillic_capital(c)) != nullptr ||
           (c >= 0xDF && c <= 0xFF);
}
bool is_upper(char32_t c) {
    return (c >= 'A' && c <= 'Z') || capital_letters(c) != nullptr || (c >= 0xC0 && c <= 0xDE);
}

// Punctuation and spaces with an ASCII look-alike; nullptr when none.
const char* look_alike(char32_t c) {
    switch (c) {
        case 0x00A0:  // no-break space
        case 0x2002:
        case 0x2003:
        case 0x2009:
        case 0x202F:
            return " ";
        case 0x00AB:  // « »
        case 0x00BB:
        case 0x201C:  // “ ” „
        case 0x201D:
        case 0x201E:
            return "\"";
        case 0x2018:  // ‘ ’ ‚
        case 0x2019:
        case 0x201A:
            return "'";
        case 0x2010:  // hyphens and dashes, the minus sign
        case 0x2011:
        case 0x2012:
        case 0x2013:
        case 0x2014:
        case 0x2015:
        case 0x2212:
            return "-";
        case 0x2026:
            return "...";
        case 0x2116:  // №
            return "No";
        case 0x00B0:  // °
            return "deg";
        case 0x00B7:
            return ".";
        case 0x2022:
            return "*";
        default:
            return nullptr;
    }
}

}  // namespace

std::string ascii_transliteration(std::string_view text) {
    // The text as code points (a byte that is not UTF-8 as U+FFFD), so that each letter can
    // look at its neighbours.
    std::u32string points;
    points.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = utf8_sequence_length(text, i);
        points.push_back(n == 0 ? U'\uFFFD' : code_point(text, i, n));
        i += n == 0 ? 1 : n;
    }
    std::string out;
    out.reserve(text.size());
    for (std::size_t k = 0; k < points.size(); ++k) {
        const char32_t c = points[k];
        if (c >= 0x20 && c < 0x7F) {
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
            out += ' ';
        } else if (const char* p = look_alike(c)) {
            out += p;
        } else if (c >= 0xC0 && c <= 0xFF) {
            out += latin1[c - 0xC0];
        } else if (const char32_t capital = cyrillic_capital(c); capital_letters(capital)) {
            for (const char* p = capital_letters(capital); *p; ++p) {
                out += static_cast<char>(*p - 'A' + 'a');
            }
        } else if (const char* letters = capital_letters(c)) {
            // "ZH" before a capital or after one without a small letter next: in capitals.
            const bool next_small = k + 1 < points.size() && is_lower(points[k + 1]);
            const bool capitals =
                !next_small && ((k + 1 < points.size() && is_upper(points[k + 1])) ||
                                (k > 0 && is_upper(points[k - 1])));
            for (const char* p = letters; *p; ++p) {
                out += p == letters || capitals ? *p : static_cast<char>(*p - 'A' + 'a');
            }
        } else {
            out += '?';
        }
    }
    return out;
}

}  // namespace fleet::geo
