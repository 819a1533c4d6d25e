// gdn/quant/quantize.hpp - float -> storage format, matching ggml's reference quantisers
// (quantize_row_q8_0_ref / quantize_row_q4_0_ref) byte for byte on the host. The
// single-block functions are host+device: the GPU KV cache quantises one block of 32 at a
// time. Device results equal the host ones unless built with --use_fast_math (which
// changes the divisions).
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

inline void quantize_row_q8_0(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 32 == 0, "quantize_row_q8_0: n = ", n,
              " is not a multiple of the q8_0 block size 32");
    for (int64_t i = 0; i < n / 32; ++i) {
        BlockQ8_0 b;
        quantize_block_q8_0(src + 32 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

inline void quantize_row_q4_0(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 32 == 0, "quantize_row_q4_0: n = ", n,
              " is not a multiple of the q4_0 block size 32");
    for (int64_t i = 0; i < n / 32; ++i) {
        BlockQ4_0 b;
        quantize_block_q4_0(src + 32 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
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

/// Store n floats as type t (f32, f16, bf16, q8_0, q4_0); other types have no quantiser.
inline void quantize_row(DType t, const float* src, std::byte* dst, int64_t n) {
    switch (t) {
        case DType::f32: quantize_row_f32(src, dst, n); return;
        case DType::f16: quantize_row_f16(src, dst, n); return;
        case DType::bf16: quantize_row_bf16(src, dst, n); return;
        case DType::q8_0: quantize_row_q8_0(src, dst, n); return;
        case DType::q4_0: quantize_row_q4_0(src, dst, n); return;
        case DType::q4_k:
        case DType::q6_k: break;
    }
    fail("quantize_row: no quantiser for ggml type id ", static_cast<uint32_t>(t), " (",
         dtype_name(t), ")");
}

}  // namespace gdn::quant
