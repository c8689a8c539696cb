#include "dispatch/detail/assignments.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

namespace fleet::dispatch::detail {

bool is_date(const std::string& text) {
    static const std::regex form(R"(^(\d{4})-(\d{2})-(\d{2})$)");
    std::smatch m;
    if (!std::regex_match(text, m, form)) {
        return false;
    }
    const std::chrono::year_month_day day{std::chrono::year(std::stoi(m[1])),
                                          std::chrono::month(std::stoul(m[2])),
                                          std::chrono::day(std::stoul(m[3]))};
    return day.ok();
}

std::optional<TimeText> parse_time(const std::string& text) {
    static const std::regex clock(R"(^(\d{1,2}):(\d{2})(?::(\d{2}))?$)");
    static const std::regex stamp(
        R"(^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?$)");
    std::smatch m;
    TimeText out;
    auto hms = [&](int h, int mi, int s, int max_h) {
        if (h > max_h || mi > 59 || s > 59) {
            return false;
        }
        out.seconds = h * 3600.0 + mi * 60.0 + s;
        return true;
    };
    if (std::regex_match(text, m, clock)) {
        if (!hms(std::stoi(m[1]), std::stoi(m[2]), m[3].matched ? std::stoi(m[3]) : 0, 47)) {
            return std::nullopt;
        }
        return out;
    }
    if (std::regex_match(text, m, stamp)) {
        out.date = m[1];
        if (!is_date(out.date) ||
            !hms(std::stoi(m[2]), std::stoi(m[3]), m[4].matched ? std::stoi(m[4]) : 0, 23)) {
            return std::nullopt;
        }
        if (m[5].matched) {
            const int oh = m[6].matched ? std::stoi(m[7]) : 0;
            const int om = m[8].matched ? std::stoi(m[8]) : 0;
            if (oh > 14 || om > 59) {
                return std::nullopt;
            }
            out.offset_s = (m[6] == "-" ? -1 : 1) * (oh * 3600.0 + om * 60.0);
        }
        return out;
    }
    return std::nullopt;
}

std::string iso_utc(Millis t) {
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::year_month_day ymd(day);
    const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - day));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                  static_cast<long>(hms.minutes().count()),
                  static_cast<long>(hms.seconds().count()));
    return buf;
}

std::string metres(double m) {
    return std::to_string(std::lround(m)) + " m";
}

Placement place_in_order(const geo::Polyline& line, const std::vector<geo::LonLat>& points,
                         double radius_m) {
    Placement out;
    double previous = 0;
    for (std::size_t i = 0; i < points.size(); ++i) {
        std::optional<double> along;
        for (const auto& c : line.candidates(points[i], radius_m)) {
            if (c.distance_along_m + geo::default_back_tolerance_m >= previous) {
                along = std::max(previous, c.distance_along_m);
                break;
            }
        }
        if (!along) {
            out.failed = i;
            return out;
        }
        previous = *along;
        out.along_m.push_back(*along);
    }
    return out;
}

std::string array_literal(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        out += (i ? "," : "") + std::to_string(values[i]);
    }
    return out + "}";
}

std::string array_literal(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        out += i ? ",\"" : "\"";
        for (const char c : values[i]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

}  // namespace fleet::dispatch::detail
