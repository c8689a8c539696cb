#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numbers>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "dispatch/gtfs/csv.hpp"
#include "dispatch/gtfs/detail/files.hpp"
#include "dispatch/gtfs/feed.hpp"

// Field names, which are required and the value formats follow the GTFS Schedule reference
// (gtfs.org/documentation/schedule/reference), sections "Field Types" and "Dataset Files".
namespace fleet::dispatch::gtfs {

namespace {

using std::chrono::year_month_day;

constexpr std::size_t progress_rows = 100000;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    return text;
}

template <typename Number>
std::optional<Number> parse_number(std::string_view text) {
    text = trim(text);
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    Number value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
        return std::nullopt;
    }
    if constexpr (std::is_floating_point_v<Number>) {
        if (!std::isfinite(value)) {
            return std::nullopt;
        }
    }
    return value;
}

/// A column of a table: its name and, when the header has it, its index.
struct Column {
    std::string name;
    std::optional<std::size_t> index;
};

/// One file of the feed with typed, validated access to its values. Every failure names the
/// file, the line and the field.
class Table {
  public:
    Table(const FeedFiles& files, const std::string& name) : name_(name) {
        if (const auto it = files.find(name); it != files.end()) {
            csv_ = CsvTable::parse(it->second, name);
        }
    }

    bool present() const { return csv_.has_value(); }
    const std::string& name() const { return name_; }
    std::size_t size() const { return csv_ ? csv_->size() : 0; }
    std::size_t line(std::size_t row) const { return csv_->line(row); }

    void require_file() const {
        if (!csv_) {
            throw FeedError(name_, 0, "", "required file is missing");
        }
    }

    Column required_column(const std::string& column) const {
        auto index = csv_->column(column);
        if (!index) {
            throw FeedError(name_, 1, column, "required column is missing");
        }
        return {column, index};
    }

    Column optional_column(const std::string& column) const {
        return {column, csv_ ? csv_->column(column) : std::nullopt};
    }

    [[noreturn]] void fail(std::size_t row, const std::string& field,
                           const std::string& problem) const {
        throw FeedError(name_, csv_->line(row), field, problem);
    }

    /// The value, blanks around it removed; empty when the column is absent.
    std::string text(std::size_t row, const Column& column) const {
        if (!column.index) {
            return {};
        }
        return std::string(trim(csv_->value(row, *column.index)));
    }

    std::string required(std::size_t row, const Column& column) const {
        std::string value = text(row, column);
        if (value.empty()) {
            fail(row, column.name, "required value is empty");
        }
        return value;
    }

    std::optional<int> optional_int(std::size_t row, const Column& column, int lo, int hi) const {
        const std::string value = text(row, column);
        if (value.empty()) {
            return std::nullopt;
        }
        const auto number = parse_number<int>(value);
        if (!number || *number < lo || *number > hi) {
            fail(row, column.name,
                 "'" + value + "' is not an integer from " + std::to_string(lo) + " to " +
                     std::to_string(hi));
        }
        return number;
    }

    int required_int(std::size_t row, const Column& column, int lo, int hi) const {
        required(row, column);
        return *optional_int(row, column, lo, hi);
    }

    std::optional<double> optional_double(std::size_t row, const Column& column, double lo,
                                          double hi) const {
        const std::string value = text(row, column);
        if (value.empty()) {
            return std::nullopt;
        }
        const auto number = parse_number<double>(value);
        if (!number || *number < lo || *number > hi) {
            fail(row, column.name,
                 "'" + value + "' is not a number from " + format(lo) + " to " + format(hi));
        }
        return number;
    }

    double required_double(std::size_t row, const Column& column, double lo, double hi) const {
        required(row, column);
        return *optional_double(row, column, lo, hi);
    }

    std::optional<int> optional_time(std::size_t row, const Column& column) const {
        const std::string value = text(row, column);
        if (value.empty()) {
            return std::nullopt;
        }
        const auto seconds = parse_time(value);
        if (!seconds) {
            fail(row, column.name, "'" + value + "' is not a time HH:MM:SS");
        }
        return seconds;
    }

    year_month_day required_date(std::size_t row, const Column& column) const {
        const std::string value = required(row, column);
        const auto date = parse_date(value);
        if (!date) {
            fail(row, column.name, "'" + value + "' is not a date YYYYMMDD");
        }
        return *date;
    }

    bool required_flag(std::size_t row, const Column& column) const {
        return required_int(row, column, 0, 1) == 1;
    }

  private:
    static std::string format(double value) {
        std::string out = std::to_string(value);
        out.erase(out.find_last_not_of('0') + 1);
        if (out.back() == '.') {
            out.pop_back();
        }
        return out;
    }

    std::string name_;
    std::optional<CsvTable> csv_;
};

void report(const Progress& progress, const std::string& stage, std::size_t done,
            std::size_t total) {
    if (progress && total >= progress_rows && (done % progress_rows == 0 || done == total)) {
        progress(stage, done, total);
    }
}

std::vector<Agency> read_agencies(const FeedFiles& files) {
    Table t(files, "agency.txt");
    t.require_file();
    const auto id = t.optional_column("agency_id");
    const auto name = t.required_column("agency_name");
    const auto url = t.required_column("agency_url");
    const auto timezone = t.required_column("agency_timezone");
    const auto lang = t.optional_column("agency_lang");
    const auto phone = t.optional_column("agency_phone");
    if (t.size() == 0) {
        throw FeedError(t.name(), 0, "", "the file lists no agency");
    }
    std::vector<Agency> out;
    std::set<std::string> seen;
    for (std::size_t r = 0; r < t.size(); ++r) {
        Agency a;
        // agency_id is conditionally required: when the feed has more than one agency.
        a.id = t.size() > 1 ? t.required(r, {"agency_id", id.index}) : t.text(r, id);
        if (!seen.insert(a.id).second) {
            t.fail(r, "agency_id", "duplicate agency_id '" + a.id + "'");
        }
        a.name = t.required(r, name);
        a.url = t.required(r, url);
        a.timezone = t.required(r, timezone);
        a.lang = t.text(r, lang);
        a.phone = t.text(r, phone);
        out.push_back(std::move(a));
    }
    return out;
}

std::vector<Stop> read_stops(const FeedFiles& files) {
    Table t(files, "stops.txt");
    t.require_file();
    const auto id = t.required_column("stop_id");
    const auto code = t.optional_column("stop_code");
    const auto name = t.optional_column("stop_name");
    const auto lat = t.optional_column("stop_lat");
    const auto lon = t.optional_column("stop_lon");
    const auto type = t.optional_column("location_type");
    const auto parent = t.optional_column("parent_station");
    std::vector<Stop> out;
    std::unordered_map<std::string, std::size_t> index;
    std::vector<std::size_t> rows;
    for (std::size_t r = 0; r < t.size(); ++r) {
        Stop s;
        s.id = t.required(r, id);
        if (!index.emplace(s.id, out.size()).second) {
            t.fail(r, "stop_id", "duplicate stop_id '" + s.id + "'");
        }
        s.code = t.text(r, code);
        s.location_type = t.optional_int(r, type, 0, 4).value_or(0);
        // stop_name, stop_lat and stop_lon are required for stops, stations and entrances.
        const bool located = s.location_type <= 2;
        s.name = located ? t.required(r, name) : t.text(r, name);
        s.lat = located ? t.required_double(r, lat, -90, 90) : t.optional_double(r, lat, -90, 90);
        s.lon =
            located ? t.required_double(r, lon, -180, 180) : t.optional_double(r, lon, -180, 180);
        s.parent_station = t.text(r, parent);
        if (s.location_type >= 2 && s.parent_station.empty()) {
            t.fail(r, "parent_station",
                   "required for location_type " + std::to_string(s.location_type));
        }
        out.push_back(std::move(s));
        rows.push_back(r);
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto& p = out[i].parent_station;
        if (!p.empty() && !index.contains(p)) {
            t.fail(rows[i], "parent_station", "unknown stop_id '" + p + "'");
        }
    }
    // A location without coordinates takes its parent's (a boarding area's parent is a stop,
    // whose parent may be a station: two steps at most).
    for (int pass = 0; pass < 2; ++pass) {
        for (auto& s : out) {
            if (!s.lat && !s.parent_station.empty()) {
                const auto& parent_stop = out[index.at(s.parent_station)];
                s.lat = parent_stop.lat;
                s.lon = parent_stop.lon;
            }
        }
    }
    return out;
}

std::vector<Route> read_routes(const FeedFiles& files, const std::vector<Agency>& agencies) {
    Table t(files, "routes.txt");
    t.require_file();
    const auto id = t.required_column("route_id");
    const auto agency = t.optional_column("agency_id");
    const auto short_name = t.optional_column("route_short_name");
    const auto long_name = t.optional_column("route_long_name");
    const auto type = t.required_column("route_type");
    const auto color = t.optional_column("route_color");
    const auto text_color = t.optional_column("route_text_color");
    std::set<std::string> agency_ids;
    for (const auto& a : agencies) {
        agency_ids.insert(a.id);
    }
    std::vector<Route> out;
    std::set<std::string> seen;
    for (std::size_t r = 0; r < t.size(); ++r) {
        Route route;
        route.id = t.required(r, id);
        if (!seen.insert(route.id).second) {
            t.fail(r, "route_id", "duplicate route_id '" + route.id + "'");
        }
        route.agency_id = agencies.size() > 1 ? t.required(r, agency) : t.text(r, agency);
        if (!route.agency_id.empty() && !agency_ids.contains(route.agency_id)) {
            t.fail(r, "agency_id", "unknown agency_id '" + route.agency_id + "'");
        }
        route.short_name = t.text(r, short_name);
        route.long_name = t.text(r, long_name);
        if (route.short_name.empty() && route.long_name.empty()) {
            t.fail(r, "route_short_name",
                   "route_short_name or route_long_name is required; both are empty");
        }
        route.type = t.required_int(r, type, 0, 9999);
        route.color = t.text(r, color);
        route.text_color = t.text(r, text_color);
        out.push_back(std::move(route));
    }
    return out;
}

std::vector<Calendar> read_calendars(const FeedFiles& files) {
    Table t(files, "calendar.txt");
    if (!t.present()) {
        return {};
    }
    static const std::array<std::string, 7> day_names = {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
    const auto id = t.required_column("service_id");
    std::vector<Column> days;
    for (const auto& day : day_names) {
        days.push_back(t.required_column(day));
    }
    const auto start = t.required_column("start_date");
    const auto end = t.required_column("end_date");
    std::vector<Calendar> out;
    std::set<std::string> seen;
    for (std::size_t r = 0; r < t.size(); ++r) {
        Calendar c;
        c.service_id = t.required(r, id);
        if (!seen.insert(c.service_id).second) {
            t.fail(r, "service_id", "duplicate service_id '" + c.service_id + "'");
        }
        for (std::size_t d = 0; d < days.size(); ++d) {
            c.days[d] = t.required_flag(r, days[d]);
        }
        c.start_date = t.required_date(r, start);
        c.end_date = t.required_date(r, end);
        if (std::chrono::sys_days(c.end_date) < std::chrono::sys_days(c.start_date)) {
            t.fail(r, "end_date", "end_date is before start_date");
        }
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<CalendarDate> read_calendar_dates(const FeedFiles& files) {
    Table t(files, "calendar_dates.txt");
    if (!t.present()) {
        return {};
    }
    const auto id = t.required_column("service_id");
    const auto date = t.required_column("date");
    const auto type = t.required_column("exception_type");
    std::vector<CalendarDate> out;
    std::set<std::pair<std::string, int>> seen;
    for (std::size_t r = 0; r < t.size(); ++r) {
        CalendarDate c;
        c.service_id = t.required(r, id);
        c.date = t.required_date(r, date);
        c.exception_type = t.required_int(r, type, 1, 2);
        const int day = std::chrono::sys_days(c.date).time_since_epoch().count();
        if (!seen.emplace(c.service_id, day).second) {
            t.fail(r, "date", "duplicate date for service_id '" + c.service_id + "'");
        }
        out.push_back(std::move(c));
    }
    return out;
}

std::map<std::string, Shape> read_shapes(const FeedFiles& files, const Progress& progress) {
    Table t(files, "shapes.txt");
    if (!t.present()) {
        return {};
    }
    const auto id = t.required_column("shape_id");
    const auto lat = t.required_column("shape_pt_lat");
    const auto lon = t.required_column("shape_pt_lon");
    const auto sequence = t.required_column("shape_pt_sequence");
    const auto dist = t.optional_column("shape_dist_traveled");
    struct Row {
        int sequence;
        std::size_t row;
        ShapePoint point;
    };
    std::map<std::string, std::vector<Row>> points;
    for (std::size_t r = 0; r < t.size(); ++r) {
        const std::string shape = t.required(r, id);
        Row row{0, r, {}};
        row.point.lat = t.required_double(r, lat, -90, 90);
        row.point.lon = t.required_double(r, lon, -180, 180);
        row.sequence = t.required_int(r, sequence, 0, std::numeric_limits<int>::max());
        row.point.dist_traveled = t.optional_double(r, dist, 0, 1e12);
        points[shape].push_back(row);
        report(progress, "parsing shapes.txt", r + 1, t.size());
    }
    std::map<std::string, Shape> out;
    for (auto& [shape_id, rows] : points) {
        std::stable_sort(rows.begin(), rows.end(),
                         [](const Row& a, const Row& b) { return a.sequence < b.sequence; });
        Shape shape;
        shape.id = shape_id;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            if (i > 0 && rows[i].sequence == rows[i - 1].sequence) {
                t.fail(std::max(rows[i].row, rows[i - 1].row), "shape_pt_sequence",
                       "duplicate shape_pt_sequence " + std::to_string(rows[i].sequence) +
                           " in shape '" + shape_id + "'");
            }
            shape.points.push_back(rows[i].point);
        }
        if (shape.points.size() < 2) {
            t.fail(rows.front().row, "shape_id",
                   "shape '" + shape_id + "' has fewer than two points");
        }
        out.emplace(shape_id, std::move(shape));
    }
    return out;
}

struct TripRows {
    std::vector<Trip> trips;
    std::vector<std::size_t> lines;  ///< trips.txt line of each trip
};

TripRows read_trips(const FeedFiles& files, const Feed& feed) {
    Table t(files, "trips.txt");
    t.require_file();
    const auto route = t.required_column("route_id");
    const auto service = t.required_column("service_id");
    const auto id = t.required_column("trip_id");
    const auto headsign = t.optional_column("trip_headsign");
    const auto direction = t.optional_column("direction_id");
    const auto block = t.optional_column("block_id");
    const auto shape = t.optional_column("shape_id");

    std::set<std::string> routes;
    for (const auto& r : feed.routes) {
        routes.insert(r.id);
    }
    std::set<std::string> services;
    for (const auto& c : feed.calendars) {
        services.insert(c.service_id);
    }
    for (const auto& c : feed.calendar_dates) {
        services.insert(c.service_id);
    }
    const bool have_shapes = files.contains("shapes.txt");

    TripRows out;
    std::set<std::string> seen;
    for (std::size_t r = 0; r < t.size(); ++r) {
        Trip trip;
        trip.id = t.required(r, id);
        if (!seen.insert(trip.id).second) {
            t.fail(r, "trip_id", "duplicate trip_id '" + trip.id + "'");
        }
        trip.route_id = t.required(r, route);
        if (!routes.contains(trip.route_id)) {
            t.fail(r, "route_id", "unknown route_id '" + trip.route_id + "'");
        }
        trip.service_id = t.required(r, service);
        if (!services.contains(trip.service_id)) {
            t.fail(r, "service_id",
                   "service_id '" + trip.service_id +
                       "' is in neither calendar.txt nor calendar_dates.txt");
        }
        trip.headsign = t.text(r, headsign);
        trip.direction_id = t.optional_int(r, direction, 0, 1);
        trip.block_id = t.text(r, block);
        // Without shapes.txt a shape_id cannot be resolved: the trip's shape is built from its
        // stops, as for a trip that names none.
        if (have_shapes) {
            trip.shape_id = t.text(r, shape);
            if (!trip.shape_id.empty() && !feed.shapes.contains(trip.shape_id)) {
                t.fail(r, "shape_id", "unknown shape_id '" + trip.shape_id + "'");
            }
        }
        out.trips.push_back(std::move(trip));
        out.lines.push_back(t.line(r));
    }
    return out;
}

void read_stop_times(const FeedFiles& files, Feed& feed, const std::vector<std::size_t>& trip_lines,
                     const Progress& progress) {
    Table t(files, "stop_times.txt");
    t.require_file();
    const auto trip = t.required_column("trip_id");
    const auto arrival = t.required_column("arrival_time");
    const auto departure = t.required_column("departure_time");
    const auto stop = t.required_column("stop_id");
    const auto sequence = t.required_column("stop_sequence");
    const auto timepoint = t.optional_column("timepoint");
    const auto dist = t.optional_column("shape_dist_traveled");

    std::unordered_map<std::string, std::size_t> trips;
    for (std::size_t i = 0; i < feed.trips.size(); ++i) {
        trips.emplace(feed.trips[i].id, i);
    }
    std::unordered_map<std::string, const Stop*> stops;
    for (const auto& s : feed.stops) {
        stops.emplace(s.id, &s);
    }
    std::vector<std::vector<std::size_t>> rows_of(feed.trips.size());

    for (std::size_t r = 0; r < t.size(); ++r) {
        const std::string trip_id = t.required(r, trip);
        const auto found = trips.find(trip_id);
        if (found == trips.end()) {
            t.fail(r, "trip_id", "unknown trip_id '" + trip_id + "'");
        }
        StopTime st;
        st.line = t.line(r);
        st.stop_id = t.required(r, stop);
        const auto s = stops.find(st.stop_id);
        if (s == stops.end()) {
            t.fail(r, "stop_id", "unknown stop_id '" + st.stop_id + "'");
        }
        if (!s->second->lat) {
            t.fail(r, "stop_id", "stop '" + st.stop_id + "' has no coordinates");
        }
        st.stop_sequence = t.required_int(r, sequence, 0, std::numeric_limits<int>::max());
        st.arrival_s = t.optional_time(r, arrival);
        st.departure_s = t.optional_time(r, departure);
        const auto exact = t.optional_int(r, timepoint, 0, 1);
        // An empty timepoint means exact times (the reference's default).
        st.timepoint = exact.value_or(1) == 1;
        if (exact == 1 && !st.arrival_s && !st.departure_s) {
            t.fail(r, "arrival_time", "required at a timepoint (timepoint = 1)");
        }
        // One of the two alone stands for both.
        if (!st.arrival_s) {
            st.arrival_s = st.departure_s;
        }
        if (!st.departure_s) {
            st.departure_s = st.arrival_s;
        }
        st.shape_dist_traveled = t.optional_double(r, dist, 0, 1e12);
        feed.trips[found->second].stop_times.push_back(std::move(st));
        report(progress, "parsing stop_times.txt", r + 1, t.size());
    }

    for (std::size_t i = 0; i < feed.trips.size(); ++i) {
        auto& trip_ref = feed.trips[i];
        auto& times = trip_ref.stop_times;
        if (times.size() < 2) {
            throw FeedError("trips.txt", trip_lines[i], "trip_id",
                            "trip '" + trip_ref.id + "' has fewer than two stop times");
        }
        std::stable_sort(times.begin(), times.end(), [](const StopTime& a, const StopTime& b) {
            return a.stop_sequence < b.stop_sequence;
        });
        const auto fail = [&](const StopTime& st, const std::string& field,
                              const std::string& problem) {
            throw FeedError("stop_times.txt", st.line, field, problem);
        };
        for (std::size_t k = 1; k < times.size(); ++k) {
            if (times[k].stop_sequence == times[k - 1].stop_sequence) {
                const auto& later = times[k].line > times[k - 1].line ? times[k] : times[k - 1];
                fail(later, "stop_sequence",
                     "duplicate stop_sequence " + std::to_string(later.stop_sequence) +
                         " in trip '" + trip_ref.id + "'");
            }
        }
        if (!times.front().departure_s) {
            fail(times.front(), "departure_time", "required at the first stop of a trip");
        }
        if (!times.back().arrival_s) {
            fail(times.back(), "arrival_time", "required at the last stop of a trip");
        }
        std::optional<int> previous;
        for (const auto& st : times) {
            if (!st.arrival_s) {
                continue;
            }
            if (previous && *st.arrival_s < *previous) {
                fail(st, "arrival_time",
                     "time goes backwards in trip '" + trip_ref.id + "': arrival " +
                         format_time(*st.arrival_s) + " is before " + format_time(*previous) +
                         " at the previous stop");
            }
            if (*st.departure_s < *st.arrival_s) {
                fail(st, "departure_time",
                     "time goes backwards in trip '" + trip_ref.id + "': departure " +
                         format_time(*st.departure_s) + " is before the arrival " +
                         format_time(*st.arrival_s));
            }
            previous = st.departure_s;
        }
    }
}

/// Gives every trip without a shape one built from its stops; trips calling at the same stops in
/// the same order share it.
void build_missing_shapes(Feed& feed) {
    std::map<std::vector<std::string>, std::string> built;
    std::unordered_map<std::string, const Stop*> stops;
    for (const auto& s : feed.stops) {
        stops.emplace(s.id, &s);
    }
    for (auto& trip : feed.trips) {
        if (!trip.shape_id.empty()) {
            continue;
        }
        std::vector<std::string> sequence;
        for (const auto& st : trip.stop_times) {
            sequence.push_back(st.stop_id);
        }
        if (const auto it = built.find(sequence); it != built.end()) {
            trip.shape_id = it->second;
            continue;
        }
        std::string id = "stops:" + trip.id;
        while (feed.shapes.contains(id)) {
            id += "~";
        }
        Shape shape;
        shape.id = id;
        shape.built_from_stops = true;
        for (const auto& stop_id : sequence) {
            const Stop& s = *stops.at(stop_id);
            shape.points.push_back({*s.lat, *s.lon, std::nullopt});
        }
        feed.shapes.emplace(id, std::move(shape));
        built.emplace(std::move(sequence), id);
        trip.shape_id = id;
    }
}

std::vector<Block> build_blocks(const Feed& feed) {
    std::map<std::string, std::vector<const Trip*>> by_block;
    for (const auto& trip : feed.trips) {
        if (!trip.block_id.empty()) {
            by_block[trip.block_id].push_back(&trip);
        }
    }
    std::vector<Block> out;
    for (auto& [id, trips] : by_block) {
        std::stable_sort(trips.begin(), trips.end(), [](const Trip* a, const Trip* b) {
            return a->first_departure_s() < b->first_departure_s();
        });
        Block block{id, {}};
        for (const Trip* trip : trips) {
            block.trip_ids.push_back(trip->id);
        }
        out.push_back(std::move(block));
    }
    return out;
}

}  // namespace

std::optional<int> parse_time(std::string_view text) {
    text = trim(text);
    const auto first = text.find(':');
    const auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
    if (second == std::string_view::npos || (first != 1 && first != 2) ||
        text.size() != second + 3 || second != first + 3) {
        return std::nullopt;
    }
    const auto digits = [](std::string_view part) -> std::optional<int> {
        if (part.empty() ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
        return parse_number<int>(part);
    };
    const auto h = digits(text.substr(0, first));
    const auto m = digits(text.substr(first + 1, 2));
    const auto s = digits(text.substr(second + 1, 2));
    if (!h || !m || !s || *m > 59 || *s > 59) {
        return std::nullopt;
    }
    return *h * 3600 + *m * 60 + *s;
}

std::string format_time(int seconds) {
    char out[16];
    std::snprintf(out, sizeof out, "%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
                  seconds % 60);
    return out;
}

std::optional<year_month_day> parse_date(std::string_view text) {
    text = trim(text);
    if (text.size() != 8 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const int y = *parse_number<int>(text.substr(0, 4));
    const auto m = static_cast<unsigned>(*parse_number<int>(text.substr(4, 2)));
    const auto d = static_cast<unsigned>(*parse_number<int>(text.substr(6, 2)));
    const year_month_day date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
    if (!date.ok()) {
        return std::nullopt;
    }
    return date;
}

double Shape::length_m() const {
    // Haversine on the mean Earth radius (IUGG): within 0.5 % of the WGS 84 geodesic.
    constexpr double earth_radius_m = 6371008.8;
    constexpr double rad = std::numbers::pi / 180.0;
    double total = 0;
    for (std::size_t i = 1; i < points.size(); ++i) {
        const auto& a = points[i - 1];
        const auto& b = points[i];
        const double dlat = (b.lat - a.lat) * rad;
        const double dlon = (b.lon - a.lon) * rad;
        const double h =
            std::sin(dlat / 2) * std::sin(dlat / 2) +
            std::cos(a.lat * rad) * std::cos(b.lat * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
        total += 2 * earth_radius_m * std::asin(std::min(1.0, std::sqrt(h)));
    }
    return total;
}

std::size_t Feed::stop_time_count() const {
    std::size_t n = 0;
    for (const auto& trip : trips) {
        n += trip.stop_times.size();
    }
    return n;
}

const Stop* Feed::find_stop(const std::string& id) const {
    const auto it =
        std::find_if(stops.begin(), stops.end(), [&](const Stop& s) { return s.id == id; });
    return it == stops.end() ? nullptr : &*it;
}

const Route* Feed::find_route(const std::string& id) const {
    const auto it =
        std::find_if(routes.begin(), routes.end(), [&](const Route& r) { return r.id == id; });
    return it == routes.end() ? nullptr : &*it;
}

const Trip* Feed::find_trip(const std::string& id) const {
    const auto it =
        std::find_if(trips.begin(), trips.end(), [&](const Trip& t) { return t.id == id; });
    return it == trips.end() ? nullptr : &*it;
}

Feed parse_feed(const FeedFiles& files, const Progress& progress) {
    // Every required file is checked before any is parsed, so a feed missing several files is
    // told about the first of them in the reference's order.
    for (const char* name :
         {"agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt"}) {
        if (!files.contains(name)) {
            throw FeedError(name, 0, "", "required file is missing");
        }
    }
    if (!files.contains("calendar.txt") && !files.contains("calendar_dates.txt")) {
        throw FeedError("calendar.txt", 0, "",
                        "required file is missing (a feed needs calendar.txt, "
                        "calendar_dates.txt or both)");
    }
    Feed feed;
    feed.agencies = read_agencies(files);
    feed.stops = read_stops(files);
    feed.routes = read_routes(files, feed.agencies);
    feed.calendars = read_calendars(files);
    feed.calendar_dates = read_calendar_dates(files);
    feed.shapes = read_shapes(files, progress);
    auto trips = read_trips(files, feed);
    feed.trips = std::move(trips.trips);
    read_stop_times(files, feed, trips.lines, progress);
    build_missing_shapes(feed);
    feed.blocks = build_blocks(feed);
    return feed;
}

Feed read_feed(const std::string& path, const Progress& progress) {
    return parse_feed(detail::load_feed_files(path, progress), progress);
}

Feed read_feed_zip(std::string_view zip, std::size_t max_bytes, const Progress& progress) {
    return parse_feed(detail::load_feed_zip(zip, progress, max_bytes), progress);
}

}  // namespace fleet::dispatch::gtfs
