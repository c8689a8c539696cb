#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dispatch/assignments.hpp"
#include "tools/fleetctl/waybill_cli.hpp"

/// What the `fleetctl assign ...` commands share: the assignment ID, lists of trips and the
/// planned stops given on the command line.
namespace fleet::tools::fleetctl::assign_cli {

namespace po = cli::po;

/// The positional assignment ID of `command`; ConfigError (bad usage) when it is missing or not
/// a positive integer.
std::int64_t assignment_id(const po::variables_map& vm, const std::string& command);

/// "T1,T2" as its non-empty parts, in order.
std::vector<std::string> split_list(const std::string& text);

/// The planned stops of repeated `--stop` options; InputError naming a malformed one.
std::vector<dispatch::StopRequest> stops(const po::variables_map& vm);

/// The freight stop option's help text.
inline constexpr const char* stop_help =
    "freight: 'NAME;LON;LAT;FROM;TO[;RADIUS]' or 'CODE;;;FROM;TO[;RADIUS]', repeated in route "
    "order";

/// What the times accept, for help texts.
inline constexpr const char* time_help =
    "HH:MM on the date (in the assignment's zone; past 24:00 for the next day) or "
    "2024-03-05T08:00+03:00";

}  // namespace fleet::tools::fleetctl::assign_cli
