#include "server/api/json_writer.hpp"

#include <charconv>
#include <cmath>

#include "geo/utf8.hpp"

namespace fleet::server::api {

void JsonWriter::value_start() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_) {
        out_ += ',';
    }
    first_ = false;
}

void JsonWriter::key(std::string_view name) {
    if (!first_) {
        out_ += ',';
    }
    first_ = false;
    escaped(name);
    out_ += ':';
    after_key_ = true;
}

void JsonWriter::text(std::string_view s) {
    value_start();
    escaped(s);
}

void JsonWriter::escaped(std::string_view s) {
    out_ += '"';
    static constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out_ += '\\';
            out_ += static_cast<char>(c);
            ++i;
        } else if (c < 0x20) {
            switch (c) {
                case '\n':
                    out_ += "\\n";
                    break;
                case '\r':
                    out_ += "\\r";
                    break;
                case '\t':
                    out_ += "\\t";
                    break;
                default:
                    out_ += "\\u00";
                    out_ += hex[c >> 4];
                    out_ += hex[c & 0x0f];
            }
            ++i;
        } else if (c < 0x80) {
            out_ += static_cast<char>(c);
            ++i;
        } else {
            const auto n = geo::utf8_sequence_length(s, i);
            if (n == 0) {
                out_ += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no sequence
                ++i;
            } else {
                out_.append(s.substr(i, n));
                i += n;
            }
        }
    }
    out_ += '"';
}

void JsonWriter::number(double v) {
    if (!std::isfinite(v)) {
        null();
        return;
    }
    value_start();
    char buffer[32];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    out_.append(buffer, ec == std::errc() ? end : buffer);
}

void JsonWriter::integer(std::int64_t v) {
    value_start();
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    out_.append(buffer, ec == std::errc() ? end : buffer);
}

void JsonWriter::boolean(bool v) {
    value_start();
    out_ += v ? "true" : "false";
}

void JsonWriter::null() {
    value_start();
    out_ += "null";
}

}  // namespace fleet::server::api
