#pragma once

#include <cstddef>
#include <string>

#include "waybills/table.hpp"

/// What the CSV and XLSX writers share.
namespace fleet::waybills::detail {

/// Throws InputError for a sheet without columns, and naming the sheet, row and column for a row of
/// the wrong width, text that is not valid UTF-8, or a decimal that is not finite or has decimals
/// outside 0–10. Column titles are checked as text too. The sheet name is the XLSX writer's
/// business.
void validate_cells(const Sheet& sheet);

}  // namespace fleet::waybills::detail
