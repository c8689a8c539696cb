#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>

#include <cpl_vsi.h>

#include "geo/detail/ogr_handles.hpp"
#include "geo/detail/ogr_track.hpp"

namespace fleet::geo::detail {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw Error("writing a track: " + what + ": " + CPLGetLastErrorMsg());
}

// A file of its own in GDAL's memory file system, removed whatever happens.
class MemoryFile {
  public:
    explicit MemoryFile(const char* extension) {
        static std::atomic<unsigned long> serial{0};
        path_ = "/vsimem/fleet_track_" + std::to_string(serial.fetch_add(1)) + extension;
    }
    ~MemoryFile() { VSIUnlink(path_.c_str()); }
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;

    const std::string& path() const { return path_; }

    // The bytes written, once the dataset is closed.
    std::string take() const {
        vsi_l_offset size = 0;
        GByte* data = VSIGetMemFileBuffer(path_.c_str(), &size, FALSE);
        if (data == nullptr) {
            fail("no output in " + path_);
        }
        return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
    }

  private:
    std::string path_;
};

OGRSpatialReference wgs84() {
    OGRSpatialReference srs;
    srs.SetWellKnownGeogCS("WGS84");
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

Dataset create(const char* driver_name, const std::string& path, CSLConstList options) {
    // Once per process: the API writes tracks from several threads at once.
    static std::once_flag registered;
    std::call_once(registered, [] { GDALAllRegister(); });
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
    if (driver == nullptr) {
        return nullptr;
    }
    Dataset ds(driver->Create(path.c_str(), 0, 0, 0, GDT_Unknown, options));
    if (!ds) {
        fail(std::string("the ") + driver_name + " driver cannot create " + path);
    }
    return ds;
}

OGRLayer& layer(GDALDataset& ds, const char* name, OGRwkbGeometryType type,
                CSLConstList options = nullptr) {
    const auto srs = wgs84();
    OGRLayer* l = ds.CreateLayer(name, const_cast<OGRSpatialReference*>(&srs), type,
                                 const_cast<char**>(options));
    if (l == nullptr) {
        fail(std::string("layer ") + name);
    }
    return *l;
}

void field(OGRLayer& l, const char* name, OGRFieldType type) {
    OGRFieldDefn defn(name, type);
    if (l.CreateField(&defn) != OGRERR_NONE) {
        fail(std::string("field ") + name);
    }
}

using FeaturePtr = std::unique_ptr<OGRFeature, decltype(&OGRFeature::DestroyFeature)>;

FeaturePtr new_feature(OGRLayer& l) {
    return {OGRFeature::CreateFeature(l.GetLayerDefn()), &OGRFeature::DestroyFeature};
}

void add(OGRLayer& l, OGRFeature& f) {
    if (l.CreateFeature(&f) != OGRERR_NONE) {
        fail(std::string("a feature of layer ") + l.GetName());
    }
}

// OGR's time with its zone: TZFlag 100 is UTC, each step 15 minutes east.
void set_time(OGRFeature& f, const char* name, std::int64_t time_ms, int utc_offset_s) {
    using namespace std::chrono;
    const sys_time<milliseconds> local{milliseconds(time_ms + std::int64_t{utc_offset_s} * 1000)};
    const auto day = floor<days>(local);
    const year_month_day ymd{day};
    const hh_mm_ss hms{local - day};
    f.SetField(name, int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day())),
               int(hms.hours().count()), int(hms.minutes().count()),
               static_cast<float>(hms.seconds().count()) +
                   static_cast<float>(hms.subseconds().count()) / 1000.0f,
               100 + utc_offset_s / 900);
}

template <typename T>
void set_optional(OGRFeature& f, const char* name, const std::optional<T>& v) {
    if (v) {
        f.SetField(name, *v);
    }
}

void set_point(OGRFeature& f, const TrackFix& fix) {
    OGRPoint p(fix.position.lon_deg, fix.position.lat_deg);
    f.SetGeometry(&p);
}

OGRLineString line_string(const std::vector<LonLat>& line) {
    OGRLineString ls;
    for (const auto& p : line) {
        ls.addPoint(p.lon_deg, p.lat_deg);
    }
    return ls;
}

std::string stop_name(std::size_t i) {
    return "stop " + std::to_string(i + 1);
}

std::string stop_description(const Stop& s) {
    return "stood " + std::to_string(static_cast<long long>(std::lround(s.duration_s))) + " s, " +
           iso_time(s.start.time_ms, s.start.utc_offset_s) + " to " +
           iso_time(s.end.time_ms, s.end.utc_offset_s);
}

}  // namespace

std::string write_gpx(const Track& track) {
    const QuietGdal quiet;
    MemoryFile file(".gpx");
    {
        const char* const options[] = {"GPX_USE_EXTENSIONS=YES", "GPX_EXTENSIONS_NS=fleet",
                                       "GPX_EXTENSIONS_NS_URL=https://fleet.invalid/gpx/1",
                                       nullptr};
        Dataset ds = create("GPX", file.path(), options);
        if (!ds) {
            fail("GDAL has no GPX driver");
        }
        // GPX wants its waypoints before its tracks.
        if (track.stops) {
            OGRLayer& wpt = layer(*ds, "waypoints", wkbPoint);
            for (std::size_t i = 0; i < track.stops->size(); ++i) {
                const Stop& s = (*track.stops)[i];
                auto f = new_feature(wpt);
                set_point(*f, s.start);
                set_time(*f, "time", s.start.time_ms, s.start.utc_offset_s);
                f->SetField("name", stop_name(i).c_str());
                f->SetField("desc", stop_description(s).c_str());
                f->SetField("type", "stop");
                add(wpt, *f);
            }
        }
        OGRLayer& points = layer(*ds, "track_points", wkbPoint);
        field(points, "speed_kmh", OFTReal);
        field(points, "course_deg", OFTReal);
        bool named = false;
        for (const TrackFix& fix : track.fixes) {
            if (!fix.valid) {
                continue;  // a GPX reader draws every point it is given
            }
            auto f = new_feature(points);
            set_point(*f, fix);
            f->SetField("track_fid", 0);
            f->SetField("track_seg_id", 0);
            if (!named) {
                f->SetField("track_name", track.registration.c_str());
                named = true;
            }
            set_time(*f, "time", fix.time_ms, fix.utc_offset_s);
            set_optional(*f, "ele", fix.altitude_m);
            set_optional(*f, "sat", fix.satellites);
            set_optional(*f, "speed_kmh", fix.speed_kmh);
            set_optional(*f, "course_deg", fix.course_deg);
            add(points, *f);
        }
    }
    return file.take();
}

std::string write_kml(const Track& track) {
    const QuietGdal quiet;
    MemoryFile file(".kml");
    {
        Dataset ds = create("LIBKML", file.path(), nullptr);
        const bool libkml = static_cast<bool>(ds);
        if (!ds) {
            ds = create("KML", file.path(), nullptr);
        }
        if (!ds) {
            fail("GDAL has neither the LIBKML nor the KML driver");
        }
        // The driver's own fields: LIBKML writes "timestamp" as the placemark's <TimeStamp>.
        const auto add_named = [&](OGRLayer& l, bool with_time) {
            if (l.GetLayerDefn()->GetFieldIndex("name") < 0) {
                field(l, "name", OFTString);
            }
            if (l.GetLayerDefn()->GetFieldIndex("description") < 0) {
                field(l, "description", OFTString);
            }
            if (with_time && libkml && l.GetLayerDefn()->GetFieldIndex("timestamp") < 0) {
                field(l, "timestamp", OFTDateTime);
            }
        };
        if (const auto line = track_line(track.fixes, track.from_ms, track.to_ms);
            line.size() >= 2) {
            OGRLayer& layer_of_line = layer(*ds, "track", wkbLineString);
            add_named(layer_of_line, false);
            auto f = new_feature(layer_of_line);
            OGRLineString ls = line_string(line);
            f->SetGeometry(&ls);
            f->SetField("name", track.registration.c_str());
            f->SetField("description", (iso_time(track.from_ms, track.from_offset_s) + " to " +
                                        iso_time(track.to_ms, track.to_offset_s) + ", " +
                                        std::to_string(track.fixes.size()) + " fixes")
                                           .c_str());
            add(layer_of_line, *f);
        }
        OGRLayer& points = layer(*ds, "points", wkbPoint);
        add_named(points, true);
        field(points, "speed_kmh", OFTReal);
        field(points, "course_deg", OFTReal);
        {
            OGRFieldDefn valid("valid", OFTInteger);
            valid.SetSubType(OFSTBoolean);
            if (points.CreateField(&valid) != OGRERR_NONE) {
                fail("field valid");
            }
        }
        for (const auto& fix : track.fixes) {
            auto f = new_feature(points);
            set_point(*f, fix);
            const std::string time = iso_time(fix.time_ms, fix.utc_offset_s);
            f->SetField("name", time.c_str());
            if (libkml) {
                set_time(*f, "timestamp", fix.time_ms, fix.utc_offset_s);
            }
            set_optional(*f, "speed_kmh", fix.speed_kmh);
            set_optional(*f, "course_deg", fix.course_deg);
            f->SetField("valid", fix.valid ? 1 : 0);
            add(points, *f);
        }
        if (track.trips) {
            OGRLayer& trips = layer(*ds, "trips", wkbLineString);
            add_named(trips, false);
            for (std::size_t i = 0; i < track.trips->size(); ++i) {
                const Trip& t = (*track.trips)[i];
                auto f = new_feature(trips);
                OGRLineString ls =
                    line_string(track_line(track.fixes, t.start.time_ms, t.end.time_ms));
                f->SetGeometry(&ls);
                f->SetField("name", ("trip " + std::to_string(i + 1)).c_str());
                f->SetField("description", (iso_time(t.start.time_ms, t.start.utc_offset_s) +
                                            " to " + iso_time(t.end.time_ms, t.end.utc_offset_s) +
                                            ", " + std::to_string(std::lround(t.distance_m)) + " m")
                                               .c_str());
                add(trips, *f);
            }
        }
        if (track.stops) {
            OGRLayer& stops = layer(*ds, "stops", wkbPoint);
            add_named(stops, true);
            for (std::size_t i = 0; i < track.stops->size(); ++i) {
                const Stop& s = (*track.stops)[i];
                auto f = new_feature(stops);
                set_point(*f, s.start);
                f->SetField("name", stop_name(i).c_str());
                f->SetField("description", stop_description(s).c_str());
                if (libkml) {
                    set_time(*f, "timestamp", s.start.time_ms, s.start.utc_offset_s);
                }
                add(stops, *f);
            }
        }
    }
    return file.take();
}

}  // namespace fleet::geo::detail
