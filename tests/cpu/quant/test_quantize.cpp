// Quantisers: exact bytes on hand-computed inputs (ggml's reference rules: q8_0
// d = amax/127, q = roundf(x * (1/d)); q4_0 d = max/-8, q = min(15, trunc(x * (1/d) + 8.5))),
// bytes equal to a restatement of those rules on random rows, and round-trip error bounds.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/quantize.hpp"

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

    for (gdn::DType t : {gdn::DType::q4_k, gdn::DType::q6_k}) {
        try {
            quantize_row(t, x.data(), buf.data(), 256);
            FAIL("quantize_row accepted a type without a quantiser");
        } catch (const gdn::Error& e) {
            const std::string msg = e.what();
            CHECK(msg.find(std::to_string(static_cast<uint32_t>(t))) != std::string::npos);
        }
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
}
