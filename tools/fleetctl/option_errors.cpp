#include "tools/fleetctl/option_errors.hpp"

#include <cstdint>
#include <map>

namespace fleet::tools::fleetctl {

namespace po = boost::program_options;

namespace {

// The unit a value name stands for, as a message says it.
std::string unit_of(const std::string& value_name) {
    static const std::map<std::string, std::string> units{
        {"KM", "kilometres"}, {"L", "litres"},        {"M", "metres"},    {"KMH", "km/h"},
        {"S", "seconds"},     {"SECONDS", "seconds"}, {"MIN", "minutes"}, {"MS", "milliseconds"},
        {"PCT", "percent"},   {"H", "hours"},         {"T", "tonnes"},    {"KG", "kilograms"}};
    const auto it = units.find(value_name);
    return it == units.end() ? std::string() : it->second;
}

template <typename... T>
bool is_one_of(const po::value_semantic* semantic) {
    return ((dynamic_cast<const po::typed_value<T>*>(semantic) != nullptr) || ...);
}

// "a whole number of kilometres", "a number (a '.' for decimals)", ...
std::string wanted(const po::value_semantic* semantic, const std::string& value_name) {
    const auto unit = unit_of(value_name);
    if (is_one_of<int, long, long long>(semantic)) {
        return "a whole number" + (unit.empty() ? "" : " of " + unit);
    }
    if (is_one_of<unsigned, unsigned long, unsigned long long>(semantic)) {
        return "a whole number, 0 or more" + (unit.empty() ? "" : ", of " + unit);
    }
    if (is_one_of<double, float>(semantic)) {
        return (unit.empty() ? std::string("a number") : "a number of " + unit) +
               " (digits, a '.' for decimals, no unit)";
    }
    return {};
}

}  // namespace

std::string explain_option_error(const po::error& error, const po::options_description& options,
                                 const std::string& command) {
    if (const auto* invalid = dynamic_cast<const po::invalid_option_value*>(&error)) {
        std::string name = invalid->get_option_name();
        while (!name.empty() && name.front() == '-') {
            name.erase(0, 1);
        }
        // program_options keeps the value only in its message: "the argument ('x') for ...".
        const std::string what = invalid->what();
        const auto open = what.find("('");
        const auto close = what.find("')", open == std::string::npos ? 0 : open);
        const std::string value = open != std::string::npos && close != std::string::npos
                                      ? what.substr(open + 2, close - open - 2)
                                      : std::string();
        if (const auto* option = options.find_nothrow(name, false)) {
            std::string value_name = option->semantic()->name();
            value_name = value_name.substr(0, value_name.find(' '));
            const auto want = wanted(option->semantic().get(), value_name);
            if (!want.empty()) {
                return "--" + name +
                       (value_name.empty() || value_name == "arg" ? "" : " " + value_name) +
                       " wants " + want + ", not '" + value + "'";
            }
        }
    }
    if (dynamic_cast<const po::unknown_option*>(&error) != nullptr) {
        return std::string(error.what()) + " (fleetctl " + command + " --help lists its options)";
    }
    return error.what();
}

}  // namespace fleet::tools::fleetctl
