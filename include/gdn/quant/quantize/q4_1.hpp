// gdn/quant/quantize/q4_1.hpp - float -> Q4_1 (host), the rule of ggml's quantize_row_q4_1_ref:
// per block of 32, d = (max - min) / 15 and m = min (both stored as f16), q = min(15,
// trunc((x - min) * (1/d) + 0.5)) with the float (unrounded) d and min.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gdn/quant/formats/q4_1.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

inline void quantize_block_q4_1(const float* x, BlockQ4_1& y) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < 32; ++j) {
        lo = fminf(lo, x[j]);
        hi = fmaxf(hi, x[j]);
    }
    const float d = (hi - lo) / 15.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y.d = f32_to_f16(d);
    y.m = f32_to_f16(lo);
    for (int j = 0; j < 16; ++j) {
        // (x - min) * id + 0.5 lies in [0.5, 15.5] (up to rounding): truncation is a floor
        const int q0 = static_cast<int>((x[j] - lo) * id + 0.5f);
        const int q1 = static_cast<int>((x[j + 16] - lo) * id + 0.5f);
        y.qs[j] = static_cast<uint8_t>((q0 < 15 ? q0 : 15) | ((q1 < 15 ? q1 : 15) << 4));
    }
}

inline void quantize_row_q4_1(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ4_1, 32>(src, dst, n, "quantize_row_q4_1", "q4_1 block size", quantize_block_q4_1);
}

}  // namespace gdn::quant
