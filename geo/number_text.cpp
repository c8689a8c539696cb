#include "geo/number_text.hpp"

#include <cmath>
#include <cstdio>

namespace fleet::geo {

std::string plain_number(double value, int max_decimals) {
    if (std::isnan(value)) {
        return "nan";
    }
    if (std::isinf(value)) {
        return value < 0 ? "-inf" : "inf";
    }
    const int decimals = max_decimals < 0 ? 0 : (max_decimals > 15 ? 15 : max_decimals);
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    std::string text(buf);
    if (text.find('.') != std::string::npos) {
        while (text.back() == '0') {
            text.pop_back();
        }
        if (text.back() == '.') {
            text.pop_back();
        }
    }
    if (text == "-0") {
        text = "0";
    }
    return text;
}

}  // namespace fleet::geo
