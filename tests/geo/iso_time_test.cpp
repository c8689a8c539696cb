#include <doctest/doctest.h>

#include "geo/iso_time.hpp"

using namespace std::chrono;
using fleet::geo::iso_utc;
using fleet::geo::Millis;
using fleet::geo::parse_iso_time;

namespace {
Millis at(int y, unsigned mo, unsigned d, int h, int mi, int s = 0, int ms = 0) {
    return Millis(sys_days(year_month_day{year(y), month(mo), day(d)})) + hours(h) + minutes(mi) +
           seconds(s) + milliseconds(ms);
}
}  // namespace

TEST_CASE("ISO 8601 times are written in UTC with Z, milliseconds only when there are some") {
    CHECK(iso_utc(at(2026, 12, 2, 8, 0)) == "2026-12-02T08:00:00Z");
    CHECK(iso_utc(at(2026, 12, 2, 8, 0, 5, 250)) == "2026-12-02T08:00:05.250Z");
    CHECK(iso_utc(at(1999, 1, 31, 23, 59, 59)) == "1999-01-31T23:59:59Z");
}

TEST_CASE("ISO 8601 times are read only with their offset") {
    CHECK(parse_iso_time("2026-12-02T08:00:00Z") == at(2026, 12, 2, 8, 0));
    CHECK(parse_iso_time("2026-12-02T11:00+03:00") == at(2026, 12, 2, 8, 0));
    CHECK(parse_iso_time("2026-12-02 11:00:00+03") == at(2026, 12, 2, 8, 0));
    CHECK(parse_iso_time("2026-12-02T03:30:00-0430") == at(2026, 12, 2, 8, 0));
    CHECK(parse_iso_time("2026-12-02T08:00:00.5Z") == at(2026, 12, 2, 8, 0, 0, 500));
    CHECK(parse_iso_time("2026-12-02T08:00:00.123456Z") == at(2026, 12, 2, 8, 0, 0, 123));
    CHECK(parse_iso_time("2026-12-02T08:00:00Z") == parse_iso_time(iso_utc(at(2026, 12, 2, 8, 0))));

    CHECK_FALSE(parse_iso_time("2026-12-02T08:00:00"));  // no offset
    CHECK_FALSE(parse_iso_time("2026-12-02"));
    CHECK_FALSE(parse_iso_time("2026-02-29T08:00Z"));  // no such day
    CHECK_FALSE(parse_iso_time("2026-12-02T24:00Z"));
    CHECK_FALSE(parse_iso_time("2026-12-02T08:60Z"));
    CHECK_FALSE(parse_iso_time("2026-12-02T08:00+19:00"));
    CHECK_FALSE(parse_iso_time("2026-12-02T08:00Z "));
    CHECK_FALSE(parse_iso_time("1800-12-02T08:00Z"));
    CHECK_FALSE(parse_iso_time("2026-12-02T08:00:00.Z"));
    CHECK_FALSE(parse_iso_time("yesterday"));
    CHECK_FALSE(parse_iso_time(""));
    CHECK_FALSE(parse_iso_time("+026-12-02T08:00Z"));
}
