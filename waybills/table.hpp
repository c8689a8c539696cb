#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <variant>
#include <vector>

#include "geo/error.hpp"

/// Report tables for accountants: a sheet of typed cells, written as CSV (RFC 4180) or as an
/// XLSX workbook. The writers know nothing about waybills; the reports build sheets.
namespace fleet::waybills {

/// A number shown with a fixed number of decimals (litres to 2, kilometres to 1, ...). The
/// value is kept as it is; only its display is rounded.
struct Decimal {
    double value = 0;
    /// Digits after the decimal point, 0–10.
    int decimals = 2;
};

/// A moment as a clock on the wall shows it, already in the zone the sheet names in its header;
/// shown to the minute, the day or the month. A spreadsheet sorts and subtracts these.
struct DateTime {
    enum class Precision { minute, day, month };
    /// Milliseconds from 1970-01-01 00:00 of that wall clock to the moment shown (the Unix time
    /// plus the zone's offset then); the part below the precision is not shown.
    std::int64_t wall_ms = 0;
    Precision precision = Precision::minute;
};

/// The DateTime of a calendar day "YYYY-MM-DD" (or month "YYYY-MM") at its precision. Throws
/// InputError for text that is not one.
DateTime date_cell(const std::string& date);

/// The wall-clock text of `t`: "2026-11-27 07:30", "2026-11-27" or "2026-11".
std::string format_date_time(const DateTime& t);

/// One cell: empty, text (UTF-8), an integer, a decimal number or a date (and time).
using Cell = std::variant<std::monostate, std::string, std::int64_t, Decimal, DateTime>;

/// A named table with a header row. Every row has exactly one cell per column.
struct Sheet {
    /// The worksheet's name in a workbook: 1–31 characters, none of []:*?/\, unique within the
    /// workbook and not beginning or ending with an apostrophe (Excel's rules).
    std::string name{};
    /// Column titles, the header row.
    std::vector<std::string> columns{};
    std::vector<std::vector<Cell>> rows{};
};

/// A report file could not be written; names the file and says why.
class ReportWriteError : public Error {
  public:
    ReportWriteError(std::filesystem::path path, const std::string& problem)
        : Error("cannot write '" + path.string() + "': " + problem), path_(std::move(path)) {}
    const std::filesystem::path& path() const noexcept { return path_; }

  private:
    std::filesystem::path path_;
};

/// The value `format_decimal` shows, as a number: `value` rounded to `decimals` digits by the
/// same rule (2.675 gives 2.68, 18.449999999999996 gives 18.45). Throws InputError as
/// `format_decimal` does.
double round_decimal(double value, int decimals);

/// The text of a decimal as both writers show it: `decimals` digits after a '.', rounded half
/// away from zero on the value's 15 significant digits (as a spreadsheet shows it, so that
/// 2.675 gives "2.68" although its binary value is slightly below), no thousands separator, and
/// no sign when the rounded value is zero ("-0.001" at 2 decimals gives "0.00").
std::string format_decimal(double value, int decimals);

/// A number in a message as people write it: the shortest text that reads back as `value`, with
/// no trailing zeros ("-3", "2.5", "152342.5"); "nan" and "inf" for what is not finite.
std::string format_number(double value);

/// Writes `sheet` as CSV by RFC 4180: a header row of the column titles, then one record per
/// row; fields separated by ',' and records ended by CRLF (the RFC's line break, which every
/// spreadsheet and CSV reader accepts); a field is quoted when it contains a comma, a quote,
/// CR or LF, with its quotes doubled; text is written as UTF-8 with no byte-order mark;
/// integers in full, decimals by `format_decimal`, dates by `format_date_time`; an empty cell is
/// an empty field. A text
/// cell (a column title included) that begins with '=', '+', '-', '@', a tab or a carriage
/// return is neutralised with a single quote before it (OWASP's advice against CSV injection:
/// a spreadsheet would otherwise take "=HYPERLINK(...)" or "@SUM(...)" for a formula and run
/// it), so "-3.50" written as text reads "'-3.50"; integers and decimals are numbers, not text,
/// and keep their sign ("-3.50" as a Decimal stays -3.50).
/// Throws InputError for a sheet without columns, and naming the sheet, row and column for a
/// row of the wrong width, text that is not valid UTF-8, or a decimal that is not finite or
/// has decimals outside 0–10; the sheet is checked before anything is written. The caller
/// checks the stream's state.
void write_csv(std::ostream& out, const Sheet& sheet);

/// Writes a workbook with one worksheet per sheet, in order: a bold header row, frozen so that
/// it stays visible, with an autofilter; text as text (never a formula), integers as numbers
/// in the General format, decimals as numbers with the format "0", "0.0", "0.00", ... for their
/// decimals, dates as date cells (serial numbers) with the format "yyyy-mm-dd hh:mm",
/// "yyyy-mm-dd" or "yyyy-mm" by their precision; each column as wide as its longest value (8–60
/// characters). The file appears complete or not at all: it is written to `path` + ".part" and
/// renamed over `path` at the end. Throws InputError as `write_csv` does, and for no sheets, an
/// invalid or duplicate sheet name or a text longer than Excel's 32 767 characters, before touching
/// the file system; ReportWriteError with the path, libxlsxwriter's message and the system's reason
/// when the file cannot be created or written (libxlsxwriter also prints its own line to stderr).
void write_xlsx(const std::filesystem::path& path, const std::vector<Sheet>& sheets);

}  // namespace fleet::waybills
