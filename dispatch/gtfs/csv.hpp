#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// GTFS static timetables: reading a feed (folder or .zip) and storing it in PostGIS.
namespace fleet::dispatch::gtfs {

/// One CSV file of a feed, parsed by RFC 4180: quoted fields with embedded commas, doubled quotes
/// and line breaks; LF or CRLF record ends; a leading UTF-8 byte order mark is dropped. Columns
/// are found by their header name (surrounding blanks ignored); unknown columns are kept but never
/// needed. Blank lines are skipped. A row shorter than the header reads as empty in the missing
/// columns.
class CsvTable {
  public:
    /// Parses `text`; `file` names the file in errors. Throws FeedError (file and line) on an
    /// unterminated quoted field or text after a closing quote, or when there is no header.
    static CsvTable parse(std::string_view text, std::string file);

    /// The file name given to parse().
    const std::string& file() const noexcept { return file_; }
    /// The header's column names, in file order.
    const std::vector<std::string>& header() const noexcept { return header_; }
    /// Number of data rows (the header excluded).
    std::size_t size() const noexcept { return rows_.size(); }
    /// Index of the column named `name`, if the header has it.
    std::optional<std::size_t> column(std::string_view name) const;
    /// The value in `row` (0-based data row) and `column`; empty when the row is short.
    const std::string& value(std::size_t row, std::size_t column) const;
    /// The file line (1-based, the header is line 1) on which data row `row` starts.
    std::size_t line(std::size_t row) const { return lines_.at(row); }

  private:
    std::string file_;
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<std::size_t> lines_;
};

}  // namespace fleet::dispatch::gtfs
