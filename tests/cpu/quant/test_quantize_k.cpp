// The quantisers of gdn/quant/quantize/<name>.hpp (q4_1, q5_0, q5_1, q2_k, q3_k, q5_k, mxfp4):
// their bytes decoded through gdn's decoder (checked bit exact against gguf's numpy
// dequantisers by test_vectors.cpp) against the input. Per-element bounds from each block's
// stored scale for the one-scale formats; row bounds from the step size for all; zero,
// constant and exactly representable rows. Then, for every format with a tensor-core loader,
// mma_frag against decode8 over the test vectors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/quantize/mxfp4.hpp"
#include "gdn/quant/quantize/q2_k.hpp"
#include "gdn/quant/quantize/q3_k.hpp"
#include "gdn/quant/quantize/q4_1.hpp"
#include "gdn/quant/quantize/q5_0.hpp"
#include "gdn/quant/quantize/q5_1.hpp"
#include "gdn/quant/quantize/q5_k.hpp"
#include "quant_test_util.hpp"

using gdn::DType;

namespace {

const DType kFormats[] = {DType::q4_1, DType::q5_0, DType::q5_1, DType::q2_k, DType::q3_k, DType::q5_k, DType::mxfp4};

std::string name(DType t) { return std::string(gdn::dtype_name(t)); }

void quantize(DType t, const float* x, std::byte* q, int64_t n) {
    namespace gq = gdn::quant;
    switch (t) {
        case DType::q4_1: gq::quantize_row_q4_1(x, q, n); return;
        case DType::q5_0: gq::quantize_row_q5_0(x, q, n); return;
        case DType::q5_1: gq::quantize_row_q5_1(x, q, n); return;
        case DType::q2_k: gq::quantize_row_q2_k(x, q, n); return;
        case DType::q3_k: gq::quantize_row_q3_k(x, q, n); return;
        case DType::q5_k: gq::quantize_row_q5_k(x, q, n); return;
        case DType::mxfp4: gq::quantize_row_mxfp4(x, q, n); return;
        default: FAIL("no quantiser in this test for " << name(t));
    }
}

std::vector<std::byte> quantized(DType t, const std::vector<float>& x) {
    std::vector<std::byte> q(static_cast<size_t>(gdn::dtype_row_bytes(t, static_cast<int64_t>(x.size()))));
    quantize(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
    return q;
}

std::vector<float> decoded(DType t, const std::vector<std::byte>& q, size_t n) {
    std::vector<float> y(n, NAN);
    gdn::dequantize_row(t, q.data(), y.data(), static_cast<int64_t>(n));
    return y;
}

std::vector<float> round_trip(DType t, const std::vector<float>& x) { return decoded(t, quantized(t, x), x.size()); }

double f16_value(const std::byte* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return gdn::quant::f16_to_f32(h);
}

using namespace quant_test;

struct Bound {
    double max_rel, rms_rel;  // of the row's max |x|
};

// Row bounds from each format's step, as fractions of the row's max |x| = A (a block's own
// range only shrinks them). Plain rounding of values spread evenly over a whole block range
// (uniform rows, the worst case) has rms error step/sqrt(12); where the grid clamps one side
// the rms is that of uniform values on the full range through the grid (computed once, noted).
//   q4_1 / q5_1: range <= 2A in 15 / 31 steps, round half up: max step/2 plus the f16 scale and
//     min, <= 15 (31) * 2^-11 * d + 2^-11 * A <= 1.5 * 2^-10 * A; rms step/sqrt(12).
//   q5_0: d = A_block / 16, the clamped side (x / d in (15.5, 16]) errs by up to d (the f16
//     scale adds 16 * 2^-11 * d); rms of uniform [-16, 16] through 0..31 - 16: 0.01887.
//   q2_k / q5_k: a sub-block spans at most [-A, A] in 3 / 31 steps; after the fit every value
//     lies within one step (q4_k's argument): max 2/3, 2/31; rms step/sqrt(12).
//   q3_k: a group maps its largest magnitude to -4 steps of |s| ~ A_group / 4, the other side
//     clamps at 3: max one step, plus the 6-bit scale rounding |d|/2 = |max scale| / 64 times
//     |q| <= 4, so 1/4 + 1/64; rms of uniform [-4, 4] through -4..3: 0.0846 of 4 steps.
//   mxfp4: max |x| of a block lies in [8d, 16d); the worst error is half the 8d..12d gap (2d)
//     or the clip above 12d (< |x| / 4): max 1/4; rms of uniform [-M, M] through
//     {0, 1, 2, 3, 4, 6, 8, 12} * d at the worst M (just below 16d): 0.0832.
Bound bound(DType t) {
    switch (t) {
        case DType::q4_1: return {1.0 / 15 + 1.5 / 1024, 2.0 / 15 / std::sqrt(12.0)};
        case DType::q5_0: return {1.0 / 16 + 1.0 / 2048, 0.0189};
        case DType::q5_1: return {1.0 / 31 + 1.5 / 1024, 2.0 / 31 / std::sqrt(12.0)};
        case DType::q2_k: return {2.0 / 3, 2.0 / 3 / std::sqrt(12.0)};
        case DType::q3_k: return {1.0 / 4 + 1.0 / 64, 0.0846};
        case DType::q5_k: return {2.0 / 31, 2.0 / 31 / std::sqrt(12.0)};
        case DType::mxfp4: return {0.25, 0.0832};
        default: return {0, 0};
    }
}

}  // namespace

TEST_CASE("q4_1 / q5_0 / q5_1 / q2_k / q3_k / q5_k / mxfp4 round trip on rows of 256 and 4096",
          "[quant][quantize][quantize_k]") {
    std::mt19937 rng(2025);
    for (DType t : kFormats) {
        const Bound b = bound(t);
        for (Dist d : {Dist::normal, Dist::uniform, Dist::outliers, Dist::laplace, Dist::negative, Dist::zero_block}) {
            double worst = 0, sum_sq = 0;
            int64_t count = 0;
            for (int64_t n : {256, 4096}) {
                if (d == Dist::zero_block && n == 256) continue;
                for (float scale : {0.02f, 1.f, 300.f}) {
                    const std::vector<float> x = draw_row(rng, n, d, scale, n - 256);
                    const std::vector<float> y = round_trip(t, x);
                    double amax = 0;
                    for (float v : x) amax = std::max(amax, std::fabs(static_cast<double>(v)));
                    for (size_t i = 0; i < x.size(); ++i) {
                        const double e = std::fabs(static_cast<double>(x[i]) - y[i]) / amax;
                        REQUIRE(std::isfinite(y[i]));
                        worst = std::max(worst, e);
                        sum_sq += e * e;
                    }
                    count += n;
                    if (d == Dist::zero_block) {
                        for (int64_t i = n - 256; i < n; ++i) REQUIRE(y[static_cast<size_t>(i)] == 0.f);
                    }
                }
            }
            // the rms over all rows of a distribution (4000+ values: a stable statistic)
            const double rms = std::sqrt(sum_sq / static_cast<double>(count));
            std::printf("%-5s round trip, %-24s: max |x - deq| = %.5f (bound %.5f), rms = %.5f (bound %.5f) of max |x|\n",
                        name(t).c_str(), dist_name(d), worst, b.max_rel, rms, b.rms_rel);
            CHECK(worst <= b.max_rel);
            CHECK(rms <= b.rms_rel);
        }
    }
}

TEST_CASE("q4_1 / q5_1 / q5_0: every value within half a step of the stored scale (the clamped side of q5_0: one)",
          "[quant][quantize][quantize_k]") {
    // q4_1 / q5_1: q = round-half-up((x - min) / d) with the float d and min, so |x - (min + q d)|
    // <= d/2; the decoder uses f16(d) and f16(min): + q |d - f16(d)| + |min - f16(min)|.
    // q5_0 (as q4_0): d = max / -16, |x - deq| <= |d|/2 for x / d <= 15.5, <= |d| above (clamp
    // to 31), + 16 |d - f16(d)|. Plus 1e-6 * amax of float rounding.
    std::mt19937 rng(9);
    for (DType t : {DType::q4_1, DType::q5_1, DType::q5_0}) {
        const int nmax = t == DType::q4_1 ? 15 : 31;
        const int bb = static_cast<int>(gdn::dtype_traits(t).block_bytes);
        double worst_half = 0, worst_clamped = 0;
        int n_clamped = 0;
        for (int rep = 0; rep < 30; ++rep) {
            std::normal_distribution<float> nd(0.f, 0.02f + 10.f * static_cast<float>(rep));
            std::vector<float> x(1024);
            for (float& v : x) v = nd(rng);
            const std::vector<std::byte> q = quantized(t, x);
            const std::vector<float> y = decoded(t, q, x.size());
            for (size_t i0 = 0; i0 < x.size(); i0 += 32) {
                const std::byte* blk = q.data() + (i0 / 32) * bb;
                double lo = x[i0], hi = x[i0], amax = 0, max = 0;
                for (size_t j = i0; j < i0 + 32; ++j) {
                    lo = std::min(lo, static_cast<double>(x[j]));
                    hi = std::max(hi, static_cast<double>(x[j]));
                    if (amax < std::fabs(x[j])) {
                        amax = std::fabs(x[j]);
                        max = x[j];
                    }
                }
                for (size_t j = i0; j < i0 + 32; ++j) {
                    const double err = std::fabs(static_cast<double>(x[j]) - y[j]);
                    if (t == DType::q5_0) {
                        const double d = max / -16;
                        const double extra = 16 * std::fabs(d - f16_value(blk)) + 1e-6 * amax;
                        if (x[j] / d <= 15.5) {
                            REQUIRE(err <= std::fabs(d) / 2 + extra);
                            worst_half = std::max(worst_half, err / std::fabs(d));
                        } else {
                            REQUIRE(err <= std::fabs(d) + extra);
                            worst_clamped = std::max(worst_clamped, err / std::fabs(d));
                            ++n_clamped;
                        }
                    } else {
                        const double d = static_cast<float>(hi - lo) / static_cast<float>(nmax);
                        const double extra = nmax * std::fabs(d - f16_value(blk)) + std::fabs(lo - f16_value(blk + 2)) +
                                             1e-6 * amax;
                        REQUIRE(err <= d / 2 + extra);
                        worst_half = std::max(worst_half, err / d);
                    }
                }
            }
        }
        if (t == DType::q5_0) {
            std::printf("q5_0 round trip: max |x - deq| = %.4f |d| (unclamped), %.4f |d| (%d clamped)\n", worst_half,
                        worst_clamped, n_clamped);
        } else {
            std::printf("%s round trip: max |x - deq| = %.4f d\n", name(t).c_str(), worst_half);
        }
    }
}

TEST_CASE("mxfp4: every value takes its nearest code at the block's scale", "[quant][quantize][quantize_k]") {
    // The scale 2^(e - 128) is stored exactly; the quantiser picks the nearest of the 16 codes,
    // so |x - deq| equals the distance to the nearest of +-{0, 1, 2, 3, 4, 6, 8, 12} * d.
    static constexpr int kValues[8] = {0, 1, 2, 3, 4, 6, 8, 12};
    std::mt19937 rng(13);
    double worst = 0;  // error / d
    for (int rep = 0; rep < 30; ++rep) {
        std::vector<float> x = draw_row(rng, 1024, rep % 2 ? Dist::uniform : Dist::laplace, 0.01f + 7.f * rep);
        const std::vector<std::byte> q = quantized(DType::mxfp4, x);
        const std::vector<float> y = decoded(DType::mxfp4, q, x.size());
        for (size_t i0 = 0; i0 < x.size(); i0 += 32) {
            const uint8_t e = static_cast<uint8_t>(q[(i0 / 32) * 17]);
            const double d = std::ldexp(1.0, e - 128);
            double amax = 0;
            for (size_t j = i0; j < i0 + 32; ++j) amax = std::max(amax, std::fabs(static_cast<double>(x[j])));
            REQUIRE(amax >= 8 * d);  // the exponent: max |x| in [8d, 16d)
            REQUIRE(amax < 16 * d);
            for (size_t j = i0; j < i0 + 32; ++j) {
                double nearest = INFINITY;
                for (int k : kValues) nearest = std::min(nearest, std::fabs(std::fabs(static_cast<double>(x[j])) - k * d));
                const double err = std::fabs(static_cast<double>(x[j]) - y[j]);
                REQUIRE(err <= nearest + 1e-6 * amax);
                worst = std::max(worst, err / d);
            }
        }
    }
    std::printf("mxfp4 round trip: max |x - deq| = %.4f d (2 inside the grid, up to 4 clipped above 12d)\n", worst);
    CHECK(worst < 4.0);
}

TEST_CASE("q4_1 / q5_0 / q5_1 / q2_k / q3_k / q5_k / mxfp4 edge cases: zero and constant rows",
          "[quant][quantize][quantize_k]") {
    for (DType t : kFormats) {
        INFO(name(t));
        std::vector<float> x(512, 0.f);
        std::vector<float> y = round_trip(t, x);
        for (float v : y) REQUIRE(v == 0.f);
        if (t == DType::mxfp4) continue;  // a constant is exact only if it is one of its codes
        // A constant comes back through one f16 rounding (relative 2^-11) of the scale or min
        // that carries it: q4_1 / q5_1 store it as the min m, q5_0 as -16 steps of d, the
        // K-quants as their largest quant (c > 0) or min (c <= 0; q3_k: -4 steps of -32 * d).
        for (float c : {0.37f, -0.37f, 3.f, -250.f}) {
            std::fill(x.begin(), x.end(), c);
            y = round_trip(t, x);
            double worst = 0;
            for (float v : y) worst = std::max(worst, std::fabs(static_cast<double>(v) - c) / std::fabs(c));
            std::printf("%-5s constant %g: max relative error %.2e\n", name(t).c_str(), c, worst);
            CHECK(worst <= 0x1p-11);
        }
    }
}

TEST_CASE("q4_1 / q5_0 / q5_1 / q2_k / q3_k / q5_k / mxfp4: exactly representable rows come back exactly",
          "[quant][quantize][quantize_k]") {
    std::mt19937 rng(21);
    std::uniform_int_distribution<int> small(1, 2047);
    const auto check_exact = [](DType t, const std::vector<float>& x) {
        const std::vector<float> y = round_trip(t, x);
        double worst = 0;
        for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(x[i]) - y[i]));
        std::printf("%-5s exactly representable row: max |x - deq| = %.3g\n", name(t).c_str(), worst);
        CHECK(worst == 0.0);
    };
    // q4_1 / q5_1: d = k 2^-10 and m = j 2^-10 (both f16), quants including 0 and nmax, so
    // max - min = nmax d exactly and d comes back exactly; x = d q + m is exact in float.
    for (DType t : {DType::q4_1, DType::q5_1}) {
        const int nmax = t == DType::q4_1 ? 15 : 31;
        std::uniform_int_distribution<int> qd(0, nmax);
        std::vector<float> x(1024);
        for (size_t b = 0; b < x.size() / 32; ++b) {
            const int k = small(rng), j = small(rng) * (b % 2 ? -1 : 1);
            for (int i = 0; i < 32; ++i) {
                const int q = i == 3 ? 0 : i == 17 ? nmax : qd(rng);
                x[32 * b + i] = std::ldexp(static_cast<float>(k * q + j), -10);
            }
        }
        check_exact(t, x);
    }
    // q5_0: d = k 2^-10 of either sign; quant 0 (value -16 d, the unique largest magnitude) in
    // every block, so d = max / -16 exactly.
    {
        std::uniform_int_distribution<int> qd(1, 31);
        std::vector<float> x(1024);
        for (size_t b = 0; b < x.size() / 32; ++b) {
            const int k = small(rng) * (b % 3 ? 1 : -1);
            for (int i = 0; i < 32; ++i) x[32 * b + i] = std::ldexp(static_cast<float>(k * ((i == 5 ? 0 : qd(rng)) - 16)), -10);
        }
        check_exact(DType::q5_0, x);
    }
    // q2_k / q5_k: d = 2^-6, dmin = 2^-5; each sub-block's scale sc and min m (4 / 6 bits, the
    // largest of each at its top so d and dmin come back exactly) and quants including 0 and
    // nmax, so its range is exactly nmax d sc and the first fit has zero error.
    for (DType t : {DType::q2_k, DType::q5_k}) {
        const bool q2 = t == DType::q2_k;
        const int subs = q2 ? 16 : 8, len = 256 / subs, nmax = q2 ? 3 : 31, top = q2 ? 15 : 63;
        std::uniform_int_distribution<int> qd(0, nmax), sd(1, top), md(0, top);
        std::vector<float> x(512);
        for (int b = 0; b < 2; ++b) {
            for (int s = 0; s < subs; ++s) {
                const int sc = s == 1 ? top : sd(rng), m = s == 2 ? top : s == 3 ? 0 : md(rng);
                for (int i = 0; i < len; ++i) {
                    const int q = i == 0 ? 0 : i == 1 ? nmax : qd(rng);
                    x[static_cast<size_t>(256 * b + len * s + i)] =
                        0x1p-6f * static_cast<float>(sc * q) - 0x1p-5f * static_cast<float>(m);
                }
            }
        }
        check_exact(t, x);
    }
    // q3_k: d = 2^-8; group s has the 6-bit scale g3[s] (one -32, the largest magnitude, so d
    // comes back exactly) and quants including -4 (its largest magnitude, which the fit maps
    // to -4), so each group's fit is exact up to float rounding of its sums, which the 6-bit
    // rounding of the scales removes.
    {
        const int g3[16] = {-32, 31, 3, -7, 16, 1, -1, 25, -25, 11, 12, -32, 20, 2, -9, 30};
        std::uniform_int_distribution<int> qd(-4, 3);
        std::vector<float> x(256);
        for (int s = 0; s < 16; ++s) {
            for (int i = 0; i < 16; ++i) {
                x[static_cast<size_t>(16 * s + i)] = 0x1p-8f * static_cast<float>(g3[s] * (i == 0 ? -4 : qd(rng)));
            }
        }
        check_exact(DType::q3_k, x);
    }
    // mxfp4: codes times 2^(e - 128) with a +-12 (6.0) or +-8 (4.0) in each block, so the
    // exponent floor(log2 max|x|) - 2 + 127 is e again.
    {
        static constexpr int kValues[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
        std::uniform_int_distribution<int> code(0, 15), ed(100, 150);
        std::vector<float> x(1024);
        for (size_t b = 0; b < x.size() / 32; ++b) {
            const int e = ed(rng);
            for (int i = 0; i < 32; ++i) {
                const int k = i == 7 ? (b % 2 ? 12 : -8) : kValues[code(rng)];
                x[32 * b + i] = std::ldexp(static_cast<float>(k), e - 128);
            }
        }
        check_exact(DType::mxfp4, x);
    }
}

TEST_CASE("more bits, less error: q2_k > q3_k > q4_1 > q5_0, q5_1, q5_k on the same rows",
          "[quant][quantize][quantize_k]") {
    // Bits per weight: q2_k 2.625, q3_k 3.4375, q4_1 5, q5_0 5.5, q5_k 5.5, q5_1 6. Squared
    // error summed over 16 rows of 4096 of four distributions.
    std::mt19937 rng(77);
    const DType order[] = {DType::q2_k, DType::q3_k, DType::q4_1, DType::q5_0, DType::q5_1, DType::q5_k};
    double sq[6] = {0, 0, 0, 0, 0, 0};
    for (Dist d : {Dist::normal, Dist::uniform, Dist::laplace, Dist::negative}) {
        for (int rep = 0; rep < 4; ++rep) {
            const std::vector<float> x = draw_row(rng, 4096, d, 1.f);
            for (int k = 0; k < 6; ++k) {
                const std::vector<float> y = round_trip(order[k], x);
                for (size_t i = 0; i < x.size(); ++i) sq[k] += (x[i] - y[i]) * double(x[i] - y[i]);
            }
        }
    }
    std::printf("squared error summed over 16 rows: q2_k %.3f, q3_k %.3f, q4_1 %.3f, q5_0 %.3f, q5_1 %.3f, q5_k %.3f\n",
                sq[0], sq[1], sq[2], sq[3], sq[4], sq[5]);
    CHECK(sq[1] < sq[0]);
    CHECK(sq[2] < sq[1]);
    for (int k = 3; k < 6; ++k) CHECK(sq[k] < sq[2]);
}

namespace {

using quant_test::read_all;

}  // namespace

TEMPLATE_LIST_TEST_CASE("mma_frag gives decode8's quants, scale and min for every group, thread and block",
                        "[quant][mma]", gdn::all_formats) {
    using F = TestType;
    if constexpr (requires { F::mma_group; }) {
        static_assert(F::mma_group == 32 || F::mma_group == 16, "mma_group is 32 or 16 (formats/base.hpp)");
        static_assert(F::unit_elems % F::mma_group == 0, "a unit holds whole groups");
        const std::string nm(gdn::dtype_name(F::dtype));
        const std::vector<char> raw = read_all(std::string(GDN_TEST_DATA_DIR) + "/quant/" + nm + ".blocks");
        const int64_t units = static_cast<int64_t>(raw.size()) / F::unit_bytes;
        constexpr int groups = F::unit_elems / F::mma_group;
        int64_t checked = 0;
        for (int64_t n = 0; n < units; ++n) {
            const auto* u = reinterpret_cast<const uint8_t*>(raw.data()) + n * F::unit_bytes;
            for (int g = 0; g < groups; ++g) {
                for (int t = 0; t < 4; ++t) {
                    uint32_t lo = 0, hi = 0;
                    float scale = NAN, min = NAN;
                    F::mma_frag(u, g, t, lo, hi, scale, min);
                    for (int half = 0; half < F::mma_group / 16; ++half) {
                        const uint32_t w = half ? hi : lo;
                        for (int k = 0; k < 4; ++k) {
                            const int col = F::mma_group * g + 16 * half + 4 * t + k;  // element of the unit
                            float q[8], s, m;
                            F::decode8(u, col / 8, q, s, m);
                            const int8_t fq = static_cast<int8_t>((w >> (8 * k)) & 0xffu);
                            INFO(nm << " unit " << n << " group " << g << " t " << t << " column " << col);
                            REQUIRE(static_cast<float>(fq) == q[col % 8]);
                            REQUIRE(std::memcmp(&s, &scale, sizeof s) == 0);
                            REQUIRE(std::memcmp(&m, &min, sizeof m) == 0);
                            ++checked;
                        }
                    }
                }
            }
        }
        std::printf("%-6s mma_frag (group %d): %lld columns equal decode8's\n", nm.c_str(), F::mma_group,
                    static_cast<long long>(checked));
        CHECK(checked == units * F::unit_elems);
    } else {
        SUCCEED("no tensor-core loader");
    }
}
