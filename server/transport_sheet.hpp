#pragma once

#include <vector>

#include "dispatch/transport.hpp"
#include "waybills/table.hpp"

/// The transport-process records as a sheet, one row per stay in a loading zone: what
/// `fleetctl transport list --format csv` prints and `/api/transport?format=csv` sends.
namespace fleet::server {

waybills::Sheet transport_sheet(const std::vector<dispatch::TransportRecord>& records);

}  // namespace fleet::server
