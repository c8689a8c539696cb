#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "geo/ogr_lines.hpp"
#include "geo/polyline.hpp"

/// A spatial index over the segments of many lines, to find the lines (and the places on them)
/// near a position without looking at every line.
namespace fleet::geo {

/// The segments of many polylines (routes, shapes) in an R-tree of their bounding boxes in
/// degrees. A query costs a tree descent plus the segments near the position, however many
/// lines the index holds. Not synchronised: concurrent `query` calls are safe, `add` and
/// `remove` need exclusive access.
class SegmentIndex {
  public:
    /// One candidate match of a position on one line.
    struct Hit {
        /// The id the line was added with.
        std::uint64_t line_id = 0;
        /// The match, as `Polyline::candidates` reports it.
        Projection projection;
    };

    /// What a query looked at, for tests and counters.
    struct QueryStats {
        /// Segments whose bounding box met the query box and were measured.
        std::size_t segments_examined = 0;
        /// Lines those segments belong to.
        std::size_t lines_examined = 0;
    };

    SegmentIndex();
    ~SegmentIndex();
    SegmentIndex(SegmentIndex&&) noexcept;
    SegmentIndex& operator=(SegmentIndex&&) noexcept;

    /// Adds a copy of `line` under `line_id`, replacing the line already held under that id.
    void add(std::uint64_t line_id, const Polyline& line);

    /// Removes the line held under `line_id`; returns false when there is none.
    bool remove(std::uint64_t line_id);

    /// The line held under `line_id`, or null.
    const Polyline* find(std::uint64_t line_id) const;

    /// Number of lines held.
    std::size_t size() const noexcept;

    /// For every line that comes within `radius_m` of `p`, its candidates as
    /// `Polyline::candidates(p, radius_m)` gives them (the same values), ordered by line id and
    /// then by distance along. Fills `stats` when given. Throws InputError when `p` is not a
    /// valid position.
    std::vector<Hit> query(LonLat p, double radius_m, QueryStats* stats = nullptr) const;

  private:
    struct Tree;
    std::unique_ptr<Tree> tree_;
    std::unordered_map<std::uint64_t, Polyline> lines_;
};

}  // namespace fleet::geo
