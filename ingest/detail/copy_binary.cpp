#include "ingest/detail/copy_binary.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "geo/utf8.hpp"

namespace fleet::ingest::detail {

namespace {

constexpr char copy_signature[] = "PGCOPY\n\377\r\n";  // and the terminating NUL: 11 bytes

void put_u32(std::string& out, std::uint32_t v) {
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                           static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(bytes, 4);
}

void put_u64(std::string& out, std::uint64_t v) {
    put_u32(out, static_cast<std::uint32_t>(v >> 32));
    put_u32(out, static_cast<std::uint32_t>(v));
}

void put_null(std::string& out) {
    put_i32(out, -1);
}

void append_int8_field(std::string& out, std::int64_t v) {
    put_i32(out, 8);
    put_i64(out, v);
}

void append_bool_field(std::string& out, bool v) {
    put_i32(out, 1);
    out += v ? '\1' : '\0';
}

void append_float8_field(std::string& out, double v) {
    put_i32(out, 8);
    put_u64(out, std::bit_cast<std::uint64_t>(v));
}

std::string number_text(double v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("?");
}

// float4 holds every double up to FLT_MAX in magnitude (rounded), and infinities and NaN as
// such; a finite value beyond it is what PostgreSQL refuses as "out of range for type real"
// (and converting it in C++ would be undefined).
std::optional<Unencodable> append_float4_field(std::string& out, const std::optional<double>& v,
                                               const char* column) {
    if (!v) {
        put_null(out);
        return std::nullopt;
    }
    if (std::isfinite(*v) &&
        std::abs(*v) > static_cast<double>(std::numeric_limits<float>::max())) {
        return Unencodable{"22003", std::string(column) + " " + number_text(*v) +
                                        " is out of range for type real"};
    }
    put_i32(out, 4);
    put_u32(out, std::bit_cast<std::uint32_t>(static_cast<float>(*v)));
    return std::nullopt;
}

std::optional<Unencodable> append_int2_field(std::string& out, const std::optional<int>& v,
                                             const char* column) {
    if (!v) {
        put_null(out);
        return std::nullopt;
    }
    if (*v < std::numeric_limits<std::int16_t>::min() ||
        *v > std::numeric_limits<std::int16_t>::max()) {
        return Unencodable{"22003", std::string(column) + " " + std::to_string(*v) +
                                        " is out of range for type smallint"};
    }
    put_i32(out, 2);
    put_i16(out, static_cast<std::int16_t>(*v));
    return std::nullopt;
}

// timestamptz's binary form: microseconds since 2000-01-01 UTC in an int8. A time whose
// microseconds do not fit is refused here; one that fits but lies outside PostgreSQL's range
// (4713 BC to 294276 AD) is left to the server, which refuses it with the same SQLSTATE.
std::optional<Unencodable> append_timestamptz_field(std::string& out, Millis t) {
    std::int64_t since_2000_ms = 0;
    std::int64_t since_2000_us = 0;
    if (__builtin_sub_overflow(static_cast<std::int64_t>(t.time_since_epoch().count()),
                               postgres_epoch_unix_ms, &since_2000_ms) ||
        __builtin_mul_overflow(since_2000_ms, std::int64_t{1000}, &since_2000_us)) {
        return Unencodable{"22008", "device_time " + iso_utc(t) +
                                        " is out of range for type "
                                        "timestamp with time zone"};
    }
    // A multiple of 1000 is never INT64_MIN or INT64_MAX, which would read as -infinity and
    // infinity.
    append_int8_field(out, since_2000_us);
    return std::nullopt;
}

// Extended WKB of a point with SRID 4326, little-endian (PostGIS's geometry_recv takes EWKB).
void append_point_field(std::string& out, double lon_deg, double lat_deg) {
    put_i32(out, 25);
    out += '\1';                        // little-endian
    out.append("\x01\x00\x00\x20", 4);  // point, with the SRID flag 0x20000000
    out.append("\xE6\x10\x00\x00", 4);  // 4326
    for (double v : {lon_deg, lat_deg}) {
        const auto bits = std::bit_cast<std::uint64_t>(v);
        for (int i = 0; i < 8; ++i) {
            out += static_cast<char>((bits >> (8 * i)) & 0xff);
        }
    }
}

void append_optional_bool_field(std::string& out, const std::optional<bool>& v) {
    if (v) {
        append_bool_field(out, *v);
    } else {
        put_null(out);
    }
}

void append_optional_float8_field(std::string& out, const std::optional<double>& v) {
    if (v) {
        append_float8_field(out, *v);
    } else {
        put_null(out);
    }
}

bool needs_storable_copy(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = geo::utf8_sequence_length(s, i);
        if (n == 0 || s[i] == '\0') {
            return true;
        }
        i += n;
    }
    return false;
}

// Days since 1970-01-01 to a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms", civil_from_days), valid for every day an int64 of milliseconds can name.
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

}  // namespace

void put_i16(std::string& out, std::int16_t v) {
    const auto u = static_cast<std::uint16_t>(v);
    const char bytes[2] = {static_cast<char>(u >> 8), static_cast<char>(u)};
    out.append(bytes, 2);
}

void put_i32(std::string& out, std::int32_t v) {
    put_u32(out, static_cast<std::uint32_t>(v));
}

void put_i64(std::string& out, std::int64_t v) {
    put_u64(out, static_cast<std::uint64_t>(v));
}

void append_copy_header(std::string& out) {
    out.append(copy_signature, sizeof copy_signature);  // with its NUL
    put_i32(out, 0);                                    // flags: no OIDs
    put_i32(out, 0);                                    // no header extension
}

void append_copy_trailer(std::string& out) {
    put_i16(out, -1);
}

void append_int4_field(std::string& out, std::int32_t v) {
    put_i32(out, 4);
    put_i32(out, v);
}

void append_text_field(std::string& out, std::string_view text) {
    if (needs_storable_copy(text)) {
        const std::string s = storable_text(text);
        put_i32(out, static_cast<std::int32_t>(s.size()));
        out += s;
    } else {
        put_i32(out, static_cast<std::int32_t>(text.size()));
        out += text;
    }
}

void append_jsonb_field(std::string& out, std::string_view json_text) {
    put_i32(out, static_cast<std::int32_t>(json_text.size() + 1));
    out += '\1';  // jsonb's binary form: version 1, then the text
    out += json_text;
}

std::optional<Unencodable> append_position_fields(std::string& out, const StoredPosition& sp) {
    const Position& p = sp.position;
    if (!p.attributes.is_object()) {
        return Unencodable{"22023", std::string("attributes must be a JSON object, not ") +
                                        p.attributes.type_name()};
    }
    const std::size_t start = out.size();
    auto refuse = [&](Unencodable why) {
        out.resize(start);
        return std::optional<Unencodable>(std::move(why));
    };
    append_int8_field(out, sp.vehicle_id);
    if (auto why = append_timestamptz_field(out, p.device_time)) {
        return refuse(std::move(*why));
    }
    append_point_field(out, p.longitude_deg, p.latitude_deg);
    if (auto why = append_float4_field(out, p.speed_kmh, "speed_kmh")) {
        return refuse(std::move(*why));
    }
    if (auto why = append_float4_field(out, p.course_deg, "course_deg")) {
        return refuse(std::move(*why));
    }
    if (auto why = append_float4_field(out, p.altitude_m, "altitude_m")) {
        return refuse(std::move(*why));
    }
    if (auto why = append_int2_field(out, p.satellites, "satellites")) {
        return refuse(std::move(*why));
    }
    append_bool_field(out, p.valid);
    append_optional_float8_field(out, p.odometer_m);
    if (auto why = append_float4_field(out, p.fuel_l, "fuel_l")) {
        return refuse(std::move(*why));
    }
    append_optional_bool_field(out, p.ignition);
    append_jsonb_field(out, attributes_text(p.attributes));
    return std::nullopt;
}

std::string attributes_text(const nlohmann::json& attributes) {
    return attributes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string storable_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n = geo::utf8_sequence_length(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD for one invalid byte
            ++i;
        } else if (text[i] == '\0') {
            out += "\\u0000";
            ++i;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    return out;
}

nlohmann::json storable_json(const nlohmann::json& value) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        return s.find('\0') == std::string::npos ? value : nlohmann::json(storable_text(s));
    }
    if (value.is_array()) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : value) {
            out.push_back(storable_json(v));
        }
        return out;
    }
    if (value.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [k, v] : value.items()) {
            out[k.find('\0') == std::string::npos ? k : storable_text(k)] = storable_json(v);
        }
        return out;
    }
    return value;
}

std::string record_json(const StoredPosition& sp, std::string_view device,
                        std::string_view protocol) {
    const Position& p = sp.position;
    auto optional = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    nlohmann::json record = {
        {"vehicle_id", sp.vehicle_id},
        {"device_time", iso_utc(p.device_time)},
        {"device_time_ms", p.device_time.time_since_epoch().count()},
        {"latitude_deg", p.latitude_deg},
        {"longitude_deg", p.longitude_deg},
        {"speed_kmh", optional(p.speed_kmh)},
        {"course_deg", optional(p.course_deg)},
        {"altitude_m", optional(p.altitude_m)},
        {"satellites", optional(p.satellites)},
        {"valid", p.valid},
        {"odometer_m", optional(p.odometer_m)},
        {"fuel_l", optional(p.fuel_l)},
        {"ignition", optional(p.ignition)},
        {"attributes", storable_json(p.attributes)},
        {"device", storable_text(device)},
        {"protocol", storable_text(protocol)},
    };
    return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string iso_utc(Millis t) {
    const std::int64_t ms = t.time_since_epoch().count();
    const std::int64_t ms_per_day = 86'400'000;
    std::int64_t days = ms / ms_per_day;
    std::int64_t in_day = ms % ms_per_day;
    if (in_day < 0) {
        in_day += ms_per_day;
        --days;
    }
    std::int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    civil_from_days(days, year, month, day);
    char year_text[32];
    if (year >= 0 && year <= 9999) {
        std::snprintf(year_text, sizeof year_text, "%04lld", static_cast<long long>(year));
    } else {
        std::snprintf(year_text, sizeof year_text, "%+lld", static_cast<long long>(year));
    }
    char buf[80];
    std::snprintf(
        buf, sizeof buf, "%s-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", year_text, month, day,
        static_cast<long long>(in_day / 3'600'000), static_cast<long long>(in_day / 60'000 % 60),
        static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
    return buf;
}

}  // namespace fleet::ingest::detail
