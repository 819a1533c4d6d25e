// gdn/quant/quantize.hpp - float -> storage format. q8_0 and q4_0 match ggml's reference
// quantisers (quantize_row_q8_0_ref / quantize_row_q4_0_ref) byte for byte on the host; their
// single-block functions are host+device: the GPU KV cache quantises one block of 32 at a
// time. Device results equal the host ones unless built with --use_fast_math (which
// changes the divisions).
// q4_k and q6_k (host only) follow the method of ggml's quantize_row_q4_K_ref /
// quantize_row_q6_K_ref (a per-sub-block scale search, then scales quantised against the
// super-block scale): valid GGUF blocks that decode close to the input, but not promised to
// equal llama.cpp's bytes.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/quant/blocks.hpp"
#include "gdn/quant/half.hpp"

namespace gdn::quant {

/// d = amax / 127 (stored as f16), q[j] = round-half-away(x[j] / d) via x[j] * (1/d) as ggml.
GDN_HOST_DEVICE GDN_FORCEINLINE void quantize_block_q8_0(const float* x, BlockQ8_0& y) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y.d = f32_to_f16(d);
    for (int j = 0; j < 32; ++j) y.qs[j] = static_cast<int8_t>(roundf(x[j] * id));
}

/// d = -max / 8 where max is the value of largest magnitude (first one on ties), so max
/// maps to quant 0 exactly; q = min(15, trunc(x / d + 8.5)).
GDN_HOST_DEVICE GDN_FORCEINLINE void quantize_block_q4_0(const float* x, BlockQ4_0& y) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < 32; ++j) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    const float d = max / -8.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    y.d = f32_to_f16(d);
    for (int j = 0; j < 16; ++j) {
        // x * id + 8.5 lies in [0.5, 16.5] (up to rounding), so truncation is a floor.
        const int q0 = static_cast<int>(x[j] * id + 8.5f);
        const int q1 = static_cast<int>(x[j + 16] * id + 8.5f);
        y.qs[j] = static_cast<uint8_t>((q0 < 15 ? q0 : 15) | ((q1 < 15 ? q1 : 15) << 4));
    }
}

// Row functions: n values from src into the bytes of dst (dtype_row_bytes(type, n) of
// them, any alignment). n must be a multiple of the block size.

namespace row_detail {
/// n values as n / N blocks of type Block, each from `quantize(src + N*i, block)`.
template <class Block, int N, class Quantize>
void quantize_blocks(const float* src, std::byte* dst, int64_t n, const char* who, const char* unit,
                     Quantize quantize) {
    GDN_CHECK(n >= 0 && n % N == 0, who, ": n = ", n, " is not a multiple of the ", unit, " ", N);
    for (int64_t i = 0; i < n / N; ++i) {
        Block b;
        quantize(src + N * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}
}  // namespace row_detail

inline void quantize_row_q8_0(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ8_0, 32>(src, dst, n, "quantize_row_q8_0", "q8_0 block size", quantize_block_q8_0);
}

inline void quantize_row_q4_0(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ4_0, 32>(src, dst, n, "quantize_row_q4_0", "q4_0 block size", quantize_block_q4_0);
}

inline void quantize_row_f32(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0, "quantize_row_f32: negative n = ", n);
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

inline void quantize_row_f16(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0, "quantize_row_f16: negative n = ", n);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_f16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
    }
}

inline void quantize_row_bf16(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0, "quantize_row_bf16: negative n = ", n);
    for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
    }
}

// ---- K-quants (super-blocks of 256) ------------------------------------------------------

namespace detail {

/// Round to nearest, ties to even (ggml's nearest_int, which adds 1.5 * 2^23).
inline int nearest_int(float v) { return static_cast<int>(nearbyintf(v)); }

inline int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// Scale and min (>= 0) of a group of n <= 32 values with x[i] ~ scale * L[i] - min, L in
/// 0..nmax, minimising sum w[i] * err[i], err the squared error (or the absolute error with
/// use_mad): the search of ggml's make_qkx2_quants(n, nmax, x, w, L, &min, Laux, rmin, rdelta,
/// nstep, use_mad). Start from the range [min(x, 0), max(x)] cut into nmax steps; then for the
/// nstep + 1 step counts nmax + rmin + rdelta * k (k = 0..nstep) over that range, round, refit
/// scale and min by weighted least squares on those quants (min clamped at 0, i.e. the offset
/// never positive), and keep the fit of smallest weighted error. A group whose values are all
/// one value c <= 0 gives scale 0 and min -c.
inline float fit_scale_min(const float* x, const float* w, int n, int nmax, float rmin, float rdelta, int nstep,
                           bool use_mad, uint8_t* L, float& min_out) {
    float lo = x[0], hi = x[0], sum_w = 0.f, sum_wx = 0.f;
    for (int i = 0; i < n; ++i) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
        sum_w += w[i];
        sum_wx += w[i] * x[i];
    }
    lo = fminf(lo, 0.f);  // the offset -min is never positive
    if (hi == lo) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        min_out = -lo;
        return 0.f;
    }
    const auto weighted_err = [use_mad](float w_i, float e) { return use_mad ? w_i * fabsf(e) : w_i * e * e; };
    const float range = hi - lo, steps = static_cast<float>(nmax);
    float scale = range / steps, offset = lo;
    float best = 0.f;
    for (int i = 0; i < n; ++i) {
        L[i] = static_cast<uint8_t>(clamp_int(nearest_int(steps / range * (x[i] - lo)), 0, nmax));
        best += weighted_err(w[i], scale * static_cast<float>(L[i]) + offset - x[i]);
    }
    uint8_t trial[32];
    for (int step = 0; step <= nstep; ++step) {
        const float inv = (steps + rmin + rdelta * static_cast<float>(step)) / range;
        float sl = 0.f, sl2 = 0.f, sxl = 0.f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(nearest_int(inv * (x[i] - lo)), 0, nmax);
            trial[i] = static_cast<uint8_t>(l);
            const float fl = static_cast<float>(l);
            sl += w[i] * fl;
            sl2 += w[i] * fl * fl;
            sxl += w[i] * fl * x[i];
        }
        // normal equations of min over (s, o) of sum w (s*l + o - x)^2
        const float det = sum_w * sl2 - sl * sl;
        if (!(det > 0.f)) continue;
        float s = (sum_w * sxl - sum_wx * sl) / det;
        float o = (sl2 * sum_wx - sl * sxl) / det;
        if (o > 0.f) {  // refit the scale alone with the offset at 0
            o = 0.f;
            s = sxl / sl2;
        }
        float err = 0.f;
        for (int i = 0; i < n; ++i) err += weighted_err(w[i], s * static_cast<float>(trial[i]) + o - x[i]);
        if (err < best) {
            best = err;
            scale = s;
            offset = o;
            for (int i = 0; i < n; ++i) L[i] = trial[i];
        }
    }
    min_out = -offset;
    return scale;
}

/// One Q6_K group of 16: a signed scale with x[i] ~ scale * (L[i] - 32), L in 0..63, weights
/// x^2 (the search of ggml's make_qx_quants(16, 32, x, L, 1, NULL)). The value of largest
/// magnitude first maps to quant -32; then 18 step counts 32 +- 0.1..0.9 are tried, each with
/// the least-squares scale of its quants, keeping the one that explains the most weighted
/// energy (sumlx^2 / suml2). The scale's sign is opposite to that largest value's. An all-zero
/// group gives 0.
inline float q6_k_fit_group(const float* x, uint8_t* L) {
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
    const auto sums = [&](float inv, float& sumlx, float& suml2) {
        sumlx = suml2 = 0.f;
        for (int i = 0; i < 16; ++i) {
            const float l = static_cast<float>(clamp_int(nearest_int(inv * x[i]), -32, 31));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
    };
    const auto set_quants = [&](float inv) {
        for (int i = 0; i < 16; ++i) L[i] = static_cast<uint8_t>(32 + clamp_int(nearest_int(inv * x[i]), -32, 31));
    };
    float sumlx, suml2;
    float inv = -32.f / max;
    sums(inv, sumlx, suml2);
    set_quants(inv);
    float scale = suml2 > 0.f ? sumlx / suml2 : 0.f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        inv = -(32.f + 0.1f * static_cast<float>(step)) / max;
        sums(inv, sumlx, suml2);
        if (suml2 > 0.f && sumlx * sumlx > best * suml2) {
            set_quants(inv);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/// Store 6-bit scale sc and min m of Q4_K sub-block s into the 12 packed bytes (the inverse of
/// q4_k_scale_min in blocks.hpp); bytes must start zeroed and s go in order 0..7.
inline void q4_k_pack_scale_min(int s, int sc, int m, uint8_t* bytes) {
    if (s < 4) {
        bytes[s] = static_cast<uint8_t>(sc);
        bytes[s + 4] = static_cast<uint8_t>(m);
    } else {
        bytes[s + 4] = static_cast<uint8_t>((sc & 0x0f) | ((m & 0x0f) << 4));
        bytes[s - 4] = static_cast<uint8_t>(bytes[s - 4] | ((sc >> 4) << 6));
        bytes[s] = static_cast<uint8_t>(bytes[s] | ((m >> 4) << 6));
    }
}

/// The part Q4_K and Q5_K share (ggml's quantize_row_q4_K_ref / q5_K_ref): each sub-block of 32
/// fitted by fit_scale_min (levels 0..nmax, weights rms(sub-block) + |x|, step counts from
/// nmax + rmin in nstep + 1 steps of 0.1); d = max scale / 63 and dmin = max min / 63 stored as
/// f16 in *d_out / *dmin_out; each scale and min rounded to 6 bits against them and packed into
/// scales[12]; then every value re-rounded against the stored (f16 d * 6-bit) scale and min into
/// L[256]. A sub-block whose scale rounds to 0 keeps the levels of its fit (they all decode to -min).
inline void k_quant_scale_min_levels(const float* x, int nmax, float rmin, int nstep, uint8_t* L, uint8_t* scales,
                                     uint16_t& d_out, uint16_t& dmin_out) {
    float scale[8], min[8], w[32];
    float max_scale = 0.f, max_min = 0.f;
    for (int s = 0; s < 8; ++s) {
        const float* xs = x + 32 * s;
        float sum_x2 = 0.f;
        for (int i = 0; i < 32; ++i) sum_x2 += xs[i] * xs[i];
        const float rms = sqrtf(sum_x2 / 32.f);
        for (int i = 0; i < 32; ++i) w[i] = rms + fabsf(xs[i]);
        scale[s] = fit_scale_min(xs, w, 32, nmax, rmin, 0.1f, nstep, false, L + 32 * s, min[s]);
        max_scale = fmaxf(max_scale, scale[s]);
        max_min = fmaxf(max_min, min[s]);
    }
    const float inv_scale = max_scale > 0.f ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0.f ? 63.f / max_min : 0.f;
    std::memset(scales, 0, 12);
    for (int s = 0; s < 8; ++s) {
        const int sc = clamp_int(nearest_int(inv_scale * scale[s]), 0, 63);
        const int m = clamp_int(nearest_int(inv_min * min[s]), 0, 63);
        q4_k_pack_scale_min(s, sc, m, scales);
    }
    d_out = f32_to_f16(max_scale / 63.f);
    dmin_out = f32_to_f16(max_min / 63.f);
    const float d = f16_to_f32(d_out), dmin = f16_to_f32(dmin_out);
    for (int s = 0; s < 8; ++s) {
        int sc, m;
        q4_k_scale_min(s, scales, sc, m);
        const float ds = d * static_cast<float>(sc);
        if (ds == 0.f) continue;
        const float ms = dmin * static_cast<float>(m);
        for (int i = 0; i < 32; ++i) {
            L[32 * s + i] = static_cast<uint8_t>(clamp_int(nearest_int((x[32 * s + i] + ms) / ds), 0, nmax));
        }
    }
}

}  // namespace detail

/// One Q4_K super-block of 256 (8 sub-blocks of 32), as ggml's quantize_row_q4_K_ref: each
/// sub-block's scale and min fitted with weights rms(sub-block) + |x|; d = max scale / 63 and
/// dmin = max min / 63 (f16); each scale and min rounded to 6 bits against them; then every
/// value re-rounded against the stored (f16 d * 6-bit) scale and min. A sub-block whose scale
/// rounds to 0 keeps the quants of its fit (they all decode to -min).
inline void quantize_block_q4_k(const float* x, BlockQ4K& y) {
    uint8_t L[256];
    detail::k_quant_scale_min_levels(x, 15, -1.f, 20, L, y.scales, y.d, y.dmin);   // make_qkx2_quants(32, 15, ..., -1, 0.1, 20)
    for (int p = 0; p < 4; ++p) {  // sub-blocks 2p (low nibbles) and 2p + 1 (high) share qs[32p ..]
        for (int l = 0; l < 32; ++l) {
            y.qs[32 * p + l] = static_cast<uint8_t>(L[64 * p + l] | (L[64 * p + 32 + l] << 4));
        }
    }
}

/// One Q6_K super-block of 256 (16 groups of 16), as ggml's quantize_row_q6_K_ref: each
/// group's signed scale fitted; the largest-magnitude scale maps to int8 -128, so
/// d = -(that scale) / 128 (f16) and the others round to int8 against it (clamped at 127);
/// then every value re-rounded against the stored d * scale into -32..31. A block whose
/// scales are all (nearly) zero is stored as all-zero bytes.
inline void quantize_block_q6_k(const float* x, BlockQ6K& y) {
    uint8_t L[256];
    float scale[16];
    float max_scale = 0.f, max_abs = 0.f;
    for (int g = 0; g < 16; ++g) {
        scale[g] = detail::q6_k_fit_group(x + 16 * g, L + 16 * g);
        if (fabsf(scale[g]) > max_abs) {
            max_abs = fabsf(scale[g]);
            max_scale = scale[g];
        }
    }
    if (max_abs < 1e-15f) {
        std::memset(&y, 0, sizeof y);
        return;
    }
    const float iscale = -128.f / max_scale;
    y.d = f32_to_f16(1.f / iscale);
    for (int g = 0; g < 16; ++g) {
        y.scales[g] = static_cast<int8_t>(detail::clamp_int(detail::nearest_int(iscale * scale[g]), -128, 127));
    }
    const float d = f16_to_f32(y.d);
    for (int g = 0; g < 16; ++g) {
        const float dg = d * static_cast<float>(y.scales[g]);
        if (dg == 0.f) continue;
        for (int i = 0; i < 16; ++i) {
            L[16 * g + i] = static_cast<uint8_t>(32 + detail::clamp_int(detail::nearest_int(x[16 * g + i] / dg), -32, 31));
        }
    }
    for (int h = 0; h < 2; ++h) {  // element 128h + 32k + l: see blocks.hpp
        for (int l = 0; l < 32; ++l) {
            const int q0 = L[128 * h + l], q1 = L[128 * h + l + 32];
            const int q2 = L[128 * h + l + 64], q3 = L[128 * h + l + 96];
            y.ql[64 * h + l] = static_cast<uint8_t>((q0 & 0x0f) | ((q2 & 0x0f) << 4));
            y.ql[64 * h + l + 32] = static_cast<uint8_t>((q1 & 0x0f) | ((q3 & 0x0f) << 4));
            y.qh[32 * h + l] = static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
        }
    }
}

inline void quantize_row_q4_k(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ4K, 256>(src, dst, n, "quantize_row_q4_k", "q4_k super-block size", quantize_block_q4_k);
}

inline void quantize_row_q6_k(const float* src, std::byte* dst, int64_t n) {
    row_detail::quantize_blocks<BlockQ6K, 256>(src, dst, n, "quantize_row_q6_k", "q6_k super-block size", quantize_block_q6_k);
}

/// Store n floats as type t, one of the types quantised in this file; any other id is an error.
/// quantize_row (gdn/quant/quantizers.hpp) takes every type with a quantiser.
inline void quantize_row_basic(DType t, const float* src, std::byte* dst, int64_t n) {
    switch (t) {
        case DType::f32: quantize_row_f32(src, dst, n); return;
        case DType::f16: quantize_row_f16(src, dst, n); return;
        case DType::bf16: quantize_row_bf16(src, dst, n); return;
        case DType::q8_0: quantize_row_q8_0(src, dst, n); return;
        case DType::q4_0: quantize_row_q4_0(src, dst, n); return;
        case DType::q4_k: quantize_row_q4_k(src, dst, n); return;
        case DType::q6_k: quantize_row_q6_k(src, dst, n); return;
        default: break;  // the other formats' quantisers: gdn/quant/quantize/<name>.hpp
    }
    fail("quantize_row_basic: no quantiser for ggml type id ", static_cast<uint32_t>(t), " (",
         dtype_name(t), ")");
}

}  // namespace gdn::quant
