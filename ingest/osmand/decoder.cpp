// OsmAnd protocol as Traccar's OsmAndProtocolDecoder reads it (https://www.traccar.org/osmand/):
// query or form parameters id/deviceid, lat, lon, location, timestamp, speed (knots), bearing or
// heading, altitude, accuracy, hdop, batt, valid, charge, driverUniqueId, anything else kept as an
// attribute; and the JSON body of Traccar Client 9+, which is the location record of the
// Transistorsoft background-geolocation SDK: {"device_id": ..., "location": {"timestamp",
// "coords": {latitude, longitude, accuracy, speed (m/s), heading, altitude}, is_moving, odometer
// (m), event, mock, battery: {level (0..1), is_charging}, activity: {type}, extras}}. The SDK
// writes -1 for an unknown speed, heading, accuracy or battery level; those are left out. With
// the SDK's batchSync option "location" is an array; "locations" is accepted as well.
#include "ingest/osmand/decoder.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "geo/utf8.hpp"
#include "ingest/decode_error.hpp"
#include "ingest/osmand/detail/form.hpp"
#include "ingest/osmand/detail/timestamp.hpp"

namespace fleet::ingest::osmand {

namespace {

using detail::Param;
using nlohmann::json;

constexpr const char* protocol_name = "osmand";
constexpr double kmh_per_knot = 1.852;
constexpr double kmh_per_mps = 3.6;
constexpr std::size_t max_shown_bytes = 64;
constexpr std::size_t max_device_id_bytes = 128;
constexpr int max_json_depth = 32;

[[noreturn]] void fail(DecodeFault fault, std::size_t offset, const std::string& detail) {
    throw DecodeError(protocol_name, fault, offset, detail);
}

/// A client-supplied value quoted for an error message: at most 64 bytes, and only printable
/// ASCII, because the message may become an HTTP reason phrase (no CR/LF injection).
std::string shown(std::string_view value) {
    std::string out = "'";
    for (std::size_t i = 0; i < value.size() && i < max_shown_bytes; ++i) {
        const auto byte = static_cast<unsigned char>(value[i]);
        out.push_back(byte >= 0x20 && byte < 0x7f ? value[i] : '?');
    }
    if (value.size() > max_shown_bytes) {
        out += "...";
    }
    out.push_back('\'');
    return out;
}

std::string format_number(double value) {
    std::array<char, 32> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return std::string(buffer.data(), result.ptr);
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return out;
}

std::string_view trim(std::string_view text) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

/// "Application/JSON; charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type) {
    return lowercase(trim(content_type.substr(0, content_type.find(';'))));
}

/// A decimal number that covers the whole text and is finite. A leading '+' is allowed, as Java's
/// Double.parseDouble (which Traccar uses) allows it.
std::optional<double> parse_number(std::string_view text) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
        if (!text.empty() && text.front() == '-') {
            return std::nullopt;
        }
    }
    double value = 0;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() ||
        !std::isfinite(value)) {
        return std::nullopt;
    }
    return value;
}

/// A parameter's value as the attribute type Traccar gives it: integer or floating-point number
/// when the whole value parses, true/false, else the string.
json typed_value(const std::string& value) {
    std::int64_t integer = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), integer);
    if (ec == std::errc{} && end == value.data() + value.size()) {
        return integer;
    }
    if (const auto number = parse_number(value)) {
        return *number;
    }
    if (value == "true" || value == "false") {
        return value == "true";
    }
    return value;
}

void require_utf8(std::string_view text, std::string_view what, std::size_t offset) {
    if (!geo::is_valid_utf8(text)) {
        fail(DecodeFault::bad_value, offset, std::string(what) + " is not valid UTF-8");
    }
}

/// The device identifier is a lookup key and ends up in logs: bounded, printable, valid UTF-8.
std::string checked_device_id(const std::string& id, std::string_view field, std::size_t offset) {
    const std::string name = "'" + std::string(field) + "'";
    if (id.size() > max_device_id_bytes) {
        fail(DecodeFault::bad_value, offset,
             name + " value " + shown(id) + " is longer than " +
                 std::to_string(max_device_id_bytes) + " bytes");
    }
    const bool has_control = std::any_of(id.begin(), id.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (has_control) {
        fail(DecodeFault::bad_value, offset,
             name + " value " + shown(id) + " contains control characters");
    }
    require_utf8(id, name + " value " + shown(id), offset);
    return id;
}

/// A latitude or longitude from text; `label` names where it came from ("'lat' value").
double text_coordinate(std::string_view text, const std::string& label, double limit,
                       std::size_t offset) {
    const auto value = parse_number(text);
    if (!value) {
        fail(DecodeFault::bad_value, offset, label + " " + shown(text) + " is not a number");
    }
    if (std::fabs(*value) > limit) {
        const std::string bound = format_number(limit);
        fail(DecodeFault::bad_value, offset,
             label + " " + shown(text) + " is out of range -" + bound + ".." + bound);
    }
    return *value;
}

double param_number(const Param& param) {
    const auto value = parse_number(param.value);
    if (!value) {
        fail(DecodeFault::bad_value, param.offset,
             "'" + param.name + "' value " + shown(param.value) + " is not a number");
    }
    return *value;
}

bool param_boolean(const Param& param) {
    const std::string value = lowercase(param.value);
    if (value == "true" || value == "1") {
        return true;
    }
    if (value == "false" || value == "0") {
        return false;
    }
    fail(DecodeFault::bad_value, param.offset,
         "'" + param.name + "' value " + shown(param.value) +
             " is not a boolean (true, false, 1 or 0)");
}

std::string param_text(const Param& param) {
    require_utf8(param.value, "'" + param.name + "' value", param.offset);
    return param.value;
}

/// Unknown parameters keep their name; a name sent twice (such as Traccar's repeated `cell` and
/// `wifi`) becomes an array of its values.
void put_attribute(json& attributes, const Param& param) {
    require_utf8(param.name, "parameter name " + shown(param.name), param.offset);
    require_utf8(param.value, shown(param.name) + " value", param.offset);
    json value = typed_value(param.value);
    const auto it = attributes.find(param.name);
    if (it == attributes.end()) {
        attributes[param.name] = std::move(value);
    } else if (it->is_array()) {
        it->push_back(std::move(value));
    } else {
        *it = json::array({std::move(*it), std::move(value)});
    }
}

Report decode_params(const std::vector<Param>& params, Millis now) {
    Report report;
    Position position;
    json& attributes = position.attributes;
    std::optional<double> latitude;
    std::optional<double> longitude;
    bool timed = false;

    for (const Param& param : params) {
        // Traccar skips empty values: "lat=" counts as no latitude, "id=" as no identifier.
        if (param.value.empty()) {
            continue;
        }
        const std::string& key = param.name;
        if (key == "id" || key == "deviceid") {
            report.device_id = checked_device_id(param.value, key, param.offset);
        } else if (key == "lat") {
            latitude = text_coordinate(param.value, "'lat' value", 90, param.offset);
        } else if (key == "lon") {
            longitude = text_coordinate(param.value, "'lon' value", 180, param.offset);
        } else if (key == "location") {
            const std::string_view value = param.value;
            const std::size_t comma = value.find(',');
            if (comma == std::string_view::npos || value.find(',', comma + 1) != value.npos) {
                fail(DecodeFault::bad_value, param.offset,
                     "'location' value " + shown(value) + " is not '<lat>,<lon>'");
            }
            latitude =
                text_coordinate(value.substr(0, comma), "'location' latitude", 90, param.offset);
            longitude =
                text_coordinate(value.substr(comma + 1), "'location' longitude", 180, param.offset);
        } else if (key == "timestamp") {
            const auto time = detail::parse_timestamp(param.value);
            if (!time) {
                fail(DecodeFault::bad_value, param.offset,
                     "'timestamp' value " + shown(param.value) +
                         " is not a time (expected Unix seconds or milliseconds, ISO 8601 such "
                         "as 2024-05-01T12:00:00Z, or 'yyyy-MM-dd HH:mm:ss' in UTC)");
            }
            position.device_time = *time;
            timed = true;
        } else if (key == "speed") {
            const double knots = param_number(param);
            position.speed_kmh = knots >= 0 ? std::optional(knots * kmh_per_knot) : std::nullopt;
        } else if (key == "bearing" || key == "heading") {
            const double course = param_number(param);
            position.course_deg =
                course >= 0 ? std::optional(std::fmod(course, 360.0)) : std::nullopt;
        } else if (key == "altitude") {
            position.altitude_m = param_number(param);
        } else if (key == "accuracy") {
            const double accuracy = param_number(param);
            if (accuracy >= 0) {
                attributes["accuracy_m"] = accuracy;
            }
        } else if (key == "hdop") {
            attributes["hdop"] = param_number(param);
        } else if (key == "batt") {
            attributes["battery_pct"] = param_number(param);
        } else if (key == "valid") {
            position.valid = param_boolean(param);
        } else if (key == "charge") {
            attributes["charging"] = param_boolean(param);
        } else if (key == "ignition") {
            position.ignition = param_boolean(param);
        } else if (key == "driverUniqueId") {
            attributes["driver_unique_id"] = param_text(param);
        } else {
            put_attribute(attributes, param);
        }
    }

    if (report.device_id.empty()) {
        fail(DecodeFault::bad_value, 0,
             "device identifier is missing: send it as the 'id' or 'deviceid' parameter");
    }
    if (!latitude) {
        fail(DecodeFault::bad_value, 0,
             "'lat' is missing: send 'lat' and 'lon', or 'location=<lat>,<lon>'");
    }
    if (!longitude) {
        fail(DecodeFault::bad_value, 0,
             "'lon' is missing: send 'lat' and 'lon', or 'location=<lat>,<lon>'");
    }
    position.latitude_deg = *latitude;
    position.longitude_deg = *longitude;
    if (!timed) {
        position.device_time = now;
        attributes["time_from_server"] = true;
    }
    report.positions.push_back(std::move(position));
    return report;
}

/// nlohmann's what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ...";
/// the bracketed id means nothing to a client, and the rest may quote input bytes.
std::string json_reason(std::string_view what) {
    if (const auto end = what.find("] "); end != std::string_view::npos) {
        what.remove_prefix(end + 2);
    }
    std::string reason = "malformed JSON body: ";
    for (std::size_t i = 0; i < what.size() && i < 200; ++i) {
        const auto byte = static_cast<unsigned char>(what[i]);
        reason.push_back(byte >= 0x20 && byte < 0x7f ? what[i] : '?');
    }
    return reason;
}

json parse_json(const std::string& body) {
    // Nesting is bounded so that hostile input cannot make the parser or the destructor of the
    // document recurse without limit.
    const json::parser_callback_t depth_guard = [](int depth, json::parse_event_t, json&) {
        if (depth > max_json_depth) {
            fail(DecodeFault::bad_value, 0,
                 "malformed JSON body: nested deeper than " + std::to_string(max_json_depth) +
                     " levels");
        }
        return true;
    };
    try {
        return json::parse(body, depth_guard);
    } catch (const json::parse_error& error) {
        fail(DecodeFault::bad_value, error.byte > 0 ? error.byte - 1 : 0,
             json_reason(error.what()));
    } catch (const json::exception& error) {
        // out_of_range 406: a number such as 1e999 that does not fit a double.
        fail(DecodeFault::bad_value, 0, json_reason(error.what()));
    }
}

const json* member(const json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrong_type(const std::string& path, const char* expected, const json& value) {
    fail(DecodeFault::bad_value, 0,
         "'" + path + "' must be " + expected + ", not " + value.type_name());
}

std::optional<double> json_number(const json& object, const char* key, const std::string& path) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_number()) {
        wrong_type(path + "." + key, "a number", *value);
    }
    const double number = value->get<double>();
    if (!std::isfinite(number)) {
        fail(DecodeFault::bad_value, 0, "'" + path + "." + key + "' is not a finite number");
    }
    return number;
}

std::optional<bool> json_boolean(const json& object, const char* key, const std::string& path) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_boolean()) {
        wrong_type(path + "." + key, "true or false", *value);
    }
    return value->get<bool>();
}

std::optional<std::string> json_string(const json& object, const char* key,
                                       const std::string& path) {
    const json* value = member(object, key);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_string()) {
        wrong_type(path + "." + key, "a string", *value);
    }
    return value->get<std::string>();
}

const json* json_object(const json& object, const char* key, const std::string& path) {
    const json* value = member(object, key);
    if (value != nullptr && !value->is_object()) {
        wrong_type(path + "." + key, "an object", *value);
    }
    return value;
}

double json_coordinate(const json& coords, const char* key, const std::string& path, double limit) {
    const auto value = json_number(coords, key, path);
    const std::string name = "'" + path + "." + key + "'";
    if (!value) {
        fail(DecodeFault::bad_value, 0, name + " is missing");
    }
    if (std::fabs(*value) > limit) {
        const std::string bound = format_number(limit);
        fail(
            DecodeFault::bad_value, 0,
            name + " value " + format_number(*value) + " is out of range -" + bound + ".." + bound);
    }
    return *value;
}

Position decode_location(const json& location, const std::string& path, Millis now) {
    Position position;
    json& attributes = position.attributes;

    // Extras first, so that the SDK's own fields win over an extra of the same name.
    if (const json* extras = json_object(location, "extras", path)) {
        for (const auto& [key, value] : extras->items()) {
            attributes[key] = value;
        }
    }

    if (const json* timestamp = member(location, "timestamp")) {
        std::optional<Millis> time;
        if (timestamp->is_string()) {
            time = detail::parse_timestamp(timestamp->get_ref<const std::string&>());
        } else if (timestamp->is_number_unsigned()) {
            time = detail::parse_timestamp(timestamp->dump());
        } else {
            wrong_type(path + ".timestamp", "an ISO 8601 string", *timestamp);
        }
        if (!time) {
            const std::string text =
                timestamp->is_string() ? timestamp->get<std::string>() : timestamp->dump();
            fail(DecodeFault::bad_value, 0,
                 "'" + path + ".timestamp' value " + shown(text) +
                     " is not a time (expected ISO 8601 such as 2024-05-01T12:00:00.000Z)");
        }
        position.device_time = *time;
    } else {
        position.device_time = now;
        attributes["time_from_server"] = true;
    }

    const std::string coords_path = path + ".coords";
    const json* coords = json_object(location, "coords", path);
    if (coords == nullptr) {
        fail(DecodeFault::bad_value, 0, "'" + coords_path + "' is missing");
    }
    position.latitude_deg = json_coordinate(*coords, "latitude", coords_path, 90);
    position.longitude_deg = json_coordinate(*coords, "longitude", coords_path, 180);
    if (const auto speed_mps = json_number(*coords, "speed", coords_path); speed_mps >= 0) {
        position.speed_kmh = *speed_mps * kmh_per_mps;
    }
    if (const auto heading = json_number(*coords, "heading", coords_path); heading >= 0) {
        position.course_deg = std::fmod(*heading, 360.0);
    }
    if (const auto accuracy = json_number(*coords, "accuracy", coords_path); accuracy >= 0) {
        attributes["accuracy_m"] = *accuracy;
    }
    position.altitude_m = json_number(*coords, "altitude", coords_path);
    position.valid = true;

    if (const auto moving = json_boolean(location, "is_moving", path)) {
        attributes["motion"] = *moving;
    }
    if (const auto odometer = json_number(location, "odometer", path); odometer >= 0) {
        position.odometer_m = odometer;
    }
    if (auto event = json_string(location, "event", path)) {
        attributes["event"] = std::move(*event);
    }
    if (const auto mock = json_boolean(location, "mock", path)) {
        attributes["mock"] = *mock;
    }
    if (const json* activity = json_object(location, "activity", path)) {
        if (auto type = json_string(*activity, "type", path + ".activity")) {
            attributes["activity"] = std::move(*type);
        }
    }
    if (const json* battery = json_object(location, "battery", path)) {
        const std::string battery_path = path + ".battery";
        if (const auto level = json_number(*battery, "level", battery_path); level >= 0) {
            // 0..1 in the SDK; rounded to 0.1 % so that 0.29 gives 29, not 28.999999999999996.
            attributes["battery_pct"] = std::round(*level * 1000.0) / 10.0;
        }
        if (const auto charging = json_boolean(*battery, "is_charging", battery_path)) {
            attributes["charging"] = *charging;
        }
    }
    if (auto alarm = json_string(location, "alarm", path)) {
        attributes["alarm"] = std::move(*alarm);
    }
    return position;
}

Report decode_json(const std::string& body, const std::vector<Param>& query, Millis now) {
    const json root = parse_json(body);
    if (!root.is_object()) {
        fail(DecodeFault::bad_value, 0,
             std::string("JSON body must be an object with 'device_id' and 'location', not ") +
                 root.type_name());
    }

    Report report;
    if (const json* id = member(root, "device_id")) {
        if (id->is_string()) {
            report.device_id = checked_device_id(id->get<std::string>(), "device_id", 0);
        } else if (id->is_number_integer()) {
            report.device_id = id->dump();
        } else {
            wrong_type("device_id", "a string", *id);
        }
    }
    if (report.device_id.empty()) {
        // Clients that configure the server URL with ?id=... and post JSON.
        for (const Param& param : query) {
            if ((param.name == "id" || param.name == "deviceid") && !param.value.empty()) {
                report.device_id = checked_device_id(param.value, param.name, 0);
            }
        }
    }
    if (report.device_id.empty()) {
        fail(DecodeFault::bad_value, 0,
             "device identifier is missing: the JSON body has no 'device_id'");
    }

    std::string name = "location";
    const json* locations = member(root, "location");
    if (locations == nullptr) {
        name = "locations";
        locations = member(root, "locations");
    }
    if (locations == nullptr) {
        fail(DecodeFault::bad_value, 0, "JSON body has no 'location'");
    }
    if (locations->is_object()) {
        report.positions.push_back(decode_location(*locations, name, now));
    } else if (locations->is_array()) {
        if (locations->empty()) {
            fail(DecodeFault::bad_value, 0, "'" + name + "' is an empty array");
        }
        for (std::size_t i = 0; i < locations->size(); ++i) {
            const json& location = (*locations)[i];
            const std::string path = name + "[" + std::to_string(i) + "]";
            if (!location.is_object()) {
                wrong_type(path, "an object", location);
            }
            report.positions.push_back(decode_location(location, path, now));
        }
    } else {
        wrong_type(name, "an object or an array of objects", *locations);
    }
    return report;
}

bool looks_like_json(std::string_view body) {
    body = trim(body);
    return !body.empty() && (body.front() == '{' || body.front() == '[');
}

}  // namespace

Report decode(const Request& request, Millis now, std::size_t max_body_bytes) {
    if (request.method != "GET" && request.method != "POST" && request.method != "PUT") {
        fail(DecodeFault::unsupported, 0,
             "HTTP method " + shown(request.method) + " is not supported; send GET or POST");
    }
    if (request.body.size() > max_body_bytes) {
        fail(DecodeFault::oversized, max_body_bytes,
             "request body of " + std::to_string(request.body.size()) +
                 " bytes is larger than the limit of " + std::to_string(max_body_bytes) + " bytes");
    }
    if (request.target.size() > max_body_bytes) {
        fail(DecodeFault::oversized, 0,
             "request target of " + std::to_string(request.target.size()) +
                 " bytes is longer than the limit of " + std::to_string(max_body_bytes) + " bytes");
    }

    std::string_view query = request.target;
    query = query.substr(0, query.find('#'));
    const std::size_t question = query.find('?');
    query = question == std::string_view::npos ? std::string_view{} : query.substr(question + 1);
    std::vector<Param> params = detail::parse_form(query, false);

    const std::string type = media_type(request.content_type);
    if (type.starts_with("multipart/")) {
        fail(DecodeFault::unsupported, 0,
             "multipart bodies are not supported; send application/x-www-form-urlencoded or "
             "application/json");
    }
    const bool json_type = type == "application/json" || type.ends_with("+json");
    const bool blank_body = trim(request.body).empty();
    if ((json_type && !blank_body) || (type.empty() && looks_like_json(request.body))) {
        return decode_json(request.body, params, now);
    }

    if (!blank_body) {
        // Traccar reads the body as form data whatever the content type says; a trailing CR/LF
        // from hand-made clients is not part of the last value.
        std::string_view body = request.body;
        while (!body.empty() && (body.back() == '\r' || body.back() == '\n')) {
            body.remove_suffix(1);
        }
        auto body_params = detail::parse_form(body, true, 0);
        params.insert(params.end(), std::make_move_iterator(body_params.begin()),
                      std::make_move_iterator(body_params.end()));
    }
    return decode_params(params, now);
}

}  // namespace fleet::ingest::osmand
