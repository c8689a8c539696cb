#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ingest/position.hpp"
#include "ingest/writer.hpp"  // StoredPosition

/// The rows of the position writer in PostgreSQL's binary COPY format (PostgreSQL 15 manual,
/// COPY, "Binary Format"): a signature, flags and header extension; then per tuple a 16-bit field
/// count and per field a 32-bit length (-1 for NULL) and the type's binary send form, all
/// big-endian; then a 16-bit -1.
namespace fleet::ingest::detail {

/// Milliseconds from the Unix epoch to 2000-01-01 00:00 UTC, the epoch of timestamptz's binary
/// form (microseconds since then).
inline constexpr std::int64_t postgres_epoch_unix_ms = 946'684'800'000;

/// Why a value has no binary form in its column. `sqlstate` is the code PostgreSQL reports for
/// the same value given as text (22003 numeric_value_out_of_range, 22008
/// datetime_field_overflow, 22023 invalid_parameter_value).
struct Unencodable {
    std::string sqlstate;
    std::string message;
};

/// Appends the header: signature "PGCOPY\n\377\r\n\0", flags 0, no header extension.
void append_copy_header(std::string& out);
/// Appends the trailer: a field count of -1.
void append_copy_trailer(std::string& out);

void put_i16(std::string& out, std::int16_t v);
void put_i32(std::string& out, std::int32_t v);
void put_i64(std::string& out, std::int64_t v);

/// Appends one int4 field (its length and value).
void append_int4_field(std::string& out, std::int32_t v);
/// Appends one text field: `text` made storable first (see storable_text).
void append_text_field(std::string& out, std::string_view text);
/// Appends one jsonb field: version byte 1 and the JSON text.
void append_jsonb_field(std::string& out, std::string_view json_text);

/// The 12 fields of fleet.positions' writer columns, in this order: vehicle_id int8,
/// device_time timestamptz, geom geometry (EWKB point, SRID 4326), speed_kmh float4, course_deg
/// float4, altitude_m float4, satellites int2, valid bool, odometer_m float8, fuel_l float4,
/// ignition bool, attributes jsonb.
inline constexpr int position_field_count = 12;

/// Appends the 12 fields of `p` (no field count in front). Returns why not, leaving `out` as it
/// was, when a value has no binary form in its column: a finite real beyond float4's range, a
/// satellite count beyond int2, a device time whose microseconds overflow int8, attributes that
/// are not a JSON object. Values PostgreSQL itself may refuse (a time before 4713 BC, a NUL
/// character in the attributes) are written as they are, for the database to judge.
std::optional<Unencodable> append_position_fields(std::string& out, const StoredPosition& p);

/// The attributes as the JSON text stored in jsonb: invalid UTF-8 replaced by U+FFFD.
std::string attributes_text(const nlohmann::json& attributes);

/// `text` as a PostgreSQL text value can hold it: invalid UTF-8 replaced by U+FFFD, and each NUL
/// character written as the six characters \u0000.
std::string storable_text(std::string_view text);

/// `value` with every NUL character in keys and strings, at any depth, written as the six
/// characters \u0000, so that jsonb takes it.
nlohmann::json storable_json(const nlohmann::json& value);

/// The whole record as a JSON object jsonb can hold (storable_json): device_time (ISO 8601 UTC)
/// and device_time_ms, every column's field under its Position name (absent ones as null), the
/// attributes, and the device identifier and protocol. Used for attributes.merged and for the
/// quarantine.
std::string record_json(const StoredPosition& p, std::string_view device,
                        std::string_view protocol);

/// `t` as ISO 8601 UTC with milliseconds ("2026-01-31T12:00:00.250Z"), for any year.
std::string iso_utc(Millis t);

}  // namespace fleet::ingest::detail
