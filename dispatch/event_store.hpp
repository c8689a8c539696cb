#pragma once

#include <memory>
#include <string>

#include <pqxx/pqxx>

#include "dispatch/engine.hpp"
#include "geo/store.hpp"

namespace fleet::dispatch {

/// Events in fleet.events (PostGIS), one transaction per batch of reports. A report of an
/// event already stored (same vehicle, kind, start and stop) updates it: an open event's
/// updates (magnitude, place, details) and its closing land on one row. Shift results in
/// fleet.shift_results, one row per stored assignment (plans with ids below 1 are skipped).
class PostgisEventStore : public EventStore {
  public:
    explicit PostgisEventStore(geo::ConnectionFactory connections);
    void save(const std::vector<Event>& events) override;
    void save_summary(const Assignment& assignment, const ShiftSummary& summary) override;

  private:
    pqxx::connection& connection();

    geo::ConnectionFactory connections_;
    std::unique_ptr<pqxx::connection> conn_;
};

/// WKT of an event's geometry: a POINT, or a LINESTRING for a path. Exposed for tests.
std::string event_wkt(const Event& event);

}  // namespace fleet::dispatch
