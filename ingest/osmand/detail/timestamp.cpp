#include "ingest/osmand/detail/timestamp.hpp"

#include <charconv>
#include <cstdint>

namespace fleet::ingest::osmand::detail {

namespace {

using namespace std::chrono;

// Traccar: `if (timestamp < Integer.MAX_VALUE) timestamp *= 1000;` - a value that fits a signed
// 32-bit count of seconds (until 2038) is seconds, anything larger is milliseconds.
constexpr std::int64_t seconds_limit = 2147483647;
// 9999-12-31T23:59:59.999Z; later instants do not fit an ISO 8601 four-digit year.
constexpr std::int64_t max_millis = 253402300799999;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/// Reads exactly `count` digits at `pos`.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t count, int& out) {
    if (pos + count > text.size()) {
        return false;
    }
    int value = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const char c = text[pos + i];
        if (!is_digit(c)) {
            return false;
        }
        value = value * 10 + (c - '0');
    }
    out = value;
    pos += count;
    return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
    if (pos < text.size() && text[pos] == c) {
        ++pos;
        return true;
    }
    return false;
}

std::optional<Millis> parse_epoch(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    const std::int64_t millis = value < seconds_limit ? value * 1000 : value;
    if (millis > max_millis) {
        return std::nullopt;
    }
    return Millis{milliseconds{millis}};
}

std::optional<Millis> parse_date_time(std::string_view text) {
    std::size_t pos = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!read_digits(text, pos, 4, y) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, mo) || !expect(text, pos, '-') ||
        !read_digits(text, pos, 2, d)) {
        return std::nullopt;
    }
    if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
        return std::nullopt;
    }
    ++pos;
    if (!read_digits(text, pos, 2, h) || !expect(text, pos, ':') ||
        !read_digits(text, pos, 2, mi)) {
        return std::nullopt;
    }
    if (expect(text, pos, ':') && !read_digits(text, pos, 2, s)) {
        return std::nullopt;
    }
    int millis = 0;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
        ++pos;
        // Up to nanoseconds; digits past the millisecond are dropped.
        std::size_t digits = 0;
        int scale = 100;
        while (pos < text.size() && is_digit(text[pos]) && digits < 9) {
            millis += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
            ++digits;
        }
        if (digits == 0) {
            return std::nullopt;
        }
    }
    int offset_minutes = 0;
    if (pos < text.size()) {
        const char sign = text[pos];
        if (sign == 'Z' || sign == 'z') {
            ++pos;
        } else if (sign == '+' || sign == '-') {
            ++pos;
            int oh = 0, om = 0;
            if (!read_digits(text, pos, 2, oh)) {
                return std::nullopt;
            }
            if (pos < text.size()) {
                expect(text, pos, ':');
                if (!read_digits(text, pos, 2, om)) {
                    return std::nullopt;
                }
            }
            if (oh > 23 || om > 59) {
                return std::nullopt;
            }
            offset_minutes = (sign == '-' ? -1 : 1) * (oh * 60 + om);
        } else {
            return std::nullopt;
        }
    }
    if (pos != text.size()) {
        return std::nullopt;
    }
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                              day{static_cast<unsigned>(d)}};
    if (!date.ok() || h > 23 || mi > 59 || s > 59) {
        return std::nullopt;
    }
    const Millis local =
        sys_days{date} + hours{h} + minutes{mi} + seconds{s} + milliseconds{millis};
    const Millis utc = local - minutes{offset_minutes};
    if (utc.time_since_epoch().count() > max_millis) {
        return std::nullopt;
    }
    return utc;
}

}  // namespace

std::optional<Millis> parse_timestamp(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    bool all_digits = true;
    for (const char c : text) {
        all_digits = all_digits && is_digit(c);
    }
    return all_digits ? parse_epoch(text) : parse_date_time(text);
}

}  // namespace fleet::ingest::osmand::detail
