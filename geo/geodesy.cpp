#include "geo/geodesy.hpp"

#include <cmath>
#include <numbers>
#include <optional>

namespace fleet::geo {

namespace {

// Vincenty's Δσ, the same series in the inverse and the direct problem (Vincenty 1975, eq. 6).
double vincenty_delta_sigma(double big_b, double sin_sigma, double cos_sigma, double cos_2sigma_m) {
    const double c2 = cos_2sigma_m * cos_2sigma_m;
    return big_b * sin_sigma *
           (cos_2sigma_m + big_b / 4.0 *
                               (cos_sigma * (-1.0 + 2.0 * c2) -
                                big_b / 6.0 * cos_2sigma_m * (-3.0 + 4.0 * sin_sigma * sin_sigma) *
                                    (-3.0 + 4.0 * c2)));
}

constexpr double deg_to_rad = std::numbers::pi / 180.0;
constexpr double rad_to_deg = 180.0 / std::numbers::pi;
constexpr double semi_minor_m = wgs84_semi_major_m * (1.0 - wgs84_flattening);
constexpr double eccentricity_sq = wgs84_flattening * (2.0 - wgs84_flattening);
// 1e-12 rad of λ is about 6 µm on the ground; Vincenty converges in a handful of iterations
// except near the antipode, where it may not converge at all.
constexpr double convergence_rad = 1e-12;
constexpr int max_iterations = 200;

// Longitude difference in degrees wrapped into [-180, 180].
double wrap_delta_deg(double delta_deg) {
    if (delta_deg > 180.0) {
        return delta_deg - 360.0;
    }
    if (delta_deg < -180.0) {
        return delta_deg + 360.0;
    }
    return delta_deg;
}

double normalise_lon_deg(double lon_deg) {
    double lon = std::fmod(lon_deg + 180.0, 360.0);
    if (lon < 0) {
        lon += 360.0;
    }
    return lon - 180.0;
}

double normalise_bearing_deg(double bearing_deg) {
    double bearing = std::fmod(bearing_deg, 360.0);
    if (bearing < 0) {
        bearing += 360.0;
    }
    // fmod of a tiny negative number plus 360 rounds to 360.
    return bearing >= 360.0 ? 0.0 : bearing;
}

// Reduced latitude U (tan U = (1 - f) tan φ) as sine and cosine.
struct Reduced {
    double sin_u;
    double cos_u;
};

Reduced reduced_latitude(double lat_rad) {
    const double tan_u = (1.0 - wgs84_flattening) * std::tan(lat_rad);
    const double cos_u = 1.0 / std::sqrt(1.0 + tan_u * tan_u);
    return {tan_u * cos_u, cos_u};
}

struct Inverse {
    double distance_m;
    double initial_azimuth_rad;
};

// Vincenty (1975), "Direct and inverse solutions of geodesics on the ellipsoid with application
// of nested equations", Survey Review 23(176), inverse formula. Empty when the iteration does
// not converge (nearly antipodal points).
std::optional<Inverse> vincenty_inverse(LonLat a, LonLat b) {
    if (a.lon_deg == b.lon_deg && a.lat_deg == b.lat_deg) {
        return Inverse{0.0, 0.0};
    }
    const double f = wgs84_flattening;
    const double big_l = wrap_delta_deg(b.lon_deg - a.lon_deg) * deg_to_rad;
    const Reduced u1 = reduced_latitude(a.lat_deg * deg_to_rad);
    const Reduced u2 = reduced_latitude(b.lat_deg * deg_to_rad);

    double lambda = big_l;
    double sin_sigma = 0;
    double cos_sigma = 0;
    double sigma = 0;
    double sin_alpha = 0;
    double cos_sq_alpha = 0;
    double cos_2sigma_m = 0;
    double sin_lambda = 0;
    double cos_lambda = 0;
    bool converged = false;
    for (int i = 0; i < max_iterations; ++i) {
        sin_lambda = std::sin(lambda);
        cos_lambda = std::cos(lambda);
        const double t1 = u2.cos_u * sin_lambda;
        const double t2 = u1.cos_u * u2.sin_u - u1.sin_u * u2.cos_u * cos_lambda;
        sin_sigma = std::sqrt(t1 * t1 + t2 * t2);
        cos_sigma = u1.sin_u * u2.sin_u + u1.cos_u * u2.cos_u * cos_lambda;
        if (sin_sigma == 0) {
            // Coincident points (such as one pole given with two longitudes), or exactly
            // antipodal ones, where the azimuth is undetermined.
            if (cos_sigma > 0) {
                return Inverse{0.0, 0.0};
            }
            return std::nullopt;
        }
        sigma = std::atan2(sin_sigma, cos_sigma);
        sin_alpha = u1.cos_u * u2.cos_u * sin_lambda / sin_sigma;
        cos_sq_alpha = 1.0 - sin_alpha * sin_alpha;
        // On the equator cos²α = 0 and the term is irrelevant (multiplied by C = 0).
        cos_2sigma_m = cos_sq_alpha != 0 ? cos_sigma - 2.0 * u1.sin_u * u2.sin_u / cos_sq_alpha : 0;
        const double c = f / 16.0 * cos_sq_alpha * (4.0 + f * (4.0 - 3.0 * cos_sq_alpha));
        const double previous = lambda;
        lambda =
            big_l + (1.0 - c) * f * sin_alpha *
                        (sigma + c * sin_sigma *
                                     (cos_2sigma_m +
                                      c * cos_sigma * (-1.0 + 2.0 * cos_2sigma_m * cos_2sigma_m)));
        if (std::abs(lambda) > std::numbers::pi) {
            return std::nullopt;
        }
        if (std::abs(lambda - previous) < convergence_rad) {
            converged = true;
            break;
        }
    }
    if (!converged) {
        return std::nullopt;
    }
    sin_lambda = std::sin(lambda);
    cos_lambda = std::cos(lambda);

    const double a_sq = wgs84_semi_major_m * wgs84_semi_major_m;
    const double b_sq = semi_minor_m * semi_minor_m;
    const double u_sq = cos_sq_alpha * (a_sq - b_sq) / b_sq;
    const double big_a =
        1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)));
    const double big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)));
    const double delta_sigma = vincenty_delta_sigma(big_b, sin_sigma, cos_sigma, cos_2sigma_m);
    const double distance_m = semi_minor_m * big_a * (sigma - delta_sigma);
    const double azimuth =
        std::atan2(u2.cos_u * sin_lambda, u1.cos_u * u2.sin_u - u1.sin_u * u2.cos_u * cos_lambda);
    return Inverse{distance_m, azimuth};
}

double spherical_bearing_deg(LonLat a, LonLat b) {
    const double phi1 = a.lat_deg * deg_to_rad;
    const double phi2 = b.lat_deg * deg_to_rad;
    const double dlambda = wrap_delta_deg(b.lon_deg - a.lon_deg) * deg_to_rad;
    const double y = std::sin(dlambda) * std::cos(phi2);
    const double x =
        std::cos(phi1) * std::sin(phi2) - std::sin(phi1) * std::cos(phi2) * std::cos(dlambda);
    return normalise_bearing_deg(std::atan2(y, x) * rad_to_deg);
}

}  // namespace

bool is_valid(LonLat p) noexcept {
    return std::isfinite(p.lon_deg) && std::isfinite(p.lat_deg) && p.lon_deg >= -180.0 &&
           p.lon_deg <= 180.0 && p.lat_deg >= -90.0 && p.lat_deg <= 90.0;
}

double haversine_m(LonLat a, LonLat b) noexcept {
    const double phi1 = a.lat_deg * deg_to_rad;
    const double phi2 = b.lat_deg * deg_to_rad;
    const double sin_dphi = std::sin((phi2 - phi1) / 2.0);
    const double sin_dlambda = std::sin(wrap_delta_deg(b.lon_deg - a.lon_deg) * deg_to_rad / 2.0);
    double h = sin_dphi * sin_dphi + std::cos(phi1) * std::cos(phi2) * sin_dlambda * sin_dlambda;
    if (h > 1.0) {
        h = 1.0;  // rounding near the antipode
    }
    return 2.0 * mean_earth_radius_m * std::asin(std::sqrt(h));
}

double geodesic_m(LonLat a, LonLat b) noexcept {
    if (const auto inverse = vincenty_inverse(a, b)) {
        return inverse->distance_m;
    }
    return haversine_m(a, b);
}

double initial_bearing_deg(LonLat a, LonLat b) noexcept {
    if (const auto inverse = vincenty_inverse(a, b)) {
        return normalise_bearing_deg(inverse->initial_azimuth_rad * rad_to_deg);
    }
    return spherical_bearing_deg(a, b);
}

// Vincenty (1975), direct formula; it converges for every azimuth and distance.
LonLat destination(LonLat a, double bearing_deg, double distance_m) noexcept {
    const double f = wgs84_flattening;
    const double alpha1 = bearing_deg * deg_to_rad;
    const double sin_alpha1 = std::sin(alpha1);
    const double cos_alpha1 = std::cos(alpha1);
    const Reduced u1 = reduced_latitude(a.lat_deg * deg_to_rad);
    const double sigma1 = std::atan2(u1.sin_u / u1.cos_u, cos_alpha1);
    const double sin_alpha = u1.cos_u * sin_alpha1;
    const double cos_sq_alpha = 1.0 - sin_alpha * sin_alpha;
    const double a_sq = wgs84_semi_major_m * wgs84_semi_major_m;
    const double b_sq = semi_minor_m * semi_minor_m;
    const double u_sq = cos_sq_alpha * (a_sq - b_sq) / b_sq;
    const double big_a =
        1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)));
    const double big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)));

    const double sigma0 = distance_m / (semi_minor_m * big_a);
    double sigma = sigma0;
    double sin_sigma = 0;
    double cos_sigma = 0;
    double cos_2sigma_m = 0;
    for (int i = 0; i < max_iterations; ++i) {
        cos_2sigma_m = std::cos(2.0 * sigma1 + sigma);
        sin_sigma = std::sin(sigma);
        cos_sigma = std::cos(sigma);
        const double delta_sigma = vincenty_delta_sigma(big_b, sin_sigma, cos_sigma, cos_2sigma_m);
        const double previous = sigma;
        sigma = sigma0 + delta_sigma;
        if (std::abs(sigma - previous) < convergence_rad) {
            break;
        }
    }
    cos_2sigma_m = std::cos(2.0 * sigma1 + sigma);
    sin_sigma = std::sin(sigma);
    cos_sigma = std::cos(sigma);

    const double x = u1.sin_u * sin_sigma - u1.cos_u * cos_sigma * cos_alpha1;
    const double phi2 = std::atan2(u1.sin_u * cos_sigma + u1.cos_u * sin_sigma * cos_alpha1,
                                   (1.0 - f) * std::sqrt(sin_alpha * sin_alpha + x * x));
    const double lambda = std::atan2(sin_sigma * sin_alpha1,
                                     u1.cos_u * cos_sigma - u1.sin_u * sin_sigma * cos_alpha1);
    const double c = f / 16.0 * cos_sq_alpha * (4.0 + f * (4.0 - 3.0 * cos_sq_alpha));
    const double big_l =
        lambda - (1.0 - c) * f * sin_alpha *
                     (sigma + c * sin_sigma *
                                  (cos_2sigma_m +
                                   c * cos_sigma * (-1.0 + 2.0 * cos_2sigma_m * cos_2sigma_m)));
    return LonLat{normalise_lon_deg(a.lon_deg + big_l * rad_to_deg), phi2 * rad_to_deg};
}

LocalProjection::LocalProjection(LonLat origin) noexcept : origin_(origin) {
    const double phi = origin.lat_deg * deg_to_rad;
    const double sin_phi = std::sin(phi);
    const double w = 1.0 - eccentricity_sq * sin_phi * sin_phi;
    const double prime_vertical_m = wgs84_semi_major_m / std::sqrt(w);
    const double meridional_m = wgs84_semi_major_m * (1.0 - eccentricity_sq) / (w * std::sqrt(w));
    m_per_deg_lon_ = prime_vertical_m * std::cos(phi) * deg_to_rad;
    m_per_deg_lat_ = meridional_m * deg_to_rad;
}

PlaneXY LocalProjection::to_xy(LonLat p) const noexcept {
    return PlaneXY{wrap_delta_deg(p.lon_deg - origin_.lon_deg) * m_per_deg_lon_,
                   (p.lat_deg - origin_.lat_deg) * m_per_deg_lat_};
}

LonLat LocalProjection::to_lonlat(PlaneXY xy) const noexcept {
    // At a pole the plane has no east-west extent; keep the origin's longitude there.
    const double lon_deg =
        m_per_deg_lon_ > 1e-9 ? origin_.lon_deg + xy.x_m / m_per_deg_lon_ : origin_.lon_deg;
    return LonLat{wrap_delta_deg(lon_deg), origin_.lat_deg + xy.y_m / m_per_deg_lat_};
}

}  // namespace fleet::geo
