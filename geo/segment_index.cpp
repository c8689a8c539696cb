#include "geo/segment_index.hpp"

#include <algorithm>
#include <iterator>
#include <string>
#include <utility>

#include <boost/geometry.hpp>
#include <boost/geometry/index/rtree.hpp>

#include "geo/error.hpp"

namespace fleet::geo {

namespace {

namespace bg = boost::geometry;
namespace bgi = boost::geometry::index;

// Degrees as plain planar numbers: the boxes never cross the antimeridian (Polyline rejects
// such segments), and the query box is split where it does.
using DegPoint = bg::model::point<double, 2, bg::cs::cartesian>;
using DegBox = bg::model::box<DegPoint>;

struct SegmentRef {
    std::uint64_t line_id;
    std::size_t segment;
    bool operator==(const SegmentRef&) const = default;
};

using Value = std::pair<DegBox, SegmentRef>;

DegBox segment_box(const Polyline& line, std::size_t segment) {
    const LonLat a = line.points()[segment];
    const LonLat b = line.points()[segment + 1];
    return DegBox(DegPoint(std::min(a.lon_deg, b.lon_deg), std::min(a.lat_deg, b.lat_deg)),
                  DegPoint(std::max(a.lon_deg, b.lon_deg), std::max(a.lat_deg, b.lat_deg)));
}

}  // namespace

// Quadratic splits rather than R*: Boost 1.74's R* insertion trips GCC 12's -Warray-bounds
// (a false positive inside its static vector), and the two answer queries about equally fast.
struct SegmentIndex::Tree {
    bgi::rtree<Value, bgi::quadratic<16>> rtree;
};

SegmentIndex::SegmentIndex() : tree_(std::make_unique<Tree>()) {}
SegmentIndex::~SegmentIndex() = default;
SegmentIndex::SegmentIndex(SegmentIndex&&) noexcept = default;
SegmentIndex& SegmentIndex::operator=(SegmentIndex&&) noexcept = default;

void SegmentIndex::add(std::uint64_t line_id, const Polyline& line) {
    remove(line_id);
    const auto it = lines_.emplace(line_id, line).first;
    for (std::size_t i = 0; i < it->second.segment_count(); ++i) {
        tree_->rtree.insert(Value{segment_box(it->second, i), SegmentRef{line_id, i}});
    }
}

bool SegmentIndex::remove(std::uint64_t line_id) {
    const auto it = lines_.find(line_id);
    if (it == lines_.end()) {
        return false;
    }
    for (std::size_t i = 0; i < it->second.segment_count(); ++i) {
        tree_->rtree.remove(Value{segment_box(it->second, i), SegmentRef{line_id, i}});
    }
    lines_.erase(it);
    return true;
}

const Polyline* SegmentIndex::find(std::uint64_t line_id) const {
    const auto it = lines_.find(line_id);
    return it == lines_.end() ? nullptr : &it->second;
}

std::size_t SegmentIndex::size() const noexcept {
    return lines_.size();
}

std::vector<SegmentIndex::Hit> SegmentIndex::query(LonLat p, double radius_m,
                                                   QueryStats* stats) const {
    if (!is_valid(p)) {
        throw InputError(
            "segment index query: position is not a valid WGS 84 longitude and "
            "latitude");
    }
    if (stats != nullptr) {
        *stats = QueryStats{};
    }
    std::vector<Hit> hits;
    if (!(radius_m >= 0)) {
        return hits;
    }
    // Polyline measures in the LocalProjection centred on p, where a degree of longitude is
    // m_per_deg_lon() metres everywhere. So a segment within radius_m of p in that plane has
    // a point inside this box; the margin covers rounding.
    const LocalProjection plane(p);
    constexpr double margin = 1.0 + 1e-9;
    const double dlat_deg = radius_m / plane.m_per_deg_lat() * margin + 1e-12;
    const double dlon_deg =
        plane.m_per_deg_lon() > 0 ? radius_m / plane.m_per_deg_lon() * margin + 1e-12 : 360.0;
    const double lat_lo = p.lat_deg - dlat_deg;
    const double lat_hi = p.lat_deg + dlat_deg;
    const double lon_lo = p.lon_deg - dlon_deg;
    const double lon_hi = p.lon_deg + dlon_deg;

    std::vector<Value> found;
    const auto search = [&](double lo, double hi) {
        tree_->rtree.query(bgi::intersects(DegBox(DegPoint(lo, lat_lo), DegPoint(hi, lat_hi))),
                           std::back_inserter(found));
    };
    if (dlon_deg >= 180.0) {
        search(-180.0, 180.0);
    } else {
        search(std::max(lon_lo, -180.0), std::min(lon_hi, 180.0));
        // The plane wraps longitude differences, so look across the antimeridian too.
        if (lon_lo < -180.0) {
            search(lon_lo + 360.0, 180.0);
        }
        if (lon_hi > 180.0) {
            search(-180.0, lon_hi - 360.0);
        }
    }

    std::vector<SegmentRef> refs;
    refs.reserve(found.size());
    for (const Value& value : found) {
        refs.push_back(value.second);
    }
    std::sort(refs.begin(), refs.end(), [](const SegmentRef& a, const SegmentRef& b) {
        return a.line_id != b.line_id ? a.line_id < b.line_id : a.segment < b.segment;
    });
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());

    std::vector<std::size_t> segments;
    for (std::size_t begin = 0; begin < refs.size();) {
        const std::uint64_t line_id = refs[begin].line_id;
        std::size_t end = begin;
        segments.clear();
        while (end < refs.size() && refs[end].line_id == line_id) {
            segments.push_back(refs[end].segment);
            ++end;
        }
        const Polyline& line = lines_.at(line_id);
        for (const Projection& projection : line.candidates(p, radius_m, segments)) {
            hits.push_back(Hit{line_id, projection});
        }
        if (stats != nullptr) {
            stats->segments_examined += segments.size();
            ++stats->lines_examined;
        }
        begin = end;
    }
    return hits;
}

}  // namespace fleet::geo
