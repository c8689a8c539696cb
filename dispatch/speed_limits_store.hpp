#pragma once

#include <map>
#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "dispatch/speed_limits.hpp"

namespace fleet::dispatch {

/// The speed zones of fleet.zones (kind speed_zone) and the class of every vehicle, with the
/// given caps per class. Throws DatabaseError.
std::shared_ptr<SpeedLimits> load_speed_limits(pqxx::connection& conn,
                                               const std::map<std::string, double>& class_caps);

}  // namespace fleet::dispatch
