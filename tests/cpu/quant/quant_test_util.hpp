// tests/cpu/quant/quant_test_util.hpp - the row distributions the quantiser tests draw from, their
// round-trip error, and reading a test-vector file.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace quant_test {

enum class Dist { normal, uniform, outliers, laplace, negative, zero_block };

inline const char* dist_name(Dist d) {
    switch (d) {
        case Dist::normal: return "normal";
        case Dist::uniform: return "uniform";
        case Dist::outliers: return "normal+1% x20 outliers";
        case Dist::laplace: return "laplace";
        case Dist::negative: return "negative-only";
        case Dist::zero_block: return "normal, one zero super-block";
    }
    return "?";
}

/// n values of distribution d at `scale`; zero_block zeroes the 256 values from `zero_from`.
inline std::vector<float> draw_row(std::mt19937& rng, int64_t n, Dist d, float scale, int64_t zero_from = 256) {
    std::normal_distribution<float> nd(0.f, scale);
    std::uniform_real_distribution<float> ud(-scale, scale);
    std::exponential_distribution<float> ed(1.f / scale);
    std::uniform_real_distribution<float> u01(0.f, 1.f);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) {
        switch (d) {
            case Dist::normal:
            case Dist::zero_block: v = nd(rng); break;
            case Dist::uniform: v = ud(rng); break;
            case Dist::outliers: v = nd(rng) * (u01(rng) < 0.01f ? 20.f : 1.f); break;
            case Dist::laplace: v = ed(rng) * (u01(rng) < 0.5f ? -1.f : 1.f); break;
            case Dist::negative: v = -std::fabs(nd(rng)); break;
        }
    }
    if (d == Dist::zero_block) std::fill(x.begin() + zero_from, x.begin() + zero_from + 256, 0.f);
    return x;
}

/// Round-trip error of a row x decoded as y, as fractions of max |x|.
struct RowError {
    double max_rel;  // max |x - y| / max |x|
    double rms_rel;  // rms(x - y) / max |x|
};

inline RowError row_error(const std::vector<float>& x, const std::vector<float>& y) {
    double amax = 0, m = 0, ss = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
        const double e = std::fabs(static_cast<double>(x[i]) - y[i]);
        m = std::max(m, e);
        ss += e * e;
    }
    return {m / amax, std::sqrt(ss / static_cast<double>(x.size())) / amax};
}

/// The bytes of the file at path (which must exist).
inline std::vector<char> read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    REQUIRE(f.good());
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace quant_test
