// Block layouts: blocks are packed in the test from chosen quants and scales following
// ggml's definition of each format, and the decoded values are compared with the formula
// evaluated on the chosen numbers (never with the code under test). Scales are decoded
// by the test's own ldexp-based f16 reader.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "gdn/quant/formats.hpp"

using namespace gdn::quant;

namespace {

double spec_f16(uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    const double v = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

// A random finite f16 scale of moderate size (exponent 2^-10 .. 2^2), either sign if asked.
uint16_t random_scale(std::mt19937& rng, bool allow_negative) {
    std::uniform_int_distribution<int> e(5, 17), m(0, 1023), s(0, 1);
    const int sign = allow_negative ? s(rng) : 0;
    return static_cast<uint16_t>((sign << 15) | (e(rng) << 10) | m(rng));
}

// Relative tolerance on the block's largest magnitude: each decoded value is at most
// three float roundings away from the exact product.
constexpr double kRel = 1e-6;

double max_abs(const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::fabs(x));
    return m;
}

template <class F>
double check_dequant(const typename F::block_type& b, const std::vector<double>& want) {
    std::vector<float> got(F::block_elems, NAN);
    gdn::dequantize_block<F>(b, got.data());
    const double tol = kRel * std::max(1.0, max_abs(want));
    double err = 0;
    for (int j = 0; j < F::block_elems; ++j) {
        INFO("element " << j << " got " << got[j] << " want " << want[j]);
        REQUIRE(std::fabs(got[j] - want[j]) <= tol);
        err = std::max(err, std::fabs(got[j] - want[j]));
    }
    return err;
}

// dot_block against a naive double loop over the block's dequantised values.
template <class F>
double check_dot(const typename F::block_type& b, std::mt19937& rng) {
    std::vector<float> x(F::block_elems), v(F::block_elems);
    std::normal_distribution<float> n(0.f, 1.f);
    for (float& xi : x) xi = n(rng);
    gdn::dequantize_block<F>(b, v.data());
    double want = 0, mag = 0;
    for (int j = 0; j < F::block_elems; ++j) {
        want += static_cast<double>(v[j]) * x[j];
        mag += std::fabs(static_cast<double>(v[j]) * x[j]);
    }
    const float got = gdn::dot_block<F>(b, x.data());
    // float accumulation over <= 256 terms: a few hundred ulps of the magnitude sum at worst
    const double tol = 1e-5 * std::max(mag, 1e-30);
    INFO("dot got " << got << " want " << want << " tol " << tol);
    REQUIRE(std::fabs(got - want) <= tol);
    return std::fabs(got - want) / std::max(mag, 1e-30);
}

}  // namespace

TEST_CASE("plain formats decode their raw bits", "[quant][blocks]") {
    CHECK(gdn::f32::block_bytes == 4);
    float f = 0;
    const float v = -3.25f;
    gdn::dequantize_block<gdn::f32>(v, &f);
    CHECK(f == -3.25f);
    // f16 0x4248 = 1.0010010000b * 2^1 = 3.140625; bf16 0x4049 = 1.1001001b * 2^1 = 3.140625
    gdn::dequantize_block<gdn::f16>(uint16_t{0x4248}, &f);
    CHECK(f == 3.140625f);
    gdn::dequantize_block<gdn::bf16>(uint16_t{0x4049}, &f);
    CHECK(f == 3.140625f);
    gdn::dequantize_block<gdn::f16>(uint16_t{0x0001}, &f);  // subnormal
    CHECK(f == 0x1p-24f);
    gdn::dequantize_block<gdn::bf16>(uint16_t{0xc2f7}, &f);  // -(1.1110111b * 2^6) = -123.5
    CHECK(f == -123.5f);
    const float x = 2.0f;
    CHECK(gdn::dot_block<gdn::f16>(uint16_t{0x4248}, &x) == 6.28125f);
    CHECK(gdn::dot_block<gdn::bf16>(uint16_t{0xc2f7}, &x) == -247.0f);
    CHECK(gdn::dot_block<gdn::f32>(v, &x) == -6.5f);
}

TEST_CASE("Q8_0 hand-built block", "[quant][blocks]") {
    // literal: d = 0x3800 = 0.5, qs[j] = 4j - 64 (covers -64..60)
    BlockQ8_0 b{};
    b.d = 0x3800;
    for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(4 * j - 64);
    std::vector<double> want(32);
    for (int j = 0; j < 32; ++j) want[j] = 2.0 * j - 32.0;
    check_dequant<gdn::q8_0>(b, want);

    // bytes at their offsets: d little-endian at 0..1, qs at 2..33
    unsigned char raw[34];
    std::memcpy(raw, &b, 34);
    CHECK(raw[0] == 0x00);
    CHECK(raw[1] == 0x38);
    CHECK(static_cast<int8_t>(raw[2]) == -64);
    CHECK(static_cast<int8_t>(raw[33]) == 60);

    std::mt19937 rng(8);
    std::uniform_int_distribution<int> q(-128, 127);
    double err = 0, derr = 0;
    for (int t = 0; t < 200; ++t) {
        b.d = random_scale(rng, true);
        for (int j = 0; j < 32; ++j) {
            b.qs[j] = static_cast<int8_t>(q(rng));
            want[j] = spec_f16(b.d) * b.qs[j];
        }
        err = std::max(err, check_dequant<gdn::q8_0>(b, want));
        derr = std::max(derr, check_dot<gdn::q8_0>(b, rng));
    }
    std::printf("q8_0: max dequant abs err %.3g, max dot rel err %.3g\n", err, derr);
}

TEST_CASE("Q4_0 hand-built block", "[quant][blocks]") {
    // literal: d = 0x4000 = 2; element j < 16 is the low nibble (j) of qs[j] -> 2*(j-8),
    // element j+16 is the high nibble (15-j) -> 2*(7-j)
    BlockQ4_0 b{};
    b.d = 0x4000;
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    std::vector<double> want(32);
    for (int j = 0; j < 16; ++j) {
        want[j] = 2.0 * (j - 8);
        want[j + 16] = 2.0 * (7 - j);
    }
    check_dequant<gdn::q4_0>(b, want);

    std::mt19937 rng(4);
    std::uniform_int_distribution<int> q(0, 15);
    double err = 0, derr = 0;
    for (int t = 0; t < 200; ++t) {
        b.d = random_scale(rng, true);
        int quants[32];
        for (int& qi : quants) qi = q(rng);
        for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(quants[j] + 16 * quants[j + 16]);
        for (int j = 0; j < 32; ++j) want[j] = spec_f16(b.d) * (quants[j] - 8);
        err = std::max(err, check_dequant<gdn::q4_0>(b, want));
        derr = std::max(derr, check_dot<gdn::q4_0>(b, rng));
    }
    std::printf("q4_0: max dequant abs err %.3g, max dot rel err %.3g\n", err, derr);
}

namespace {

// Q4_K: 6-bit scale sc[s] and min mn[s] of sub-block s packed as ggml's quantize_row_q4_K
// stores them: s < 4 in the low 6 bits of bytes s (scale) and s+4 (min); s >= 4 in the two
// nibbles of byte s+4 (scale low, min high) with their top 2 bits in bits 6-7 of bytes
// s-4 (scale) and s (min).
void pack_q4_k_scales(const int* sc, const int* mn, uint8_t* out) {
    std::memset(out, 0, 12);
    for (int s = 0; s < 8; ++s) {
        if (s < 4) {
            out[s] = static_cast<uint8_t>(out[s] | sc[s]);
            out[s + 4] = static_cast<uint8_t>(out[s + 4] | mn[s]);
        } else {
            out[s + 4] = static_cast<uint8_t>((sc[s] & 15) | ((mn[s] & 15) << 4));
            out[s - 4] = static_cast<uint8_t>(out[s - 4] | ((sc[s] >> 4) << 6));
            out[s] = static_cast<uint8_t>(out[s] | ((mn[s] >> 4) << 6));
        }
    }
}

}  // namespace

TEST_CASE("Q4_K hand-built block", "[quant][blocks]") {
    std::mt19937 rng(12);
    std::uniform_int_distribution<int> q4(0, 15), six(0, 63);
    std::vector<double> want(256);
    double err = 0, derr = 0;
    for (int t = 0; t < 200; ++t) {
        BlockQ4K b{};
        b.d = random_scale(rng, false);
        b.dmin = random_scale(rng, false);
        int sc[8], mn[8], quants[256];
        for (int s = 0; s < 8; ++s) {
            sc[s] = six(rng);
            mn[s] = six(rng);
        }
        if (t == 0) {  // the extremes of every 6-bit field
            for (int s = 0; s < 8; ++s) {
                sc[s] = s % 2 ? 63 : 0;
                mn[s] = s % 2 ? 0 : 63;
            }
        }
        for (int& qi : quants) qi = q4(rng);
        pack_q4_k_scales(sc, mn, b.scales);
        // 64 elements per 32 bytes: element 64p + l in the low nibble of qs[32p + l],
        // element 64p + 32 + l in its high nibble
        for (int p = 0; p < 4; ++p) {
            for (int l = 0; l < 32; ++l) {
                b.qs[32 * p + l] = static_cast<uint8_t>(quants[64 * p + l] | (quants[64 * p + 32 + l] << 4));
            }
        }
        for (int j = 0; j < 256; ++j) {
            const int s = j / 32;
            want[j] = spec_f16(b.d) * sc[s] * quants[j] - spec_f16(b.dmin) * mn[s];
        }
        err = std::max(err, check_dequant<gdn::q4_k>(b, want));
        derr = std::max(derr, check_dot<gdn::q4_k>(b, rng));

        // the scale helper agrees with the chosen numbers
        for (int s = 0; s < 8; ++s) {
            int gs = -1, gm = -1;
            q4_k_scale_min(s, b.scales, gs, gm);
            REQUIRE(gs == sc[s]);
            REQUIRE(gm == mn[s]);
        }
    }
    std::printf("q4_k: max dequant abs err %.3g, max dot rel err %.3g\n", err, derr);

    // literal byte offsets: d at 0, dmin at 2, scales at 4..15, qs at 16..143
    BlockQ4K b{};
    b.d = 0x3c00;     // 1
    b.dmin = 0x3800;  // 0.5
    b.scales[0] = 3;  // sub-block 0: scale 3
    b.scales[4] = 2;  // sub-block 0: min 2
    b.qs[0] = 0x5a;   // element 0: 10, element 32 (sub-block 1, scale 0 min 0): 5
    unsigned char raw[144];
    std::memcpy(raw, &b, 144);
    CHECK(raw[1] == 0x3c);
    CHECK(raw[3] == 0x38);
    CHECK(raw[4] == 3);
    CHECK(raw[16] == 0x5a);
    float out[256];
    gdn::dequantize_block<gdn::q4_k>(b, out);
    CHECK(out[0] == 1.0f * 3 * 10 - 0.5f * 2);  // 29
    CHECK(out[1] == -1.0f);                     // quant 0: just the min
    CHECK(out[32] == 0.0f);
}

TEST_CASE("Q6_K hand-built block", "[quant][blocks]") {
    std::mt19937 rng(6);
    std::uniform_int_distribution<int> q6(0, 63), s8(-128, 127);
    std::vector<double> want(256);
    double err = 0, derr = 0;
    for (int t = 0; t < 200; ++t) {
        BlockQ6K b{};
        b.d = random_scale(rng, true);
        int quants[256];
        for (int& qi : quants) qi = q6(rng);
        if (t == 0) {
            for (int j = 0; j < 256; ++j) quants[j] = j % 2 ? 63 : 0;
        }
        for (int g = 0; g < 16; ++g) b.scales[g] = static_cast<int8_t>(s8(rng));
        // ggml's packing: per 128 elements, for l < 32 the four elements l, l+32, l+64, l+96
        // give low nibbles to ql[l] (l, l+64 as low/high) and ql[l+32] (l+32, l+96), and
        // their top two bits to qh[l] at bit offsets 0, 2, 4, 6
        for (int h = 0; h < 2; ++h) {
            const int* qq = quants + 128 * h;
            for (int l = 0; l < 32; ++l) {
                const int a = qq[l], c = qq[l + 32], e = qq[l + 64], f = qq[l + 96];
                b.ql[64 * h + l] = static_cast<uint8_t>((a & 15) | ((e & 15) << 4));
                b.ql[64 * h + l + 32] = static_cast<uint8_t>((c & 15) | ((f & 15) << 4));
                b.qh[32 * h + l] = static_cast<uint8_t>((a >> 4) | ((c >> 4) << 2) | ((e >> 4) << 4) | ((f >> 4) << 6));
            }
        }
        for (int j = 0; j < 256; ++j) want[j] = spec_f16(b.d) * b.scales[j / 16] * (quants[j] - 32);
        err = std::max(err, check_dequant<gdn::q6_k>(b, want));
        derr = std::max(derr, check_dot<gdn::q6_k>(b, rng));
        for (int j = 0; j < 256; ++j) REQUIRE(q6_k_quant(b, j) == quants[j]);
    }
    std::printf("q6_k: max dequant abs err %.3g, max dot rel err %.3g\n", err, derr);

    // literal byte offsets: ql at 0, qh at 128, scales at 192, d at 208
    BlockQ6K b{};
    b.ql[0] = 0x21;     // element 0 low bits 1, element 64 low bits 2
    b.qh[0] = 0b10'00'00'11;  // element 0 high bits 3 -> q = 49; element 96 high bits 2 -> q = 32
    b.scales[0] = -2;
    b.scales[4] = 3;
    b.scales[6] = 5;
    b.d = 0x3400;  // 0.25
    unsigned char raw[210];
    std::memcpy(raw, &b, 210);
    CHECK(raw[0] == 0x21);
    CHECK(raw[128] == 0x83);
    CHECK(static_cast<int8_t>(raw[192]) == -2);
    CHECK(raw[209] == 0x34);
    float out[256];
    gdn::dequantize_block<gdn::q6_k>(b, out);
    CHECK(out[0] == 0.25f * -2 * (49 - 32));  // -8.5
    CHECK(out[64] == 0.25f * 3 * (2 - 32));   // -22.5
    CHECK(out[96] == 0.25f * 5 * (32 - 32));  // 0
    CHECK(out[1] == 0.25f * -2 * -32);        // all-zero bits: 16
}
