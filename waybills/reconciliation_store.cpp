#include "waybills/reconciliation_store.hpp"

#include <nlohmann/json.hpp>

#include "geo/error.hpp"
#include "waybills/detail/sql.hpp"

namespace fleet::waybills {

namespace {

using Json = nlohmann::json;

std::optional<double> number(const Json& j, const char* key) {
    if (!j.contains(key) || j.at(key).is_null()) {
        return std::nullopt;
    }
    return j.at(key).get<double>();
}

Json parse(const pqxx::field& f) {
    return f.is_null() ? Json() : Json::parse(f.as<std::string>());
}

}  // namespace

std::optional<StoredReconciliation> load_reconciliation(pqxx::connection& conn,
                                                        std::int64_t waybill_id) {
    pqxx::read_transaction tx(conn);
    const auto r = tx.exec_params(
        "SELECT " FLEET_UTC("computed_at") ", mileage_km, gps_km, gps_fixes, gps_gaps::text,"
        " fuel_issued_l, norm_l, norm_details::text, actual_l, saving_l, sensor_events::text,"
        " violation_list::text, plan::text, discrepancies::text"
        " FROM fleet.waybill_reconciliations WHERE waybill_id = $1",
        waybill_id);
    if (r.empty()) {
        return std::nullopt;
    }
    const auto& row = r[0];
    StoredReconciliation s;
    s.waybill_id = waybill_id;
    try {
        s.computed_at = row[0].as<std::string>();
        s.mileage_km = detail::opt<double>(row[1]);
        s.gps_km = detail::opt<double>(row[2]);
        s.gps_fixes = row[3].as<int>();
        for (const auto& g : parse(row[4])) {
            s.gaps.push_back({.from = g.at("from").get<std::string>(),
                              .to = g.at("to").get<std::string>(),
                              .straight_m = g.at("straight_m").get<double>()});
        }
        s.fuel_issued_l = detail::opt<double>(row[5]);
        s.norm_l = detail::opt<double>(row[6]);
        const auto norm = parse(row[7]);
        if (norm.is_object() && norm.contains("correction_pct")) {
            s.correction_pct = number(norm, "correction_pct");
            for (const auto& c : norm.value("corrections", Json::array())) {
                s.corrections.push_back({.code = c.at("code").get<std::string>(),
                                         .percent = c.at("percent").get<double>(),
                                         .reference = c.value("reference", "")});
            }
        }
        s.actual_l = detail::opt<double>(row[8]);
        s.saving_l = detail::opt<double>(row[9]);
        for (const auto& e : parse(row[10])) {
            s.sensor_events.push_back({.kind = e.at("kind").get<std::string>(),
                                       .from = e.at("from").get<std::string>(),
                                       .to = e.at("to").get<std::string>(),
                                       .before_l = e.at("before_l").get<double>(),
                                       .after_l = e.at("after_l").get<double>()});
        }
        for (const auto& v : parse(row[11])) {
            s.violations.push_back({.kind = v.at("kind").get<std::string>(),
                                    .started_at = v.at("started_at").get<std::string>(),
                                    .magnitude = number(v, "magnitude"),
                                    .tier = v.value("tier", "")});
        }
        if (const auto plan = parse(row[12]); plan.is_object()) {
            s.plan = PlanFacts{.trips_planned = plan.at("trips_planned").get<int>(),
                               .trips_served = plan.at("trips_served").get<int>(),
                               .km_planned = plan.at("km_planned").get<double>(),
                               .km_driven = plan.at("km_driven").get<double>(),
                               .hours_planned = plan.at("hours_planned").get<double>(),
                               .hours_worked = plan.at("hours_worked").get<double>(),
                               .punctuality = number(plan, "punctuality")};
        }
        for (const auto& d : parse(row[13])) {
            s.discrepancies.push_back(
                {d.at("code").get<std::string>(), d.at("message").get<std::string>()});
        }
    } catch (const Json::exception& e) {
        throw DatabaseError("stored reconciliation of waybill " + std::to_string(waybill_id) +
                            " is unreadable: " + e.what());
    }
    return s;
}

}  // namespace fleet::waybills
