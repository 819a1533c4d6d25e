// gdn/quant/blocks.hpp - the ggml block layouts gdn reads (byte-exact with GGUF files) and
// per-block dequantisation / dot products, usable on host and device.
// Value of element j of a block (d, dmin: f16 scales):
//   Q8_0: d * qs[j]
//   Q4_0: d * ((qs[j] & 15) - 8) for j < 16,  d * ((qs[j-16] >> 4) - 8) for j >= 16
//   Q4_K: 8 sub-blocks of 32; sub-block s has 6-bit scale sc[s] and min m[s]
//         (q4_k_scale_min); pair p = s/2 uses qs[32p .. 32p+31], low nibbles for the even
//         sub-block, high nibbles for the odd one: d*sc[s]*q - dmin*m[s]
//   Q6_K: two halves of 128; in half h, for l < 32 and k < 4 element 128h + 32k + l is
//         q = (4 bits of ql[64h + l + 32(k&1)], low nibble for k < 2, high for k >= 2)
//             | (2 bits (qh[32h + l] >> 2k) & 3) << 4,  value d * scales[8h + 2k + l/16] * (q - 32)
#pragma once

#include <cstdint>

#include "gdn/core/dtype.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/quant/half.hpp"

namespace gdn::quant {

struct BlockQ8_0 {
    uint16_t d;      // f16 scale
    int8_t qs[32];
};

struct BlockQ4_0 {
    uint16_t d;      // f16 scale
    uint8_t qs[16];  // element j: low nibble of qs[j]; element j + 16: high nibble
};

struct BlockQ4K {
    uint16_t d;           // f16 scale of the 6-bit sub-block scales
    uint16_t dmin;        // f16 scale of the 6-bit sub-block mins
    uint8_t scales[12];   // 8 scales + 8 mins, 6 bits each (q4_k_scale_min)
    uint8_t qs[128];
};

struct BlockQ6K {
    uint8_t ql[128];   // low 4 bits
    uint8_t qh[64];    // high 2 bits
    int8_t scales[16]; // one per 16 elements
    uint16_t d;        // f16 super-block scale
};

static_assert(sizeof(BlockQ8_0) == dtype_traits(DType::q8_0).block_bytes, "Q8_0 layout");
static_assert(sizeof(BlockQ4_0) == dtype_traits(DType::q4_0).block_bytes, "Q4_0 layout");
static_assert(sizeof(BlockQ4K) == dtype_traits(DType::q4_k).block_bytes, "Q4_K layout");
static_assert(sizeof(BlockQ6K) == dtype_traits(DType::q6_k).block_bytes, "Q6_K layout");

/// Scale and min of Q4_K sub-block s (0..7). Bytes 0-3 hold the scales of sub-blocks 0-3
/// in their low 6 bits, bytes 4-7 the mins of 0-3; sub-blocks 4-7 take their low 4 bits
/// from bytes 8-11 (scale: low nibble, min: high nibble) and their top 2 bits from the
/// top 2 bits of bytes 0-3 (scale) and 4-7 (min).
GDN_HOST_DEVICE GDN_FORCEINLINE void q4_k_scale_min(int s, const uint8_t* scales, int& sc,
                                                    int& m) {
    if (s < 4) {
        sc = scales[s] & 63;
        m = scales[s + 4] & 63;
    } else {
        sc = (scales[s + 4] & 0x0f) | ((scales[s - 4] >> 6) << 4);
        m = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
    }
}

// ---- Q8_0 ----------------------------------------------------------------------------

GDN_HOST_DEVICE GDN_FORCEINLINE void dequantize(const BlockQ8_0& b, float* out) {
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(b.qs[j]);
}

GDN_HOST_DEVICE GDN_FORCEINLINE float dot(const BlockQ8_0& b, const float* x) {
    float acc = 0.f;
    for (int j = 0; j < 32; ++j) acc += static_cast<float>(b.qs[j]) * x[j];
    return f16_to_f32(b.d) * acc;
}

// ---- Q4_0 ----------------------------------------------------------------------------

GDN_HOST_DEVICE GDN_FORCEINLINE void dequantize(const BlockQ4_0& b, float* out) {
    const float d = f16_to_f32(b.d);
    for (int j = 0; j < 16; ++j) {
        out[j] = d * static_cast<float>((b.qs[j] & 0x0f) - 8);
        out[j + 16] = d * static_cast<float>((b.qs[j] >> 4) - 8);
    }
}

GDN_HOST_DEVICE GDN_FORCEINLINE float dot(const BlockQ4_0& b, const float* x) {
    float acc = 0.f;
    for (int j = 0; j < 16; ++j) {
        acc += static_cast<float>((b.qs[j] & 0x0f) - 8) * x[j];
        acc += static_cast<float>((b.qs[j] >> 4) - 8) * x[j + 16];
    }
    return f16_to_f32(b.d) * acc;
}

// ---- Q4_K ----------------------------------------------------------------------------

GDN_HOST_DEVICE GDN_FORCEINLINE void dequantize(const BlockQ4K& b, float* out) {
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    for (int p = 0; p < 4; ++p) {  // pairs of sub-blocks share 32 bytes of qs
        int sc0, m0, sc1, m1;
        q4_k_scale_min(2 * p, b.scales, sc0, m0);
        q4_k_scale_min(2 * p + 1, b.scales, sc1, m1);
        const float d0 = d * static_cast<float>(sc0), min0 = dmin * static_cast<float>(m0);
        const float d1 = d * static_cast<float>(sc1), min1 = dmin * static_cast<float>(m1);
        const uint8_t* q = b.qs + 32 * p;
        float* y = out + 64 * p;
        for (int l = 0; l < 32; ++l) {
            y[l] = d0 * static_cast<float>(q[l] & 0x0f) - min0;
            y[l + 32] = d1 * static_cast<float>(q[l] >> 4) - min1;
        }
    }
}

GDN_HOST_DEVICE GDN_FORCEINLINE float dot(const BlockQ4K& b, const float* x) {
    const float d = f16_to_f32(b.d);
    const float dmin = f16_to_f32(b.dmin);
    float acc = 0.f;
    for (int p = 0; p < 4; ++p) {
        int sc0, m0, sc1, m1;
        q4_k_scale_min(2 * p, b.scales, sc0, m0);
        q4_k_scale_min(2 * p + 1, b.scales, sc1, m1);
        const uint8_t* q = b.qs + 32 * p;
        const float* x0 = x + 64 * p;
        const float* x1 = x0 + 32;
        float qx0 = 0.f, qx1 = 0.f, sx0 = 0.f, sx1 = 0.f;
        for (int l = 0; l < 32; ++l) {
            qx0 += static_cast<float>(q[l] & 0x0f) * x0[l];
            qx1 += static_cast<float>(q[l] >> 4) * x1[l];
            sx0 += x0[l];
            sx1 += x1[l];
        }
        acc += d * (static_cast<float>(sc0) * qx0 + static_cast<float>(sc1) * qx1) -
               dmin * (static_cast<float>(m0) * sx0 + static_cast<float>(m1) * sx1);
    }
    return acc;
}

// ---- Q6_K ----------------------------------------------------------------------------

/// The 6-bit quant (0..63, before the -32 offset) of Q6_K element j of b.
GDN_HOST_DEVICE GDN_FORCEINLINE int q6_k_quant(const BlockQ6K& b, int j) {
    const int h = j >> 7, k = (j >> 5) & 3, l = j & 31;
    const uint8_t lo = b.ql[64 * h + l + 32 * (k & 1)];
    const int low4 = k < 2 ? (lo & 0x0f) : (lo >> 4);
    const int high2 = (b.qh[32 * h + l] >> (2 * k)) & 3;
    return low4 | (high2 << 4);
}

GDN_HOST_DEVICE GDN_FORCEINLINE void dequantize(const BlockQ6K& b, float* out) {
    const float d = f16_to_f32(b.d);
    for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = b.ql + 64 * h;
        const uint8_t* qh = b.qh + 32 * h;
        const int8_t* sc = b.scales + 8 * h;
        float* y = out + 128 * h;
        for (int l = 0; l < 32; ++l) {
            const int s = l / 16;
            const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * static_cast<float>(sc[s] * q0);
            y[l + 32] = d * static_cast<float>(sc[s + 2] * q1);
            y[l + 64] = d * static_cast<float>(sc[s + 4] * q2);
            y[l + 96] = d * static_cast<float>(sc[s + 6] * q3);
        }
    }
}

GDN_HOST_DEVICE GDN_FORCEINLINE float dot(const BlockQ6K& b, const float* x) {
    float acc = 0.f;
    for (int h = 0; h < 2; ++h) {
        const uint8_t* ql = b.ql + 64 * h;
        const uint8_t* qh = b.qh + 32 * h;
        const int8_t* sc = b.scales + 8 * h;
        const float* xh = x + 128 * h;
        float part[8] = {};  // one per 16-element scale group of this half
        for (int l = 0; l < 32; ++l) {
            const int s = l / 16;
            const int q0 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q1 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            part[s] += static_cast<float>(q0) * xh[l];
            part[s + 2] += static_cast<float>(q1) * xh[l + 32];
            part[s + 4] += static_cast<float>(q2) * xh[l + 64];
            part[s + 6] += static_cast<float>(q3) * xh[l + 96];
        }
        for (int g = 0; g < 8; ++g) acc += static_cast<float>(sc[g]) * part[g];
    }
    return f16_to_f32(b.d) * acc;
}

}  // namespace gdn::quant
