#include "waybills/table.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "geo/utf8.hpp"
#include "waybills/detail/cells.hpp"

namespace fleet::waybills {

namespace {

constexpr int max_decimals = 10;

std::string where(const Sheet& sheet, std::size_t row, std::size_t column) {
    std::string text = "sheet '" + sheet.name + "', ";
    text += row == 0 ? "header" : "row " + std::to_string(row);
    text += ", column " + std::to_string(column + 1);
    if (column < sheet.columns.size()) {
        text += " ('" + sheet.columns[column] + "')";
    }
    return text;
}

void require_decimals(int decimals) {
    if (decimals < 0 || decimals > max_decimals) {
        throw InputError("decimals must be within 0..10 (got " + std::to_string(decimals) + ")");
    }
}

// Adds one to a string of decimal digits.
void increment(std::string& digits) {
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (*it != '9') {
            ++*it;
            return;
        }
        *it = '0';
    }
    digits.insert(digits.begin(), '1');
}

bool needs_quotes(const std::string& field) {
    return field.find_first_of(",\"\r\n") != std::string::npos;
}

void write_field(std::ostream& out, const std::string& field) {
    if (!needs_quotes(field)) {
        out << field;
        return;
    }
    out << '"';
    for (const char c : field) {
        if (c == '"') {
            out << '"';
        }
        out << c;
    }
    out << '"';
}

// OWASP, "CSV Injection": a spreadsheet takes a cell that begins with = + - @ (or a tab or a
// carriage return, which some strip before looking) for a formula; a single quote in front
// makes it text.
bool formula_like(const std::string& text) {
    return !text.empty() &&
           std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos;
}

void write_text(std::ostream& out, const std::string& text) {
    write_field(out, formula_like(text) ? "'" + text : text);
}

struct CsvField {
    std::ostream& out;
    void operator()(const std::monostate&) const {}
    void operator()(const std::string& text) const { write_text(out, text); }
    void operator()(std::int64_t value) const { out << std::to_string(value); }
    void operator()(const Decimal& d) const { out << format_decimal(d.value, d.decimals); }
    void operator()(const DateTime& t) const { out << format_date_time(t); }
};

}  // namespace

namespace detail {

void validate_cells(const Sheet& sheet) {
    if (!geo::is_valid_utf8(sheet.name)) {
        throw InputError("a sheet name is not valid UTF-8");
    }
    if (sheet.columns.empty()) {
        throw InputError("sheet '" + sheet.name + "' has no columns");
    }
    for (std::size_t c = 0; c < sheet.columns.size(); ++c) {
        if (!geo::is_valid_utf8(sheet.columns[c])) {
            throw InputError(where(sheet, 0, c) + ": the title is not valid UTF-8");
        }
    }
    for (std::size_t r = 0; r < sheet.rows.size(); ++r) {
        const auto& row = sheet.rows[r];
        if (row.size() != sheet.columns.size()) {
            throw InputError("sheet '" + sheet.name + "', row " + std::to_string(r + 1) + " has " +
                             std::to_string(row.size()) + " cells for " +
                             std::to_string(sheet.columns.size()) + " columns");
        }
        for (std::size_t c = 0; c < row.size(); ++c) {
            if (const auto* text = std::get_if<std::string>(&row[c])) {
                if (!geo::is_valid_utf8(*text)) {
                    throw InputError(where(sheet, r + 1, c) + ": the text is not valid UTF-8");
                }
            } else if (const auto* d = std::get_if<Decimal>(&row[c])) {
                if (!std::isfinite(d->value)) {
                    throw InputError(where(sheet, r + 1, c) + ": the number is not finite");
                }
                if (d->decimals < 0 || d->decimals > max_decimals) {
                    throw InputError(where(sheet, r + 1, c) + ": decimals must be within 0..10 " +
                                     "(got " + std::to_string(d->decimals) + ")");
                }
            }
        }
    }
}

}  // namespace detail

std::string format_decimal(double value, int decimals) {
    require_decimals(decimals);
    if (!std::isfinite(value)) {
        throw InputError("a decimal to format is not finite");
    }
    // 15 significant digits, "d.dddddddddddddde±XX": what a spreadsheet works with, and free of
    // the binary noise beyond (12.6 computed as 12.599999999999998 is 12.6000000000000).
    std::array<char, 40> buf{};
    const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(value),
                                   std::chars_format::scientific, 14)
                         .ptr;
    const std::string text(buf.data(), end);
    const std::string digits = text.substr(0, 1) + text.substr(2, 14);
    const auto e = text.find('e');
    int exponent = 0;
    const char* exponent_begin = text.data() + e + 1 + (text[e + 1] == '+' ? 1 : 0);
    std::from_chars(exponent_begin, text.data() + text.size(), exponent);

    // digits[i] stands for 10^(exponent − i); keep those down to 10^(−decimals) and round the
    // rest half away from zero. `kept` then counts units of 10^(−decimals).
    const int keep = exponent + decimals + 1;
    std::string kept;
    if (keep < 0) {
        kept = "0";
    } else if (keep == 0) {
        kept = digits[0] >= '5' ? "1" : "0";
    } else if (keep >= static_cast<int>(digits.size())) {
        kept = digits + std::string(static_cast<std::size_t>(keep) - digits.size(), '0');
    } else {
        kept = digits.substr(0, static_cast<std::size_t>(keep));
        if (digits[static_cast<std::size_t>(keep)] >= '5') {
            increment(kept);
        }
    }
    const auto width = static_cast<std::size_t>(decimals) + 1;
    if (kept.size() < width) {
        kept.insert(0, width - kept.size(), '0');
    }
    const bool zero = kept.find_first_not_of('0') == std::string::npos;
    std::string out = value < 0 && !zero ? "-" : "";
    out += kept.substr(0, kept.size() - static_cast<std::size_t>(decimals));
    if (decimals > 0) {
        out += '.';
        out += kept.substr(kept.size() - static_cast<std::size_t>(decimals));
    }
    return out;
}

DateTime date_cell(const std::string& date) {
    using namespace std::chrono;
    const bool month_only = date.size() == 7;
    const auto number = [&](std::size_t at, std::size_t n) {
        int v = -1;
        const auto [end, ec] = std::from_chars(date.data() + at, date.data() + at + n, v);
        return ec == std::errc() && end == date.data() + at + n ? v : -1;
    };
    const bool shaped = (date.size() == 10 && date[7] == '-') || month_only;
    const year_month_day day{
        year(shaped ? number(0, 4) : -1),
        month(static_cast<unsigned>(shaped && date[4] == '-' ? number(5, 2) : 0)),
        std::chrono::day(static_cast<unsigned>(month_only ? 1 : (shaped ? number(8, 2) : 0)))};
    if (!shaped || !day.ok()) {
        throw InputError("'" + date + "' is not a date YYYY-MM-DD or a month YYYY-MM");
    }
    return {.wall_ms = duration_cast<milliseconds>(sys_days(day).time_since_epoch()).count(),
            .precision = month_only ? DateTime::Precision::month : DateTime::Precision::day};
}

std::string format_date_time(const DateTime& t) {
    using namespace std::chrono;
    const auto moment = floor<minutes>(sys_time<milliseconds>(milliseconds(t.wall_ms)));
    const auto day = floor<days>(moment);
    const year_month_day date(day);
    const hh_mm_ss time(moment - day);
    char out[32];
    if (t.precision == DateTime::Precision::month) {
        std::snprintf(out, sizeof out, "%04d-%02u", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()));
    } else if (t.precision == DateTime::Precision::day) {
        std::snprintf(out, sizeof out, "%04d-%02u-%02u", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    } else {
        std::snprintf(out, sizeof out, "%04d-%02u-%02u %02d:%02d", static_cast<int>(date.year()),
                      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                      static_cast<int>(time.hours().count()),
                      static_cast<int>(time.minutes().count()));
    }
    return out;
}

std::string format_number(double value) {
    if (!std::isfinite(value)) {
        return std::isnan(value) ? "nan" : (value < 0 ? "-inf" : "inf");
    }
    char out[64];
    const auto [end, ec] = std::to_chars(out, out + sizeof out, value, std::chars_format::fixed);
    if (ec != std::errc()) {
        return std::to_string(value);
    }
    return std::string(out, end);
}

double round_decimal(double value, int decimals) {
    const std::string text = format_decimal(value, decimals);
    double rounded = 0;
    std::from_chars(text.data(), text.data() + text.size(), rounded);
    return rounded;
}

void write_csv(std::ostream& out, const Sheet& sheet) {
    detail::validate_cells(sheet);
    for (std::size_t c = 0; c < sheet.columns.size(); ++c) {
        if (c > 0) {
            out << ',';
        }
        write_text(out, sheet.columns[c]);
    }
    out << "\r\n";
    for (const auto& row : sheet.rows) {
        for (std::size_t c = 0; c < row.size(); ++c) {
            if (c > 0) {
                out << ',';
            }
            std::visit(CsvField{out}, row[c]);
        }
        out << "\r\n";
    }
}

}  // namespace fleet::waybills
