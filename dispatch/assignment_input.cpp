#include "dispatch/assignment_input.hpp"

#include <charconv>
#include <cmath>
#include <optional>
#include <sstream>

#include "dispatch/gtfs/csv.hpp"
#include "dispatch/gtfs/error.hpp"
#include "geo/error.hpp"

namespace fleet::dispatch {

namespace {

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

std::vector<std::string> split(const std::string& text, char sep, bool keep_empty) {
    std::vector<std::string> out;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, sep)) {
        part = trim(part);
        if (keep_empty || !part.empty()) {
            out.push_back(part);
        }
    }
    if (keep_empty && !text.empty() && text.back() == sep) {
        out.emplace_back();
    }
    return out;
}

std::optional<double> number(const std::string& text) {
    double v = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(v)) {
        return std::nullopt;
    }
    return v;
}

// A stop from its fields (stop or name, lon, lat, from, to, radius); `where` prefixes errors.
StopRequest stop_from(const std::string& place, const std::string& lon, const std::string& lat,
                      const std::string& from, const std::string& to, const std::string& radius,
                      const std::string& where) {
    StopRequest s;
    if (place.empty()) {
        throw InputError(where + "a stop needs a known stop's code or a name");
    }
    if (lon.empty() != lat.empty()) {
        throw InputError(where + "give both longitude and latitude, or neither (a known stop)");
    }
    if (lon.empty()) {
        s.stop = place;
    } else {
        const auto x = number(lon);
        const auto y = number(lat);
        if (!x || !y || std::abs(*x) > 180 || std::abs(*y) > 90) {
            throw InputError(where + "'" + lon + ";" + lat + "' is not a longitude and latitude");
        }
        s.name = place;
        s.position = geo::LonLat{*x, *y};
    }
    if (from.empty() || to.empty()) {
        throw InputError(where + "stop '" + place + "' needs its window (from and to)");
    }
    s.window_from = from;
    s.window_to = to;
    if (!radius.empty()) {
        const auto r = number(radius);
        if (!r || *r <= 0) {
            throw InputError(where + "radius '" + radius + "' is not a number of metres above 0");
        }
        s.radius_m = r;
    }
    return s;
}

}  // namespace

StopRequest parse_stop(const std::string& text) {
    const auto f = split(text, ';', /*keep_empty=*/true);
    if (f.size() != 5 && f.size() != 6) {
        throw InputError("stop '" + text +
                         "' is not NAME;LON;LAT;FROM;TO[;RADIUS] or CODE;;;FROM;TO[;RADIUS]");
    }
    return stop_from(f[0], f[1], f[2], f[3], f[4], f.size() == 6 ? f[5] : "",
                     "stop '" + text + "': ");
}

std::vector<AssignmentRequest> read_assignment_csv(std::string_view text, const std::string& file) {
    std::optional<gtfs::CsvTable> parsed;
    try {
        parsed = gtfs::CsvTable::parse(text, file);
    } catch (const gtfs::FeedError& e) {
        throw InputError(file + ":" + std::to_string(e.line()) + ": not CSV (" + e.what() + ")");
    }
    const gtfs::CsvTable& csv = *parsed;
    const std::string known = "," + std::string(assignment_csv_columns) + ",";
    for (const std::string& name : csv.header()) {
        if (known.find("," + trim(name) + ",") == std::string::npos) {
            throw InputError(file + ":1: unknown column '" + name +
                             "' (columns: " + std::string(assignment_csv_columns) + ")");
        }
    }
    for (const char* required : {"date", "vehicle"}) {
        if (!csv.column(required)) {
            throw InputError(file + ":1: the header needs a '" + std::string(required) +
                             "' column (columns: " + std::string(assignment_csv_columns) + ")");
        }
    }
    std::vector<AssignmentRequest> out;
    bool building_freight = false;  // the last request is freight work still taking stops
    for (std::size_t row = 0; row < csv.size(); ++row) {
        const auto get = [&](const char* name) {
            const auto c = csv.column(name);
            return c ? trim(csv.value(row, *c)) : std::string();
        };
        const std::string where = file + ":" + std::to_string(csv.line(row)) + ": ";
        const std::string date = get("date");
        const std::string vehicle = get("vehicle");
        if (date.empty() || vehicle.empty()) {
            throw InputError(where + "date and vehicle are required");
        }
        const std::string route = get("route");
        const bool freight = !route.empty() || !get("stop").empty() || !get("from").empty();
        if (!freight) {
            building_freight = false;
            AssignmentRequest q;
            q.service_date = date;
            q.vehicle = vehicle;
            q.driver = get("driver");
            q.feed = get("feed").empty() ? "local" : get("feed");
            q.block = get("block");
            q.trips = split(get("trips"), ';', /*keep_empty=*/false);
            q.start = get("start");  // the shift's own start and end, if it has them
            q.end = get("end");
            q.time_zone = get("tz");  // a zone of its own is refused when saved
            if (q.block.empty() && q.trips.empty()) {
                throw InputError(where +
                                 "a block or trips (timetabled work), or a route and a "
                                 "stop (freight work), are required");
            }
            q.origin = where.substr(0, where.size() - 2);
            out.push_back(std::move(q));
            continue;
        }
        const StopRequest stop = stop_from(get("stop"), get("lon"), get("lat"), get("from"),
                                           get("to"), get("radius"), where);
        AssignmentRequest* current = building_freight ? &out.back() : nullptr;
        if (current != nullptr && (current->service_date != date || current->vehicle != vehicle ||
                                   (!route.empty() && route != current->route))) {
            current = nullptr;  // another assignment begins
        }
        if (current == nullptr) {
            if (route.empty()) {
                throw InputError(where +
                                 "a freight row needs a route, unless it follows a row "
                                 "of the same date and vehicle");
            }
            AssignmentRequest q;
            q.service_date = date;
            q.vehicle = vehicle;
            q.driver = get("driver");
            q.feed = get("feed").empty() ? "local" : get("feed");
            q.route = route;
            q.start = get("start");
            q.end = get("end");
            q.time_zone = get("tz");
            if (!get("block").empty() || !get("trips").empty()) {
                throw InputError(where +
                                 "a row is timetabled work (block, trips) or freight "
                                 "work (route, stop), not both");
            }
            if (q.start.empty() || q.end.empty()) {
                throw InputError(where + "freight work needs its shift start and end");
            }
            q.origin = where.substr(0, where.size() - 2);
            out.push_back(std::move(q));
            current = &out.back();
            building_freight = true;
        } else {
            for (const auto& [name, value] :
                 {std::pair{"start", current->start}, std::pair{"end", current->end},
                  std::pair{"driver", current->driver}}) {
                const std::string given = get(name);
                if (!given.empty() && given != value) {
                    throw InputError(where + std::string(name) + " '" + given +
                                     "' differs from the assignment's (" + current->origin + ": '" +
                                     value + "')");
                }
            }
        }
        current->stops.push_back(stop);
    }
    return out;
}

}  // namespace fleet::dispatch
