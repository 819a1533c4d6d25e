// gdn/quant/quantize/q2_k.hpp - float -> Q2_K (host), the method of ggml's quantize_row_q2_K_ref:
// each sub-block of 16 gets a scale and min from fit_scale_min (L in 0..3, weights |x|, absolute
// error, step counts 2.5, 2.6, ..., 4: make_qkx2_quants(16, 3, x, |x|, L, &min, Laux, -0.5,
// 0.1, 15, true)); d = max scale / 15 and dmin = max min / 15 (f16); each scale and min rounded
// to 4 bits against them; then every value re-rounded against the stored d * sc and dmin * m.
// Valid GGUF blocks close to the input, not promised to equal llama.cpp's bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gdn/quant/formats/q2_k.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

inline void quantize_block_q2_k(const float* x, BlockQ2K& y) {
    uint8_t L[256];
    float scale[16], min[16], w[16];
    float max_scale = 0.f, max_min = 0.f;
    for (int s = 0; s < 16; ++s) {
        const float* xs = x + 16 * s;
        for (int i = 0; i < 16; ++i) w[i] = fabsf(xs[i]);
        scale[s] = detail::fit_scale_min(xs, w, 16, 3, -0.5f, 0.1f, 15, true, L + 16 * s, min[s]);
        max_scale = fmaxf(max_scale, scale[s]);
        max_min = fmaxf(max_min, min[s]);
    }
    const float inv_scale = max_scale > 0.f ? 15.f / max_scale : 0.f;
    const float inv_min = max_min > 0.f ? 15.f / max_min : 0.f;
    for (int s = 0; s < 16; ++s) {
        const int sc = detail::clamp_int(detail::nearest_int(inv_scale * scale[s]), 0, 15);
        const int m = detail::clamp_int(detail::nearest_int(inv_min * min[s]), 0, 15);
        y.scales[s] = static_cast<uint8_t>(sc | (m << 4));
    }
    y.d = f32_to_f16(max_scale / 15.f);
    y.dmin = f32_to_f16(max_min / 15.f);
    const float d = f16_to_f32(y.d), dmin = f16_to_f32(y.dmin);
    for (int s = 0; s < 16; ++s) {
        const float ds = d * static_cast<float>(y.scales[s] & 0x0f);
        if (ds == 0.f) continue;  // keeps the quants of the fit: they all decode to -min
        const float ms = dmin * static_cast<float>(y.scales[s] >> 4);
        for (int i = 0; i < 16; ++i) {
            L[16 * s + i] = static_cast<uint8_t>(detail::clamp_int(detail::nearest_int((x[16 * s + i] + ms) / ds), 0, 3));
        }
    }
    for (int h = 0; h < 2; ++h) {  // element 128h + 32k + l: bits 2k of qs[32h + l]
        for (int l = 0; l < 32; ++l) {
            y.qs[32 * h + l] = static_cast<uint8_t>(L[128 * h + l] | (L[128 * h + 32 + l] << 2) |
                                                    (L[128 * h + 64 + l] << 4) | (L[128 * h + 96 + l] << 6));
        }
    }
}

inline void quantize_row_q2_k(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ2K, 256>(src, dst, n, "quantize_row_q2_k", "q2_k super-block size", quantize_block_q2_k);
}

}  // namespace gdn::quant
