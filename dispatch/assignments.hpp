#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "dispatch/plan.hpp"

/// Shift assignments in PostGIS: created, changed, handed over and cancelled by operators (each
/// journalled), listed, and loaded for the engine with their trips, shapes and stops in
/// absolute time.
///
/// A vehicle may have several assignments a day (two shifts, different drivers or blocks,
/// freight runs). What may not be is the same piece of work twice at once: saving refuses, unless
/// forced, an assignment whose work overlaps in time (the work: the shift start and end when
/// given, else its trips' first departure and last arrival) another live one
///  - of the same vehicle, or of the same driver (on the service dates around its own), or
///  - sharing a block (a GTFS block_id of the same feed) on the same service date,
/// and names each clash (which vehicle, which assignment, which times). A block taken over by a
/// spare vehicle mid-day is one step: hand_over().
///
/// A service date is local: an assignment carries the time zone of its feed's agency (or, for
/// freight, the one given), its GTFS times count from that day's noon minus 12 h there (a block
/// past midnight stays on its date), and the dates that can be active at a moment in any zone
/// are service_dates_around() it. Every write announces the assignment's id on the channel
/// `assignment_channel` at its commit (a trigger, migration 0012).
namespace fleet::dispatch {

/// The PostgreSQL notification channel on which every change of an assignment, its trips or its
/// stops is announced; the payload is the assignment id.
inline constexpr const char* assignment_channel = "fleet_assignments";

/// Which assignments to load: by id, or by service date; either narrowed to the work that comes
/// near a span of time.
struct AssignmentSelection {
    std::vector<std::string> service_dates{};  ///< YYYY-MM-DD; used when `ids` is empty
    std::vector<std::int64_t> ids{};           ///< these, when not empty
    /// Only assignments whose work (padded as the engine gets it: planned_start .. planned_end)
    /// ends at or after `active_from` and starts at or before `active_to`.
    std::optional<Millis> active_from{};
    std::optional<Millis> active_to{};
};

/// Loads the live (not cancelled) assignments selected, ordered by id, each trip with its
/// route's rules (thresholds, speed limits; see route_rules.hpp) and public codes.
///
/// Timetabled work: stop times are placed in absolute time in the assignment's time zone (its
/// feed's agency zone; GTFS: noon minus 12 h of the service day, so times past 24:00 fall on the
/// next calendar day); stops without times are interpolated by distance. A trip without a shape
/// follows its stops. Without a shift start and end of its own the shift runs from 15 min before
/// the first departure to 10 min after the last arrival.
///
/// Freight work: one TripPlan along the route's line (trip_id 0, time_windows set), its stops
/// placed along it in order, each stop's arrival and departure the start and end of its window.
///
/// Throws DatabaseError.
std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const AssignmentSelection& selection);

/// The live assignments of one service date ("YYYY-MM-DD").
std::vector<std::shared_ptr<Assignment>> load_assignments(pqxx::connection& conn,
                                                          const std::string& service_date);

/// The service dates that can be active at `now` somewhere on Earth (zones run from UTC−12 to
/// UTC+14, and GTFS times past 24:00): UTC yesterday, today and tomorrow.
std::vector<std::string> service_dates_around(Millis now);

/// A digest of everything the engine is given of an assignment (vehicle, driver, dates, times,
/// trips with their stops, shapes, route rules and codes, depot): equal for equal work, and
/// different, but for a 2^-64 chance, when anything of it differs.
std::uint64_t fingerprint(const Assignment& assignment);

/// A planned stop of freight work, as an operator gives it.
struct StopRequest {
    std::string stop;                     ///< code of a known stop of the feed; or
    std::optional<geo::LonLat> position;  ///< a place of its own (then `name` is required)
    std::string name;                     ///< empty: the known stop's name
    std::optional<double> radius_m;       ///< empty: the known stop's, else `stop-radius`
    std::string window_from;              ///< a time, as AssignmentRequest::start
    std::string window_to;
};

/// What an operator asks for: a vehicle (by registration), a driver (optional, by name or
/// personnel number), and either a block or a list of trips of a feed (timetabled work), or a
/// route of the feed with a shift start and end and planned stops with time windows (freight).
struct AssignmentRequest {
    std::string service_date;  ///< YYYY-MM-DD
    std::string vehicle;       ///< registration
    std::string driver;        ///< full name or personnel number; empty: none
    std::string feed = "local";
    /// block_id: the block's trips that run on the date, by first departure; with `trips`, a
    /// part of the block (each trip must belong to it); with `from_trip`, the block's trips from
    /// that one on.
    std::string block;
    std::vector<std::string> trips;  ///< trip_ids in order; or
    std::string from_trip;           ///< with `block`: its trips from this trip_id on
    std::string route;               ///< freight: fleet.routes code in `feed`; its line is the path
    /// Shift start and end: "HH:MM[:SS]" on the service date in the assignment's zone (past
    /// 24:00 for the next day), or a date and time "YYYY-MM-DDTHH:MM[:SS]" with an optional
    /// offset ("Z", "+03:00"; without one, in that zone). Required for freight; optional for
    /// timetabled work, whose trips must then lie within them.
    std::string start;
    std::string end;
    /// Freight: IANA name; empty: the feed's agency time zone, else UTC. Timetabled work runs in
    /// its feed's agency zone and refuses another.
    std::string time_zone;
    std::vector<StopRequest> stops;  ///< freight: in route order, at least one
    /// Freight: a stop farther than this from the route's line is refused.
    double max_stop_offset_m = 500;
    /// Save even when the work clashes with other assignments (the clashes are journalled).
    bool force = false;
    std::string actor = "fleetctl";
    std::string origin;  ///< where the request was read ("file.csv:12"); prefixed to errors
};

/// Adds an assignment (a vehicle's other assignments of the day stay). The trips of a block are
/// those running on the date, in order of departure. Throws InputError naming what is unknown
/// or wrong (vehicle, driver, block, trip, date, route, stop, time, a window outside the shift
/// or out of order, stops not in route order or too far from it, a clash unless forced) and
/// changes nothing then. Journalled ("assignment created"). Returns the assignment id.
std::int64_t save_assignment(pqxx::connection& conn, const AssignmentRequest& request);

/// Called with (requests saved so far, total).
using SaveProgress = std::function<void(std::size_t done, std::size_t total)>;

/// Saves all of `requests` in one transaction, in order, or none of them: the first that
/// fails throws its InputError (prefixed with its origin) and nothing is written. Clashes are
/// looked for among the requests too. `progress` is called after every `progress_every`
/// requests and after the last. Returns the ids.
std::vector<std::int64_t> save_assignments(pqxx::connection& conn,
                                           const std::vector<AssignmentRequest>& requests,
                                           const SaveProgress& progress = {},
                                           std::size_t progress_every = 100);

/// A change of a live assignment: what is given replaces what it has; the rest stays.
struct ChangeRequest {
    std::int64_t assignment_id = 0;
    std::optional<std::string> vehicle;  ///< registration
    std::optional<std::string> driver;   ///< name or personnel number; "" removes the driver
    /// Timetabled work: a new block (its trips on the date), new trips (of the block, if it
    /// keeps one), or both. Giving either drops the other unless both are given.
    std::optional<std::string> block;
    std::optional<std::vector<std::string>> trips;
    std::optional<std::string> route;               ///< freight: another route
    std::optional<std::vector<StopRequest>> stops;  ///< freight: all its stops anew
    std::optional<std::string> start;               ///< "" removes a timetabled shift's own
    std::optional<std::string> end;
    std::optional<std::string> time_zone;  ///< freight: the zone of HH:MM times
    double max_stop_offset_m = 500;
    std::string reason;  ///< optional, journalled
    bool force = false;
    std::string actor = "fleetctl";
};

/// Changes an assignment in place (its id stays, so the engine keeps its progress where the
/// work is the same), checked as save_assignment checks a new one, clashes with others
/// included. Journalled ("assignment changed", with what it was and what it is). Returns false,
/// writing nothing, when the change leaves it as it was. Throws InputError for an unknown or
/// cancelled assignment, nothing to change, or what save_assignment refuses; nothing changes
/// then.
bool change_assignment(pqxx::connection& conn, const ChangeRequest& request);

/// Cancels a live assignment, with a reason (required). Journalled ("assignment cancelled").
/// Throws InputError for an unknown id, one cancelled already (saying when and why) or an
/// empty reason; nothing changes then.
void cancel_assignment(pqxx::connection& conn, std::int64_t assignment_id,
                       const std::string& reason, const std::string& actor = "fleetctl");

/// A spare vehicle taking over the rest of a block mid-day.
struct HandoverRequest {
    /// The assignment handing over; or, with 0, the live assignment of `service_date` that holds
    /// `from_trip` of `block` in `feed`.
    std::int64_t assignment_id = 0;
    std::string service_date;
    std::string feed = "local";
    std::string block;
    std::string from_trip;  ///< GTFS trip_id: this trip and those after it go to the spare
    std::string vehicle;    ///< the spare's registration
    /// The spare's driver (name or personnel number); empty: the same driver moves over.
    std::string driver;
    std::string reason;  ///< optional, journalled
    bool force = false;  ///< despite clashes of the spare or its driver
    std::string actor = "fleetctl";
};

/// What a hand-over did.
struct HandoverResult {
    std::int64_t original_id = 0;
    std::int64_t spare_id = 0;   ///< the new assignment of the spare vehicle
    std::size_t trips_kept = 0;  ///< 0: the original is cancelled (it handed over everything)
    std::size_t trips_moved = 0;
};

/// In one transaction: the trips of the original assignment from `from_trip` on become a new
/// assignment of the spare vehicle (same date, feed, block; the spare's or the same driver),
/// and the original keeps the trips before it and ends with them (its own shift end, if it had
/// one, is dropped), or is cancelled when nothing is left. Journalled on both ("assignment
/// handed over", "assignment created"). Throws InputError for timetabled work only: an unknown
/// or cancelled assignment, a trip it does not hold, the spare being its vehicle, a clash of
/// the spare (unless forced); nothing changes then.
HandoverResult hand_over(pqxx::connection& conn, const HandoverRequest& request);

/// What list_assignments() selects.
struct AssignmentFilter {
    std::string service_date{};  ///< YYYY-MM-DD, required
    std::string vehicle{};       ///< registration; empty: all
};

/// One assignment as an operator reads it.
struct AssignmentRow {
    std::int64_t assignment_id = 0;
    std::string service_date;
    std::string status;  ///< "planned" or "cancelled"
    std::string vehicle;
    std::string driver;            ///< full name; empty: none
    std::string personnel_number;  ///< empty: none
    std::string kind;              ///< "timetable" or "freight"
    std::string feed;
    std::string block;               ///< its block (given, or the one its trips share)
    std::vector<std::string> trips;  ///< GTFS trip_ids in order
    std::string route;               ///< freight: the route's code
    std::size_t stops = 0;           ///< freight: planned stops
    /// The work's start and end in the assignment's zone, "2024-03-05T07:45:00+03:00"; empty
    /// when it has no times (trips without stop times).
    std::string start;
    std::string end;
    std::string time_zone;
    std::string cancel_reason;
};

/// The assignments of a date (cancelled ones too), by start then id. Throws InputError for a
/// malformed date or an unknown vehicle.
std::vector<AssignmentRow> list_assignments(pqxx::connection& conn, const AssignmentFilter& filter);

}  // namespace fleet::dispatch
