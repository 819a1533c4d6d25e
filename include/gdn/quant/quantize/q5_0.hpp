// gdn/quant/quantize/q5_0.hpp - float -> Q5_0 (host), the rule of ggml's quantize_row_q5_0_ref:
// per block of 32, d = -max / 16 where max is the value of largest magnitude (first one on
// ties), so max maps to quant 0 exactly; q = min(31, trunc(x * (1/d) + 16.5)).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gdn/quant/formats/q5_0.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

inline void quantize_block_q5_0(const float* x, BlockQ5_0& y) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < 32; ++j) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    const float d = max / -16.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y.d = f32_to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        // x * id + 16.5 lies in [0.5, 32.5] (up to rounding), so truncation is a floor
        const int q0 = detail::clamp_int(static_cast<int>(x[j] * id + 16.5f), 0, 31);
        const int q1 = detail::clamp_int(static_cast<int>(x[j + 16] * id + 16.5f), 0, 31);
        y.qs[j] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
        qh |= static_cast<uint32_t>(q0 >> 4) << j;
        qh |= static_cast<uint32_t>(q1 >> 4) << (j + 16);
    }
    std::memcpy(y.qh, &qh, sizeof qh);  // little-endian, as GGUF
}

inline void quantize_row_q5_0(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ5_0, 32>(src, dst, n, "quantize_row_q5_0", "q5_0 block size", quantize_block_q5_0);
}

}  // namespace gdn::quant
