// gdn/quant/quantize/q5_k.hpp - float -> Q5_K (host), the method of ggml's quantize_row_q5_K_ref:
// as Q4_K (gdn/quant/quantize.hpp) with 32 levels: each sub-block of 32 gets a scale and min
// from fit_scale_min (L in 0..31, weights rms(sub-block) + |x|, squared error, step counts 30.5,
// 30.6, ..., 32: make_qkx2_quants(32, 31, x, w, L, &min, Laux, -0.5, 0.1, 15, false));
// d = max scale / 63 and dmin = max min / 63 (f16); each scale and min rounded to 6 bits
// against them; then every value re-rounded against the stored d * sc and dmin * m. Valid GGUF
// blocks close to the input, not promised to equal llama.cpp's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/quant/formats/q5_k.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

inline void quantize_block_q5_k(const float* x, BlockQ5K& y) {
    uint8_t L[256];
    detail::k_quant_scale_min_levels(x, 31, -0.5f, 15, L, y.scales, y.d, y.dmin);   // make_qkx2_quants(32, 31, ..., -0.5, 0.1, 15)
    std::memset(y.qh, 0, sizeof y.qh);
    for (int p = 0; p < 4; ++p) {  // sub-blocks 2p (low nibbles) and 2p + 1 (high) share qs[32p ..]
        for (int l = 0; l < 32; ++l) {
            const int q0 = L[64 * p + l], q1 = L[64 * p + 32 + l];
            y.qs[32 * p + l] = static_cast<uint8_t>((q0 & 0x0f) | ((q1 & 0x0f) << 4));
            y.qh[l] = static_cast<uint8_t>(y.qh[l] | ((q0 >> 4) << (2 * p)) | ((q1 >> 4) << (2 * p + 1)));
        }
    }
}

inline void quantize_row_q5_k(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ5K, 256>(src, dst, n, "quantize_row_q5_k", "q5_k super-block size", quantize_block_q5_k);
}

}  // namespace gdn::quant
