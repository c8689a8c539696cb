#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dispatch/gtfs/csv.hpp"
#include "geo/batch.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/table.hpp"

/// What the register commands of fleetctl (vehicle, device, driver, model, group, journal)
/// share: list output as an aligned table or CSV, CSV import files read by their header, and
/// the import run itself (all or nothing, every problem named by file and line, progress on
/// standard error). Exit codes: 0 done, 1 refused (InputError), 2 bad usage (ConfigError).
namespace fleet::tools::fleetctl::reg {

/// How a list is written.
enum class Format { table, csv };

/// Adds --format table|csv.
void add_format_option(cli::po::options_description& options);
/// The format given; ConfigError naming the command for anything else.
Format format(const cli::po::variables_map& vm, const std::string& command);

/// Writes `sheet` as an aligned table (titles in capitals, `-` for an empty cell) or as CSV
/// through waybills::write_csv (every text cell neutralised, numbers as numbers).
void print(std::ostream& out, const waybills::Sheet& sheet, Format format);

/// A text cell, or an empty cell for empty text.
waybills::Cell text_cell(const std::string& text);
/// A number cell with as few decimals as show it exactly (up to 6): 8.4, 0.25, 41.
waybills::Cell number_cell(double value);
/// "true" or "false".
waybills::Cell bool_cell(bool value);

/// The words of a comma-separated option or cell, trimmed, empty ones left out.
std::vector<std::string> split_list(const std::string& text);

/// --active and --inactive (switches) as one optional flag; ConfigError when both are given.
std::optional<bool> active_flag(const cli::po::variables_map& vm, const std::string& command);

/// A CSV file to import, its columns found by the header's names.
class ImportFile {
  public:
    /// Reads `path`: a header naming only `columns` (in any order, each at most once) and
    /// holding every one of `required`, then a row per record (RFC 4180: quoted fields with
    /// commas, quotes and line breaks; a byte-order mark is skipped). Throws InputError naming
    /// the file and line for an unreadable file, a malformed record or a bad header.
    ImportFile(std::string path, const std::vector<std::string>& columns,
               const std::vector<std::string>& required);

    const std::string& path() const noexcept { return path_; }
    /// Data rows.
    std::size_t size() const noexcept { return table_.size(); }
    /// The file line on which data row `row` begins.
    std::size_t line(std::size_t row) const { return table_.line(row); }

    /// The cell trimmed of blanks; nullopt when the column is absent or the cell empty.
    /// A cell that is not valid UTF-8 is a problem of the row and reads as absent.
    std::optional<std::string> text(std::size_t row, const std::string& column,
                                    geo::FieldProblems& problems) const;
    /// A decimal number ("41.5"); a problem naming the column otherwise.
    std::optional<double> number(std::size_t row, const std::string& column,
                                 geo::FieldProblems& problems) const;
    /// A whole number.
    std::optional<std::int64_t> integer(std::size_t row, const std::string& column,
                                        geo::FieldProblems& problems) const;
    /// true/false, yes/no, 1/0.
    std::optional<bool> boolean(std::size_t row, const std::string& column,
                                geo::FieldProblems& problems) const;
    /// A comma-separated list (quote the cell).
    std::optional<std::vector<std::string>> list(std::size_t row, const std::string& column,
                                                 geo::FieldProblems& problems) const;

  private:
    std::string path_;
    dispatch::gtfs::CsvTable table_;
};

/// The records read from an import file and the problems found reading them.
template <typename Record>
struct ImportRecords {
    std::vector<Record> records;
    std::vector<std::size_t> rows;             ///< the file's data row of each record
    std::vector<geo::RecordProblem> problems;  ///< `record` is the data row here
};

/// Reads every row of `file` with `read(row, problems)`; a row with problems is left out of
/// the records and its problems kept.
template <typename Record, typename Read>
ImportRecords<Record> read_rows(const ImportFile& file, Read&& read) {
    ImportRecords<Record> out;
    for (std::size_t row = 0; row < file.size(); ++row) {
        geo::FieldProblems problems;
        Record record = read(row, problems);
        if (problems.empty()) {
            out.records.push_back(std::move(record));
            out.rows.push_back(row);
        }
        for (auto& p : problems) {
            out.problems.push_back({.record = row, .label = "", .problem = std::move(p)});
        }
    }
    return out;
}

/// What an import run is told.
struct ImportRun {
    std::string command;  ///< "vehicle import", for the progress lines
    std::string noun;     ///< "vehicles"
    bool check_only = false;
    bool quiet = false;
};

/// Stores the records (`store(options)` calls the library's batch function), or only checks
/// them with `check_only` or when reading found problems; prints progress on standard error
/// every 100 records unless quiet; on success prints "imported N vehicles from FILE" (or what
/// the check found). Throws InputError listing every problem, in file order, as
/// "FILE:LINE: field: problem", ending with "nothing imported".
void run_import(const ImportFile& file, const std::vector<std::size_t>& record_rows,
                std::vector<geo::RecordProblem> read_problems,
                const std::function<void(const geo::BatchOptions&)>& store, const ImportRun& run);

/// Adds --actor WHO (default fleetctl) and --quiet.
void add_common_options(cli::po::options_description& options);
/// Whether --quiet was given.
bool quiet(const cli::po::variables_map& vm);

/// The positional word stored under `key`; ConfigError "WHAT is required" naming the command
/// otherwise.
std::string word(const cli::po::variables_map& vm, const std::string& key,
                 const std::string& command, const std::string& what);

}  // namespace fleet::tools::fleetctl::reg
