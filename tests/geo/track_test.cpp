#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>
#include <nlohmann/json.hpp>

#include "geo/error.hpp"
#include "geo/track.hpp"
#include "geo/track_store.hpp"
#include "geo/trips.hpp"

using namespace fleet;
using geo::TrackFix;
using geo::TrackFormat;

namespace {

// 2026-11-27T04:30:00Z
constexpr std::int64_t t0 = 1'795'753'800'000;
constexpr int moscow = 3 * 3600;

// Three fixes of bus A123BC77 through a town, shown in Moscow time; the last has no speed,
// course or altitude reported and was flagged invalid.
geo::Track three_fixes() {
    geo::Track t;
    t.vehicle_id = 7;
    t.registration = "A123BC77";
    t.from_ms = t0 - 60'000;
    t.to_ms = t0 + 3'600'000;
    t.from_offset_s = t.to_offset_s = moscow;
    t.fixes = {
        {.time_ms = t0,
         .utc_offset_s = moscow,
         .position = {37.6173, 55.7558},
         .speed_kmh = 42.5,
         .course_deg = 90,
         .altitude_m = 151,
         .satellites = 9,
         .odometer_m = 1000,
         .fuel_l = 55.5,
         .ignition = true},
        {.time_ms = t0 + 30'250,
         .utc_offset_s = moscow,
         .position = {37.6200, 55.7560},
         .speed_kmh = 0,
         .course_deg = 180,
         .altitude_m = 152.5,
         .satellites = 8},
        {.time_ms = t0 + 60'000,
         .utc_offset_s = moscow,
         .position = {37.6250, 55.7570},
         .valid = false},
    };
    return t;
}

// An OGR dataset over the bytes, for reading them back as another program would.
class Parsed {
  public:
    Parsed(const std::string& bytes, const char* extension) {
        static int serial = 0;
        path_ = "/vsimem/track_test_" + std::to_string(++serial) + extension;
        VSILFILE* f = VSIFileFromMemBuffer(
            path_.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(bytes.data())), bytes.size(),
            FALSE);
        VSIFCloseL(f);
        GDALAllRegister();
        ds_ = GDALDataset::Open(path_.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY);
        REQUIRE_MESSAGE(ds_ != nullptr, CPLGetLastErrorMsg());
    }
    ~Parsed() {
        GDALClose(ds_);
        VSIUnlink(path_.c_str());
    }
    GDALDataset& ds() { return *ds_; }
    OGRLayer& layer(const char* name) {
        OGRLayer* l = ds_->GetLayerByName(name);
        REQUIRE_MESSAGE(l != nullptr, "no layer " << name);
        return *l;
    }
    std::string driver() const { return ds_->GetDriver()->GetDescription(); }

  private:
    std::string path_;
    GDALDataset* ds_ = nullptr;
};

std::string ogr_time(OGRFeature& f, const char* field) {
    const int i = f.GetFieldIndex(field);
    REQUIRE(i >= 0);
    REQUIRE(f.IsFieldSetAndNotNull(i));
    int y, mo, d, h, mi, tz;
    float s;
    f.GetFieldAsDateTime(i, &y, &mo, &d, &h, &mi, &s, &tz);
    char buf[64];
    const int offset_min = (tz - 100) * 15;
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%06.3f%+03d:%02d", y, mo, d, h, mi,
                  static_cast<double>(s), offset_min / 60, std::abs(offset_min) % 60);
    return buf;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        out.push_back(line);
    }
    return out;
}

}  // namespace

TEST_CASE("times are written in ISO 8601 with the zone's offset") {
    CHECK(geo::iso_time(t0) == "2026-11-27T04:30:00+00:00");
    CHECK(geo::iso_time(t0, moscow) == "2026-11-27T07:30:00+03:00");
    CHECK(geo::iso_time(t0 + 250, -5 * 3600) == "2026-11-26T23:30:00.250-05:00");
    CHECK(geo::iso_time(t0, 5 * 3600 + 1800) == "2026-11-27T10:00:00+05:30");
    CHECK(geo::iso_time(-1000) == "1969-12-31T23:59:59+00:00");
}

TEST_CASE("formats are named as the API and fleetctl take them, with their media types") {
    CHECK(geo::track_format("gpx") == TrackFormat::gpx);
    CHECK(geo::track_format("GeoJSON") == TrackFormat::geojson);
    CHECK_THROWS_WITH_AS(geo::track_format("shp"),
                         "format: expected json, geojson, gpx, kml or csv, got 'shp'", InputError);
    CHECK(std::string(geo::content_type(TrackFormat::gpx)) == "application/gpx+xml");
    CHECK(std::string(geo::content_type(TrackFormat::kml)) ==
          "application/vnd.google-earth.kml+xml");
    CHECK(std::string(geo::content_type(TrackFormat::geojson)) == "application/geo+json");
    CHECK(std::string(geo::file_extension(TrackFormat::csv)) == ".csv");
}

TEST_CASE("JSON: every fix with its time and offset, null for what the device did not report") {
    const auto j = nlohmann::json::parse(geo::write_track(three_fixes(), TrackFormat::json));
    CHECK(j["vehicle"]["registration"] == "A123BC77");
    CHECK(j["vehicle"]["id"] == 7);
    CHECK(j["from"] == "2026-11-27T07:29:00+03:00");
    CHECK(j["to"] == "2026-11-27T08:30:00+03:00");
    CHECK(j["fixes"] == 3);
    REQUIRE(j["points"].size() == 3);
    const auto& p = j["points"];
    CHECK(p[0]["time"] == "2026-11-27T07:30:00+03:00");
    CHECK(p[0]["lon"] == 37.6173);
    CHECK(p[0]["lat"] == 55.7558);
    CHECK(p[0]["speed_kmh"] == 42.5);
    CHECK(p[0]["course_deg"] == 90.0);
    CHECK(p[0]["satellites"] == 9);
    CHECK(p[0]["fuel_l"] == 55.5);
    CHECK(p[0]["ignition"] == true);
    CHECK(p[1]["time"] == "2026-11-27T07:30:30.250+03:00");
    CHECK(p[1]["ignition"].is_null());
    CHECK(p[2]["speed_kmh"].is_null());
    CHECK(p[2]["valid"] == false);
    CHECK_FALSE(j.contains("trips"));
    CHECK_FALSE(j.contains("stops"));
}

TEST_CASE("GeoJSON: the track as a line, then a point per fix, then trips and stops") {
    auto track = three_fixes();
    track.trips = std::vector<geo::Trip>{{.start = track.fixes[0],
                                          .end = track.fixes[1],
                                          .distance_m = 170,
                                          .duration_s = 30.25,
                                          .average_speed_kmh = 20.2,
                                          .max_speed_kmh = 42.5}};
    track.stops = std::vector<geo::Stop>{
        {.start = track.fixes[1], .end = track.fixes[2], .duration_s = 29.75}};
    const auto j = nlohmann::json::parse(geo::write_track(track, TrackFormat::geojson));
    CHECK(j["type"] == "FeatureCollection");
    const auto& f = j["features"];
    REQUIRE(f.size() == 1 + 3 + 1 + 1);
    CHECK(f[0]["geometry"]["type"] == "LineString");
    // The invalid third fix is a point of its own but no part of the line.
    CHECK(f[0]["geometry"]["coordinates"].size() == 2);
    CHECK(f[0]["geometry"]["coordinates"][0] == nlohmann::json::array({37.6173, 55.7558}));
    CHECK(f[0]["properties"]["kind"] == "track");
    CHECK(f[0]["properties"]["registration"] == "A123BC77");
    CHECK(f[0]["properties"]["fixes"] == 3);
    for (int i = 1; i <= 3; ++i) {
        CHECK(f[i]["geometry"]["type"] == "Point");
        CHECK(f[i]["properties"]["kind"] == "fix");
    }
    CHECK(f[1]["properties"]["time"] == "2026-11-27T07:30:00+03:00");
    CHECK(f[2]["geometry"]["coordinates"] == nlohmann::json::array({37.62, 55.756}));
    CHECK(f[2]["properties"]["speed_kmh"] == 0.0);
    CHECK(f[4]["properties"]["kind"] == "trip");
    CHECK(f[4]["geometry"]["coordinates"].size() == 2);  // its own fixes
    CHECK(f[4]["properties"]["distance_m"] == 170.0);
    CHECK(f[4]["properties"]["start_time"] == "2026-11-27T07:30:00+03:00");
    CHECK(f[5]["properties"]["kind"] == "stop");
    CHECK(f[5]["geometry"]["coordinates"] == nlohmann::json::array({37.62, 55.756}));
    CHECK(f[5]["properties"]["duration_s"] == 29.75);
}

TEST_CASE("GeoJSON of a single fix has no line, only its point") {
    auto track = three_fixes();
    track.fixes.resize(1);
    const auto j = nlohmann::json::parse(geo::write_track(track, TrackFormat::geojson));
    REQUIRE(j["features"].size() == 1);
    CHECK(j["features"][0]["geometry"]["type"] == "Point");
}

TEST_CASE("CSV: a header and one row per fix, empty cells for values not reported") {
    const auto rows = lines(geo::write_track(three_fixes(), TrackFormat::csv));
    REQUIRE(rows.size() == 4);
    CHECK(rows[0] ==
          "time,lon,lat,speed_kmh,course_deg,altitude_m,satellites,valid,odometer_m,fuel_l,"
          "ignition");
    CHECK(rows[1] == "2026-11-27T07:30:00+03:00,37.6173,55.7558,42.5,90,151,9,true,1000,55.5,true");
    CHECK(rows[2] == "2026-11-27T07:30:30.250+03:00,37.62,55.756,0,180,152.5,8,true,,,");
    CHECK(rows[3] == "2026-11-27T07:31:00+03:00,37.625,55.757,,,,,false,,,");
}

TEST_CASE("GPX written through OGR reads back with every point, its time, offset and speed") {
    auto track = three_fixes();
    track.stops = std::vector<geo::Stop>{
        {.start = track.fixes[1], .end = track.fixes[2], .duration_s = 29.75}};
    const std::string gpx = geo::write_track(track, TrackFormat::gpx);
    CHECK(gpx.find("<gpx") != std::string::npos);
    CHECK(gpx.find("version=\"1.1\"") != std::string::npos);
    CHECK(gpx.find("<name>A123BC77</name>") != std::string::npos);
    Parsed parsed(gpx, ".gpx");
    CHECK(parsed.driver() == "GPX");
    OGRLayer& points = parsed.layer("track_points");
    CHECK(points.GetFeatureCount() == 2);  // the invalid fix is left out
    points.ResetReading();
    std::vector<std::string> times;
    std::vector<double> lons, speeds;
    for (auto& f : points) {
        times.push_back(ogr_time(*f, "time"));
        lons.push_back(f->GetGeometryRef()->toPoint()->getX());
        const int speed = f->GetFieldIndex("fleet_speed_kmh");
        REQUIRE_MESSAGE(speed >= 0, "no speed extension");
        speeds.push_back(f->IsFieldSetAndNotNull(speed) ? f->GetFieldAsDouble(speed) : -1);
        if (f->GetFID() == 0) {
            CHECK(f->GetFieldAsDouble("ele") == 151);
            CHECK(f->GetFieldAsInteger("sat") == 9);
            CHECK(f->GetGeometryRef()->toPoint()->getY() == doctest::Approx(55.7558));
        }
    }
    CHECK(times == std::vector<std::string>{"2026-11-27T07:30:00.000+03:00",
                                            "2026-11-27T07:30:30.250+03:00"});
    CHECK(lons == std::vector<double>{37.6173, 37.62});
    CHECK(speeds == std::vector<double>{42.5, 0});
    OGRLayer& waypoints = parsed.layer("waypoints");
    REQUIRE(waypoints.GetFeatureCount() == 1);
    waypoints.ResetReading();
    std::unique_ptr<OGRFeature> stop(waypoints.GetNextFeature());
    CHECK(std::string(stop->GetFieldAsString("name")) == "stop 1");
    CHECK(ogr_time(*stop, "time") == "2026-11-27T07:30:30.250+03:00");
}

TEST_CASE("KML written through OGR reads back with the line, every point and its time") {
    auto track = three_fixes();
    track.trips = std::vector<geo::Trip>{
        {.start = track.fixes[0], .end = track.fixes[1], .distance_m = 170, .duration_s = 30.25}};
    track.stops = std::vector<geo::Stop>{
        {.start = track.fixes[1], .end = track.fixes[2], .duration_s = 29.75}};
    const std::string kml = geo::write_track(track, TrackFormat::kml);
    CHECK(kml.find("<kml") != std::string::npos);
    CHECK(kml.find("<when>2026-11-27T07:30:00+03:00</when>") != std::string::npos);
    Parsed parsed(kml, ".kml");
    OGRLayer& line = parsed.layer("track");
    REQUIRE(line.GetFeatureCount() == 1);
    line.ResetReading();
    std::unique_ptr<OGRFeature> l(line.GetNextFeature());
    CHECK(std::string(l->GetFieldAsString("name")) == "A123BC77");
    REQUIRE(wkbFlatten(l->GetGeometryRef()->getGeometryType()) == wkbLineString);
    CHECK(l->GetGeometryRef()->toLineString()->getNumPoints() == 2);  // the valid fixes
    OGRLayer& points = parsed.layer("points");
    REQUIRE(points.GetFeatureCount() == 3);
    points.ResetReading();
    std::vector<std::string> times;
    std::vector<double> lats;
    std::vector<int> valid;
    for (auto& f : points) {
        times.push_back(ogr_time(*f, "timestamp"));
        lats.push_back(f->GetGeometryRef()->toPoint()->getY());
        valid.push_back(f->GetFieldAsInteger("valid"));
    }
    CHECK(times == std::vector<std::string>{"2026-11-27T07:30:00.000+03:00",
                                            "2026-11-27T07:30:30.250+03:00",
                                            "2026-11-27T07:31:00.000+03:00"});
    CHECK(lats == std::vector<double>{55.7558, 55.756, 55.757});
    CHECK(valid == std::vector<int>{1, 1, 0});
    CHECK(parsed.layer("trips").GetFeatureCount() == 1);
    CHECK(parsed.layer("stops").GetFeatureCount() == 1);
}

TEST_CASE("a period is refused when reversed or longer than the limit, naming the limit") {
    const geo::TrackLimits limits;
    CHECK_NOTHROW(geo::check_track_period(t0, t0 + 31LL * 86'400'000, limits));
    CHECK_THROWS_WITH_AS(geo::check_track_period(t0, t0 + 40LL * 86'400'000, limits),
                         "period: 40 days long; at most 31 days (max_period_days) are read at "
                         "once, ask for a shorter period",
                         InputError);
    CHECK_THROWS_WITH_AS(
        geo::check_track_period(t0, t0, limits),
        "period: from 2026-11-27T04:30:00+00:00 is not before to 2026-11-27T04:30:00+00:00",
        InputError);
    CHECK_THROWS_WITH_AS(
        geo::check_track_period(t0, t0 + 3 * 86'400'000, {.max_period_days = 2.5, .max_fixes = 10}),
        "period: 3 days long; at most 2.5 days (max_period_days) are read at "
        "once, ask for a shorter period",
        InputError);
}
