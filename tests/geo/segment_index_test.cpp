#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "geo/polyline.hpp"
#include "geo/segment_index.hpp"

using fleet::geo::LonLat;
using fleet::geo::Polyline;
using fleet::geo::SegmentIndex;
namespace geo = fleet::geo;

namespace {

constexpr LonLat centre{37.6, 55.75};

// Random walks through a city-sized area (about 22 km across): straight runs, turns, and now
// and then a U-turn, so that lines come back on themselves.
std::vector<Polyline> random_lines(std::size_t count, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> lon(centre.lon_deg - 0.18, centre.lon_deg + 0.18);
    std::uniform_real_distribution<double> lat(centre.lat_deg - 0.1, centre.lat_deg + 0.1);
    std::uniform_int_distribution<int> points(2, 25);
    std::uniform_real_distribution<double> step_m(20, 600);
    std::uniform_real_distribution<double> turn_deg(-60, 60);
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<Polyline> lines;
    for (std::size_t i = 0; i < count; ++i) {
        std::vector<LonLat> walk{LonLat{lon(rng), lat(rng)}};
        double bearing = 360 * unit(rng);
        const int n = points(rng);
        for (int k = 1; k < n; ++k) {
            bearing += unit(rng) < 0.1 ? 180 : turn_deg(rng);
            walk.push_back(geo::destination(walk.back(), bearing, step_m(rng)));
        }
        lines.emplace_back(std::move(walk), "random line " + std::to_string(i));
    }
    return lines;
}

std::vector<SegmentIndex::Hit> brute_force(const std::vector<Polyline>& lines,
                                           const std::vector<bool>& present, LonLat p,
                                           double radius_m) {
    std::vector<SegmentIndex::Hit> hits;
    for (std::size_t id = 0; id < lines.size(); ++id) {
        if (!present[id]) {
            continue;
        }
        for (const auto& projection : lines[id].candidates(p, radius_m)) {
            hits.push_back(SegmentIndex::Hit{id, projection});
        }
    }
    return hits;
}

void check_same(const std::vector<SegmentIndex::Hit>& got,
                const std::vector<SegmentIndex::Hit>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        CAPTURE(k);
        CHECK(got[k].line_id == want[k].line_id);
        CHECK(got[k].projection.segment == want[k].projection.segment);
        CHECK(got[k].projection.distance_along_m == want[k].projection.distance_along_m);
        CHECK(got[k].projection.offset_m == want[k].projection.offset_m);
        CHECK(got[k].projection.closest.lon_deg == want[k].projection.closest.lon_deg);
        CHECK(got[k].projection.closest.lat_deg == want[k].projection.closest.lat_deg);
    }
}

}  // namespace

TEST_CASE("segment index over 1000 random lines answers exactly as brute force") {
    std::mt19937_64 rng(20240611);
    const auto lines = random_lines(1000, rng);
    std::vector<bool> present(lines.size(), true);
    SegmentIndex index;
    for (std::size_t id = 0; id < lines.size(); ++id) {
        index.add(id, lines[id]);
    }
    CHECK(index.size() == 1000);

    std::uniform_int_distribution<std::size_t> pick(0, lines.size() - 1);
    std::uniform_real_distribution<double> unit(0, 1);
    std::uniform_real_distribution<double> lon(centre.lon_deg - 0.2, centre.lon_deg + 0.2);
    std::uniform_real_distribution<double> lat(centre.lat_deg - 0.12, centre.lat_deg + 0.12);
    const auto random_point = [&]() {
        if (unit(rng) < 0.6) {
            // Near a line: on it, or up to 100 m to its side.
            const Polyline& line = lines[pick(rng)];
            const LonLat on = line.point_at(unit(rng) * line.length_m());
            return geo::destination(on, 360 * unit(rng), 100 * unit(rng));
        }
        return LonLat{lon(rng), lat(rng)};
    };

    std::size_t with_hits = 0;
    std::size_t with_several_passes = 0;
    for (int q = 0; q < 400; ++q) {
        CAPTURE(q);
        const LonLat p = random_point();
        const double radius_m = q % 2 == 0 ? 60 : 200;
        const auto want = brute_force(lines, present, p, radius_m);
        SegmentIndex::QueryStats stats;
        const auto got = index.query(p, radius_m, &stats);
        check_same(got, want);
        with_hits += got.empty() ? 0 : 1;
        for (std::size_t k = 1; k < got.size(); ++k) {
            with_several_passes += got[k].line_id == got[k - 1].line_id ? 1 : 0;
        }
        CHECK(stats.segments_examined < 200);
    }
    // The comparison is not vacuous: most queries find lines, some find a line twice.
    CHECK(with_hits > 200);
    CHECK(with_several_passes > 5);

    // Remove half of the lines, replace one: still the same answers.
    for (std::size_t id = 0; id < lines.size(); id += 2) {
        CHECK(index.remove(id));
        present[id] = false;
    }
    CHECK_FALSE(index.remove(0));
    CHECK(index.size() == 500);
    CHECK(index.find(0) == nullptr);
    index.add(1, lines[1]);
    CHECK(index.size() == 500);
    REQUIRE(index.find(1) != nullptr);
    CHECK(index.find(1)->length_m() == lines[1].length_m());
    for (int q = 0; q < 150; ++q) {
        CAPTURE(q);
        const LonLat p = random_point();
        check_same(index.query(p, 100), brute_force(lines, present, p, 100));
    }
}

TEST_CASE("a query examines only the segments near the position, however many lines there are") {
    // Parallel streets running north, 500 m apart, each ten 100 m segments long.
    const auto street = [](std::size_t k) {
        std::vector<LonLat> points{geo::destination(centre, 90, 500.0 * static_cast<double>(k))};
        for (int i = 0; i < 10; ++i) {
            points.push_back(geo::destination(points.back(), 0, 100));
        }
        return Polyline(points, "street " + std::to_string(k));
    };
    SegmentIndex few;
    SegmentIndex many;
    for (std::size_t k = 0; k < 1000; ++k) {
        const Polyline line = street(k);
        many.add(k, line);
        if (k >= 495 && k < 505) {
            few.add(k, line);
        }
    }
    // 450 m up street 500, 10 m to its east: the box of ±60 m meets segment 4 and the ends of
    // segments 3 and 5 of that street, nothing else among 10 000 segments.
    const LonLat p = geo::destination(street(500).point_at(450), 90, 10);
    for (const SegmentIndex* index : {&few, &many}) {
        SegmentIndex::QueryStats stats;
        const auto hits = index->query(p, 60, &stats);
        CHECK(stats.segments_examined == 3);
        CHECK(stats.lines_examined == 1);
        REQUIRE(hits.size() == 1);
        CHECK(hits[0].line_id == 500);
        CHECK(hits[0].projection.segment == 4);
        CHECK(hits[0].projection.distance_along_m == doctest::Approx(450).epsilon(1e-4));
        CHECK(hits[0].projection.offset_m == doctest::Approx(10).epsilon(1e-3));
    }
    // Between two streets, 250 m from each: nothing within 60 m, nothing examined.
    SegmentIndex::QueryStats stats;
    CHECK(many.query(geo::destination(p, 90, 240), 60, &stats).empty());
    CHECK(stats.segments_examined == 0);
}

TEST_CASE("segment index finds lines across the antimeridian as the plane does") {
    const Polyline east_end({{179.999, 10}, {179.9999, 10}}, "dateline street");
    SegmentIndex index;
    index.add(7, east_end);
    // Just across the antimeridian, 0.0003° of longitude (32.9 m at 10° N) east of the end.
    const LonLat p{-179.9998, 10};
    const auto hits = index.query(p, 60);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].line_id == 7);
    CHECK(hits[0].projection.segment == 0);
    CHECK(std::abs(hits[0].projection.offset_m) == doctest::Approx(32.9).epsilon(0.005));
    check_same(hits, {SegmentIndex::Hit{7, east_end.candidates(p, 60).at(0)}});
    CHECK_THROWS_AS(index.query({0, 95}, 60), fleet::InputError);
}
