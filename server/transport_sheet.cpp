#include "server/transport_sheet.hpp"

#include <cmath>

namespace fleet::server {

waybills::Sheet transport_sheet(const std::vector<dispatch::TransportRecord>& records) {
    waybills::Sheet sheet{.name = "transport",
                          .columns = {"id", "vehicle", "zone", "zone_name", "arrived_at_utc",
                                      "departed_at_utc", "dwell_s", "waybill", "operation", "cargo",
                                      "quantity", "unit", "documents", "noted_by"},
                          .rows = {}};
    const auto text = [](const std::string& s) {
        return s.empty() ? waybills::Cell{} : waybills::Cell{s};
    };
    for (const auto& r : records) {
        sheet.rows.push_back(
            {waybills::Cell{r.visit_id}, r.registration, r.zone_code, text(r.zone_name),
             r.arrived_at, text(r.departed_at),
             r.dwell_s ? waybills::Cell{static_cast<std::int64_t>(std::llround(*r.dwell_s))}
                       : waybills::Cell{},
             r.waybill_number ? waybills::Cell{*r.waybill_number} : waybills::Cell{},
             text(r.operation), text(r.cargo),
             r.quantity ? waybills::Cell{waybills::Decimal{*r.quantity, 3}} : waybills::Cell{},
             text(r.unit), text(r.documents), text(r.noted_by)});
    }
    return sheet;
}

}  // namespace fleet::server
