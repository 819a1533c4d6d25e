// gdn/quant/quantize/q3_k.hpp - float -> Q3_K (host), the method of ggml's quantize_row_q3_K_ref:
// each sub-block of 16 gets a signed scale from q3_k_fit_group (ggml's make_q3_quants(16, 4, x,
// L, true)); the scale of largest magnitude maps to the 6-bit -32, so d = -(that scale) / 32
// (f16) and the others round to -32..31 against it; then every value re-rounded against the
// stored d * sc into -4..3. Valid GGUF blocks close to the input, not promised to equal
// llama.cpp's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/quant/formats/q3_k.hpp"
#include "gdn/quant/quantize.hpp"

namespace gdn::quant {

namespace detail {
/// One Q3_K group of 16: a signed scale with x[i] ~ scale * (L[i] - 4), L in 0..7, weights x^2.
/// The value of largest magnitude (first on ties) maps to -4; the scale is the weighted least
/// squares one of those quants; then up to 5 passes move single quants to the value the other
/// quants' fit asks for, keeping each move that raises the explained energy sumlx^2 / suml2.
/// As in ggml a move is only tried while the sums without that quant are positive, i.e. when
/// the largest-magnitude value is negative (the scale positive). An all-zero group gives 0.
inline float q3_k_fit_group(const float* x, uint8_t* L) {
    float amax = 0.f, max = 0.f;
    for (int i = 0; i < 16; ++i) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    }
    if (amax < 1e-15f) {  // ggml's GROUP_MAX_EPS
        for (int i = 0; i < 16; ++i) L[i] = 0;
        return 0.f;
    }
    const float inv = -4.f / max;
    int l[16];
    float sumlx = 0.f, suml2 = 0.f;
    for (int i = 0; i < 16; ++i) {
        l[i] = clamp_int(nearest_int(inv * x[i]), -4, 3);
        const float w = x[i] * x[i], fl = static_cast<float>(l[i]);
        sumlx += w * x[i] * fl;
        suml2 += w * fl * fl;
    }
    for (int pass = 0; pass < 5; ++pass) {
        int changed = 0;
        for (int i = 0; i < 16; ++i) {
            const float w = x[i] * x[i], fl = static_cast<float>(l[i]);
            float slx = sumlx - w * x[i] * fl;
            if (!(slx > 0.f)) continue;
            float sl2 = suml2 - w * fl * fl;
            const int nl = clamp_int(nearest_int(x[i] * sl2 / slx), -4, 3);
            if (nl == l[i]) continue;
            const float fn = static_cast<float>(nl);
            slx += w * x[i] * fn;
            sl2 += w * fn * fn;
            if (sl2 > 0.f && slx * slx * suml2 > sumlx * sumlx * sl2) {
                l[i] = nl;
                sumlx = slx;
                suml2 = sl2;
                ++changed;
            }
        }
        if (changed == 0) break;
    }
    for (int i = 0; i < 16; ++i) L[i] = static_cast<uint8_t>(l[i] + 4);
    return suml2 > 0.f ? sumlx / suml2 : 0.f;
}

/// Store the biased 6-bit scale v (0..63) of sub-block s into the 12 packed bytes (the
/// inverse of q3_k_scale); bytes must start zeroed.
inline void q3_k_pack_scale(int s, int v, uint8_t* bytes) {
    bytes[s & 7] = static_cast<uint8_t>(bytes[s & 7] | ((v & 0x0f) << (4 * (s >> 3))));
    bytes[8 + (s & 3)] = static_cast<uint8_t>(bytes[8 + (s & 3)] | ((v >> 4) << (2 * (s >> 2))));
}
}  // namespace detail

inline void quantize_block_q3_k(const float* x, BlockQ3K& y) {
    uint8_t L[256];
    float scale[16];
    float max_scale = 0.f, max_abs = 0.f;
    for (int s = 0; s < 16; ++s) {
        scale[s] = detail::q3_k_fit_group(x + 16 * s, L + 16 * s);
        if (fabsf(scale[s]) > max_abs) {
            max_abs = fabsf(scale[s]);
            max_scale = scale[s];
        }
    }
    std::memset(y.scales, 0, sizeof y.scales);
    if (max_scale != 0.f) {
        const float iscale = -32.f / max_scale;
        for (int s = 0; s < 16; ++s) {
            const int v = detail::clamp_int(detail::nearest_int(iscale * scale[s]), -32, 31) + 32;
            detail::q3_k_pack_scale(s, v, y.scales);
        }
        y.d = f32_to_f16(1.f / iscale);
    } else {
        y.d = f32_to_f16(0.f);
    }
    const float d = f16_to_f32(y.d);
    for (int s = 0; s < 16; ++s) {
        const float ds = d * static_cast<float>(q3_k_scale(s, y.scales));
        if (ds == 0.f) continue;
        for (int i = 0; i < 16; ++i) {
            L[16 * s + i] = static_cast<uint8_t>(detail::clamp_int(detail::nearest_int(x[16 * s + i] / ds), -4, 3) + 4);
        }
    }
    std::memset(y.hmask, 0, sizeof y.hmask);
    for (int e = 0; e < 256; ++e) {  // third bit of element e: bit e / 32 of hmask[e % 32]
        if (L[e] > 3) {
            y.hmask[e & 31] = static_cast<uint8_t>(y.hmask[e & 31] | (1 << (e >> 5)));
            L[e] = static_cast<uint8_t>(L[e] - 4);
        }
    }
    for (int h = 0; h < 2; ++h) {  // low bits of element 128h + 32k + l: bits 2k of qs[32h + l]
        for (int l = 0; l < 32; ++l) {
            y.qs[32 * h + l] = static_cast<uint8_t>(L[128 * h + l] | (L[128 * h + 32 + l] << 2) |
                                                    (L[128 * h + 64 + l] << 4) | (L[128 * h + 96 + l] << 6));
        }
    }
}

inline void quantize_row_q3_k(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ3K, 256>(src, dst, n, "quantize_row_q3_k", "q3_k super-block size", quantize_block_q3_k);
}

}  // namespace gdn::quant
