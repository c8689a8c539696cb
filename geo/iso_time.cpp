#include "geo/iso_time.hpp"

#include <charconv>
#include <cstdio>

namespace fleet::geo {

namespace {

// The n digits at text[at, at + n) as a number; false unless all are digits.
bool digits(std::string_view text, std::size_t at, std::size_t n, int& value) {
    if (at + n > text.size()) {
        return false;
    }
    value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        value = value * 10 + (text[i] - '0');
    }
    return true;
}

}  // namespace

std::string iso_utc(Millis time) {
    using namespace std::chrono;
    const auto day = floor<days>(time);
    const year_month_day ymd(day);
    const hh_mm_ss hms(time - day);
    const auto ms = static_cast<int>(hms.subseconds().count());
    char out[40];
    if (ms == 0) {
        std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                      static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count()));
    } else {
        std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                      static_cast<int>(hms.minutes().count()),
                      static_cast<int>(hms.seconds().count()), ms);
    }
    return out;
}

std::optional<Millis> parse_iso_time(std::string_view text) {
    using namespace std::chrono;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
    if (!digits(text, 0, 4, y) || text.size() < 16 || text[4] != '-' || !digits(text, 5, 2, mo) ||
        text[7] != '-' || !digits(text, 8, 2, d) || (text[10] != 'T' && text[10] != ' ') ||
        !digits(text, 11, 2, h) || text[13] != ':' || !digits(text, 14, 2, mi)) {
        return std::nullopt;
    }
    std::size_t at = 16;
    if (at < text.size() && text[at] == ':') {
        if (!digits(text, at + 1, 2, s)) {
            return std::nullopt;
        }
        at += 3;
        if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
            std::size_t n = 0;
            int scale = 100;
            ++at;
            while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
                ms += (text[at] - '0') * scale;
                scale /= 10;
                ++at;
                ++n;
            }
            if (n == 0 || n > 9) {
                return std::nullopt;
            }
        }
    }
    if (at >= text.size()) {
        return std::nullopt;  // no offset
    }
    int offset_min = 0;
    if (text[at] == 'Z' || text[at] == 'z') {
        ++at;
    } else if (text[at] == '+' || text[at] == '-') {
        const int sign = text[at] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!digits(text, at + 1, 2, oh)) {
            return std::nullopt;
        }
        at += 3;
        if (at < text.size() && text[at] == ':') {
            if (!digits(text, at + 1, 2, om)) {
                return std::nullopt;
            }
            at += 3;
        } else if (at < text.size()) {
            if (!digits(text, at, 2, om)) {
                return std::nullopt;
            }
            at += 2;
        }
        if (oh * 60 + om > 18 * 60 || om > 59) {
            return std::nullopt;
        }
        offset_min = sign * (oh * 60 + om);
    } else {
        return std::nullopt;
    }
    if (at != text.size() || y < 1900 || h > 23 || mi > 59 || s > 59) {
        return std::nullopt;
    }
    const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                             day(static_cast<unsigned>(d))};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return Millis(sys_days(ymd)) + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms) -
           minutes(offset_min);
}

}  // namespace fleet::geo
