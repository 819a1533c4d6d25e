// f16 / bf16 conversions against their definitions: decoding from the bit fields with
// ldexp, encoding by a nearest-value search over all finite codes (ties to the even code).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "gdn/quant/half.hpp"

using gdn::quant::bf16_to_f32;
using gdn::quant::f16_to_f32;
using gdn::quant::f32_to_bf16;
using gdn::quant::f32_to_f16;

namespace {

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
double spec_f16(uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const double sign = s ? -1.0 : 1.0;
    if (e == 31) return m ? NAN : sign * INFINITY;
    if (e == 0) return sign * std::ldexp(m, -24);
    return sign * std::ldexp(1024 + m, e - 25);
}

// bfloat16: 1 sign, 8 exponent (bias 127), 7 mantissa bits.
double spec_bf16(uint16_t b) {
    const int s = b >> 15, e = (b >> 7) & 255, m = b & 127;
    const double sign = s ? -1.0 : 1.0;
    if (e == 255) return m ? NAN : sign * INFINITY;
    if (e == 0) return sign * std::ldexp(m, -133);
    return sign * std::ldexp(128 + m, e - 134);
}

// Nearest f16 code to x by search over the 0x7c00 non-negative finite codes and the
// virtual next code 0x7c00 (= 65536, i.e. overflow to inf); ties go to the even code.
uint16_t nearest_f16(float xf) {
    static std::vector<double> table = [] {
        std::vector<double> t(0x7c01);
        for (int c = 0; c < 0x7c00; ++c) t[c] = spec_f16(static_cast<uint16_t>(c));
        t[0x7c00] = 65536.0;
        return t;
    }();
    const double x = std::fabs(static_cast<double>(xf));
    const uint16_t sign = std::signbit(xf) ? 0x8000 : 0;
    if (x >= 65536.0) return sign | 0x7c00;
    const auto it = std::upper_bound(table.begin(), table.end(), x);  // first > x
    const int hi = static_cast<int>(it - table.begin());
    const int lo = hi - 1;  // table[lo] <= x < table[hi]
    const double dlo = x - table[lo], dhi = table[hi] - x;
    int c = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
    return static_cast<uint16_t>(sign | c);
}

// Nearest bf16 code: the two candidates are the truncation and the next code up.
uint16_t nearest_bf16(float xf) {
    const uint32_t u = bits(xf);
    const uint16_t lo = static_cast<uint16_t>(u >> 16);
    const uint16_t hi = static_cast<uint16_t>(lo + 1);
    const double x = std::fabs(static_cast<double>(xf));
    const double vlo = std::fabs(spec_bf16(lo));
    // the code after the largest finite magnitude is inf; treat it as 2^128 for distances
    const double vhi = (hi & 0x7fff) == 0x7f80 ? std::ldexp(1.0, 128) : std::fabs(spec_bf16(hi));
    const double dlo = x - vlo, dhi = vhi - x;
    if (dlo < dhi) return lo;
    if (dhi < dlo) return hi;
    return (lo & 1) ? hi : lo;
}

}  // namespace

TEST_CASE("f16 -> f32 matches the bit-field definition for all 65536 codes", "[quant][half]") {
    int checked = 0;
    for (uint32_t c = 0; c < 65536; ++c) {
        const uint16_t h = static_cast<uint16_t>(c);
        const float got = f16_to_f32(h);
        const double want = spec_f16(h);
        if (std::isnan(want)) {
            REQUIRE(std::isnan(got));
        } else {
            REQUIRE(static_cast<double>(got) == want);
            REQUIRE(std::signbit(got) == static_cast<bool>(h & 0x8000));
        }
        ++checked;
    }
    REQUIRE(checked == 65536);
}

TEST_CASE("f16 -> f32 hand-derived values", "[quant][half]") {
    CHECK(f16_to_f32(0x3c00) == 1.0f);
    CHECK(f16_to_f32(0xc000) == -2.0f);
    CHECK(f16_to_f32(0x3555) == 0.333251953125f);      // 1.0101010101b * 2^-2
    CHECK(f16_to_f32(0x7bff) == 65504.0f);             // largest finite
    CHECK(f16_to_f32(0x0400) == 6.103515625e-05f);     // least normal 2^-14
    CHECK(f16_to_f32(0x0001) == 5.9604644775390625e-08f);  // least subnormal 2^-24
    CHECK(f16_to_f32(0x03ff) == 6.097555160522461e-05f);   // 1023 * 2^-24
    CHECK(f16_to_f32(0x8001) == -5.9604644775390625e-08f);
    CHECK(std::isinf(f16_to_f32(0x7c00)));
    CHECK(f16_to_f32(0x7c00) > 0);
    CHECK(std::isinf(f16_to_f32(0xfc00)));
    CHECK(f16_to_f32(0xfc00) < 0);
    CHECK(std::isnan(f16_to_f32(0x7e00)));
    CHECK(std::isnan(f16_to_f32(0x7c01)));  // signalling nan stays nan
    const float nz = f16_to_f32(0x8000);
    CHECK(nz == 0.0f);
    CHECK(std::signbit(nz));
}

TEST_CASE("f32 -> f16 hand-derived rounding cases", "[quant][half]") {
    CHECK(f32_to_f16(1.0f) == 0x3c00);
    CHECK(f32_to_f16(-2.0f) == 0xc000);
    CHECK(f32_to_f16(65504.0f) == 0x7bff);
    CHECK(f32_to_f16(65519.996f) == 0x7bff);  // just below the midpoint 65520
    CHECK(f32_to_f16(65520.0f) == 0x7c00);    // midpoint: ties to even = the inf code
    CHECK(f32_to_f16(1e9f) == 0x7c00);
    CHECK(f32_to_f16(-1e9f) == 0xfc00);
    CHECK(f32_to_f16(INFINITY) == 0x7c00);
    CHECK(f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(f32_to_f16(0.0f) == 0x0000);
    CHECK(f32_to_f16(-0.0f) == 0x8000);
    // 1 + 2^-11 is halfway between 1 (0x3c00, even) and 1 + 2^-10 (0x3c01): goes to even
    CHECK(f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);
    // 1 + 3*2^-11 is halfway between 0x3c01 and 0x3c02: goes to 0x3c02
    CHECK(f32_to_f16(1.0f + 0x3p-11f) == 0x3c02);
    CHECK(f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f) == 0x3c01);  // above the midpoint
    // subnormals: unit 2^-24
    CHECK(f32_to_f16(0x1p-24f) == 0x0001);
    CHECK(f32_to_f16(0x1p-25f) == 0x0000);           // halfway 0 / 1 -> even 0
    CHECK(f32_to_f16(-0x1p-25f) == 0x8000);
    CHECK(f32_to_f16(0x1.000002p-25f) == 0x0001);    // just above halfway
    CHECK(f32_to_f16(0x3p-25f) == 0x0002);           // halfway 1 / 2 -> even 2
    CHECK(f32_to_f16(0x5p-25f) == 0x0002);           // halfway 2 / 3 -> even 2
    CHECK(f32_to_f16(1e-8f) == 0x0000);
    CHECK(f32_to_f16(0x3ffp-24f) == 0x03ff);         // largest subnormal
    CHECK(f32_to_f16(0x7ffp-25f) == 0x0400);         // halfway 0x3ff / 0x400 -> rounds up to normal
    CHECK(f32_to_f16(0x1p-14f) == 0x0400);
    CHECK(f32_to_f16(1e-45f) == 0x0000);             // f32 subnormal
    const uint16_t n = f32_to_f16(NAN);
    CHECK((n & 0x7c00) == 0x7c00);
    CHECK((n & 0x03ff) != 0);
    const uint16_t sn = f32_to_f16(from_bits(0x7f800001u));  // signalling nan, payload in low bits
    CHECK((sn & 0x7c00) == 0x7c00);
    CHECK((sn & 0x03ff) != 0);
}

TEST_CASE("f32 -> f16 equals nearest-code search on ties, neighbours and random floats",
          "[quant][half]") {
    int checked = 0;
    // every midpoint between consecutive finite codes, and one f32 ulp either side
    for (int c = 0; c < 0x7bff; ++c) {
        const double mid = 0.5 * (spec_f16(static_cast<uint16_t>(c)) +
                                  spec_f16(static_cast<uint16_t>(c + 1)));
        const float m = static_cast<float>(mid);  // exact: the midpoint needs 12 bits
        REQUIRE(static_cast<double>(m) == mid);
        for (float x : {m, std::nextafter(m, 0.f), std::nextafter(m, 1e9f)}) {
            REQUIRE(f32_to_f16(x) == nearest_f16(x));
            REQUIRE(f32_to_f16(-x) == nearest_f16(-x));
            checked += 2;
        }
    }
    std::mt19937 rng(1234);
    std::uniform_int_distribution<uint32_t> any_bits;
    std::uniform_real_distribution<float> expo(-30.f, 17.f), unit(1.f, 2.f);
    for (int i = 0; i < 200000; ++i) {
        float x = std::ldexp(unit(rng), static_cast<int>(expo(rng)));
        if (i & 1) x = -x;
        REQUIRE(f32_to_f16(x) == nearest_f16(x));
        const float y = from_bits(any_bits(rng));
        if (!std::isnan(y)) REQUIRE(f32_to_f16(y) == nearest_f16(y));
        checked += 2;
    }
    INFO("checked " << checked);
    std::printf("f16 encode: %d values equal the nearest-code search\n", checked);
}

TEST_CASE("f16 round trip of every finite code is the identity", "[quant][half]") {
    for (uint32_t c = 0; c < 65536; ++c) {
        const uint16_t h = static_cast<uint16_t>(c);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // nan
        REQUIRE(f32_to_f16(f16_to_f32(h)) == h);
    }
}

TEST_CASE("bf16 decode matches the bit-field definition; encode is nearest-even",
          "[quant][half]") {
    for (uint32_t c = 0; c < 65536; ++c) {
        const uint16_t b = static_cast<uint16_t>(c);
        const double want = spec_bf16(b);
        const float got = bf16_to_f32(b);
        if (std::isnan(want)) {
            REQUIRE(std::isnan(got));
            REQUIRE(std::isnan(bf16_to_f32(f32_to_bf16(got))));
        } else {
            REQUIRE(static_cast<double>(got) == want);
            REQUIRE(f32_to_bf16(got) == b);
        }
    }
    CHECK(bf16_to_f32(0x3f80) == 1.0f);
    CHECK(bf16_to_f32(0xc040) == -3.0f);
    CHECK(bf16_to_f32(0x0001) == 0x1p-133f);  // least subnormal
    CHECK(f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80);          // tie -> even
    CHECK(f32_to_bf16(1.0f + 0x3p-8f) == 0x3f82);          // tie -> even
    CHECK(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81);
    CHECK(f32_to_bf16(from_bits(0x7f7fffffu)) == 0x7f80);  // max float rounds to inf
    CHECK(f32_to_bf16(-0.0f) == 0x8000);
    CHECK(f32_to_bf16(0x1p-133f) == 0x0001);               // subnormal kept, not flushed
    CHECK(f32_to_bf16(0x1p-134f) == 0x0000);               // tie -> even 0
    const uint16_t n = f32_to_bf16(from_bits(0x7f800001u));  // nan with payload only in low bits
    CHECK((n & 0x7f80) == 0x7f80);
    CHECK((n & 0x007f) != 0);

    std::mt19937 rng(99);
    std::uniform_int_distribution<uint32_t> any_bits;
    int checked = 0;
    for (int i = 0; i < 500000; ++i) {
        const float x = from_bits(any_bits(rng));
        if (std::isnan(x)) continue;
        REQUIRE(f32_to_bf16(x) == nearest_bf16(x));
        ++checked;
    }
    std::printf("bf16 encode: %d random floats equal the nearest-code search\n", checked);
}
