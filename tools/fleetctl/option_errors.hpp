#pragma once

#include <string>

#include <boost/program_options.hpp>

/// What fleetctl says when a command's options cannot be parsed.
namespace fleet::tools::fleetctl {

/// The message for `error`, raised parsing `command`'s words against `options`: a malformed
/// value names the option, the value given and what is wanted, by the option's type and unit
/// ("--odometer KM wants a whole number of kilometres, not '152342.5'"); an unknown option
/// points to the command's --help; anything else is program_options' own message.
std::string explain_option_error(const boost::program_options::error& error,
                                 const boost::program_options::options_description& options,
                                 const std::string& command);

}  // namespace fleet::tools::fleetctl
