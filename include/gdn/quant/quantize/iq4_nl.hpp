// gdn/quant/quantize/iq4_nl.hpp - float -> IQ4_NL (host only), by the method of llama.cpp's
// quantize_iq4_nl without an importance matrix (what llama-quantize writes for IQ4_NL): per block
// of 32 a scale search over the non-linear table kvalues_iq4nl with weights x^2, then every value
// rounded to the table entry nearest to x / d. Valid blocks that decode close to the input, not
// promised to equal llama.cpp's bytes: the final rounding here is against the stored (f16) scale,
// llama.cpp's against the float one. (ggml's quantize_row_iq4_nl_ref, which it uses for
// activations, skips the search and the final rounding.)
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq4_nl.hpp"
#include "gdn/quant/half.hpp"

namespace gdn::quant {

namespace iq4_detail {

/// Index of the entry of kvalues_iq4nl nearest to v (the larger one on a tie): the number of
/// midpoints of consecutive entries that v reaches, compared at twice the scale so that the
/// midpoints are exact.
inline int nearest_index(float v) {
    const float v2 = v + v;
    int idx = 0;
    for (int i = 1; i < 16; ++i) idx += v2 >= static_cast<float>(iq::iq4nl_values[i - 1] + iq::iq4nl_values[i]);
    return idx;
}

/// The signed scale d of a group of 32 with x[j] ~ d * kvalues[L[j]], weights x[j]^2, and the
/// indices L of its best trial. Trials: the value of largest magnitude (`max`, the first on
/// ties) mapped to +127, then to -127 + k for k = -7..7 (the table's ends are -127 and 113, so
/// the negative side has more room); each trial rounds every value to its nearest entry,
/// takes the weighted least-squares scale of those entries, and the one explaining the most
/// weighted energy (sum w q x)^2 / (sum w q^2) wins. A group of magnitude below 1e-15 (ggml's
/// GROUP_MAX_EPS) gives 0.
inline float fit_group(const float* x, uint8_t* L) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < 32; ++j) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    if (amax < 1e-15f) {
        std::memset(L, 0, 32);
        return 0.f;
    }
    // sum_j w q x and sum_j w q^2 for the nearest entries of inv * x
    const auto sums = [&](float inv, float& sqx, float& sq2, uint8_t* out) {
        sqx = sq2 = 0.f;
        for (int j = 0; j < 32; ++j) {
            const int l = nearest_index(inv * x[j]);
            if (out) out[j] = static_cast<uint8_t>(l);
            const float q = iq::iq4nl_values[l], w = x[j] * x[j];
            sqx += w * q * x[j];
            sq2 += w * q * q;
        }
    };
    float sqx, sq2;
    sums(127.f / max, sqx, sq2, L);
    float d = sq2 > 0.f ? sqx / sq2 : 0.f;
    float best = d * sqx;
    for (int k = -7; k <= 7; ++k) {
        sums(static_cast<float>(k - 127) / max, sqx, sq2, nullptr);
        if (sq2 > 0.f && sqx * sqx > best * sq2) {
            d = sqx / sq2;
            best = d * sqx;
        }
    }
    return d;
}

/// Indices of x[0..n) against the scale d (all the entry nearest 0 when d is 0).
inline void round_to_scale(const float* x, int n, float d, uint8_t* L) {
    const float inv = d != 0.f ? 1.f / d : 0.f;
    for (int j = 0; j < n; ++j) L[j] = static_cast<uint8_t>(nearest_index(inv * x[j]));
}

/// Packs the 32 indices of a group into 16 bytes: element j low nibble, j + 16 high.
inline void pack_group(const uint8_t* L, uint8_t* qs) {
    for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
}

}  // namespace iq4_detail

/// One IQ4_NL block of 32: the scale of iq4_detail::fit_group stored as f16, then every value
/// rounded to the nearest table entry of the stored scale.
inline void quantize_block_iq4_nl(const float* x, BlockIQ4NL& y) {
    uint8_t L[32];
    const float d = iq4_detail::fit_group(x, L);
    y.d = f32_to_f16(d);
    iq4_detail::round_to_scale(x, 32, f16_to_f32(y.d), L);
    iq4_detail::pack_group(L, y.qs);
}

/// n values from src into the bytes of dst (n / 32 blocks of 18 bytes, any alignment).
inline void quantize_row_iq4_nl(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 32 == 0, "quantize_row_iq4_nl: n = ", n, " is not a multiple of the iq4_nl block size 32");
    for (int64_t i = 0; i < n / 32; ++i) {
        BlockIQ4NL b;
        quantize_block_iq4_nl(src + 32 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
