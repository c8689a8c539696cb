#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <pqxx/pqxx>

#include "geo/iso_time.hpp"
#include "ingest/writer.hpp"

/// What the API answers from memory: every vehicle's latest position (kept from the writer's
/// committed positions, first filled from fleet.latest_positions) and the register as people
/// name it (registrations, classes, groups), reloaded from the database now and then and at
/// once after the API changed it. No query per request.
namespace fleet::server::api {

struct LatestFix {
    geo::Millis device_time{};
    double longitude_deg = 0, latitude_deg = 0;
    std::optional<double> speed_kmh, course_deg;
    std::optional<bool> ignition;
    bool valid = true;
};

/// Latest positions by vehicle: a sink of the writer (thread-safe, quick).
class LatestPositions : public ingest::PositionSink {
  public:
    void on_committed(std::span<const ingest::StoredPosition> positions) override;
    /// Fills from fleet.latest_positions (at start); newer fixes already held are kept.
    void load(pqxx::connection& conn);
    std::optional<LatestFix> get(std::int64_t vehicle_id) const;
    /// A copy of all of them.
    std::unordered_map<std::int64_t, LatestFix> all() const;

  private:
    void keep(std::int64_t vehicle_id, const LatestFix& fix);
    mutable std::mutex mutex_;
    std::unordered_map<std::int64_t, LatestFix> latest_;
};

struct DirectoryVehicle {
    std::int64_t vehicle_id = 0;
    std::string registration, vehicle_class;
    bool active = true;
    std::vector<std::string> groups;
};

/// The register as the API shows it.
class FleetDirectory {
  public:
    using Vehicles = std::unordered_map<std::int64_t, DirectoryVehicle>;
    /// Reads vehicles and their groups (one query each).
    void reload(pqxx::connection& conn);
    /// The vehicles as of the last reload (shared, never changed in place).
    std::shared_ptr<const Vehicles> vehicles() const;

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const Vehicles> vehicles_ = std::make_shared<Vehicles>();
};

}  // namespace fleet::server::api
