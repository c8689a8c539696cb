#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "geo/iso_time.hpp"

/// The deviation events as stored (fleet.events), for people to read and acknowledge: the
/// operator API lists them and takes acknowledgements; the engine keeps writing its reports
/// beside (an acknowledgement survives the engine's later reports of the event).
namespace fleet::dispatch {

/// Which events to list. Times select by start: [from, to).
struct EventFilter {
    std::optional<geo::Millis> from{}, to{};
    std::optional<std::int64_t> vehicle_id{};
    std::string kind{};          ///< empty: every kind
    std::optional<bool> open{};  ///< open (not ended) or closed only
    std::optional<bool> acknowledged{};
    /// Only these vehicles (a dispatcher limited to groups); nothing: every vehicle.
    std::optional<std::set<std::int64_t>> vehicles{};
    /// Keyset paging: events with a smaller id than this (the list is newest first).
    std::optional<std::int64_t> before_id{};
    std::size_t limit = 100;
};

struct StoredEvent {
    std::int64_t event_id = 0;
    std::int64_t vehicle_id = 0;
    std::string registration;
    std::string kind;
    std::string started_at;  ///< ISO 8601, UTC
    std::string ended_at;    ///< empty while open
    std::optional<double> magnitude;
    std::string cause;
    nlohmann::json details = nlohmann::json::object();
    std::optional<std::int64_t> assignment_id, trip_id;
    nlohmann::json geometry;  ///< GeoJSON, or null
    std::string acknowledged_at, acknowledged_by, acknowledgement;
};

/// The events of `filter`, newest first. InputError for an unknown kind or from not before to.
std::vector<StoredEvent> list_events(pqxx::connection& conn, const EventFilter& filter);
/// One event; NotFoundError when there is none (or, with `vehicles`, not one of them).
StoredEvent event(pqxx::connection& conn, std::int64_t event_id,
                  const std::optional<std::set<std::int64_t>>& vehicles = {});

/// Acknowledges an event with a comment (1–2000 bytes of text); journalled ("event
/// acknowledged") with the user. ConflictError when it is acknowledged already, NotFoundError
/// for an unknown event (or, with `vehicles`, one of a vehicle outside them).
StoredEvent acknowledge_event(pqxx::connection& conn, std::int64_t event_id,
                              const std::string& comment, const std::string& actor,
                              const std::optional<std::set<std::int64_t>>& vehicles = {});

/// The kinds an event can be (as to_string(EventKind) names them).
std::vector<std::string> event_kinds();

}  // namespace fleet::dispatch
