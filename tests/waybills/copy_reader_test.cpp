// The binary COPY parser on hand-built streams, laid out as PostgreSQL's documentation of COPY
// describes the binary format (header, tuples of length-prefixed big-endian fields, trailer).
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "geo/error.hpp"
#include "waybills/detail/copy_reader.hpp"

using namespace fleet;
using namespace fleet::waybills::detail;

namespace {

constexpr std::int64_t pg_epoch_ms = 946'684'800'000;  // 2000-01-01 UTC

template <typename T>
void put(std::string& out, T value) {
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    if constexpr (std::endian::native == std::endian::little) {
        for (std::size_t i = 0; i < sizeof(T) / 2; ++i) {
            std::swap(bytes[i], bytes[sizeof(T) - 1 - i]);
        }
    }
    out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}

template <typename T>
void field(std::string& out, T value) {
    put<std::int32_t>(out, sizeof(T));
    put(out, value);
}

void null_field(std::string& out) {
    put<std::int32_t>(out, -1);
}

std::string header(std::int32_t flags = 0, const std::string& extension = {}) {
    std::string out("PGCOPY\n\377\r\n\0", 11);
    put(out, flags);
    put<std::int32_t>(out, static_cast<std::int32_t>(extension.size()));
    return out + extension;
}

std::string trailer() {
    std::string out;
    put<std::int16_t>(out, -1);
    return out;
}

// One tuple as copy_fixes' query delivers it; time in Unix ms plus microseconds.
std::string tuple(std::int64_t waybill_id, std::int64_t time_ms, int extra_us, double lon,
                  double lat, std::optional<float> speed, std::optional<float> fuel, bool valid) {
    std::string out;
    put<std::int16_t>(out, 7);
    field(out, waybill_id);
    field(out, (time_ms - pg_epoch_ms) * 1000 + extra_us);
    field(out, lon);
    field(out, lat);
    speed ? field(out, *speed) : null_field(out);
    fuel ? field(out, *fuel) : null_field(out);
    field(out, static_cast<std::uint8_t>(valid ? 1 : 0));
    return out;
}

constexpr std::int64_t t0 = 1'700'000'000'123;

// Two rows: one without a level sensor, one without a speed and flagged invalid.
std::string two_rows() {
    return header() + tuple(42, t0, 456, 37.6, 55.7, 36.5f, std::nullopt, true) +
           tuple(43, t0 + 10'000, 0, -0.1275, 51.5072, std::nullopt, 61.25f, false) + trailer();
}

struct Collect {
    std::vector<FixRow> rows;
    FixCopyParser parser{[this](const FixRow& r) { rows.push_back(r); }};
};

void check_two_rows(const std::vector<FixRow>& rows) {
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].waybill_id == 42);
    CHECK(rows[0].time_ms == t0);  // the microseconds are truncated
    CHECK(rows[0].lon_deg == 37.6);
    CHECK(rows[0].lat_deg == 55.7);
    REQUIRE(rows[0].speed_kmh);
    CHECK(*rows[0].speed_kmh == 36.5);
    CHECK_FALSE(rows[0].fuel_l);
    CHECK(rows[0].valid);
    CHECK(rows[1].waybill_id == 43);
    CHECK(rows[1].time_ms == t0 + 10'000);
    CHECK(rows[1].lon_deg == -0.1275);
    CHECK(rows[1].lat_deg == 51.5072);
    CHECK_FALSE(rows[1].speed_kmh);
    REQUIRE(rows[1].fuel_l);
    CHECK(*rows[1].fuel_l == 61.25);
    CHECK_FALSE(rows[1].valid);
}

}  // namespace

TEST_CASE("a binary COPY stream parses the same however it is cut") {
    const std::string stream = two_rows();
    SUBCASE("in one piece") {
        Collect c;
        c.parser.feed(stream);
        c.parser.finish();
        check_two_rows(c.rows);
    }
    SUBCASE("one byte at a time") {
        Collect c;
        for (char b : stream) {
            c.parser.feed(std::string_view(&b, 1));
        }
        c.parser.finish();
        check_two_rows(c.rows);
    }
    SUBCASE("in two pieces, cut at every offset") {
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            CAPTURE(cut);
            Collect c;
            c.parser.feed(std::string_view(stream).substr(0, cut));
            c.parser.feed(std::string_view(stream).substr(cut));
            c.parser.finish();
            check_two_rows(c.rows);
        }
    }
    SUBCASE("with a header extension, which is skipped") {
        Collect c;
        const std::string extended = header(0, "\x01\x02\x03\x04") + stream.substr(header().size());
        for (char b : extended) {
            c.parser.feed(std::string_view(&b, 1));
        }
        c.parser.finish();
        check_two_rows(c.rows);
    }
    SUBCASE("with no rows at all") {
        Collect c;
        c.parser.feed(header() + trailer());
        c.parser.finish();
        CHECK(c.rows.empty());
    }
}

TEST_CASE("a field of the wrong width is an error naming the field, however the stream is cut") {
    std::string bad = header() + tuple(42, t0, 0, 37.6, 55.7, 36.5f, 50.0f, true);
    std::string tuple_lat_float;
    put<std::int16_t>(tuple_lat_float, 7);
    field(tuple_lat_float, std::int64_t{42});
    field(tuple_lat_float, std::int64_t{0});
    field(tuple_lat_float, 37.6);
    field(tuple_lat_float, 55.7f);  // a float4 where a float8 belongs
    bad += tuple_lat_float;
    SUBCASE("in one piece") {
        Collect c;
        CHECK_THROWS_WITH_AS(c.parser.feed(bad), doctest::Contains("field lat has 4 bytes"),
                             DatabaseError);
        CHECK(c.rows.size() == 1);  // the good row before it was delivered
    }
    SUBCASE("one byte at a time") {
        Collect c;
        auto feed_all = [&] {
            for (char b : bad) {
                c.parser.feed(std::string_view(&b, 1));
            }
        };
        CHECK_THROWS_WITH_AS(feed_all(), doctest::Contains("field lat"), DatabaseError);
    }
    SUBCASE("NULL where it may not be") {
        std::string null_id = header();
        put<std::int16_t>(null_id, 7);
        null_field(null_id);
        Collect c;
        CHECK_THROWS_WITH_AS(c.parser.feed(null_id), doctest::Contains("field waybill_id has NULL"),
                             DatabaseError);
    }
    SUBCASE("a bool that is not one byte") {
        std::string wide = tuple(42, t0, 0, 37.6, 55.7, 36.5f, 50.0f, true);
        wide.resize(wide.size() - 5);  // drop the bool's length and byte
        field(wide, std::int32_t{1});
        Collect c;
        CHECK_THROWS_WITH_AS(c.parser.feed(header() + wide), doctest::Contains("field valid"),
                             DatabaseError);
    }
    SUBCASE("a length that would run past any buffer") {
        std::string huge = header();
        put<std::int16_t>(huge, 7);
        put<std::int32_t>(huge, 0x7fff'ffff);
        Collect c;
        CHECK_THROWS_WITH_AS(c.parser.feed(huge), doctest::Contains("field waybill_id"),
                             DatabaseError);
    }
}

TEST_CASE("a stream without its trailer, or with bytes after it, is an error") {
    const std::string stream = two_rows();
    SUBCASE("ends after a whole row") {
        Collect c;
        c.parser.feed(stream.substr(0, stream.size() - trailer().size()));
        CHECK(c.rows.size() == 2);
        CHECK_THROWS_WITH_AS(c.parser.finish(), doctest::Contains("without its trailer"),
                             DatabaseError);
    }
    SUBCASE("ends inside a row, which is not delivered") {
        Collect c;
        c.parser.feed(stream.substr(0, stream.size() - trailer().size() - 3));
        CHECK(c.rows.size() == 1);
        CHECK_THROWS_AS(c.parser.finish(), DatabaseError);
    }
    SUBCASE("ends inside the header") {
        Collect c;
        c.parser.feed(stream.substr(0, 5));
        CHECK_THROWS_AS(c.parser.finish(), DatabaseError);
    }
    SUBCASE("bytes after the trailer, in the same piece") {
        Collect c;
        CHECK_THROWS_WITH_AS(c.parser.feed(stream + "x"), doctest::Contains("after the trailer"),
                             DatabaseError);
    }
    SUBCASE("bytes after the trailer, in a later piece") {
        Collect c;
        c.parser.feed(stream);
        CHECK_THROWS_AS(c.parser.feed("x"), DatabaseError);
    }
}

TEST_CASE("a header the parser cannot read is refused") {
    Collect c;
    SUBCASE("another signature") {
        CHECK_THROWS_WITH_AS(c.parser.feed("PGCOPY\n\377\r\n\1" + two_rows().substr(11)),
                             doctest::Contains("header"), DatabaseError);
    }
    SUBCASE("OIDs in every tuple (flag bit 16)") {
        CHECK_THROWS_AS(c.parser.feed(header(1 << 16)), DatabaseError);
    }
    SUBCASE("an unknown critical flag (bits 0-15)") {
        CHECK_THROWS_AS(c.parser.feed(header(1)), DatabaseError);
    }
    SUBCASE("a negative extension length") {
        std::string h = header();
        h.resize(15);
        put<std::int32_t>(h, -4);
        CHECK_THROWS_WITH_AS(c.parser.feed(h), doctest::Contains("extension"), DatabaseError);
    }
    SUBCASE("an absurd extension length") {
        std::string h = header();
        h.resize(15);
        put<std::int32_t>(h, 0x7fff'0000);
        CHECK_THROWS_WITH_AS(c.parser.feed(h), doctest::Contains("extension"), DatabaseError);
    }
    SUBCASE("a tuple of another shape") {
        std::string six = header();
        put<std::int16_t>(six, 6);
        CHECK_THROWS_WITH_AS(c.parser.feed(six), doctest::Contains("6 fields"), DatabaseError);
    }
}

TEST_CASE("an ignorable header flag (bits 17-31) is ignored") {
    Collect c;
    c.parser.feed(header(1 << 20) + two_rows().substr(header().size()));
    c.parser.finish();
    check_two_rows(c.rows);
}
