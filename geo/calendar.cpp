#include "geo/calendar.hpp"

#include <charconv>
#include <chrono>

namespace fleet::geo {

namespace {

// The digits of text[from, from + n) as a number; false unless they are all digits.
bool digits(std::string_view text, std::size_t from, std::size_t n, unsigned& value) {
    const char* first = text.data() + from;
    const char* last = first + n;
    const auto [end, ec] = std::from_chars(first, last, value);
    return ec == std::errc() && end == last && first[0] != '+' && first[0] != '-';
}

}  // namespace

bool is_calendar_date(std::string_view text) {
    unsigned y = 0, m = 0, d = 0;
    if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(text, 0, 4, y) ||
        !digits(text, 5, 2, m) || !digits(text, 8, 2, d)) {
        return false;
    }
    return std::chrono::year_month_day(std::chrono::year(static_cast<int>(y)),
                                       std::chrono::month(m), std::chrono::day(d))
        .ok();
}

bool has_time_offset(std::string_view t) {
    if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) {
        return t.size() > 10;
    }
    const auto sign = t.find_last_of("+-");
    if (sign == std::string_view::npos || sign < 11 || t.find(':') == std::string_view::npos ||
        t.find(':') > sign) {
        return false;
    }
    std::size_t digits = 0;
    for (std::size_t i = sign + 1; i < t.size(); ++i) {
        if (t[i] >= '0' && t[i] <= '9') {
            ++digits;
        } else if (t[i] != ':' || i != sign + 3) {
            return false;
        }
    }
    return digits == 2 || digits == 4;
}

}  // namespace fleet::geo
