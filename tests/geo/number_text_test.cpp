#include <doctest/doctest.h>

#include <limits>

#include "geo/number_text.hpp"

using namespace fleet;

TEST_CASE("numbers as people write them: no trailing zeros, no exponent, no '-0'") {
    CHECK(geo::plain_number(3) == "3");
    CHECK(geo::plain_number(-3) == "-3");
    CHECK(geo::plain_number(2.50) == "2.5");
    CHECK(geo::plain_number(152342.5) == "152342.5");
    CHECK(geo::plain_number(1e6) == "1000000");
    CHECK(geo::plain_number(0.25) == "0.25");
    CHECK(geo::plain_number(12.599999999999998) == "12.6");
    CHECK(geo::plain_number(-0.0000001) == "0");
    CHECK(geo::plain_number(2.346, 2) == "2.35");
    CHECK(geo::plain_number(7.9, 0) == "8");
    CHECK(geo::plain_number(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(geo::plain_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
}
