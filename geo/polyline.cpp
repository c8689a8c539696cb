#include "geo/polyline.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "geo/error.hpp"

namespace fleet::geo {

namespace {

std::string describe(LonLat p) {
    std::ostringstream out;
    out.precision(10);
    out << '(' << p.lon_deg << ' ' << p.lat_deg << ')';
    return out.str();
}

void require_position(LonLat p, const char* what) {
    if (!is_valid(p)) {
        throw InputError(std::string(what) + ": position " + describe(p) +
                         " is not a valid WGS 84 longitude and latitude");
    }
}

void require_finite(double value, const char* what) {
    if (!std::isfinite(value)) {
        throw InputError(std::string(what) + " is not a finite number");
    }
}

LonLat lerp(LonLat a, LonLat b, double t) {
    return LonLat{a.lon_deg + t * (b.lon_deg - a.lon_deg), a.lat_deg + t * (b.lat_deg - a.lat_deg)};
}

}  // namespace

// The minimum over one segment of the distance to the plane's origin. In the plane the distance
// to a point moving along a segment is strictly convex, so each segment has exactly one minimum.
struct Polyline::SegmentMinimum {
    double t;       // position of the minimum on the segment, 0 at its start, 1 at its end
    double dist_m;  // distance from the origin to the minimum
    bool left;      // the origin lies to the left of the segment's direction
};

Polyline::Polyline(std::vector<LonLat> points, const std::string& feature) {
    points_.reserve(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
        const LonLat p = points[i];
        if (!std::isfinite(p.lon_deg) || !std::isfinite(p.lat_deg)) {
            throw GeometryError(feature, "point " + std::to_string(i) + " is not finite");
        }
        if (!is_valid(p)) {
            throw GeometryError(feature, "point " + std::to_string(i) + " " + describe(p) +
                                             " is outside longitude [-180, 180] or latitude "
                                             "[-90, 90]");
        }
        if (!points_.empty()) {
            const LonLat last = points_.back();
            if (std::abs(p.lon_deg - last.lon_deg) > 180.0) {
                throw GeometryError(feature, "the segment ending at point " + std::to_string(i) +
                                                 " crosses the antimeridian, which is not "
                                                 "supported");
            }
            // Exact duplicates, and two longitudes of one pole.
            const bool same_pole = std::abs(p.lat_deg) == 90.0 && p.lat_deg == last.lat_deg;
            if ((p.lon_deg == last.lon_deg && p.lat_deg == last.lat_deg) || same_pole) {
                continue;
            }
        }
        points_.push_back(p);
    }
    if (points_.size() < 2) {
        throw GeometryError(feature, "a line needs at least 2 distinct points, got " +
                                         std::to_string(points_.size()));
    }
    cumulative_m_.reserve(points_.size());
    cumulative_m_.push_back(0.0);
    for (std::size_t i = 1; i < points_.size(); ++i) {
        cumulative_m_.push_back(cumulative_m_.back() + geodesic_m(points_[i - 1], points_[i]));
    }
}

std::size_t Polyline::segment_at(double distance_m) const {
    const auto after = std::upper_bound(cumulative_m_.begin(), cumulative_m_.end(), distance_m);
    const auto index = static_cast<std::size_t>(after - cumulative_m_.begin());
    if (index == 0) {
        return 0;
    }
    return std::min(index - 1, segment_count() - 1);
}

LonLat Polyline::point_at(double distance_m) const {
    require_finite(distance_m, "distance along the line");
    const double d = std::clamp(distance_m, 0.0, length_m());
    const std::size_t i = segment_at(d);
    const double length = cumulative_m_[i + 1] - cumulative_m_[i];
    const double t = std::clamp((d - cumulative_m_[i]) / length, 0.0, 1.0);
    return lerp(points_[i], points_[i + 1], t);
}

double Polyline::bearing_at(double distance_m) const {
    require_finite(distance_m, "distance along the line");
    const std::size_t i = segment_at(std::clamp(distance_m, 0.0, length_m()));
    return initial_bearing_deg(points_[i], points_[i + 1]);
}

Polyline::SegmentMinimum Polyline::segment_minimum(const LocalProjection& plane,
                                                   std::size_t segment) const {
    const PlaneXY a = plane.to_xy(points_[segment]);
    const PlaneXY b = plane.to_xy(points_[segment + 1]);
    const double dx = b.x_m - a.x_m;
    const double dy = b.y_m - a.y_m;
    const double length_sq = dx * dx + dy * dy;
    // The origin is the projected position, so origin − a = −a.
    double t = length_sq > 0 ? -(a.x_m * dx + a.y_m * dy) / length_sq : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const double cx = a.x_m + t * dx;
    const double cy = a.y_m + t * dy;
    // Cross product of the direction with (origin − closest): positive means left.
    const double cross = dx * -cy - dy * -cx;
    return SegmentMinimum{t, std::hypot(cx, cy), cross > 0};
}

Projection Polyline::to_projection(const SegmentMinimum& minimum, std::size_t segment) const {
    const double length = cumulative_m_[segment + 1] - cumulative_m_[segment];
    return Projection{cumulative_m_[segment] + minimum.t * length,
                      minimum.left ? -minimum.dist_m : minimum.dist_m, segment,
                      lerp(points_[segment], points_[segment + 1], minimum.t)};
}

Projection Polyline::project(LonLat p) const {
    require_position(p, "projection onto a line");
    const LocalProjection plane(p);
    std::size_t best_segment = 0;
    SegmentMinimum best = segment_minimum(plane, 0);
    for (std::size_t i = 1; i < segment_count(); ++i) {
        const SegmentMinimum m = segment_minimum(plane, i);
        if (m.dist_m < best.dist_m) {
            best = m;
            best_segment = i;
        }
    }
    return to_projection(best, best_segment);
}

std::vector<Projection> Polyline::local_minima(LonLat p, double radius_m,
                                               std::span<const std::size_t> segments, double lo_m,
                                               double hi_m) const {
    struct Raw {
        Projection projection;
        std::size_t pass;
    };
    const LocalProjection plane(p);
    std::vector<Raw> raw;
    std::size_t pass = 0;
    std::optional<std::size_t> previous_near;  // the last segment that came within the radius
    std::optional<std::size_t> previous;
    for (const std::size_t i : segments) {
        if (i >= segment_count()) {
            throw InputError("segment " + std::to_string(i) + " of a line with " +
                             std::to_string(segment_count()) + " segments");
        }
        if (previous && i <= *previous) {
            throw InputError("segment indices must be strictly ascending");
        }
        previous = i;
        const SegmentMinimum m = segment_minimum(plane, i);
        if (!(m.dist_m <= radius_m)) {
            continue;
        }
        // A segment not adjacent to the previous near one starts a new pass: every segment
        // in between stays out of the radius (the caller passes all segments that do not).
        if (!previous_near || i != *previous_near + 1) {
            ++pass;
        }
        previous_near = i;

        // The distance is convex on each segment, so a minimum at the segment's start
        // continues the previous segment (whose end minimum counts it), unless the line starts
        // here; a minimum at its end is a local minimum of the line only when the next segment
        // moves away at once.
        bool local = true;
        if (m.t <= 0.0) {
            local = i == 0;
        } else if (m.t >= 1.0) {
            local = i + 1 == segment_count() || segment_minimum(plane, i + 1).t <= 0.0;
        }
        if (!local) {
            continue;
        }
        const Projection projection = to_projection(m, i);
        if (projection.distance_along_m < lo_m || projection.distance_along_m > hi_m) {
            continue;
        }
        raw.push_back(Raw{projection, pass});
    }

    // Of the minima of one pass keep the nearest; of equally near ones (rounding apart, such
    // as the two sides of a turning point) the earliest.
    constexpr double equally_near_m = 0.001;
    std::vector<Projection> out;
    for (std::size_t k = 0; k < raw.size(); ++k) {
        const bool same_pass =
            k > 0 && raw[k].pass == raw[k - 1].pass &&
            raw[k].projection.distance_along_m - raw[k - 1].projection.distance_along_m <
                2.0 * radius_m;
        if (!same_pass) {
            out.push_back(raw[k].projection);
        } else if (std::abs(raw[k].projection.offset_m) <
                   std::abs(out.back().offset_m) - equally_near_m) {
            out.back() = raw[k].projection;
        }
    }
    return out;
}

std::vector<Projection> Polyline::candidates(LonLat p, double radius_m) const {
    require_position(p, "candidates on a line");
    std::vector<std::size_t> all(segment_count());
    std::iota(all.begin(), all.end(), std::size_t{0});
    return local_minima(p, radius_m, all, -std::numeric_limits<double>::infinity(),
                        std::numeric_limits<double>::infinity());
}

std::vector<Projection> Polyline::candidates(LonLat p, double radius_m,
                                             std::span<const std::size_t> segments) const {
    require_position(p, "candidates on a line");
    return local_minima(p, radius_m, segments, -std::numeric_limits<double>::infinity(),
                        std::numeric_limits<double>::infinity());
}

std::optional<Projection> Polyline::project_forward(LonLat p, double from_m, double max_advance_m,
                                                    double radius_m,
                                                    double back_tolerance_m) const {
    require_position(p, "forward projection onto a line");
    require_finite(from_m, "previous distance along the line");
    require_finite(max_advance_m, "maximum advance");
    require_finite(back_tolerance_m, "back tolerance");
    if (max_advance_m < 0 || back_tolerance_m < 0) {
        throw InputError("maximum advance and back tolerance must not be negative");
    }
    const double lo_m = from_m - back_tolerance_m;
    const double hi_m = from_m + max_advance_m;
    if (hi_m < 0 || lo_m > length_m()) {
        return std::nullopt;
    }
    // Only the segments that overlap the window can hold a match in it; one more before, as a
    // match exactly at the vertex where the window starts belongs to the segment ending there.
    const std::size_t at_lo = segment_at(std::max(lo_m, 0.0));
    const std::size_t first = at_lo > 0 ? at_lo - 1 : 0;
    const std::size_t last = segment_at(std::min(hi_m, length_m()));
    std::vector<std::size_t> window(last - first + 1);
    std::iota(window.begin(), window.end(), first);
    const auto found = local_minima(p, radius_m, window, lo_m, hi_m);
    if (found.empty()) {
        return std::nullopt;
    }
    return found.front();
}

std::vector<LonLat> Polyline::substring(double from_m, double to_m) const {
    require_finite(from_m, "start of the substring");
    require_finite(to_m, "end of the substring");
    if (from_m > to_m) {
        throw InputError("substring from " + std::to_string(from_m) + " m to " +
                         std::to_string(to_m) + " m runs backwards");
    }
    const double from = std::clamp(from_m, 0.0, length_m());
    const double to = std::clamp(to_m, 0.0, length_m());
    std::vector<LonLat> out{point_at(from)};
    for (std::size_t i = 0; i < points_.size(); ++i) {
        if (cumulative_m_[i] > from && cumulative_m_[i] < to) {
            out.push_back(points_[i]);
        }
    }
    out.push_back(point_at(to));
    return out;
}

}  // namespace fleet::geo
