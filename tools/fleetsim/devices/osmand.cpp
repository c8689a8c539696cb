#include "tools/fleetsim/devices/osmand.hpp"

#include <chrono>
#include <cstdio>

namespace fleet::tools::fleetsim::devices::osmand {

namespace {

constexpr double knots_per_kmh = 1 / 1.852;

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

}  // namespace

std::string encode_target(std::string_view device_id, const Fix& fix) {
    const auto unix_s =
        std::chrono::floor<std::chrono::seconds>(fix.device_time).time_since_epoch().count();
    char numbers[256];
    std::snprintf(numbers, sizeof numbers,
                  "&lat=%.7f&lon=%.7f&timestamp=%lld&speed=%.2f&bearing=%.1f&altitude=%.1f",
                  fix.latitude_deg, fix.longitude_deg, static_cast<long long>(unix_s),
                  fix.speed_kmh * knots_per_kmh, fix.course_deg, fix.altitude_m);
    return "/?id=" + percent_encode(device_id) + numbers;
}

}  // namespace fleet::tools::fleetsim::devices::osmand
