// Waybills through the API: every lifecycle step (issue, checks, release, return, amend, accept,
// correct, cancel), one waybill's reconciliation, and the period report as CSV or XLSX, by the
// same functions as fleetctl waybill and report waybills. Each step is one transaction,
// journalled with the API user; a refused step changes nothing (422 with every reason).
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include "geo/calendar.hpp"
#include "server/api/api.hpp"
#include "waybills/reconcile.hpp"
#include "waybills/report.hpp"
#include "waybills/store.hpp"
#include "waybills/table.hpp"

namespace fleet::server::api {

namespace {

/// Who may work a waybill's steps: the office that issues and releases it and the accountant.
constexpr Roles waybill_staff{Role::admin, Role::dispatcher, Role::accountant};

nlohmann::json check_json(const waybills::Check& c) {
    return {
        {"id", c.check_id},
        {"kind", c.kind},
        {"checked_at", c.checked_at},
        {"person", c.person},
        {"passed", c.passed},
        {"odometer_km", or_null(c.odometer_km)},
        {"notes", or_null(c.notes)},
        {"withdrawal", c.withdrawn_at.empty() ? nlohmann::json()
                                              : nlohmann::json{{"at", c.withdrawn_at},
                                                               {"by", c.withdrawn_by},
                                                               {"reason", c.withdrawn_reason}}}};
}

nlohmann::json waybill_json(const waybills::Waybill& w) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : w.checks) {
        checks.push_back(check_json(c));
    }
    return {{"id", w.waybill_id},
            {"issuer", w.issuer},
            {"number", w.number},
            {"status", w.status},
            {"valid_from", w.valid_from},
            {"valid_to", w.valid_to},
            {"time_zone", w.time_zone},
            {"vehicle",
             {{"id", w.vehicle_id},
              {"registration", w.registration},
              {"class", w.vehicle_class},
              {"model", or_null(w.make_model)}}},
            {"driver",
             {{"id", w.driver_id},
              {"full_name", w.driver_name},
              {"licence_series", or_null(w.licence_series)},
              {"licence_number", or_null(w.licence_number)},
              {"licence_issued_on", or_null(w.licence_issued_on)}}},
            {"assignment_id", or_null(w.assignment_id)},
            {"trailer", w.trailer_registration.empty()
                            ? nlohmann::json()
                            : nlohmann::json{{"model", or_null(w.trailer_make_model)},
                                             {"registration", w.trailer_registration},
                                             {"mass_t", or_null(w.trailer_mass_t)}}},
            {"service_kind", or_null(w.service_kind)},
            {"transport_kind", or_null(w.transport_kind)},
            {"fuel_grade", or_null(w.fuel_grade)},
            {"odometer_out_km", or_null(w.odometer_out_km)},
            {"odometer_in_km", or_null(w.odometer_in_km)},
            {"fuel_out_l", or_null(w.fuel_out_l)},
            {"fuel_in_l", or_null(w.fuel_in_l)},
            {"fuel_issued_l", w.fuel_issued_l},
            {"fuel_handed_over_l", w.fuel_handed_over_l},
            {"heater_h", w.heater_h},
            {"equipment_h", w.equipment_h},
            {"idle_h", w.idle_h},
            {"transport_work_tkm", w.transport_work_tkm},
            {"loaded_trips", w.loaded_trips},
            {"air_conditioning", w.air_conditioning},
            {"departed_at", or_null(w.departed_at)},
            {"returned_at", or_null(w.returned_at)},
            {"issued", {{"at", w.issued_at}, {"by", w.issued_by}}},
            {"released_by", or_null(w.released_by)},
            {"acceptance", w.accepted_at.empty()
                               ? nlohmann::json()
                               : nlohmann::json{{"at", w.accepted_at},
                                                {"by", w.accepted_by},
                                                {"reason", or_null(w.acceptance_reason)}}},
            {"corrects_waybill_id", or_null(w.corrects_waybill_id)},
            {"cancellation", w.cancelled_at.empty() ? nlohmann::json()
                                                    : nlohmann::json{{"at", w.cancelled_at},
                                                                     {"by", w.cancelled_by},
                                                                     {"reason", w.cancel_reason}}},
            {"checks", checks}};
}

nlohmann::json reconciliation_json(const waybills::Reconciliation& r) {
    const auto iso = [](std::int64_t ms) {
        return ms == 0 ? nlohmann::json()
                       : nlohmann::json(geo::iso_utc(geo::Millis(std::chrono::milliseconds(ms))));
    };
    nlohmann::json discrepancies = nlohmann::json::array();
    for (const auto& d : r.discrepancies) {
        discrepancies.push_back({{"code", d.code}, {"message", d.message}});
    }
    nlohmann::json receipts = nlohmann::json::array();
    for (const auto& t : r.receipts) {
        receipts.push_back({{"id", t.transaction_id},
                            {"time", iso(t.time_ms)},
                            {"volume_l", t.volume_l},
                            {"card_or_coupon", or_null(t.card_or_coupon)},
                            {"odometer_km", or_null(t.odometer_km)},
                            {"on_waybill", t.on_waybill},
                            {"sensor_matched", t.sensor_matched}});
    }
    nlohmann::json violations = nlohmann::json::array();
    for (const auto& v : r.violations) {
        violations.push_back({{"kind", v.kind},
                              {"started_at", iso(v.started_ms)},
                              {"magnitude", or_null(v.magnitude)},
                              {"tier", or_null(v.tier)}});
    }
    nlohmann::json gaps = nlohmann::json::array();
    for (const auto& g : r.track.gaps) {
        gaps.push_back(
            {{"from", iso(g.from_ms)}, {"to", iso(g.to_ms)}, {"straight_m", g.straight_m}});
    }
    nlohmann::json fuel_events = nlohmann::json::array();
    for (const auto& e : r.track.fuel_events) {
        fuel_events.push_back(
            {{"kind", e.kind == waybills::FuelEvent::Kind::fill ? "fill" : "drain"},
             {"from", iso(e.from_ms)},
             {"to", iso(e.to_ms)},
             {"lon", e.position.lon_deg},
             {"lat", e.position.lat_deg},
             {"before_l", e.before_l},
             {"after_l", e.after_l},
             {"volume_l", e.volume_l()}});
    }
    nlohmann::json corrections = nlohmann::json::array();
    for (const auto& c : r.corrections.applied) {
        corrections.push_back({{"code", std::string(waybills::to_string(c.code))},
                               {"percent", c.percent},
                               {"reference", or_null(c.reference)}});
    }
    nlohmann::json norm;
    if (r.norm) {
        norm = {{"norm_l", r.norm->norm_l},           {"base_l", r.norm->base_l},
                {"trailer_l", r.norm->trailer_l},     {"work_l", r.norm->work_l},
                {"equipment_l", r.norm->equipment_l}, {"correction_l", r.norm->correction_l},
                {"heater_l", r.norm->heater_l},       {"loaded_trips_l", r.norm->loaded_trips_l},
                {"idle_l", r.norm->idle_l},           {"correction_pct", r.norm->correction_pct}};
    }
    nlohmann::json plan;
    if (r.plan) {
        plan = {
            {"trips_planned", r.plan->trips_planned},     {"trips_served", r.plan->trips_served},
            {"km_planned", r.plan->km_planned},           {"km_driven", r.plan->km_driven},
            {"hours_planned", r.plan->hours_planned},     {"hours_worked", r.plan->hours_worked},
            {"punctuality", or_null(r.plan->punctuality)}};
    }
    return {{"waybill_id", r.waybill_id},
            {"issuer", r.issuer},
            {"number", r.number},
            {"status", r.status},
            {"valid_from", r.valid_from},
            {"valid_to", r.valid_to},
            {"vehicle", {{"id", r.vehicle_id}, {"registration", r.registration}}},
            {"driver", {{"id", r.driver_id}, {"full_name", r.driver_name}}},
            {"departed_at", iso(r.departed_ms)},
            {"returned_at", iso(r.returned_ms)},
            {"time_zone", r.time_zone},
            {"odometer_out_km", or_null(r.odometer_out_km)},
            {"odometer_in_km", or_null(r.odometer_in_km)},
            {"mileage_km", or_null(r.mileage_km)},
            {"gps",
             {{"km", r.gps_km()},
              {"fixes", r.track.fixes},
              {"used", r.track.used},
              {"invalid", r.track.invalid},
              {"jumps", r.track.jumps},
              {"fuel_readings", r.track.fuel_readings},
              {"gaps", gaps}}},
            {"fuel",
             {{"out_l", or_null(r.fuel_out_l)},
              {"in_l", or_null(r.fuel_in_l)},
              {"issued_l", r.fuel_issued_l},
              {"handed_over_l", r.fuel_handed_over_l},
              {"actual_l", or_null(r.actual_l)},
              {"saving_l", or_null(r.saving_l)},
              {"norm", norm},
              {"corrections", corrections},
              {"correction_pct", r.corrections.total_pct},
              {"events", fuel_events}}},
            {"receipts", receipts},
            {"violations", violations},
            {"plan", plan},
            {"discrepancies", discrepancies},
            {"notes", r.notes}};
}

// The waybill `id` when it exists and the caller may see its vehicle (404 otherwise: a limited
// dispatcher learns nothing of the others).
std::int64_t waybill_of(const Call& call, std::int64_t id) {
    pqxx::read_transaction tx(call.db());
    const auto r =
        tx.exec_params("SELECT vehicle_id FROM fleet.waybills WHERE waybill_id = $1", id);
    tx.commit();
    if (r.empty() || !call.user().sees(r[0][0].as<std::int64_t>())) {
        throw NotFoundError("no such waybill " + std::to_string(id));
    }
    return id;
}

nlohmann::json loaded(const Call& call, std::int64_t id) {
    return waybill_json(waybills::load_waybill(call.db(), id));
}

// A non-negative number of a body, or nothing.
std::optional<double> amount(const nlohmann::json& b, const std::string& field, double max) {
    return body::number(b, field, 0, max);
}

// A period of report dates, at most a year and a day; 400 naming what is wrong.
std::pair<std::string, std::string> report_period(const Call& call) {
    const auto from = call.query("from");
    const auto to = call.query("to");
    if (!from || !to) {
        throw ApiError(400, "bad_request", "from and to are required (YYYY-MM-DD)");
    }
    for (const auto* d : {&*from, &*to}) {
        if (!geo::is_calendar_date(*d)) {
            throw ApiError(400, "bad_request",
                           (d == &*from ? "from" : "to") +
                               std::string(": a calendar date YYYY-MM-DD is wanted"));
        }
    }
    if (*from > *to) {
        throw ApiError(400, "bad_request", "from: after to");
    }
    const auto day = [](const std::string& d) { return *geo::parse_iso_time(d + "T00:00:00Z"); };
    if (day(*to) - day(*from) > std::chrono::days(366)) {
        throw ApiError(422, "unprocessable", "a report covers at most 367 days");
    }
    return {*from, *to};
}

// The workbook's bytes: libxlsxwriter writes files, so through a private temporary one.
std::string xlsx_bytes(const std::vector<waybills::Sheet>& sheets) {
    auto pattern = (std::filesystem::temp_directory_path() / "fleetd-report-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) {
        throw Error("cannot create a temporary file for the workbook");
    }
    ::close(fd);
    const std::filesystem::path path(pattern);
    struct Remove {
        const std::filesystem::path& path;
        ~Remove() {
            std::error_code ignored;
            std::filesystem::remove(path, ignored);
        }
    } remove{path};
    waybills::write_xlsx(path, sheets);
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

void add_waybill_routes(Router& router, ApiServices& s) {
    router.add({.method = Method::get,
                .pattern = "/api/waybills",
                .roles = all_roles,
                .handler = [](Call& call) {
                    waybills::ListFilter f;
                    const auto [from, to] = report_period(call);
                    f.from = from;
                    f.to = to;
                    f.vehicle = call.query("vehicle").value_or("");
                    f.driver = call.query("driver").value_or("");
                    f.status = call.query("status").value_or("");
                    if (!f.status.empty() && f.status != "issued" && f.status != "released" &&
                        f.status != "returned" && f.status != "closed" &&
                        f.status != "superseded" && f.status != "cancelled") {
                        throw ApiError(400, "bad_request",
                                       "status: issued, released, returned, closed, superseded "
                                       "or cancelled is wanted");
                    }
                    const auto& user = call.user();
                    nlohmann::json out = nlohmann::json::array();
                    // An unknown vehicle or driver: 422 naming it.
                    for (const auto& w : waybills::list_waybills(call.db(), f)) {
                        if (user.sees(w.vehicle_id)) {
                            out.push_back(waybill_json(w));
                        }
                    }
                    return json_response({{"waybills", out}});
                }});
    router.add({.method = Method::get,
                .pattern = "/api/waybills/{id}",
                .roles = all_roles,
                .handler = [](Call& call) {
                    return json_response(
                        {{"waybill", loaded(call, waybill_of(call, call.id_param("id")))}});
                }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/waybills",
         .roles = waybill_staff,
         .handler = [&s](Call& call) {
             const auto& b = call.body();
             body::only(b, {"issuer", "vehicle", "driver", "assignment_id", "valid_from",
                            "valid_to", "trailer_model", "trailer_registration", "trailer_mass_t",
                            "service_kind", "transport_kind", "odometer_out_km", "fuel_out_l"});
             waybills::IssueRequest r;
             r.issuer = body::required_text(b, "issuer", 64);
             r.vehicle = body::text(b, "vehicle", 32).value_or("");
             r.driver = body::text(b, "driver", 200).value_or("");
             r.assignment_id = body::integer(b, "assignment_id", 1, INT64_MAX);
             r.valid_from = body::date(b, "valid_from").value_or("");
             r.valid_to = body::date(b, "valid_to").value_or("");
             r.trailer_make_model = body::text(b, "trailer_model", 200).value_or("");
             r.trailer_registration = body::text(b, "trailer_registration", 32).value_or("");
             r.trailer_mass_t = amount(b, "trailer_mass_t", 1000);
             r.service_kind = body::text(b, "service_kind", 200).value_or("");
             r.transport_kind = body::text(b, "transport_kind", 200).value_or("");
             r.odometer_out_km = body::integer(b, "odometer_out_km", 0, 99'999'999);
             r.fuel_out_l = amount(b, "fuel_out_l", 100'000);
             r.actor = call.actor();
             if (!r.vehicle.empty()) {
                 check_vehicle(call, s.directory, r.vehicle);
             } else if (r.assignment_id && call.user().limited) {
                 pqxx::read_transaction tx(call.db());
                 const auto v = tx.exec_params(
                     "SELECT vehicle_id FROM fleet.shift_assignments WHERE "
                     "assignment_id = $1",
                     *r.assignment_id);
                 tx.commit();
                 if (v.empty() || !call.user().sees(v[0][0].as<std::int64_t>())) {
                     throw NotFoundError("no such assignment " + std::to_string(*r.assignment_id));
                 }
             }
             const auto issued = waybills::issue(call.db(), r);
             return json_response({{"waybill", loaded(call, issued.waybill_id)},
                                   {"carried_over", issued.carried_over},
                                   {"assignment_found", issued.assignment_found},
                                   {"assignment_candidates", issued.assignment_candidates}},
                                  201);
         }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/waybills/{id}/checks",
         .roles = waybill_staff,
         .handler = [](Call& call) {
             const auto id = waybill_of(call, call.id_param("id"));
             const auto& b = call.body();
             body::only(b, {"kind", "checked_at", "person", "passed", "odometer_km", "notes"});
             waybills::CheckRequest r;
             r.waybill_id = id;
             r.kind = body::required_text(b, "kind", 32);
             r.checked_at = body::time(b, "checked_at").value_or("");
             if (r.checked_at.empty()) {
                 throw ApiError(400, "bad_request", "checked_at: required");
             }
             r.person = body::required_text(b, "person", 200);
             r.passed = body::boolean(b, "passed").value_or(true);
             r.odometer_km = body::integer(b, "odometer_km", 0, 99'999'999);
             r.notes = body::text(b, "notes", 2000).value_or("");
             r.actor = call.actor();
             const auto check = waybills::record_check(call.db(), r);
             return json_response({{"check_id", check}, {"waybill", loaded(call, id)}}, 201);
         }});
    router.add({.method = Method::post,
                .pattern = "/api/waybills/{id}/checks/{check}/withdraw",
                .roles = waybill_staff,
                .handler = [](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    const auto& b = call.body();
                    body::only(b, {"reason"});
                    waybills::withdraw_check(call.db(),
                                             {.waybill_id = id,
                                              .check_id = call.id_param("check"),
                                              .reason = body::required_text(b, "reason", 1000),
                                              .actor = call.actor()});
                    return json_response({{"waybill", loaded(call, id)}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/waybills/{id}/cancel",
                .roles = waybill_staff,
                .handler = [](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    const auto& b = call.body();
                    body::only(b, {"reason"});
                    waybills::cancel(call.db(), {.waybill_id = id,
                                                 .reason = body::required_text(b, "reason", 1000),
                                                 .actor = call.actor()});
                    return json_response({{"waybill", loaded(call, id)}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/waybills/{id}/release",
                .roles = waybill_staff,
                .handler = [](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    const auto& b = call.body();
                    body::only(b, {"departed_at", "dispatcher"});
                    waybills::ReleaseRequest r;
                    r.waybill_id = id;
                    r.departed_at = body::time(b, "departed_at").value_or("");
                    if (r.departed_at.empty()) {
                        throw ApiError(400, "bad_request", "departed_at: required");
                    }
                    r.dispatcher = body::required_text(b, "dispatcher", 200);
                    r.actor = call.actor();
                    waybills::release(call.db(), r);
                    return json_response({{"waybill", loaded(call, id)}});
                }});
    router.add(
        {.method = Method::post,
         .pattern = "/api/waybills/{id}/return",
         .roles = waybill_staff,
         .handler = [](Call& call) {
             const auto id = waybill_of(call, call.id_param("id"));
             const auto& b = call.body();
             body::only(b, {"returned_at", "odometer_in_km", "fuel_in_l", "fuel_handed_over_l",
                            "heater_h", "equipment_h", "idle_h", "transport_work_tkm",
                            "loaded_trips", "air_conditioning", "declared_corrections"});
             waybills::ReturnRequest r;
             r.waybill_id = id;
             r.returned_at = body::time(b, "returned_at").value_or("");
             if (r.returned_at.empty()) {
                 throw ApiError(400, "bad_request", "returned_at: required");
             }
             const auto odometer = body::integer(b, "odometer_in_km", 0, 99'999'999);
             const auto fuel = amount(b, "fuel_in_l", 100'000);
             if (!odometer || !fuel) {
                 throw ApiError(
                     400, "bad_request",
                     std::string(!odometer ? "odometer_in_km" : "fuel_in_l") + ": required");
             }
             r.odometer_in_km = *odometer;
             r.fuel_in_l = *fuel;
             r.fuel_handed_over_l = amount(b, "fuel_handed_over_l", 100'000).value_or(0);
             r.heater_h = amount(b, "heater_h", 744).value_or(0);
             r.equipment_h = amount(b, "equipment_h", 744).value_or(0);
             r.idle_h = amount(b, "idle_h", 744).value_or(0);
             r.transport_work_tkm = amount(b, "transport_work_tkm", 10'000'000).value_or(0);
             r.loaded_trips =
                 static_cast<int>(body::integer(b, "loaded_trips", 0, 10'000).value_or(0));
             r.air_conditioning = body::boolean(b, "air_conditioning").value_or(false);
             r.declared_corrections =
                 body::texts(b, "declared_corrections", 50).value_or(std::vector<std::string>{});
             r.actor = call.actor();
             waybills::return_vehicle(call.db(), r);
             return json_response({{"waybill", loaded(call, id)}});
         }});
    router.add({.method = Method::post,
                .pattern = "/api/waybills/{id}/amend",
                .roles = waybill_staff,
                .handler = [](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    const auto& b = call.body();
                    body::only(b, {"odometer_in_km", "fuel_in_l", "fuel_handed_over_l",
                                   "departed_at", "returned_at", "reason"});
                    waybills::AmendRequest r;
                    r.waybill_id = id;
                    r.odometer_in_km = body::integer(b, "odometer_in_km", 0, 99'999'999);
                    r.fuel_in_l = amount(b, "fuel_in_l", 100'000);
                    r.fuel_handed_over_l = amount(b, "fuel_handed_over_l", 100'000);
                    r.departed_at = body::time(b, "departed_at").value_or("");
                    r.returned_at = body::time(b, "returned_at").value_or("");
                    r.reason = body::required_text(b, "reason", 1000);
                    r.actor = call.actor();
                    nlohmann::json changes = nlohmann::json::array();
                    for (const auto& a : waybills::amend(call.db(), r)) {
                        changes.push_back(
                            {{"field", a.field}, {"old", a.old_value}, {"new", a.new_value}});
                    }
                    return json_response({{"amended", changes}, {"waybill", loaded(call, id)}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/waybills/{id}/accept",
                .roles = accountants,
                .handler = [&s](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    const auto& b = call.body();
                    body::only(b, {"person", "reason"});
                    waybills::AcceptRequest r;
                    r.waybill_id = id;
                    r.person = body::required_text(b, "person", 200);
                    r.reason = body::text(b, "reason", 2000).value_or("");
                    r.actor = call.actor();
                    waybills::ReconcileOptions options;
                    options.workers = 1;
                    const auto result = waybills::accept(s.database, r, options);
                    return json_response({{"waybill", loaded(call, id)},
                                          {"reconciliation", reconciliation_json(result)}});
                }});
    router.add({.method = Method::post,
                .pattern = "/api/waybills/{id}/correct",
                .roles = accountants,
                .handler = [](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    const auto& b = call.body();
                    body::only(b, {"odometer_out_km", "odometer_in_km", "fuel_out_l", "fuel_in_l",
                                   "fuel_handed_over_l", "heater_h", "equipment_h", "idle_h",
                                   "transport_work_tkm", "loaded_trips", "departed_at",
                                   "returned_at", "reason"});
                    waybills::WaybillCorrection c;
                    c.waybill_id = id;
                    c.odometer_out_km = body::integer(b, "odometer_out_km", 0, 99'999'999);
                    c.odometer_in_km = body::integer(b, "odometer_in_km", 0, 99'999'999);
                    c.fuel_out_l = amount(b, "fuel_out_l", 100'000);
                    c.fuel_in_l = amount(b, "fuel_in_l", 100'000);
                    c.fuel_handed_over_l = amount(b, "fuel_handed_over_l", 100'000);
                    c.heater_h = amount(b, "heater_h", 744);
                    c.equipment_h = amount(b, "equipment_h", 744);
                    c.idle_h = amount(b, "idle_h", 744);
                    c.transport_work_tkm = amount(b, "transport_work_tkm", 10'000'000);
                    if (const auto trips = body::integer(b, "loaded_trips", 0, 10'000)) {
                        c.loaded_trips = static_cast<int>(*trips);
                    }
                    c.departed_at = body::time(b, "departed_at").value_or("");
                    c.returned_at = body::time(b, "returned_at").value_or("");
                    c.reason = body::required_text(b, "reason", 1000);
                    c.actor = call.actor();
                    const auto corrected = waybills::correct(call.db(), c);
                    return json_response({{"waybill", loaded(call, corrected)}}, 201);
                }});
    router.add({.method = Method::get,
                .pattern = "/api/waybills/{id}/reconciliation",
                .roles = waybill_staff,
                .handler = [&s](Call& call) {
                    const auto id = waybill_of(call, call.id_param("id"));
                    waybills::ReconcileOptions options;
                    options.workers = 1;
                    const auto results =
                        waybills::reconcile(call.db(), s.database,
                                            {.from = "", .to = "", .waybill_ids = {id}}, options);
                    if (results.empty()) {
                        throw ApiError(422, "unprocessable",
                                       "waybill " + std::to_string(id) +
                                           " is not returned yet: there is nothing to reconcile");
                    }
                    return json_response({{"reconciliation", reconciliation_json(results[0])}});
                }});
    router.add(
        {.method = Method::get,
         .pattern = "/api/reports/waybills",
         .roles = accountants,
         .handler = [&s](Call& call) {
             const auto [from, to] = report_period(call);
             const auto format = call.query("format").value_or("csv");
             const auto sheet_name = call.query("sheet").value_or("waybills");
             if (format != "csv" && format != "xlsx") {
                 throw ApiError(400, "bad_request", "format: csv or xlsx is wanted");
             }
             if (!waybills::is_report_sheet(sheet_name)) {
                 throw ApiError(400, "bad_request",
                                "sheet: waybills, vehicles, drivers or receipts is wanted");
             }
             const waybills::ReconcileOptions options;
             const auto results = waybills::reconcile(
                 call.db(), s.database, {.from = from, .to = to, .waybill_ids = {}}, options);
             const auto loose = waybills::receipts_without_waybill(call.db(), from, to, options);
             const auto file = "waybills-" + from + "-" + to;
             Response r;
             if (format == "xlsx") {
                 r.content_type =
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
                 r.body = xlsx_bytes(waybills::waybill_report(results, loose));
                 r.headers.emplace_back("Content-Disposition",
                                        "attachment; filename=\"" + file + ".xlsx\"");
                 return r;
             }
             const auto sheet = waybills::report_sheet(sheet_name, results, loose);
             std::ostringstream out;
             waybills::write_csv(out, sheet);
             r.content_type = "text/csv; charset=utf-8";
             r.body = out.str();
             r.headers.emplace_back("Content-Disposition",
                                    "attachment; filename=\"" + file + "-" + sheet_name + ".csv\"");
             return r;
         }});
}

}  // namespace fleet::server::api
