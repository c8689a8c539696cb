#include "tools/fleetsim/devices/osmand.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace fleet::tools::fleetsim::devices::osmand {

namespace {

constexpr double knots_per_kmh = 1 / 1.852;
constexpr double kmh_per_knot = 1.852;  // the decoder's factor

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if ((u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
            u == '-' || u == '_' || u == '.' || u == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0x0F]);
        }
    }
    return out;
}

// The query values exactly as they go on the wire; sent_fix parses these same texts.
struct Fields {
    char lat[32];
    char lon[32];
    long long unix_s;
    char speed_knots[32];
    char bearing_deg[32];
    char altitude_m[32];
};

Fields fields(const Fix& fix) {
    Fields f{};
    std::snprintf(f.lat, sizeof f.lat, "%.7f", fix.latitude_deg);
    std::snprintf(f.lon, sizeof f.lon, "%.7f", fix.longitude_deg);
    f.unix_s = static_cast<long long>(
        std::chrono::floor<std::chrono::seconds>(fix.device_time).time_since_epoch().count());
    std::snprintf(f.speed_knots, sizeof f.speed_knots, "%.2f", fix.speed_kmh * knots_per_kmh);
    std::snprintf(f.bearing_deg, sizeof f.bearing_deg, "%.1f", fix.course_deg);
    std::snprintf(f.altitude_m, sizeof f.altitude_m, "%.1f", fix.altitude_m);
    return f;
}

}  // namespace

std::string encode_target(std::string_view device_id, const Fix& fix) {
    const Fields f = fields(fix);
    char numbers[256];
    std::snprintf(numbers, sizeof numbers,
                  "&lat=%s&lon=%s&timestamp=%lld&speed=%s&bearing=%s&altitude=%s", f.lat, f.lon,
                  f.unix_s, f.speed_knots, f.bearing_deg, f.altitude_m);
    return "/?id=" + percent_encode(device_id) + numbers;
}

SentFix sent_fix(const Fix& fix) {
    const Fields f = fields(fix);
    SentFix s;
    s.device_time = Millis(std::chrono::seconds(f.unix_s));
    s.latitude_deg = std::strtod(f.lat, nullptr);
    s.longitude_deg = std::strtod(f.lon, nullptr);
    const double knots = std::strtod(f.speed_knots, nullptr);
    if (knots >= 0) {  // the decoder leaves a negative (unknown) speed out
        s.speed_kmh = knots * kmh_per_knot;
    }
    const double bearing = std::strtod(f.bearing_deg, nullptr);
    if (bearing >= 0) {
        s.course_deg = std::fmod(bearing, 360.0);
    }
    s.altitude_m = std::strtod(f.altitude_m, nullptr);
    return s;
}

}  // namespace fleet::tools::fleetsim::devices::osmand
