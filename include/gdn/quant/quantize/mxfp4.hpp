// gdn/quant/quantize/mxfp4.hpp - float -> MXFP4 (host), the rule of ggml's
// quantize_row_mxfp4_ref: per block of 32, e = floor(log2(max |x|)) - 2 + 127 (0 for an
// all-zero block), so the scale 2^(e - 128) puts max |x| in [8, 16) of the doubled e2m1
// values (the largest, 12, is 1.5 * 2^floor(log2 max|x|); larger magnitudes clip to it); each
// x takes the code whose value is nearest (the first of equals: +0 before -0).
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>

#include "gdn/quant/formats/mxfp4.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

namespace detail {
/// kvalues_mxfp4: the doubled e2m1 value of each 4-bit code.
inline constexpr int8_t mxfp4_values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

inline uint8_t mxfp4_nearest_code(float x, float d) {
    int best = 0;
    float best_err = fabsf(static_cast<float>(mxfp4_values[0]) * d - x);
    for (int i = 1; i < 16; ++i) {
        const float err = fabsf(static_cast<float>(mxfp4_values[i]) * d - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return static_cast<uint8_t>(best);
}
}  // namespace detail

inline void quantize_block_mxfp4(const float* x, BlockMXFP4& y) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = fmaxf(amax, fabsf(x[j]));
    // below 2^-125 the exponent would be negative (ggml's cast is undefined there): 0; inf or
    // nan inputs get the largest exponent or 0 instead of an undefined cast
    const float e = amax > 0.f ? floorf(log2f(amax)) - 2.f + 127.f : 0.f;
    y.e = static_cast<uint8_t>(fminf(fmaxf(e, 0.f), 254.f));
    const float d = e8m0_half(y.e);
    for (int j = 0; j < 16; ++j) {
        y.qs[j] = static_cast<uint8_t>(detail::mxfp4_nearest_code(x[j], d) |
                                       (detail::mxfp4_nearest_code(x[j + 16], d) << 4));
    }
}

inline void quantize_row_mxfp4(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockMXFP4, 32>(src, dst, n, "quantize_row_mxfp4", "mxfp4 block size", quantize_block_mxfp4);
}

}  // namespace gdn::quant
