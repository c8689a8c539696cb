#include <doctest/doctest.h>

#include "geo/calendar.hpp"

using fleet::geo::is_calendar_date;

TEST_CASE("a calendar date is YYYY-MM-DD of a day that exists") {
    CHECK(is_calendar_date("2026-12-02"));
    CHECK(is_calendar_date("2024-02-29"));  // a leap year
    CHECK(is_calendar_date("1900-01-01"));
    CHECK_FALSE(is_calendar_date("2026-02-29"));
    CHECK_FALSE(is_calendar_date("2026-13-01"));
    CHECK_FALSE(is_calendar_date("2026-00-10"));
    CHECK_FALSE(is_calendar_date("2026-04-31"));
    CHECK_FALSE(is_calendar_date("2026-1-01"));
    CHECK_FALSE(is_calendar_date("2026-01-1 "));
    CHECK_FALSE(is_calendar_date("2026/01/01"));
    CHECK_FALSE(is_calendar_date("+026-01-01"));
    CHECK_FALSE(is_calendar_date("2026-+1-01"));
    CHECK_FALSE(is_calendar_date("2026-01-01T00"));
    CHECK_FALSE(is_calendar_date(""));
    CHECK_FALSE(is_calendar_date("abcd-ef-gh"));
}

TEST_CASE("a time is taken only with its offset, which PostgreSQL would otherwise supply") {
    using fleet::geo::has_time_offset;
    CHECK(has_time_offset("2026-11-27T04:30:00Z"));
    CHECK(has_time_offset("2026-11-27 07:30+03"));
    CHECK(has_time_offset("2026-11-27 07:30:00+0530"));
    CHECK(has_time_offset("2026-11-27T07:30:00.250-05:00"));
    CHECK_FALSE(has_time_offset("2026-11-27 07:30"));
    CHECK_FALSE(has_time_offset("2026-11-27"));  // a date's dashes are no offset
    CHECK_FALSE(has_time_offset("2026-11-27 07:30+3"));
    CHECK_FALSE(has_time_offset("Z"));
    CHECK_FALSE(has_time_offset(""));
}
