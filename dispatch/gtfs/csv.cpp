#include "dispatch/gtfs/csv.hpp"

#include "dispatch/gtfs/error.hpp"

namespace fleet::dispatch::gtfs {

namespace {

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

bool blank(const std::vector<std::string>& record) {
    return record.size() == 1 && record.front().empty();
}

}  // namespace

CsvTable CsvTable::parse(std::string_view text, std::string file) {
    CsvTable table;
    table.file_ = std::move(file);
    if (text.starts_with("\xEF\xBB\xBF")) {
        text.remove_prefix(3);
    }

    std::vector<std::string> record;
    std::string field;
    std::size_t line = 1;
    std::size_t record_line = 1;
    bool have_header = false;

    const auto end_record = [&] {
        record.push_back(std::move(field));
        field.clear();
        if (!blank(record)) {
            if (!have_header) {
                for (auto& name : record) {
                    table.header_.push_back(trimmed(name));
                }
                have_header = true;
            } else {
                table.rows_.push_back(std::move(record));
                table.lines_.push_back(record_line);
            }
        }
        record.clear();
    };

    std::size_t i = 0;
    const std::size_t n = text.size();
    bool at_field_start = true;
    while (i < n) {
        const char c = text[i];
        if (at_field_start && c == '"') {
            // A quoted field runs to the next quote not followed by another quote (RFC 4180
            // §2.5-7).
            const std::size_t opened_on = line;
            ++i;
            while (true) {
                if (i >= n) {
                    throw FeedError(table.file_, opened_on, "",
                                    "quoted field is not closed before the end of the file");
                }
                if (text[i] == '"') {
                    if (i + 1 < n && text[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                if (text[i] == '\n') {
                    ++line;
                }
                field += text[i++];
            }
            if (i < n && text[i] != ',' && text[i] != '\n' &&
                !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') &&
                !(text[i] == '\r' && i + 1 == n)) {
                throw FeedError(table.file_, line, "", "text after the closing quote of a field");
            }
            at_field_start = false;
            continue;
        }
        if (c == ',') {
            record.push_back(std::move(field));
            field.clear();
            at_field_start = true;
            ++i;
        } else if (c == '\n' || c == '\r') {
            end_record();
            if (c == '\r' && i + 1 < n && text[i + 1] == '\n') {
                ++i;
            }
            ++i;
            ++line;
            record_line = line;
            at_field_start = true;
        } else {
            field += c;
            at_field_start = false;
            ++i;
        }
    }
    if (!field.empty() || !record.empty()) {
        end_record();
    }
    if (!have_header) {
        throw FeedError(table.file_, 1, "", "the file has no header line");
    }
    return table;
}

std::optional<std::size_t> CsvTable::column(std::string_view name) const {
    for (std::size_t i = 0; i < header_.size(); ++i) {
        if (header_[i] == name) {
            return i;
        }
    }
    return std::nullopt;
}

const std::string& CsvTable::value(std::size_t row, std::size_t column) const {
    static const std::string empty;
    const auto& record = rows_.at(row);
    return column < record.size() ? record[column] : empty;
}

}  // namespace fleet::dispatch::gtfs
