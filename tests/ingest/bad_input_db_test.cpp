// A corpus of bad inputs per protocol sent to running listeners: each closes only its own
// connection (or is answered 400), and a good device is served throughout.
#include <doctest/doctest.h>

#include <random>

#include "tests/ingest/harness.hpp"

using namespace fleet;
using namespace fleet::test;

namespace {

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
    Bytes out(n);
    for (auto& b : out) {
        b = static_cast<std::uint8_t>(rng());
    }
    return out;
}

// The good device: logged in once, then one packet per check, each acknowledged.
struct GoodTeltonika {
    Device device;
    explicit GoodTeltonika(std::uint16_t port) : device(port) {
        device.send_hex(teltonika_login);
        REQUIRE(device.receive(1) == Bytes{0x01});
    }
    void still_served() {
        device.send_hex(teltonika_two_records);
        CHECK(device.receive(4) == Bytes{0, 0, 0, 2});
    }
};

// Sends `bytes` on a fresh connection (after `prefix`, e.g. a login) and expects the server to
// close it without an acknowledgement.
void closes_connection(std::uint16_t port, const Bytes& prefix, std::size_t prefix_reply,
                       const Bytes& bytes, const std::string& what) {
    CAPTURE(what);
    Device d(port);
    if (!prefix.empty()) {
        d.send(prefix);
        CHECK(d.receive(prefix_reply).size() == prefix_reply);
    }
    d.send(bytes);
    CHECK(d.closed_by_peer());
}

}  // namespace

TEST_SUITE("db") {
    TEST_CASE("bad inputs close only their own connection; a good device keeps being served") {
        Harness h;
        GoodTeltonika good(h.port("teltonika"));
        std::mt19937 rng(20261127);
        const Bytes login = from_hex(teltonika_login);

        // Teltonika: garbage logins, and after a login: bad CRC, absurd length, wrong counts,
        // unknown codec, random bytes behind a valid header.
        const auto tport = h.port("teltonika");
        closes_connection(tport, {}, 0, from_hex("FFFF3335"), "absurd IMEI length");
        closes_connection(tport, {}, 0, from_hex("000F41424344454647484950515253545556"),
                          "IMEI with letters");
        Bytes bad_crc = from_hex(teltonika_two_records);
        bad_crc.back() ^= 0x55;
        closes_connection(tport, login, 1, bad_crc, "bad CRC");
        closes_connection(tport, login, 1, from_hex("000000007FFFFFFF08"), "absurd data length");
        closes_connection(tport, login, 1, from_hex("DEADBEEF00000010"), "non-zero preamble");
        Bytes counts = from_hex(teltonika_codec8_example);
        counts[9] = 2;  // first record count says 2, the packet holds 1
        closes_connection(tport, login, 1, counts, "record counts disagree");
        for (int i = 0; i < 5; ++i) {
            Bytes junk = from_hex("00000000000000200800");
            const Bytes tail = random_bytes(rng, 36);  // 32 data bytes + CRC
            junk.insert(junk.end(), tail.begin(), tail.end());
            closes_connection(tport, login, 1, junk, "random body " + std::to_string(i));
        }
        good.still_served();

        // GT06: wrong start bytes, bad CRC, missing stop bytes, absurd 0x7979 length.
        const auto gport = h.port("gt06");
        closes_connection(gport, {}, 0, from_hex("12345678"), "wrong start bytes");
        closes_connection(gport, {}, 0, from_hex("78780D01012345678901234500018CDE0D0A"),
                          "bad CRC");
        closes_connection(gport, {}, 0, from_hex("78780D01012345678901234500018CDDFFFF"),
                          "missing stop bytes");
        closes_connection(gport, {}, 0, from_hex("7979FFFF01"), "absurd length");
        for (int i = 0; i < 5; ++i) {
            Bytes junk = from_hex("7878");
            const Bytes tail = random_bytes(rng, 40);
            junk.insert(junk.end(), tail.begin(), tail.end());
            junk[2] = 0x20;
            closes_connection(gport, {}, 0, junk, "random frame " + std::to_string(i));
        }
        good.still_served();

        // Native: an oversized length prefix, an over-long varint, a frame that is not a Frame.
        const auto nport = h.port("native");
        closes_connection(nport, {}, 0, from_hex("FFFFFFFF0F"), "absurd length prefix");
        closes_connection(nport, {}, 0, from_hex("FFFFFFFFFFFF"), "varint over 5 bytes");
        closes_connection(nport, {}, 0, from_hex("04FFFFFFFF"), "not a protobuf Frame");
        good.still_served();

        // OsmAnd: HTTP garbage closes the connection; bad values get 400 with a reason.
        const auto oport = h.port("osmand");
        {
            Device d(oport);
            const std::string garbage = "\x16\x03\x01 this is not HTTP\r\n\r\n";
            d.send(Bytes(garbage.begin(), garbage.end()));
            const Bytes reply = d.receive(64, 2000ms);
            const std::string text(reply.begin(), reply.end());
            CHECK((text.empty() || text.starts_with("HTTP/1.1 400")));
            CHECK(d.closed_by_peer());
        }
        {
            Device d(oport);
            const std::string huge =
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n";
            d.send(Bytes(huge.begin(), huge.end()));
            const Bytes reply = d.receive(512, 2000ms);
            CHECK(std::string(reply.begin(), reply.end()).starts_with("HTTP/1.1 413"));
            CHECK(d.closed_by_peer());
        }
        CHECK(http_get(oport, "/?id=x&lat=abc&lon=30").starts_with("HTTP/1.1 400"));
        CHECK(http_get(oport, "/?id=x&lat=60&lon=30&timestamp=yesterday")
                  .starts_with("HTTP/1.1 400"));
        good.still_served();

        CHECK(h.counters.protocol("teltonika").malformed_frames >= 10);
        CHECK(h.counters.protocol("gt06").malformed_frames >= 8);
        CHECK(h.counters.protocol("native").malformed_frames == 3);
        CHECK(h.counters.protocol("teltonika").connections_active == 1);
    }

    TEST_CASE("connections beyond the per-address cap are closed at once; the others are served") {
        Harness h(UnknownDevices::register_vehicle, 30s, 2);
        GoodTeltonika first(h.port("teltonika"));
        Device second(h.port("teltonika"));
        Device third(h.port("teltonika"));
        CHECK(third.closed_by_peer());
        CHECK(h.counters.protocol("teltonika").connections_refused == 1);
        second.send_hex(teltonika_login);
        CHECK(second.receive(1) == Bytes{0x01});
        first.still_served();
    }
}
