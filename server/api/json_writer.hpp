#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

/// JSON written straight into a string, for the API's largest answers (the live state of every
/// vehicle), where building a document tree first costs more than the answer's deadline allows.
/// The caller writes a well-formed shape; the writer escapes text (invalid UTF-8 becomes U+FFFD,
/// as to_json_text does) and writes numbers in their shortest exact form.
namespace fleet::server::api {

class JsonWriter {
  public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    void begin_object() {
        value_start();
        out_ += '{';
        first_ = true;
    }
    void end_object() {
        out_ += '}';
        first_ = false;
    }
    void begin_array() {
        value_start();
        out_ += '[';
        first_ = true;
    }
    void end_array() {
        out_ += ']';
        first_ = false;
    }
    /// An object's key; the value follows.
    void key(std::string_view name);

    void text(std::string_view s);
    void number(double v);
    void integer(std::int64_t v);
    void boolean(bool v);
    void null();
    template <typename T>
    void maybe(const std::optional<T>& v) {
        if (!v) {
            null();
        } else if constexpr (std::is_same_v<T, bool>) {
            boolean(*v);
        } else if constexpr (std::is_integral_v<T>) {
            integer(static_cast<std::int64_t>(*v));
        } else {
            number(static_cast<double>(*v));
        }
    }

  private:
    void value_start();
    void escaped(std::string_view s);
    std::string& out_;
    bool first_ = true;
    bool after_key_ = false;
};

}  // namespace fleet::server::api
