#include "geo/track_store.hpp"

#include "geo/detail/period_query.hpp"

#include <cmath>
#include <cstdio>

#include "geo/calendar.hpp"

namespace fleet::geo {

namespace {

template <typename T>
std::optional<T> optional_field(const pqxx::field& f) {
    return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

std::string days_text(double days) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", std::round(days * 100) / 100);
    return buf;
}

}  // namespace

void check_track_period(std::int64_t from_ms, std::int64_t to_ms, const TrackLimits& limits) {
    if (from_ms >= to_ms) {
        throw InputError("period: from " + iso_time(from_ms) + " is not before to " +
                         iso_time(to_ms));
    }
    const double days = static_cast<double>(to_ms - from_ms) / 86'400'000.0;
    if (days > limits.max_period_days) {
        throw InputError("period: " + days_text(days) + " days long; at most " +
                         days_text(limits.max_period_days) +
                         " days (max_period_days) are read at once, ask for a shorter period");
    }
}

std::int64_t track_vehicle_id(pqxx::transaction_base& tx, const std::string& registration) {
    const auto r = tx.exec_params("SELECT vehicle_id FROM fleet.vehicles WHERE registration = $1",
                                  registration);
    if (r.empty()) {
        throw NoSuchVehicle("no such vehicle '" + registration +
                            "' (fleetctl vehicle list shows them)");
    }
    return r[0][0].as<std::int64_t>();
}

Track read_track(pqxx::transaction_base& tx, const TrackQuery& q) {
    detail::use_period(tx, q.from, q.to, q.time_zone);
    Track track;
    track.vehicle_id = q.vehicle_id;
    try {
        const auto period = tx.exec_params1(
            "SELECT floor(extract(epoch FROM $1::timestamptz) * 1000)::bigint,"
            " floor(extract(epoch FROM $2::timestamptz) * 1000)::bigint,"
            " extract(timezone FROM $1::timestamptz)::int,"
            " extract(timezone FROM $2::timestamptz)::int",
            q.from, q.to);
        track.from_ms = period[0].as<std::int64_t>();
        track.to_ms = period[1].as<std::int64_t>();
        track.from_offset_s = period[2].as<int>();
        track.to_offset_s = period[3].as<int>();
    } catch (const pqxx::data_exception& e) {
        const std::string what = e.what();
        throw InputError("from/to: " + what.substr(0, what.find('\n')));
    }
    check_track_period(track.from_ms, track.to_ms, q.limits);
    const auto vehicle = tx.exec_params(
        "SELECT registration FROM fleet.vehicles WHERE vehicle_id = $1", q.vehicle_id);
    if (vehicle.empty()) {
        throw NoSuchVehicle("no such vehicle: id " + std::to_string(q.vehicle_id));
    }
    track.registration = vehicle[0][0].as<std::string>();
    // One more than allowed, to tell "exactly the limit" from "more".
    const auto rows = tx.exec_params(
        "SELECT floor(extract(epoch FROM device_time) * 1000)::bigint,"
        " extract(timezone FROM device_time)::int, ST_X(geom), ST_Y(geom), speed_kmh,"
        " course_deg, altitude_m, satellites, valid, odometer_m, fuel_l, ignition"
        " FROM fleet.positions"
        " WHERE vehicle_id = $1 AND device_time >= $2::timestamptz AND device_time < "
        "$3::timestamptz"
        " ORDER BY device_time LIMIT $4",
        q.vehicle_id, q.from, q.to, static_cast<std::int64_t>(q.limits.max_fixes) + 1);
    if (rows.size() > q.limits.max_fixes) {
        throw InputError("period: vehicle '" + track.registration + "' has more than " +
                         std::to_string(q.limits.max_fixes) +
                         " fixes in it; at most that many (max_fixes) are read at once, ask for "
                         "a shorter period");
    }
    track.fixes.reserve(rows.size());
    for (const auto& r : rows) {
        track.fixes.push_back({.time_ms = r[0].as<std::int64_t>(),
                               .utc_offset_s = r[1].as<int>(),
                               .position = {r[2].as<double>(), r[3].as<double>()},
                               .speed_kmh = optional_field<double>(r[4]),
                               .course_deg = optional_field<double>(r[5]),
                               .altitude_m = optional_field<double>(r[6]),
                               .satellites = optional_field<int>(r[7]),
                               .valid = r[8].as<bool>(),
                               .odometer_m = optional_field<double>(r[9]),
                               .fuel_l = optional_field<double>(r[10]),
                               .ignition = optional_field<bool>(r[11])});
    }
    return track;
}

}  // namespace fleet::geo
