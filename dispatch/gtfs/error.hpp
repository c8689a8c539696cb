#pragma once

#include <cstddef>
#include <string>

#include "geo/error.hpp"

namespace fleet::dispatch::gtfs {

/// A feed that cannot be imported. Names the file, the line (1-based; the header is line 1;
/// 0 when the problem concerns the whole file) and the field (empty when none applies).
class FeedError : public InputError {
  public:
    FeedError(std::string file, std::size_t line, std::string field, const std::string& problem)
        : InputError(describe(file, line, field, problem)),
          file_(std::move(file)),
          line_(line),
          field_(std::move(field)) {}

    const std::string& file() const noexcept { return file_; }
    std::size_t line() const noexcept { return line_; }
    const std::string& field() const noexcept { return field_; }

  private:
    static std::string describe(const std::string& file, std::size_t line, const std::string& field,
                                const std::string& problem) {
        std::string out = "GTFS " + file;
        if (line != 0) {
            out += " line " + std::to_string(line);
        }
        if (!field.empty()) {
            out += (line != 0 ? ", field " : " field ") + field;
        }
        return out + ": " + problem;
    }

    std::string file_;
    std::size_t line_;
    std::string field_;
};

}  // namespace fleet::dispatch::gtfs
