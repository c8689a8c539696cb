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

}  // namespace fleet::geo
