#include <iostream>

#include "tools/fleetctl/command.hpp"
#include "tools/fleetctl/waybill_cli.hpp"
#include "waybills/reconciliation_store.hpp"
#include "waybills/store.hpp"

namespace fleet::tools::fleetctl {

namespace {

const std::string name = "waybill show";

cli::po::options_description options() {
    return cli::po::options_description("waybill show ID (no options)");
}

std::string or_dash(const std::string& text) {
    return text.empty() ? "-" : text;
}

template <typename T>
std::string or_dash(const std::optional<T>& value, int decimals = 2) {
    if (!value) {
        return "-";
    }
    if constexpr (std::is_floating_point_v<T>) {
        return cli::fixed(*value, decimals);
    } else {
        return std::to_string(*value);
    }
}

void print_waybill(std::ostream& out, const waybills::Waybill& w, const waybills::Issuer& i) {
    const auto line = [&](const char* label, const std::string& value) {
        out << "  " << label << std::string(20 - std::string(label).size(), ' ') << value << "\n";
    };
    out << "waybill " << w.issuer << "/" << w.number << " (id " << w.waybill_id << "), " << w.status
        << "\n";
    line("valid", w.valid_from + (w.valid_to == w.valid_from ? "" : " to " + w.valid_to));
    std::string issuer = i.name;
    for (const auto& part : {i.legal_form, i.address, i.phone}) {
        if (!part.empty()) {
            issuer += ", " + part;
        }
    }
    issuer += i.ogrn.empty() ? "" : ", OGRN " + i.ogrn;
    issuer += i.ogrnip.empty() ? "" : ", OGRNIP " + i.ogrnip;
    line("issuer", i.code + ": " + issuer);
    line("vehicle", w.registration + " (" + w.vehicle_class + ", " + or_dash(w.make_model) + ")");
    line("trailer",
         w.trailer_make_model.empty() && w.trailer_registration.empty()
             ? "-"
             : or_dash(w.trailer_make_model) + ", " + or_dash(w.trailer_registration) +
                   (w.trailer_mass_t ? ", " + cli::fixed(*w.trailer_mass_t, 2) + " t" : ""));
    line("driver", w.driver_name + ", licence " + or_dash(w.licence_series) + " " +
                       or_dash(w.licence_number) + " issued " + or_dash(w.licence_issued_on));
    line("assignment", or_dash(w.assignment_id));
    line("service / transport", or_dash(w.service_kind) + " / " + or_dash(w.transport_kind));
    line("fuel grade", or_dash(w.fuel_grade));
    line("issued", or_dash(w.issued_at) + " by " + or_dash(w.issued_by));
    line("departed",
         or_dash(w.departed_at) + (w.released_by.empty() ? "" : ", released by " + w.released_by));
    line("returned", or_dash(w.returned_at));
    line("odometer, km", "out " + or_dash(w.odometer_out_km) + ", in " + or_dash(w.odometer_in_km));
    line("fuel, L", "out " + or_dash(w.fuel_out_l) + ", issued " + cli::fixed(w.fuel_issued_l, 2) +
                        ", handed over " + cli::fixed(w.fuel_handed_over_l, 2) + ", in " +
                        or_dash(w.fuel_in_l));
    line("hours", "heater " + cli::fixed(w.heater_h, 1) + ", equipment " +
                      cli::fixed(w.equipment_h, 1) + ", idle " + cli::fixed(w.idle_h, 1));
    line("work", cli::fixed(w.transport_work_tkm, 1) + " t*km, " + std::to_string(w.loaded_trips) +
                     " loaded trips, air conditioning " +
                     (w.air_conditioning ? "used" : "not used"));
    if (!w.accepted_at.empty()) {
        line("accepted",
             w.accepted_at + " by " + w.accepted_by +
                 (w.acceptance_reason.empty() ? "" : ", reason: " + w.acceptance_reason));
    }
    if (!w.cancelled_at.empty()) {
        line("cancelled",
             w.cancelled_at + " by " + or_dash(w.cancelled_by) + ", reason: " + w.cancel_reason);
    }
    if (w.corrects_waybill_id) {
        line("corrects", "waybill id " + std::to_string(*w.corrects_waybill_id));
    }
    out << "checks:" << (w.checks.empty() ? " none" : "") << "\n";
    std::vector<std::vector<std::string>> rows;
    if (!w.checks.empty()) {
        rows.push_back({"  id", "kind", "at", "person", "result", "odometer", "notes"});
    }
    for (const auto& c : w.checks) {
        rows.push_back({"  " + std::to_string(c.check_id), c.kind, c.checked_at, c.person,
                        c.withdrawn_at.empty() ? (c.passed ? "passed" : "FAILED") : "WITHDRAWN",
                        or_dash(c.odometer_km),
                        c.withdrawn_at.empty()
                            ? c.notes
                            : "withdrawn " + c.withdrawn_at + " by " + c.withdrawn_by + ": " +
                                  c.withdrawn_reason + (c.notes.empty() ? "" : "; " + c.notes)});
    }
    cli::print_table(out, rows);
}

void print_reconciliation(std::ostream& out, const waybills::StoredReconciliation& r) {
    out << "reconciliation of " << r.computed_at << ":\n";
    out << "  mileage, km         " << or_dash(r.mileage_km, 0) << " by odometer, "
        << or_dash(r.gps_km, 1) << " by GPS (" << r.gps_fixes << " fixes, " << r.gaps.size()
        << " gaps)\n";
    for (const auto& g : r.gaps) {
        out << "    gap " << g.from << " to " << g.to << ", " << cli::fixed(g.straight_m / 1000, 1)
            << " km apart\n";
    }
    out << "  fuel, L             issued " << or_dash(r.fuel_issued_l) << ", norm "
        << or_dash(r.norm_l) << ", actual " << or_dash(r.actual_l) << ", saving "
        << or_dash(r.saving_l) << "\n";
    if (r.correction_pct) {
        out << "  corrections         " << cli::fixed(*r.correction_pct, 1) << " %";
        for (const auto& c : r.corrections) {
            out << "; " << c.code << " " << cli::fixed(c.percent, 1) << " %"
                << (c.reference.empty() ? "" : " (" + c.reference + ")");
        }
        out << "\n";
    }
    for (const auto& e : r.sensor_events) {
        out << "  sensor " << e.kind << "          " << e.from << ": " << cli::fixed(e.before_l, 1)
            << " -> " << cli::fixed(e.after_l, 1) << " L\n";
    }
    out << "  violations          " << r.violations.size() << "\n";
    for (const auto& v : r.violations) {
        out << "    " << v.kind << " at " << v.started_at
            << (v.magnitude ? ", " + cli::fixed(*v.magnitude, 1) : "")
            << (v.tier.empty() ? "" : ", " + v.tier) << "\n";
    }
    if (r.plan) {
        out << "  plan                trips " << r.plan->trips_served << " of "
            << r.plan->trips_planned << ", " << cli::fixed(r.plan->km_driven, 1) << " of "
            << cli::fixed(r.plan->km_planned, 1) << " km, " << cli::fixed(r.plan->hours_worked, 1)
            << " of " << cli::fixed(r.plan->hours_planned, 1) << " h\n";
    }
    out << "  discrepancies       "
        << (r.discrepancies.empty() ? std::string("none") : std::to_string(r.discrepancies.size()))
        << "\n";
    for (const auto& d : r.discrepancies) {
        out << "    - " << d.code << ": " << d.message << "\n";
    }
}

int run(const server::Config& config, const std::vector<std::string>& args) {
    const auto vm = cli::parse(name, options(), args, {"id"});
    const auto id = cli::waybill_id(vm, name);
    auto db = cli::open(config);
    const auto w = waybills::load_waybill(*db, id);
    print_waybill(std::cout, w, waybills::load_issuer(*db, w.issuer));
    if (const auto r = waybills::load_reconciliation(*db, id)) {
        print_reconciliation(std::cout, *r);
    } else {
        std::cout << "reconciliation: none yet (fleetctl waybill reconcile or accept)\n";
    }
    return 0;
}

const Registration registration(
    name, {"print a waybill with its issuer, checks and latest stored reconciliation",
           "waybill show ID", run, [] { return cli::describe(options()); }});

}  // namespace

}  // namespace fleet::tools::fleetctl
