#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ingest/position.hpp"

/// OsmAnd / Traccar Client: phones report over HTTP, either as query or form parameters (the
/// OsmAnd app, Traccar Client before 9.0) or as a JSON body (Traccar Client 9.0 and later, which
/// posts the record format of the Transistorsoft background-geolocation SDK).
namespace fleet::ingest::osmand {

/// The largest request body decode() accepts unless the caller passes another cap.
inline constexpr std::size_t default_max_body_bytes = 256 * 1024;

/// The parts of one HTTP request that the decoder needs; the listener fills it in.
struct Request {
    std::string method;        ///< "GET" or "POST" ("PUT" is accepted too)
    std::string target;        ///< path and query string, e.g. "/?id=123456&lat=60.0&lon=30.0"
    std::string content_type;  ///< the Content-Type header, empty when absent
    std::string body;
};

/// What one request carries: the device's identifier as the client sent it, and its fixes in the
/// order they were sent (one for query/form requests, one or more for JSON).
struct Report {
    std::string device_id;
    std::vector<Position> positions;
};

/// Decodes one OsmAnd / Traccar Client request.
///
/// The body is JSON when the content type is application/json (or, with no content type, when it
/// starts with '{'); otherwise query parameters and form parameters from the body are read
/// together, body after query. Units: query/form `speed` is knots, JSON `coords.speed` is m/s;
/// both end up in km/h. Attributes set: accuracy_m, hdop, battery_pct, charging,
/// driver_unique_id, motion, event, activity, mock, alarm, and time_from_server (true when the
/// request had no timestamp and `now` was used); unknown parameters keep their own name.
///
/// Throws DecodeError (protocol "osmand") whose message can be sent back as the reason of an
/// HTTP 400: bad_value for a missing device id, a missing, non-numeric or out-of-range
/// coordinate, an unparsable timestamp or malformed JSON or percent-encoding; oversized when the
/// body or the target is longer than `max_body_bytes`; unsupported for a method other than
/// GET/POST/PUT or a multipart body. Offsets are byte positions in the body where known, else 0.
Report decode(const Request& request, Millis now,
              std::size_t max_body_bytes = default_max_body_bytes);

}  // namespace fleet::ingest::osmand
