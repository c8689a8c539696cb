#include "server/assignment_feed.hpp"

#include <pqxx/pqxx>

#include "dispatch/assignments.hpp"
#include "dispatch/speed_limits_store.hpp"
#include "geo/error.hpp"

namespace fleet::server {

namespace {

// What of an assignment may change without it being another one: its routes' thresholds and
// speed limits.
std::string route_rules_of(const dispatch::Assignment& a) {
    std::string out;
    for (const auto& t : a.trips) {
        out += std::to_string(t.route_id) + "{";
        for (const auto& [name, value] : t.thresholds) {
            out += name + "=" + std::to_string(value) + ";";
        }
        for (const auto& s : t.speed_segments) {
            out += std::to_string(s.from_m) + "-" + std::to_string(s.to_m) + ":" +
                   std::to_string(s.limit_kmh) + ";";
        }
        out += "}";
    }
    return out;
}

}  // namespace

std::pair<std::size_t, std::size_t> AssignmentFeed::refresh(bool replay) {
    try {
        auto connection = connections_.connect("fleetd assignments");
        pqxx::connection& conn = *connection;
        std::vector<std::string> dates;
        {
            pqxx::read_transaction tx(conn);
            const auto r = tx.exec1(
                "SELECT ((now() AT TIME ZONE 'UTC')::date - 1)::text, (now() AT TIME ZONE "
                "'UTC')::date::text");
            dates = {r[0].as<std::string>(), r[1].as<std::string>()};
        }
        engine_.set_speed_limits(dispatch::load_speed_limits(conn, class_caps_));
        std::size_t handed = 0;
        std::size_t replayed = 0;
        for (const auto& date : dates) {
            for (auto& a : dispatch::load_assignments(conn, date)) {
                auto& current = current_[a->vehicle_id];
                auto rules = route_rules_of(*a);
                if (current.first == a->assignment_id && current.second == rules) {
                    continue;
                }
                // The same assignment with new route rules: the tracker keeps its state.
                const bool same = current.first == a->assignment_id;
                current = {a->assignment_id, std::move(rules)};
                const auto vehicle = a->vehicle_id;
                const auto since = a->planned_start - std::chrono::hours(1);
                engine_.upsert(std::move(a));
                ++handed;
                if (!replay || same) {
                    continue;
                }
                pqxx::read_transaction tx(conn);
                std::vector<dispatch::VehicleFix> fixes;
                for (const auto& p : tx.exec_params(
                         "SELECT (extract(epoch FROM device_time) * 1000)::bigint, ST_X(geom),"
                         " ST_Y(geom), speed_kmh, valid,"
                         " (extract(epoch FROM server_time) * 1000)::bigint FROM fleet.positions "
                         "WHERE vehicle_id = $1"
                         " AND device_time >= to_timestamp($2::double precision / 1000)"
                         " ORDER BY device_time",
                         vehicle, static_cast<double>(since.time_since_epoch().count()))) {
                    dispatch::Fix f;
                    f.time = dispatch::Millis(std::chrono::milliseconds(p[0].as<long long>()));
                    f.position = {p[1].as<double>(), p[2].as<double>()};
                    if (!p[3].is_null()) {
                        f.speed_kmh = p[3].as<double>();
                    }
                    f.valid = p[4].as<bool>();
                    f.received_at =
                        dispatch::Millis(std::chrono::milliseconds(p[5].as<long long>()));
                    fixes.push_back({vehicle, f, std::chrono::steady_clock::now()});
                }
                replayed += fixes.size();
                engine_.on_positions(std::move(fixes));
            }
        }
        return {handed, replayed};
    } catch (const pqxx::failure& e) {
        throw DatabaseError(std::string("assignments: ") + e.what());
    }
}

}  // namespace fleet::server
