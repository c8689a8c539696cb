#pragma once

#include <string>

/// Numbers in messages and on screen as people write them.
namespace fleet::geo {

/// `value` with at most `max_decimals` digits after a '.', trailing zeros and a trailing '.'
/// dropped, never an exponent, no sign on a value that rounds to zero: 3 gives "3", 2.50 gives
/// "2.5", 152342.5 gives "152342.5", 1e6 gives "1000000", -0.0000001 gives "0". A value that
/// is not finite gives "nan", "inf" or "-inf". For figures with a fixed number of decimals
/// (litres to 2 decimals in reports) use waybills::format_decimal.
std::string plain_number(double value, int max_decimals = 6);

}  // namespace fleet::geo
