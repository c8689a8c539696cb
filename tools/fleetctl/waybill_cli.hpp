#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <pqxx/pqxx>

#include "geo/iso_time.hpp"
#include "server/config.hpp"
#include "waybills/reconcile.hpp"

/// What the waybill and report commands of fleetctl share: option parsing, the reconciliation
/// tolerances as flags, dates, progress on standard error and plain-text tables.
namespace fleet::tools::fleetctl::cli {

namespace po = boost::program_options;

/// Parses a command's words: `options` are shown in its --help; `positional` names the words
/// without a flag ("id", "file"), each stored as text under that name. Throws ConfigError naming
/// the command for an unknown option, a missing value or a malformed number.
po::variables_map parse(const std::string& command, const po::options_description& options,
                        const std::vector<std::string>& args,
                        const std::vector<std::string>& positional = {});

/// The text of an options description, for Command::help.
std::string describe(const po::options_description& options);

/// The value of a required option; ConfigError naming the command and the option when absent.
std::string required(const po::variables_map& vm, const std::string& key,
                     const std::string& command);

/// The value of an option when given.
template <typename T>
std::optional<T> optional(const po::variables_map& vm, const std::string& key) {
    return vm.count(key) ? std::optional<T>(vm[key].as<T>()) : std::nullopt;
}

/// The text of an option, or "" when absent.
std::string text(const po::variables_map& vm, const std::string& key);

/// The positional waybill ID; InputError unless it is a positive integer.
std::int64_t waybill_id(const po::variables_map& vm, const std::string& command);

/// Checks a calendar date YYYY-MM-DD (InputError naming the option otherwise) and returns it.
std::string date(const std::string& option, const std::string& text);

/// A date YYYY-MM-DD, or a month YYYY-MM as its first day (`end` false) or its last (`end`
/// true): what --from and --to take. InputError naming the option otherwise.
std::string day_or_month(const std::string& option, const std::string& text, bool end);

/// A period [from, to] of dates or months (--from 2026-12 --to 2026-12 is December), both
/// required; InputError when `from` is after `to`.
struct Period {
    std::string from, to;
};
Period period(const po::variables_map& vm, const std::string& command);

/// A required option holding an ISO 8601 time with its offset (2026-12-02 08:00+03);
/// ConfigError when absent, InputError naming the option when it is not such a time.
geo::Millis time(const po::variables_map& vm, const std::string& key, const std::string& command);

/// A non-negative finite number given to `option`; InputError otherwise.
double not_negative(const std::string& option, double value);

/// A reading in whole kilometres given to `option` as text ("152342"); InputError saying that
/// whole kilometres are wanted for anything else ("152342.5", "-3", "12 km").
std::int64_t whole_km(const std::string& option, const std::string& text);

/// The option's whole kilometres when given (whole_km).
std::optional<std::int64_t> optional_km(const po::variables_map& vm, const std::string& option);

/// Adds --future-tolerance-min: how far ahead of the wall clock a time typed in may lie.
void add_clock_options(po::options_description& options);

/// The wall clock with the tolerance given (the plausibility rules' "now").
waybills::Clock clock(const po::variables_map& vm);

/// Adds the reconciliation tolerances (ReconcileOptions and its TrackRules) as options with
/// their defaults.
void add_reconcile_options(po::options_description& options);

/// The reconciliation options as given; ConfigError naming the option for a negative value.
waybills::ReconcileOptions reconcile_options(const po::variables_map& vm);

/// Connects, migrating the schema when needed (server::open_database).
std::unique_ptr<pqxx::connection> open(const server::Config& config);

/// "12.30" for litres, "121.4" for kilometres: waybills::format_decimal.
std::string fixed(double value, int decimals);

/// A number in a message as people write it ("-3", "2.5"): waybills::format_number.
std::string number(double value);

/// Progress of a reconciliation on standard error: "reconciling: N of M waybills", rewritten in
/// place on a terminal, at most a line a second otherwise.
class Progress {
  public:
    Progress();
    waybills::ReconcileProgress callback();
    /// The closing line: how many waybills in how long.
    void finish(std::size_t waybills);

  private:
    bool terminal_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_;
};

/// The figures of one reconciliation, several lines, each indented by `indent`.
void print_figures(std::ostream& out, const waybills::Reconciliation& r,
                   const std::string& indent = "");

/// Rows of text as columns aligned on their widths (in characters), the first row a header.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

}  // namespace fleet::tools::fleetctl::cli
