#pragma once

#include <stdexcept>
#include <string>

/// The project's shallow tree of typed exceptions. Every module throws one of these (or a child
/// defined next to the code that throws it, such as ingest's DecodeError).
namespace fleet {

/// Root of the project's exceptions.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A configuration value that is missing, malformed or out of range; names the key.
class ConfigError : public Error {
  public:
    ConfigError(std::string key, const std::string& problem)
        : Error("configuration: '" + key + "': " + problem),
          key_(std::move(key)),
          problem_(problem) {}
    const std::string& key() const noexcept { return key_; }
    /// What is wrong, without the key (for a program that names the key its own way).
    const std::string& problem() const noexcept { return problem_; }

  private:
    std::string key_;
    std::string problem_;
};

/// The database refused, failed or holds something this program cannot work with.
class DatabaseError : public Error {
  public:
    using Error::Error;
};

/// Input that cannot be used as it is (a file, a request, a command argument).
class InputError : public Error {
  public:
    using Error::Error;
};

/// Input naming something that does not exist (a vehicle, a user, a waybill): the API answers 404.
class NotFoundError : public InputError {
  public:
    using InputError::InputError;
};

/// Input that clashes with what is stored (a name taken, a step out of turn, history that keeps
/// a record): the API answers 409.
class ConflictError : public InputError {
  public:
    using InputError::InputError;
};

/// A geometry that is invalid or of the wrong kind; names the feature it belongs to.
class GeometryError : public Error {
  public:
    GeometryError(std::string feature, const std::string& problem)
        : Error("geometry of '" + feature + "': " + problem), feature_(std::move(feature)) {}
    const std::string& feature() const noexcept { return feature_; }

  private:
    std::string feature_;
};

}  // namespace fleet
