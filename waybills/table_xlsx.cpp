// The only file that sees libxlsxwriter.

#include <xlsxwriter.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <system_error>

#include "geo/utf8.hpp"
#include "waybills/detail/cells.hpp"
#include "waybills/table.hpp"

namespace fleet::waybills {

namespace {

constexpr double min_column_width = 8;
constexpr double max_column_width = 60;
// Room for the autofilter's drop-down button in the header cell.
constexpr std::size_t filter_button_width = 3;

// Owns a workbook until workbook_close, which frees it whatever it returns.
class Workbook {
  public:
    explicit Workbook(const std::string& filename) : workbook_(workbook_new(filename.c_str())) {
        if (workbook_ == nullptr) {
            throw std::bad_alloc();
        }
    }
    Workbook(const Workbook&) = delete;
    Workbook& operator=(const Workbook&) = delete;
    ~Workbook() {
        if (workbook_ != nullptr) {
            lxw_workbook_free(workbook_);
        }
    }

    lxw_workbook* get() const { return workbook_; }

    lxw_error close() {
        lxw_workbook* workbook = workbook_;
        workbook_ = nullptr;
        return workbook_close(workbook);
    }

  private:
    lxw_workbook* workbook_;
};

std::string number_format(int decimals) {
    return decimals == 0 ? "0" : "0." + std::string(static_cast<std::size_t>(decimals), '0');
}

class Formats {
  public:
    explicit Formats(lxw_workbook* workbook) : workbook_(workbook) {
        header_ = workbook_add_format(workbook_);
        format_set_bold(header_);
    }

    lxw_format* header() const { return header_; }

    lxw_format* date(DateTime::Precision precision) {
        auto& format = dates_.at(static_cast<std::size_t>(precision));
        if (format == nullptr) {
            format = workbook_add_format(workbook_);
            format_set_num_format(format, precision == DateTime::Precision::minute
                                              ? "yyyy-mm-dd hh:mm"
                                          : precision == DateTime::Precision::day ? "yyyy-mm-dd"
                                                                                  : "yyyy-mm");
        }
        return format;
    }

    lxw_format* decimal(int decimals) {
        auto& format = decimals_.at(static_cast<std::size_t>(decimals));
        if (format == nullptr) {
            format = workbook_add_format(workbook_);
            format_set_num_format(format, number_format(decimals).c_str());
        }
        return format;
    }

  private:
    lxw_workbook* workbook_;
    lxw_format* header_;
    std::array<lxw_format*, 11> decimals_{};
    std::array<lxw_format*, 3> dates_{};
};

std::size_t display_length(const Cell& cell) {
    if (const auto* text = std::get_if<std::string>(&cell)) {
        // The longest line, for text with line breaks.
        std::size_t longest = 0;
        std::size_t begin = 0;
        while (begin <= text->size()) {
            const std::size_t end = std::min(text->find('\n', begin), text->size());
            longest = std::max(longest, geo::utf8_length(text->substr(begin, end - begin)));
            begin = end + 1;
        }
        return longest;
    }
    if (const auto* value = std::get_if<std::int64_t>(&cell)) {
        return std::to_string(*value).size();
    }
    if (const auto* d = std::get_if<Decimal>(&cell)) {
        return format_decimal(d->value, d->decimals).size();
    }
    if (const auto* t = std::get_if<DateTime>(&cell)) {
        return format_date_time(*t).size();
    }
    return 0;
}

lxw_datetime lxw_time(const DateTime& t) {
    using namespace std::chrono;
    lxw_datetime out{};
    const auto moment = floor<seconds>(sys_time<milliseconds>(milliseconds(t.wall_ms)));
    const auto day = floor<days>(moment);
    const year_month_day date(day);
    const hh_mm_ss time(moment - day);
    out = {
        .year = static_cast<int>(date.year()),
        .month = static_cast<int>(static_cast<unsigned>(date.month())),
        .day = static_cast<int>(static_cast<unsigned>(date.day())),
        .hour =
            t.precision == DateTime::Precision::minute ? static_cast<int>(time.hours().count()) : 0,
        .min = t.precision == DateTime::Precision::minute ? static_cast<int>(time.minutes().count())
                                                          : 0,
        .sec = 0};
    return out;
}

std::string cell_name(const Sheet& sheet, std::size_t row, std::size_t column) {
    std::string name = "sheet '" + sheet.name + "', ";
    name += row == 0 ? "header" : "row " + std::to_string(row);
    return name + ", column " + std::to_string(column + 1);
}

void check(lxw_error error, const Sheet& sheet, std::size_t row, std::size_t column) {
    if (error != LXW_NO_ERROR) {
        throw InputError(cell_name(sheet, row, column) + ": " + lxw_strerror(error));
    }
}

void write_sheet(lxw_workbook* workbook, Formats& formats, const Sheet& sheet) {
    if (sheet.name.empty()) {
        throw InputError("a sheet name must not be empty");
    }
    if (const lxw_error error = workbook_validate_sheet_name(workbook, sheet.name.c_str());
        error != LXW_NO_ERROR) {
        throw InputError("sheet name '" + sheet.name + "': " + lxw_strerror(error));
    }
    if (sheet.columns.size() > LXW_COL_MAX || sheet.rows.size() + 1 > LXW_ROW_MAX) {
        throw InputError("sheet '" + sheet.name + "' has more rows or columns than a worksheet " +
                         "holds (1 048 576 × 16 384)");
    }
    lxw_worksheet* worksheet = workbook_add_worksheet(workbook, sheet.name.c_str());
    if (worksheet == nullptr) {
        throw InputError("sheet '" + sheet.name + "' could not be added to the workbook");
    }

    std::vector<std::size_t> widths(sheet.columns.size());
    for (std::size_t c = 0; c < sheet.columns.size(); ++c) {
        const auto col = static_cast<lxw_col_t>(c);
        check(worksheet_write_string(worksheet, 0, col, sheet.columns[c].c_str(), formats.header()),
              sheet, 0, c);
        widths[c] = geo::utf8_length(sheet.columns[c]) + filter_button_width;
    }
    for (std::size_t r = 0; r < sheet.rows.size(); ++r) {
        const auto row = static_cast<lxw_row_t>(r + 1);
        for (std::size_t c = 0; c < sheet.columns.size(); ++c) {
            const auto col = static_cast<lxw_col_t>(c);
            const Cell& cell = sheet.rows[r][c];
            lxw_error error = LXW_NO_ERROR;
            if (const auto* text = std::get_if<std::string>(&cell)) {
                error = worksheet_write_string(worksheet, row, col, text->c_str(), nullptr);
            } else if (const auto* value = std::get_if<std::int64_t>(&cell)) {
                // Exact up to 2^53, far beyond odometers and counts.
                error = worksheet_write_number(worksheet, row, col, static_cast<double>(*value),
                                               nullptr);
            } else if (const auto* d = std::get_if<Decimal>(&cell)) {
                error = worksheet_write_number(worksheet, row, col, d->value,
                                               formats.decimal(d->decimals));
            } else if (const auto* t = std::get_if<DateTime>(&cell)) {
                lxw_datetime when = lxw_time(*t);
                error = worksheet_write_datetime(worksheet, row, col, &when,
                                                 formats.date(t->precision));
            }
            check(error, sheet, r + 1, c);
            widths[c] = std::max(widths[c], display_length(cell));
        }
    }

    for (std::size_t c = 0; c < widths.size(); ++c) {
        const double width =
            std::clamp(static_cast<double>(widths[c]) + 1, min_column_width, max_column_width);
        const auto col = static_cast<lxw_col_t>(c);
        check(worksheet_set_column(worksheet, col, col, width, nullptr), sheet, 0, c);
    }
    worksheet_freeze_panes(worksheet, 1, 0);
    check(worksheet_autofilter(worksheet, 0, 0, static_cast<lxw_row_t>(sheet.rows.size()),
                               static_cast<lxw_col_t>(sheet.columns.size() - 1)),
          sheet, 0, 0);
}

}  // namespace

void write_xlsx(const std::filesystem::path& path, const std::vector<Sheet>& sheets) {
    if (sheets.empty()) {
        throw InputError("an XLSX workbook needs at least one sheet");
    }
    for (const auto& sheet : sheets) {
        detail::validate_cells(sheet);
    }

    // libxlsxwriter creates the file only in workbook_close; until then nothing touches the
    // file system, and an error above leaves no trace.
    std::filesystem::path partial = path;
    partial += ".part";
    Workbook workbook(partial.string());
    Formats formats(workbook.get());
    for (const auto& sheet : sheets) {
        write_sheet(workbook.get(), formats, sheet);
    }

    errno = 0;
    const lxw_error error = workbook.close();
    const int system_error = errno;
    if (error != LXW_NO_ERROR) {
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        std::string problem = lxw_strerror(error);
        if (system_error != 0) {
            problem += " (" + std::string(std::strerror(system_error)) + ")";
        }
        throw ReportWriteError(path, problem);
    }
    std::error_code renamed;
    std::filesystem::rename(partial, path, renamed);
    if (renamed) {
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        throw ReportWriteError(path, renamed.message());
    }
}

}  // namespace fleet::waybills
