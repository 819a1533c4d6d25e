// gdn/quant/quantize/q5_1.hpp - float -> Q5_1 (host), the rule of ggml's quantize_row_q5_1_ref:
// per block of 32, d = (max - min) / 31 and m = min (both stored as f16), q = trunc((x - min) *
// (1/d) + 0.5) (at most 31) with the float (unrounded) d and min.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gdn/quant/formats/q5_1.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

inline void quantize_block_q5_1(const float* x, BlockQ5_1& y) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < 32; ++j) {
        lo = fminf(lo, x[j]);
        hi = fmaxf(hi, x[j]);
    }
    const float d = (hi - lo) / 31.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y.d = f32_to_f16(d);
    y.m = f32_to_f16(lo);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        const int q0 = detail::clamp_int(static_cast<int>((x[j] - lo) * id + 0.5f), 0, 31);
        const int q1 = detail::clamp_int(static_cast<int>((x[j + 16] - lo) * id + 0.5f), 0, 31);
        y.qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
        qh |= static_cast<uint32_t>(q0 >> 4) << j;
        qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(y.qh, &qh, sizeof qh);  // little-endian, as GGUF
}

inline void quantize_row_q5_1(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ5_1, 32>(src, dst, n, "quantize_row_q5_1", "q5_1 block size", quantize_block_q5_1);
}

}  // namespace gdn::quant
