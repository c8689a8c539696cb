#include <doctest/doctest.h>

#include "geo/utf8.hpp"

using namespace fleet;

TEST_CASE("UTF-8: well-formed text, and what RFC 3629 refuses") {
    CHECK(geo::is_valid_utf8("plain \xC3\xBC \xE2\x82\xAC \xF0\x9F\x9A\x97"));
    CHECK_FALSE(geo::is_valid_utf8("\xC3"));
    CHECK_FALSE(geo::is_valid_utf8("\xC0\xAF"));          // overlong '/'
    CHECK_FALSE(geo::is_valid_utf8("\xED\xA0\x80"));      // surrogate
    CHECK_FALSE(geo::is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    CHECK(geo::is_valid_utf8(""));
    CHECK(geo::utf8_sequence_length("a\xC3\xBC", 0) == 1);
    CHECK(geo::utf8_sequence_length("a\xC3\xBC", 1) == 2);
    CHECK(geo::utf8_sequence_length("\xF0\x9F\x9A\x97", 0) == 4);
    CHECK(geo::utf8_sequence_length("\xE2\x82", 0) == 0);  // cut off
    CHECK(geo::utf8_sequence_length("\xFF", 0) == 0);
}
