// Walsh-Hadamard transform against the explicit Sylvester matrix H[i][j] = (-1)^popcount(i&j)
// divided by sqrt(n), in double.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "gdn/quant/wht.hpp"

namespace {

struct WhtErrors {
    double vs_matrix = 0, self_inverse = 0, norm = 0;
};

template <int N>
void check_wht(std::mt19937& rng, WhtErrors& worst) {
    std::normal_distribution<float> nd(0.f, 3.f);
    std::vector<float> x(N);
    for (float& v : x) v = nd(rng);
    std::vector<float> y = x;
    gdn::quant::wht<N>(y.data());

    double norm_x = 0, norm_y = 0, max_err = 0;
    for (int i = 0; i < N; ++i) {
        double want = 0;
        for (int j = 0; j < N; ++j) {
            want += (std::popcount(static_cast<unsigned>(i & j)) % 2 ? -1.0 : 1.0) * x[j];
        }
        want /= std::sqrt(static_cast<double>(N));
        max_err = std::max(max_err, std::fabs(want - y[i]));
        norm_x += static_cast<double>(x[i]) * x[i];
        norm_y += static_cast<double>(y[i]) * y[i];
    }
    // float butterflies: log2(N) passes, each adds <= 1 ulp of the running magnitude
    const double tol = 1e-5 * std::sqrt(norm_x);
    INFO("N=" << N << " max err vs matrix " << max_err << " tol " << tol);
    REQUIRE(max_err <= tol);
    REQUIRE(std::fabs(std::sqrt(norm_y) - std::sqrt(norm_x)) <= 1e-6 * std::sqrt(norm_x));

    std::vector<float> z = y;
    gdn::quant::wht(z.data(), N);  // runtime entry, applied twice: identity
    double inv_err = 0;
    for (int i = 0; i < N; ++i) inv_err = std::max(inv_err, std::fabs(static_cast<double>(z[i]) - x[i]));
    REQUIRE(inv_err <= 1e-5 * std::sqrt(norm_x));
    worst.vs_matrix = std::max(worst.vs_matrix, max_err);
    worst.self_inverse = std::max(worst.self_inverse, inv_err);
    worst.norm = std::max(worst.norm, std::fabs(std::sqrt(norm_y) - std::sqrt(norm_x)));
}

void print(int n, const WhtErrors& e) {
    std::printf("wht<%d>: max err vs matrix %.3g, self-inverse err %.3g, |norm diff| %.3g\n", n,
                e.vs_matrix, e.self_inverse, e.norm);
}

}  // namespace

TEST_CASE("WHT equals the Sylvester Hadamard product / sqrt(n), is self-inverse and norm-preserving",
          "[quant][wht]") {
    std::mt19937 rng(64);
    WhtErrors e64, e128, e256;
    for (int rep = 0; rep < 5; ++rep) {
        check_wht<64>(rng, e64);
        check_wht<128>(rng, e128);
        check_wht<256>(rng, e256);
    }
    print(64, e64);
    print(128, e128);
    print(256, e256);
}

TEST_CASE("WHT of a unit vector is a +-1/sqrt(n) column of H", "[quant][wht]") {
    float x[128] = {};
    x[5] = 1.f;  // column 5 = 0b101: sign flips where popcount(i & 5) is odd
    gdn::quant::wht<128>(x);
    for (int i = 0; i < 128; ++i) {
        const float want = (((i & 1) + ((i >> 2) & 1)) % 2 ? -1.f : 1.f) * 0.08838834764831845f;
        REQUIRE(std::fabs(x[i] - want) <= 1e-7f);
    }
    CHECK(gdn::quant::wht_scale(64) == 0.125f);
    CHECK(gdn::quant::wht_scale(256) == 0.0625f);
    CHECK(std::fabs(gdn::quant::wht_scale(128) - 0.08838834764831845) < 1e-8);
}

TEST_CASE("runtime WHT rejects sizes it does not compile", "[quant][wht]") {
    std::vector<float> x(512, 1.f);
    for (int64_t n : {0, 32, 100, 192, 512}) {
        try {
            gdn::quant::wht(x.data(), n);
            FAIL("wht accepted n = " << n);
        } catch (const gdn::Error& e) {
            CHECK(std::string(e.what()).find(std::to_string(n)) != std::string::npos);
        }
    }
}
