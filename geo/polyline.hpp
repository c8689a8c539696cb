#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "geo/geodesy.hpp"
#include "geo/ogr_lines.hpp"

/// Linear referencing along a line (a trip's shape, a route): distance along it, projection of
/// a position onto it, and the candidate matches of a position on lines that pass the same place
/// more than once (loops, out-and-back routes).
namespace fleet::geo {

/// How far behind the previous match `Polyline::project_forward` still accepts a match by
/// default, to absorb GPS noise around a vehicle that stands or crawls.
inline constexpr double default_back_tolerance_m = 30.0;

/// Where a position falls on a polyline.
struct Projection {
    /// From the start of the line to `closest`, along the line.
    double distance_along_m = 0;
    /// Lateral distance from `closest` to the position, signed: positive when the position lies
    /// to the right of the direction of travel, negative to the left.
    double offset_m = 0;
    /// The segment that holds `closest`; segment i joins points i and i + 1.
    std::size_t segment = 0;
    /// The point of the line nearest to the position.
    LonLat closest;
};

/// A line of WGS 84 points with the distance along it measured on the ellipsoid (geodesic per
/// segment). Between its points the line runs straight in longitude and latitude, which strays
/// from the geodesic by about 0.023 m · (L / 1 km)² · tan|lat| for a segment of length L (16 cm
/// for 2 km at 60°); distances along a segment are scaled to its geodesic length. Projections are
/// computed in a `LocalProjection` centred on the projected position, so lateral offsets are
/// accurate to millimetres within a few hundred metres of the line. Lines that cross the
/// antimeridian are not supported. Immutable after construction; safe to share between threads.
class Polyline {
  public:
    /// Builds the line from its points in travel order, dropping consecutive duplicates (equal
    /// coordinates, or two longitudes of one pole). Throws GeometryError naming `feature` when a
    /// point is not finite or out of range, when a segment crosses the antimeridian, or when fewer
    /// than 2 distinct points remain.
    Polyline(std::vector<LonLat> points, const std::string& feature);

    /// The points after dropping consecutive duplicates.
    const std::vector<LonLat>& points() const noexcept { return points_; }
    /// Distance along the line of each point; the first is 0, the last is `length_m()`.
    const std::vector<double>& cumulative_m() const noexcept { return cumulative_m_; }
    /// Number of segments (points − 1, at least 1).
    std::size_t segment_count() const noexcept { return points_.size() - 1; }
    /// Length of the line on the ellipsoid.
    double length_m() const noexcept { return cumulative_m_.back(); }

    /// The point at `distance_m` along the line, clamped to [0, length_m()]. Throws InputError
    /// when `distance_m` is not finite.
    LonLat point_at(double distance_m) const;

    /// The initial bearing (degrees clockwise from north, [0, 360)) of the segment that holds
    /// `distance_m`, clamped to [0, length_m()]; at a vertex, the segment that starts there
    /// (at the end of the line, the last segment). Throws InputError when not finite.
    double bearing_at(double distance_m) const;

    /// The nearest point of the whole line to `p` (the first of equally near ones). Throws
    /// InputError when `p` is not a valid position.
    Projection project(LonLat p) const;

    /// One match per pass of the line near `p`: every local minimum along the line of the
    /// distance to `p` that is within `radius_m`, sorted by distance along. Minima of one pass
    /// (a run of consecutive segments that all come within `radius_m`) that lie less than
    /// 2 × `radius_m` apart along the line are merged into the nearest of them (the earliest of
    /// those within 1 mm of each other), so a wiggly or
    /// densely digitised street yields one candidate, while a loop or an out-and-back route
    /// yields one candidate per time it passes `p`. Near the turning point of an out-and-back
    /// route (within `radius_m` of it) the two passes merge into one. Throws InputError when
    /// `p` is not a valid position.
    std::vector<Projection> candidates(LonLat p, double radius_m) const;

    /// `candidates(p, radius_m)` looking only at `segments` (indices ascending). Gives the same
    /// result as the whole-line version provided `segments` holds every segment that comes
    /// within `radius_m` of `p` (extra segments do no harm); used with a spatial index. Throws
    /// InputError when `p` is not a valid position or an index is out of range or not ascending.
    std::vector<Projection> candidates(LonLat p, double radius_m,
                                       std::span<const std::size_t> segments) const;

    /// Forward-only matching: the earliest candidate (see `candidates`) within `radius_m` whose
    /// distance along lies in [from_m − back_tolerance_m, from_m + max_advance_m], or none.
    /// The earliest rather than the nearest, because a match that is too early is corrected
    /// by the next fixes, while one that is too late can never be taken back; to choose between
    /// passes by schedule time (OneBusAway's rule), use `candidates`. Throws InputError when `p`
    /// is not a valid position or a number is not finite or `max_advance_m` is negative.
    std::optional<Projection> project_forward(
        LonLat p, double from_m, double max_advance_m, double radius_m,
        double back_tolerance_m = default_back_tolerance_m) const;

    /// The part of the line between two distances along it (clamped to [0, length_m()]): the
    /// point at `from_m`, the vertices strictly between, the point at `to_m`. At least 2 points
    /// (the same point twice when from_m == to_m). Throws InputError when a distance is not
    /// finite or from_m > to_m.
    std::vector<LonLat> substring(double from_m, double to_m) const;

  private:
    struct SegmentMinimum;
    SegmentMinimum segment_minimum(const LocalProjection& plane, std::size_t segment) const;
    Projection to_projection(const SegmentMinimum& minimum, std::size_t segment) const;
    std::size_t segment_at(double distance_m) const;
    std::vector<Projection> local_minima(LonLat p, double radius_m,
                                         std::span<const std::size_t> segments, double lo_m,
                                         double hi_m) const;

    std::vector<LonLat> points_;
    std::vector<double> cumulative_m_;
};

}  // namespace fleet::geo
