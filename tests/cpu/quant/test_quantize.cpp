// Quantisers: exact bytes on hand-computed inputs (ggml's reference rules: q8_0
// d = amax/127, q = roundf(x * (1/d)); q4_0 d = max/-8, q = min(15, trunc(x * (1/d) + 8.5))),
// bytes equal to a restatement of those rules on random rows, and round-trip error bounds.
// q4_k / q6_k (not byte-equal to ggml by design): round trips through blocks.hpp's dequantize
// on rows of real widths and several distributions, edge cases, and hand-built rows whose
// values the format represents exactly.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/quantizers.hpp"
#include "quant_test_util.hpp"

using namespace gdn::quant;

namespace {

double spec_f16(uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const double v = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

std::vector<float> random_row(std::mt19937& rng, int64_t n, float scale) {
    std::normal_distribution<float> nd(0.f, scale);
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = nd(rng);
    return x;
}

// ggml's reference quantisers restated block by block (same float operations, same order).
std::vector<unsigned char> restated_q8_0(const std::vector<float>& x) {
    std::vector<unsigned char> out;
    for (size_t i = 0; i < x.size(); i += 32) {
        float amax = 0.f;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[i + j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        const uint16_t h = f32_to_f16(d);
        out.push_back(static_cast<unsigned char>(h & 0xff));
        out.push_back(static_cast<unsigned char>(h >> 8));
        for (int j = 0; j < 32; ++j) {
            out.push_back(static_cast<unsigned char>(static_cast<int8_t>(std::round(x[i + j] * id))));
        }
    }
    return out;
}

std::vector<unsigned char> restated_q4_0(const std::vector<float>& x) {
    std::vector<unsigned char> out;
    for (size_t i = 0; i < x.size(); i += 32) {
        float amax = 0.f, max = 0.f;
        for (int j = 0; j < 32; ++j) {
            if (amax < std::fabs(x[i + j])) {
                amax = std::fabs(x[i + j]);
                max = x[i + j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        const uint16_t h = f32_to_f16(d);
        out.push_back(static_cast<unsigned char>(h & 0xff));
        out.push_back(static_cast<unsigned char>(h >> 8));
        for (int j = 0; j < 16; ++j) {
            const int a = std::min(15, static_cast<int>(static_cast<int8_t>(x[i + j] * id + 8.5f)));
            const int b = std::min(15, static_cast<int>(static_cast<int8_t>(x[i + 16 + j] * id + 8.5f)));
            out.push_back(static_cast<unsigned char>(a | (b << 4)));
        }
    }
    return out;
}

std::vector<unsigned char> bytes_of(const void* p, size_t n) {
    std::vector<unsigned char> v(n);
    std::memcpy(v.data(), p, n);
    return v;
}

}  // namespace

TEST_CASE("q8_0 quantiser: hand-computed blocks", "[quant][quantize]") {
    // amax = 127 -> d = 1 (f16 0x3c00), id = 1, q = roundf(x): halves go away from zero
    float x[32];
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j) - 20.f;  // exact integers
    x[0] = 127.f;
    x[1] = 0.5f;    // -> 1
    x[2] = -0.5f;   // -> -1
    x[3] = 2.5f;    // -> 3
    x[4] = -2.5f;   // -> -3
    x[5] = 1.49f;   // -> 1
    x[6] = -126.6f; // -> -127
    BlockQ8_0 b;
    quantize_block_q8_0(x, b);
    CHECK(b.d == 0x3c00);
    const int8_t want_head[7] = {127, 1, -1, 3, -3, 1, -127};
    for (int j = 0; j < 7; ++j) CHECK(b.qs[j] == want_head[j]);
    for (int j = 7; j < 32; ++j) CHECK(b.qs[j] == j - 20);

    // amax = 254 -> d = 2 (0x4000), id = 0.5
    float y[32];
    for (int j = 0; j < 32; ++j) y[j] = 0.f;
    y[0] = -254.f;  // -> -127
    y[1] = 3.f;     // 1.5 -> 2
    y[2] = -3.f;    // -> -2
    y[3] = 1.f;     // 0.5 -> 1
    y[4] = 0.9f;    // 0.45 -> 0
    quantize_block_q8_0(y, b);
    CHECK(b.d == 0x4000);
    CHECK(b.qs[0] == -127);
    CHECK(b.qs[1] == 2);
    CHECK(b.qs[2] == -2);
    CHECK(b.qs[3] == 1);
    CHECK(b.qs[4] == 0);
    CHECK(b.qs[31] == 0);

    // all zero: d = 0, every quant 0 (ggml's id = 0 rule, no division by zero)
    for (float& v : y) v = 0.f;
    quantize_block_q8_0(y, b);
    CHECK(b.d == 0);
    for (int j = 0; j < 32; ++j) CHECK(b.qs[j] == 0);
}

TEST_CASE("q4_0 quantiser: hand-computed blocks", "[quant][quantize]") {
    // max = -16 (largest magnitude, negative) -> d = 2 (0x4000), id = 0.5, q = trunc(x/2 + 8.5)
    float x[32];
    for (float& v : x) v = 0.f;  // -> 8
    x[0] = -16.f;  // 0.5 -> 0
    x[1] = 15.f;   // 16 -> clamped 15
    x[2] = 3.f;    // 10
    x[3] = 1.f;    // 9
    x[4] = -1.f;   // 8
    x[5] = 2.9f;   // 9.95 -> 9
    x[16] = 16.f;  // 16.5 -> 15
    x[17] = -15.f; // 1
    x[31] = 5.f;   // 11
    BlockQ4_0 b;
    quantize_block_q4_0(x, b);
    CHECK(b.d == 0x4000);
    CHECK(b.qs[0] == (0 | (15 << 4)));
    CHECK(b.qs[1] == (15 | (1 << 4)));
    CHECK(b.qs[2] == (10 | (8 << 4)));
    CHECK(b.qs[3] == (9 | (8 << 4)));
    CHECK(b.qs[4] == (8 | (8 << 4)));
    CHECK(b.qs[5] == (9 | (8 << 4)));
    CHECK(b.qs[15] == (8 | (11 << 4)));

    // max = +16 -> d = -2 (0xc000), id = -0.5: the max itself maps to quant 0
    for (float& v : x) v = 0.f;
    x[0] = 16.f;   // -8 + 8.5 -> 0
    x[1] = -16.f;  // 8 + 8.5 = 16.5 -> 15 (ties in magnitude: the first one sets d)
    x[2] = 4.f;    // -2 + 8.5 -> 6
    quantize_block_q4_0(x, b);
    CHECK(b.d == 0xc000);
    CHECK(b.qs[0] == (0 | (8 << 4)));
    CHECK(b.qs[1] == (15 | (8 << 4)));
    CHECK(b.qs[2] == (6 | (8 << 4)));

    // all zero: d = 0 / -8 = -0, stored as the f16 code 0x8000 (as ggml stores it)
    for (float& v : x) v = 0.f;
    quantize_block_q4_0(x, b);
    CHECK(b.d == 0x8000);
    for (int j = 0; j < 16; ++j) CHECK(b.qs[j] == 0x88);
}

TEST_CASE("q8_0 / q4_0 rows equal ggml's reference rules byte for byte", "[quant][quantize]") {
    std::mt19937 rng(31);
    for (int64_t n : {32, 256, 1024, 4096}) {
        for (float scale : {1e-3f, 0.05f, 1.f, 300.f}) {
            std::vector<float> x = random_row(rng, n, scale);
            std::vector<std::byte> q8(static_cast<size_t>(gdn::dtype_row_bytes(gdn::DType::q8_0, n)));
            std::vector<std::byte> q4(static_cast<size_t>(gdn::dtype_row_bytes(gdn::DType::q4_0, n)));
            quantize_row_q8_0(x.data(), q8.data(), n);
            quantize_row_q4_0(x.data(), q4.data(), n);
            REQUIRE(bytes_of(q8.data(), q8.size()) == restated_q8_0(x));
            REQUIRE(bytes_of(q4.data(), q4.size()) == restated_q4_0(x));
            // the DType entry point writes the same bytes
            std::vector<std::byte> again(q8.size());
            quantize_row(gdn::DType::q8_0, x.data(), again.data(), n);
            REQUIRE(std::memcmp(again.data(), q8.data(), q8.size()) == 0);
        }
    }
}

TEST_CASE("q8_0 round trip: |x - deq| <= d/2 + 127*|d - f16(d)| + 1e-6*amax", "[quant][quantize]") {
    // d = amax/127 exactly; the stored scale is f16(d), which moves a value with quant q by
    // |q| * |d - f16(d)| <= 127 * |d - f16(d)|.
    std::mt19937 rng(5);
    double worst = 0;  // error / d
    for (int t = 0; t < 50; ++t) {
        const int64_t n = 1024;
        std::vector<float> x = random_row(rng, n, 0.02f + t);
        std::vector<std::byte> q(static_cast<size_t>(gdn::dtype_row_bytes(gdn::DType::q8_0, n)));
        quantize_row_q8_0(x.data(), q.data(), n);
        std::vector<float> y(x.size());
        gdn::dequantize_row(gdn::DType::q8_0, q.data(), y.data(), n);
        for (int64_t i = 0; i < n; i += 32) {
            double amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(static_cast<double>(x[i + j])));
            const double d = amax / 127;
            uint16_t h;
            std::memcpy(&h, q.data() + (i / 32) * 34, 2);
            const double bound = d / 2 + 127 * std::fabs(d - spec_f16(h)) + 1e-6 * amax;
            for (int j = 0; j < 32; ++j) {
                const double err = std::fabs(static_cast<double>(x[i + j]) - y[i + j]);
                REQUIRE(err <= bound);
                worst = std::max(worst, err / d);
            }
        }
    }
    std::printf("q8_0 round trip: max |x - deq| = %.4f d\n", worst);
}

TEST_CASE("q4_0 round trip error bound", "[quant][quantize]") {
    // d = max/-8. For x/d <= 7.5 the quant is round-half-up of x/d, so |x - deq| <= |d|/2;
    // for x/d in (7.5, 8] (opposite sign to max, |x| > 15/16 amax) the clamp to 15 gives
    // <= |d|. Plus 8*|d - f16(d)| from the stored scale and 1e-6*amax of float rounding.
    std::mt19937 rng(7);
    double worst_half = 0, worst_clamped = 0;
    int n_clamped = 0;
    for (int t = 0; t < 50; ++t) {
        const int64_t n = 1024;
        std::vector<float> x = random_row(rng, n, 0.02f + t);
        std::vector<std::byte> q(static_cast<size_t>(gdn::dtype_row_bytes(gdn::DType::q4_0, n)));
        quantize_row_q4_0(x.data(), q.data(), n);
        std::vector<float> y(x.size());
        gdn::dequantize_row(gdn::DType::q4_0, q.data(), y.data(), n);
        for (int64_t i = 0; i < n; i += 32) {
            double amax = 0, max = 0;
            for (int j = 0; j < 32; ++j) {
                if (amax < std::fabs(x[i + j])) {
                    amax = std::fabs(x[i + j]);
                    max = x[i + j];
                }
            }
            const double d = max / -8;
            uint16_t h;
            std::memcpy(&h, q.data() + (i / 32) * 18, 2);
            const double extra = 8 * std::fabs(d - spec_f16(h)) + 1e-6 * amax;
            for (int j = 0; j < 32; ++j) {
                const double err = std::fabs(static_cast<double>(x[i + j]) - y[i + j]);
                if (x[i + j] / d <= 7.5) {
                    REQUIRE(err <= std::fabs(d) / 2 + extra);
                    worst_half = std::max(worst_half, err / std::fabs(d));
                } else {
                    REQUIRE(err <= std::fabs(d) + extra);
                    worst_clamped = std::max(worst_clamped, err / std::fabs(d));
                    ++n_clamped;
                }
            }
        }
    }
    std::printf("q4_0 round trip: max |x - deq| = %.4f |d| (unclamped), %.4f |d| (%d clamped)\n",
                worst_half, worst_clamped, n_clamped);
}

TEST_CASE("plain row conversions and unsupported quantisers", "[quant][quantize]") {
    std::mt19937 rng(3);
    const int64_t n = 300;
    std::vector<float> x = random_row(rng, n, 10.f);
    std::vector<std::byte> buf(4 * n);
    quantize_row(gdn::DType::f32, x.data(), buf.data(), n);
    REQUIRE(std::memcmp(buf.data(), x.data(), 4 * n) == 0);
    quantize_row(gdn::DType::f16, x.data(), buf.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, buf.data() + 2 * i, 2);
        // within half an f16 ulp of x (relative 2^-11)
        REQUIRE(std::fabs(spec_f16(h) - x[i]) <= std::ldexp(std::fabs(x[i]), -11));
        REQUIRE(h == f32_to_f16(x[i]));
    }
    quantize_row(gdn::DType::bf16, x.data(), buf.data(), n);
    for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, buf.data() + 2 * i, 2);
        uint32_t u = static_cast<uint32_t>(h) << 16;
        float back;
        std::memcpy(&back, &u, 4);
        REQUIRE(std::fabs(back - x[i]) <= std::ldexp(std::fabs(x[i]), -8));
    }

    try {  // an id outside DType (ggml's q8_1, 9) names itself in the error
        quantize_row(static_cast<gdn::DType>(9), x.data(), buf.data(), 256);
        FAIL("quantize_row accepted a type without a quantiser");
    } catch (const gdn::Error& e) {
        const std::string msg = e.what();
        CHECK(msg.find("type id 9") != std::string::npos);
    }
    try {
        quantize_row(gdn::DType::q8_0, x.data(), buf.data(), 40);
        FAIL("quantize_row accepted n = 40 for q8_0");
    } catch (const gdn::Error& e) {
        const std::string msg = e.what();
        CHECK(msg.find("40") != std::string::npos);
        CHECK(msg.find("q8_0") != std::string::npos);
    }
    CHECK_THROWS_AS(quantize_row_q4_0(x.data(), buf.data(), 33), gdn::Error);
    for (gdn::DType t : {gdn::DType::q4_k, gdn::DType::q6_k}) {  // super-blocks of 256
        try {
            quantize_row(t, x.data(), buf.data(), 288);
            FAIL("quantize_row accepted n = 288 for a K-quant");
        } catch (const gdn::Error& e) {
            const std::string msg = e.what();
            CHECK(msg.find("288") != std::string::npos);
            CHECK(msg.find(std::string(gdn::dtype_name(t))) != std::string::npos);
        }
    }
}

// ---- q4_k / q6_k ----------------------------------------------------------------------------

namespace {

std::vector<float> round_trip(gdn::DType t, const std::vector<float>& x) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<std::byte> q(static_cast<size_t>(gdn::dtype_row_bytes(t, n)));
    quantize_row(t, x.data(), q.data(), n);
    // every K-quant super-block's f16 scales finite (what ggml_validate_row_data checks)
    const int64_t bb = gdn::dtype_traits(t).block_bytes;
    const bool k_quant = t == gdn::DType::q4_k || t == gdn::DType::q6_k;
    for (int64_t b = 0; k_quant && b < n / 256; ++b) {
        const std::byte* blk = q.data() + b * bb;
        uint16_t h[2];
        if (t == gdn::DType::q4_k) {
            std::memcpy(h, blk, 4);
        } else {
            std::memcpy(h, blk + 208, 2);
            h[1] = 0;
        }
        REQUIRE(((h[0] >> 10) & 31) != 31);
        REQUIRE(((h[1] >> 10) & 31) != 31);
    }
    std::vector<float> y(x.size());
    gdn::dequantize_row(t, q.data(), y.data(), n);
    return y;
}

using namespace quant_test;

}  // namespace

TEST_CASE("q4_k / q6_k round trip on real row widths", "[quant][quantize][kquant]") {
    // Bounds, as fractions of the row's max |x|. A q4_k sub-block spans at most [-max, max] in 15
    // steps of <= 2/15; a q6_k group maps its largest magnitude to 32 steps of <= 1/32 (the
    // opposite side clamps at 31 steps). After the least-squares fit every value lies within one
    // step: max error <= 2/15 (q4_k) and 1/32 + 1/256 of int8 scale rounding (q6_k). Plain
    // rounding of values spread evenly over the whole range (uniform rows: the worst case) has
    // rms error step/sqrt(12): 0.0385 (q4_k), 0.0090 (q6_k); the bounds allow the latter the
    // int8 scale rounding too. Measured (seed 2024): q4_k max 0.093 rms 0.032, q6_k max 0.020
    // rms 0.0079, both on uniform rows.
    struct Bound {
        double max_rel, rms_rel;
    };
    const auto bound = [](gdn::DType t) {
        return t == gdn::DType::q4_k ? Bound{2.0 / 15, 2.0 / 15 / std::sqrt(12.0)}
                                     : Bound{1.0 / 32 + 1.0 / 256, 0.0095};
    };
    std::mt19937 rng(2024);
    for (gdn::DType t : {gdn::DType::q4_k, gdn::DType::q6_k}) {
        for (Dist d : {Dist::normal, Dist::uniform, Dist::outliers, Dist::laplace, Dist::negative, Dist::zero_block}) {
            RowError worst{0, 0};
            for (int64_t n : {1024, 4096, 5120}) {
                for (float scale : {0.02f, 1.f, 300.f}) {
                    const std::vector<float> x = draw_row(rng, n, d, scale);
                    const std::vector<float> y = round_trip(t, x);
                    const RowError e = row_error(x, y);
                    CHECK(e.max_rel <= bound(t).max_rel);
                    CHECK(e.rms_rel <= bound(t).rms_rel);
                    worst.max_rel = std::max(worst.max_rel, e.max_rel);
                    worst.rms_rel = std::max(worst.rms_rel, e.rms_rel);
                    if (d == Dist::zero_block) {
                        for (int i = 256; i < 512; ++i) REQUIRE(y[static_cast<size_t>(i)] == 0.f);
                    }
                }
            }
            std::printf("%s round trip, %-30s: max |x - deq| = %.5f (bound %.5f), rms = %.5f (bound %.5f) of max |x|\n",
                        std::string(gdn::dtype_name(t)).c_str(), dist_name(d), worst.max_rel, bound(t).max_rel,
                        worst.rms_rel, bound(t).rms_rel);
        }
    }
}

TEST_CASE("q4_k beats q4_0 and q6_k beats q4_k on the same rows", "[quant][quantize][kquant]") {
    // The point of the K-quants' scale search and per-sub-block min: less error than q4_0 at a
    // similar size (4.5 bits), and q6_k (6.56 bits) at most a quarter of q4_k's squared error
    // (measured, seed 77: 5.5x on uniform rows, 14x over all 16).
    std::mt19937 rng(77);
    double r40 = 0, r4k = 0, r6k = 0;  // summed squared errors over all rows
    for (Dist d : {Dist::normal, Dist::uniform, Dist::laplace, Dist::negative}) {
        for (int rep = 0; rep < 4; ++rep) {
            const std::vector<float> x = draw_row(rng, 4096, d, 1.f);
            double e40 = 0, e4k = 0, e6k = 0;
            const std::vector<float> y40 = round_trip(gdn::DType::q4_0, x);
            const std::vector<float> y4k = round_trip(gdn::DType::q4_k, x);
            const std::vector<float> y6k = round_trip(gdn::DType::q6_k, x);
            for (size_t i = 0; i < x.size(); ++i) {
                e40 += (x[i] - y40[i]) * double(x[i] - y40[i]);
                e4k += (x[i] - y4k[i]) * double(x[i] - y4k[i]);
                e6k += (x[i] - y6k[i]) * double(x[i] - y6k[i]);
            }
            CHECK(e4k < e40);
            CHECK(e6k * 4 < e4k);
            r40 += e40;
            r4k += e4k;
            r6k += e6k;
        }
    }
    std::printf("squared error summed over 16 rows: q4_0 %.3f, q4_k %.3f, q6_k %.3f\n", r40, r4k, r6k);
}

TEST_CASE("q4_k / q6_k edge cases: zero, constant and negative-only rows", "[quant][quantize][kquant]") {
    for (gdn::DType t : {gdn::DType::q4_k, gdn::DType::q6_k}) {
        INFO(gdn::dtype_name(t));
        // all zero: every value decodes to exactly 0
        std::vector<float> x(1024, 0.f);
        std::vector<float> y = round_trip(t, x);
        for (float v : y) REQUIRE(v == 0.f);
        // constants: q4_k stores c > 0 as 15 steps of d * 63 (c <= 0 as the min dmin * 63),
        // q6_k as -32 steps of d * -128: one f16 rounding of d, relative error <= 2^-11 while d
        // is a normal f16 (|c| >= 945 * 2^-14 = 0.058 for q4_k, 4096 * 2^-14 = 0.25 for q6_k;
        // below that the subnormal d loses precision, as in ggml: c = 1e-3 comes back 1-2% off)
        for (float c : {0.37f, -0.37f, 3.f, -250.f}) {
            std::fill(x.begin(), x.end(), c);
            y = round_trip(t, x);
            double worst = 0;
            for (float v : y) worst = std::max(worst, std::fabs(static_cast<double>(v) - c) / std::fabs(c));
            CHECK(worst <= 0x1p-11);
            std::printf("%s constant %g: max relative error %.2e\n", std::string(gdn::dtype_name(t)).c_str(), c,
                        worst);
        }
        // negative-only rows (q4_k: all through the min, with the offset at its largest): as
        // accurate as normal rows (measured rms 0.014 / 0.0054 of max |x|)
        std::mt19937 rng(11);
        const std::vector<float> neg = draw_row(rng, 4096, Dist::negative, 1.f);
        y = round_trip(t, neg);
        const RowError e = row_error(neg, y);
        CHECK(e.rms_rel <= (t == gdn::DType::q4_k ? 0.02 : 0.006));
    }
}

TEST_CASE("q4_k / q6_k: values the format represents exactly round-trip exactly", "[quant][quantize][kquant]") {
    // q4_k: d = 2^-6, dmin = 2^-5; sub-block s has 6-bit scale sc[s] and min m[s] and quants that
    // include 0 and 15, so its range is exactly 15 * d * sc[s] and its first fit is exact; the
    // largest scale and min are 63, so d and dmin come back exactly.
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> q16(0, 15), q64(0, 63);
    const int sc[8] = {63, 17, 1, 40, 5, 33, 22, 9};
    const int m[8] = {0, 63, 12, 7, 50, 1, 30, 63};
    std::vector<float> x(512);
    for (int b = 0; b < 2; ++b) {
        for (int s = 0; s < 8; ++s) {
            for (int i = 0; i < 32; ++i) {
                const int q = i == 0 ? 0 : i == 1 ? 15 : q16(rng);
                x[static_cast<size_t>(256 * b + 32 * s + i)] =
                    0x1p-6f * static_cast<float>(sc[s] * q) - 0x1p-5f * static_cast<float>(m[s]);
            }
        }
    }
    std::vector<float> y = round_trip(gdn::DType::q4_k, x);
    double worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(x[i]) - y[i]));
    std::printf("q4_k exactly representable row: max |x - deq| = %.3g\n", worst);
    CHECK(worst == 0.0);

    // q6_k: d = 2^-8; group g has int8 scale g6[g] (one -128, the largest magnitude, so d comes
    // back exactly) and quants that include -32, its largest magnitude, so each group's fit is
    // exact up to float rounding of its sums, which the int8 rounding of the scales removes.
    const int g6[16] = {-128, 127, 3, -7, 64, 1, -1, 100, -100, 45, 12, -128, 90, 2, -33, 77};
    std::vector<float> z(256);
    for (int g = 0; g < 16; ++g) {
        for (int i = 0; i < 16; ++i) {
            const int q = i == 0 ? -32 : q64(rng) - 32;
            z[static_cast<size_t>(16 * g + i)] = 0x1p-8f * static_cast<float>(g6[g] * q);
        }
    }
    y = round_trip(gdn::DType::q6_k, z);
    worst = 0;
    for (size_t i = 0; i < z.size(); ++i) worst = std::max(worst, std::fabs(static_cast<double>(z[i]) - y[i]));
    std::printf("q6_k exactly representable row: max |x - deq| = %.3g\n", worst);
    CHECK(worst == 0.0);
}
