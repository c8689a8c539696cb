#include "tests/waybills/fleet_fixture.hpp"

#include "dispatch/fleet_register.hpp"
#include "waybills/models.hpp"
#include "waybills/reconcile.hpp"

namespace fleet::test {

void prepare_fleet(pqxx::connection& conn) {
    waybills::save_issuer(conn,
                          {.code = "FLEET",
                           .name = "Gorodskie Perevozki",
                           .legal_form = "LLC",
                           .address = "Moscow, Tverskaya 1",
                           .phone = "+7 495 123-45-67",
                           .ogrn = "1027700132195",
                           .ogrnip = "",
                           .time_zone = "Europe/Moscow"},
                          "test");
    waybills::add_model(
        conn,
        {.make_model = "LADA Largus",
         .fields = {.vehicle_class = "car", .fuel_grade = "petrol", .base_l_per_100km = 10}},
        "test");
    dispatch::add_vehicle(
        conn,
        {.registration = "A123BC",
         .fields = {.make_model = "LADA Largus", .region = "Moscow", .built_on = "2019-05-01"}},
        "test");
    dispatch::add_driver(conn,
                         {.personnel_number = "0042",
                          .fields = {.full_name = "Ivan Petrov",
                                     .licence_series = "77 12",
                                     .licence_number = "345678",
                                     .licence_issued_on = "2015-04-02"}},
                         "test");
    // The company's order on norm corrections has no command yet.
    pqxx::work tx(conn);
    tx.exec0(
        "INSERT INTO fleet.fuel_corrections (code, percent, valid_from, valid_to, region,"
        " reference) VALUES ('winter', 10, '2026-11-01', '2027-03-31', 'Moscow', 'order 5'),"
        " ('city', 15, '2026-01-01', NULL, NULL, 'order 1')");
    tx.commit();
}

waybills::Clock clock_at(std::chrono::sys_seconds utc) {
    waybills::Clock clock;
    clock.now = [utc] { return std::chrono::system_clock::time_point(utc); };
    return clock;
}

std::string text_of(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    const auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? std::string() : r[0][0].as<std::string>();
}

long count(pqxx::connection& conn, const std::string& sql) {
    pqxx::read_transaction tx(conn);
    return tx.exec1(sql)[0].as<long>();
}

waybills::IssueRequest issue_request() {
    waybills::IssueRequest q;
    q.issuer = "FLEET";
    q.vehicle = "A123BC";
    q.driver = "0042";
    q.valid_from = q.valid_to = "2026-11-20";
    q.service_kind = "urban";
    q.transport_kind = "cargo";
    q.odometer_out_km = 120000;
    q.fuel_out_l = 40;
    q.actor = "test";
    return q;
}

void pass_pre_trip_checks(pqxx::connection& conn, std::int64_t waybill_id,
                          std::int64_t odometer_km) {
    const std::string date = [&] {
        pqxx::read_transaction tx(conn);
        return tx
            .exec_params1("SELECT valid_from::text FROM fleet.waybills WHERE waybill_id = $1",
                          waybill_id)[0]
            .as<std::string>();
    }();
    waybills::record_check(conn, {.waybill_id = waybill_id,
                                  .kind = "technical",
                                  .checked_at = date + " 07:10+03",
                                  .person = "P. Mechanic",
                                  .passed = true,
                                  .odometer_km = odometer_km,
                                  .notes = "",
                                  .actor = "test"});
    waybills::record_check(conn, {.waybill_id = waybill_id,
                                  .kind = "medical_pre",
                                  .checked_at = date + " 07:15+03",
                                  .person = "M. Medic",
                                  .passed = true,
                                  .odometer_km = {},
                                  .notes = "",
                                  .actor = "test"});
}

std::int64_t released_waybill(pqxx::connection& conn, std::int64_t odometer_out_km,
                              double fuel_out_l) {
    auto q = issue_request();
    q.odometer_out_km = odometer_out_km;
    q.fuel_out_l = fuel_out_l;
    const auto w = waybills::issue(conn, q);
    pass_pre_trip_checks(conn, w.waybill_id, odometer_out_km);
    waybills::release(conn, {.waybill_id = w.waybill_id,
                             .departed_at = "2026-11-20 07:30+03",
                             .dispatcher = "D. Dispatcher",
                             .actor = "test"});
    return w.waybill_id;
}

waybills::ReturnRequest return_request(std::int64_t waybill_id, std::int64_t odometer_in_km,
                                       double fuel_in_l) {
    waybills::ReturnRequest r;
    r.waybill_id = waybill_id;
    r.returned_at = "2026-11-20 18:30+03";
    r.odometer_in_km = odometer_in_km;
    r.fuel_in_l = fuel_in_l;
    r.actor = "test";
    return r;
}

namespace {

void post_trip_and_accept(pqxx::connection& conn, const std::string& url, std::int64_t id,
                          const std::string& date) {
    waybills::record_check(conn, {.waybill_id = id,
                                  .kind = "medical_post",
                                  .checked_at = date + " 18:40+03",
                                  .person = "M. Medic",
                                  .passed = true,
                                  .odometer_km = {},
                                  .notes = "",
                                  .actor = "test"});
    waybills::accept(url,
                     {.waybill_id = id,
                      .person = "A. Accountant",
                      .reason = "no track in this test",
                      .actor = "test"},
                     {});
}

}  // namespace

void close_returned(pqxx::connection& conn, const std::string& url, std::int64_t waybill_id,
                    const std::string& date) {
    post_trip_and_accept(conn, url, waybill_id, date);
}

namespace {

std::string url_of(pqxx::connection& conn) {
    return "host=" + std::string(conn.hostname()) + " port=" + conn.port() +
           " user=" + conn.username() + " dbname=" + conn.dbname();
}

}  // namespace

std::int64_t closed_waybill(pqxx::connection& conn, std::int64_t odometer_out_km, double fuel_out_l,
                            std::int64_t odometer_in_km, double fuel_in_l) {
    const auto id = released_waybill(conn, odometer_out_km, fuel_out_l);
    waybills::return_vehicle(conn, return_request(id, odometer_in_km, fuel_in_l));
    post_trip_and_accept(conn, url_of(conn), id, "2026-11-20");
    return id;
}

std::int64_t returned_waybill_from(pqxx::connection& conn, std::int64_t waybill_id,
                                   std::int64_t inspection_odometer_km, const std::string& date,
                                   std::int64_t odometer_in_km, double fuel_in_l) {
    pass_pre_trip_checks(conn, waybill_id, inspection_odometer_km);
    waybills::release(conn, {.waybill_id = waybill_id,
                             .departed_at = date + " 07:30+03",
                             .dispatcher = "D. Dispatcher",
                             .actor = "test"});
    auto r = return_request(waybill_id, odometer_in_km, fuel_in_l);
    r.returned_at = date + " 18:30+03";
    waybills::return_vehicle(conn, r);
    return waybill_id;
}

}  // namespace fleet::test
