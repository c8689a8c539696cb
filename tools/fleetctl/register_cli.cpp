#include "tools/fleetctl/register_cli.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "dispatch/gtfs/error.hpp"
#include "geo/error.hpp"
#include "geo/utf8.hpp"

namespace fleet::tools::fleetctl::reg {

namespace {

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : ",") + w;
    }
    return out;
}

dispatch::gtfs::CsvTable parse_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InputError("cannot read '" + path + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    try {
        return dispatch::gtfs::CsvTable::parse(text.str(), path);
    } catch (const dispatch::gtfs::FeedError& e) {
        throw InputError(path + ":" + std::to_string(e.line()) + ": not CSV (" + e.what() + ")");
    }
}

std::string shown(const waybills::Cell& cell) {
    if (const auto* text = std::get_if<std::string>(&cell)) {
        return *text;
    }
    if (const auto* i = std::get_if<std::int64_t>(&cell)) {
        return std::to_string(*i);
    }
    if (const auto* d = std::get_if<waybills::Decimal>(&cell)) {
        return waybills::format_decimal(d->value, d->decimals);
    }
    return "-";
}

}  // namespace

void add_format_option(cli::po::options_description& options) {
    options.add_options()(
        "format", cli::po::value<std::string>()->default_value("table")->value_name("F"),
        "table (aligned columns) or csv (the import file's columns, safe to open in a "
        "spreadsheet)");
}

Format format(const cli::po::variables_map& vm, const std::string& command) {
    const auto f = vm.count("format") ? vm["format"].as<std::string>() : "table";
    if (f == "table") {
        return Format::table;
    }
    if (f == "csv") {
        return Format::csv;
    }
    throw ConfigError(command, "--format must be table or csv, got '" + f + "'");
}

void print(std::ostream& out, const waybills::Sheet& sheet, Format format) {
    if (format == Format::csv) {
        waybills::write_csv(out, sheet);
        return;
    }
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header;
    for (auto title : sheet.columns) {
        std::replace(title.begin(), title.end(), '_', ' ');
        std::transform(title.begin(), title.end(), title.begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        header.push_back(title);
    }
    rows.push_back(header);
    for (const auto& row : sheet.rows) {
        std::vector<std::string> line;
        for (const auto& cell : row) {
            line.push_back(shown(cell));
        }
        rows.push_back(std::move(line));
    }
    cli::print_table(out, rows);
}

waybills::Cell text_cell(const std::string& text) {
    return text.empty() ? waybills::Cell{} : waybills::Cell{text};
}

waybills::Cell number_cell(double value) {
    int decimals = 0;
    while (decimals < 6 && waybills::round_decimal(value, decimals) != value) {
        ++decimals;
    }
    return waybills::Decimal{value, decimals};
}

waybills::Cell bool_cell(bool value) {
    return std::string(value ? "true" : "false");
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string word; std::getline(in, word, ',');) {
        word = trim(word);
        if (!word.empty()) {
            out.push_back(word);
        }
    }
    return out;
}

std::optional<bool> active_flag(const cli::po::variables_map& vm, const std::string& command) {
    const bool active = vm.count("active") && vm["active"].as<bool>();
    const bool inactive = vm.count("inactive") && vm["inactive"].as<bool>();
    if (active && inactive) {
        throw ConfigError(command, "--active and --inactive exclude each other");
    }
    if (active || inactive) {
        return active;
    }
    return std::nullopt;
}

ImportFile::ImportFile(std::string path, const std::vector<std::string>& columns,
                       const std::vector<std::string>& required)
    : path_(std::move(path)), table_(parse_file(path_)) {
    std::vector<std::string> seen;
    for (const auto& raw : table_.header()) {
        const auto name = trim(raw);
        if (std::find(columns.begin(), columns.end(), name) == columns.end()) {
            throw InputError(path_ + ":1: unknown column '" + name +
                             "' (columns: " + joined(columns) + ")");
        }
        if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
            throw InputError(path_ + ":1: column '" + name + "' appears twice");
        }
        seen.push_back(name);
    }
    for (const auto& name : required) {
        if (!table_.column(name)) {
            throw InputError(path_ + ":1: the header needs a '" + name +
                             "' column (columns: " + joined(columns) + ")");
        }
    }
}

std::optional<std::string> ImportFile::text(std::size_t row, const std::string& column,
                                            geo::FieldProblems& problems) const {
    const auto c = table_.column(column);
    if (!c) {
        return std::nullopt;
    }
    const auto value = trim(table_.value(row, *c));
    if (value.empty()) {
        return std::nullopt;
    }
    if (!geo::is_valid_utf8(value)) {
        problems.push_back({column, "is not valid UTF-8 (save the file as UTF-8)"});
        return std::nullopt;
    }
    return value;
}

std::optional<double> ImportFile::number(std::size_t row, const std::string& column,
                                         geo::FieldProblems& problems) const {
    const auto t = text(row, column, problems);
    if (!t) {
        return std::nullopt;
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size() || !std::isfinite(v)) {
        problems.push_back({column, "'" + *t + "' is not a number (a decimal point, no unit)"});
        return std::nullopt;
    }
    return v;
}

std::optional<std::int64_t> ImportFile::integer(std::size_t row, const std::string& column,
                                                geo::FieldProblems& problems) const {
    const auto t = text(row, column, problems);
    if (!t) {
        return std::nullopt;
    }
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size()) {
        problems.push_back({column, "'" + *t + "' is not a whole number"});
        return std::nullopt;
    }
    return v;
}

std::optional<bool> ImportFile::boolean(std::size_t row, const std::string& column,
                                        geo::FieldProblems& problems) const {
    auto t = text(row, column, problems);
    if (!t) {
        return std::nullopt;
    }
    std::transform(t->begin(), t->end(), t->begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (*t == "true" || *t == "yes" || *t == "1") {
        return true;
    }
    if (*t == "false" || *t == "no" || *t == "0") {
        return false;
    }
    problems.push_back({column, "'" + *t + "' is not true or false"});
    return std::nullopt;
}

std::optional<std::vector<std::string>> ImportFile::list(std::size_t row, const std::string& column,
                                                         geo::FieldProblems& problems) const {
    const auto t = text(row, column, problems);
    if (!t) {
        return std::nullopt;
    }
    return split_list(*t);
}

void run_import(const ImportFile& file, const std::vector<std::size_t>& record_rows,
                std::vector<geo::RecordProblem> read_problems,
                const std::function<void(const geo::BatchOptions&)>& store, const ImportRun& run) {
    geo::BatchOptions options;
    options.dry_run = run.check_only || !read_problems.empty();
    if (!run.quiet) {
        options.progress = [&](std::size_t done, std::size_t total) {
            if (done % 100 == 0 || done == total) {
                std::cerr << run.command << ": " << done << " of " << total << " " << run.noun
                          << (options.dry_run ? " checked" : "") << "\n";
            }
        };
    }
    auto problems = std::move(read_problems);
    try {
        store(options);
    } catch (const geo::BatchError& e) {
        for (auto p : e.problems()) {
            p.record = record_rows.at(p.record);
            problems.push_back(std::move(p));
        }
    }
    if (!problems.empty()) {
        std::stable_sort(problems.begin(), problems.end(),
                         [](const auto& a, const auto& b) { return a.record < b.record; });
        std::string message;
        std::vector<std::size_t> lines;
        for (const auto& p : problems) {
            const auto line = file.line(p.record);
            if (lines.empty() || lines.back() != line) {
                lines.push_back(line);
            }
            message += file.path() + ":" + std::to_string(line) + ": " +
                       (p.problem.field.empty() ? "" : p.problem.field + ": ") + p.problem.problem +
                       "\n";
        }
        throw InputError(message + "nothing imported: " + std::to_string(problems.size()) +
                         " problem(s) on " + std::to_string(lines.size()) + " of " +
                         std::to_string(file.size()) + " line(s)");
    }
    if (!run.quiet) {
        std::cout << (run.check_only ? "checked " : "imported ") << record_rows.size() << " "
                  << run.noun << " from " << file.path()
                  << (run.check_only ? ": no problems, nothing stored (--check)" : "") << "\n";
    }
}

void add_common_options(cli::po::options_description& options) {
    options.add_options()(
        "actor", cli::po::value<std::string>()->default_value("fleetctl")->value_name("WHO"),
        "who, for the journal")("quiet,q", cli::po::bool_switch(),
                                "print nothing on success (the exit code says it)");
}

bool quiet(const cli::po::variables_map& vm) {
    return vm.count("quiet") && vm["quiet"].as<bool>();
}

std::string word(const cli::po::variables_map& vm, const std::string& key,
                 const std::string& command, const std::string& what) {
    if (!vm.count(key) || vm[key].as<std::string>().empty()) {
        throw ConfigError(command, what + " is required (see fleetctl " + command + " --help)");
    }
    return vm[key].as<std::string>();
}

}  // namespace fleet::tools::fleetctl::reg
