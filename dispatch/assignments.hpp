#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/plan.hpp"

/// Shift assignments in PostGIS: created and changed by operators (journalled), loaded for the
/// engine with their trips, shapes and stops in absolute time.
namespace fleet::dispatch {

/// Loads the timetabled assignments of a service date ("YYYY-MM-DD"). Stop times are placed in
/// absolute time from the feed's agency time zone (GTFS: noon minus 12 h of the service day, so
/// times past 24:00 fall on the next calendar day); stops without times are interpolated by
/// distance. A trip without a shape follows its stops. Throws DatabaseError.
std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const std::string& service_date);

/// What an operator asks for: a vehicle (by registration), a driver (optional, by name or
/// personnel number), and a block or a list of trips of a feed.
struct AssignmentRequest {
    std::string service_date;  ///< YYYY-MM-DD
    std::string vehicle;       ///< registration
    std::string driver;        ///< full name or personnel number; empty: none
    std::string feed = "local";
    std::string block;               ///< block_id; or
    std::vector<std::string> trips;  ///< trip_ids in order
    std::string actor = "fleetctl";
};

/// Creates the assignment, or replaces the vehicle's assignment of that date (journalled as a
/// change, with what it was). The trips of a block are those running on the date, in order of
/// departure. Throws InputError naming what is unknown (vehicle, driver, block, trip, date) and
/// changes nothing then. Returns the assignment id.
std::int64_t save_assignment(pqxx::connection& conn, const AssignmentRequest& request);

}  // namespace fleet::dispatch
