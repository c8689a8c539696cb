#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "waybills/store.hpp"

/// The plausibility rules every step of the lifecycle checks (issue 12), in one place: nothing
/// dated in the future beyond the clock's tolerance; pre-trip checks <= departure < return;
/// post-trip checks not before the departure; a return odometer below the departure one only
/// over an odometer act inside the trip; no trip of the vehicle or of the driver overlapping
/// another waybill's that is not cancelled or superseded.
namespace fleet::waybills::detail {

/// "pre-trip technical inspection", "pre-trip medical examination" or "post-trip medical
/// examination" for a check's kind.
std::string check_name(const std::string& kind);

/// What the rules are checked against: the waybill as stored in `tx` (after the step's own
/// change, which the caller rolls back when anything is returned), with `departed_at` in place
/// of the stored departure when given (a release, checked before it is written). A check is
/// named with its id, except `new_check_id` (the one being recorded, refused with the step).
struct Proposed {
    std::string departed_at;
    std::int64_t new_check_id = 0;
};
std::vector<std::string> implausible(pqxx::transaction_base& tx, std::int64_t waybill_id,
                                     const Clock& clock, const Proposed& proposed = {});

/// Throws InputError "HEADING:" listing `reasons` and what `implausible` finds, one per line
/// ("waybill FLEET/1 cannot be released:\n  - ..."); returns when there is nothing to say.
void refuse_implausible(pqxx::transaction_base& tx, std::int64_t waybill_id, const Clock& clock,
                        const std::string& heading, std::vector<std::string> reasons = {},
                        const Proposed& proposed = {});

}  // namespace fleet::waybills::detail
