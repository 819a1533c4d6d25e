// gdn/quant/half.hpp - IEEE binary16 (f16) and bfloat16 conversions on raw uint16_t bits.
// Round-to-nearest-even from f32, subnormals kept (never flushed), inf/nan preserved
// (nan stays nan and is made quiet). The host path is plain integer C++ so results do not
// depend on the CPU's f16 instructions; device code uses the CUDA intrinsics for f16,
// which agree bit for bit except possibly in a nan's payload.
#pragma once

#include <cstdint>
#include <cstring>

#include "gdn/core/macros.hpp"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

namespace gdn::quant {

GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
#endif
}

GDN_HOST_DEVICE GDN_FORCEINLINE float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/// binary16 bits -> float (exact).
GDN_HOST_DEVICE GDN_FORCEINLINE float f16_to_f32(uint16_t h) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(h));
#else
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t em = h & 0x7fffu;  // exponent and mantissa
    if (em >= 0x7c00u) {  // inf / nan: widen the payload
        return bits_float(sign | 0x7f800000u | ((em & 0x3ffu) << 13));
    }
    if (em >= 0x0400u) {  // normal: rebias the exponent from 15 to 127
        return bits_float(sign | ((em << 13) + (112u << 23)));
    }
    // subnormal or zero: em * 2^-24, exact in float
    return bits_float(sign | float_bits(static_cast<float>(em) * 5.9604644775390625e-8f));
#endif
}

/// float -> binary16 bits, round to nearest even; overflow gives inf.
GDN_HOST_DEVICE GDN_FORCEINLINE uint16_t f32_to_f16(float f) {
#if defined(__CUDA_ARCH__)
    return __half_as_ushort(__float2half_rn(f));
#else
    uint32_t u = float_bits(f);
    const uint32_t sign = (u >> 16) & 0x8000u;
    u &= 0x7fffffffu;
    if (u > 0x7f800000u) {  // nan: keep the top payload bits, force quiet
        return static_cast<uint16_t>(sign | 0x7e00u | ((u >> 13) & 0x3ffu));
    }
    if (u >= 0x477ff000u) {  // >= 65520 rounds to inf (65504 is the largest finite)
        return static_cast<uint16_t>(sign | 0x7c00u);
    }
    if (u >= 0x38800000u) {  // >= 2^-14: normal; the carry of the rounding may bump the exponent
        const uint32_t r = u + 0xfffu + ((u >> 13) & 1u);
        return static_cast<uint16_t>(sign | ((r - (112u << 23)) >> 13));
    }
    const uint32_t e = u >> 23;
    if (e < 102u) {  // below 2^-25: rounds to zero
        return static_cast<uint16_t>(sign);
    }
    // subnormal result: value / 2^-24 = m * 2^(e - 126), shift in [14, 24]
    const uint32_t m = (u & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) ++q;  // q may reach 0x400: the least normal
    return static_cast<uint16_t>(sign | q);
#endif
}

/// bfloat16 bits -> float (exact: bf16 is the top half of a float).
GDN_HOST_DEVICE GDN_FORCEINLINE float bf16_to_f32(uint16_t b) {
    return bits_float(static_cast<uint32_t>(b) << 16);
}

/// float -> bfloat16 bits, round to nearest even; subnormals kept, nan made quiet.
GDN_HOST_DEVICE GDN_FORCEINLINE uint16_t f32_to_bf16(float f) {
    const uint32_t u = float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        return static_cast<uint16_t>((u >> 16) | 0x40u);
    }
    return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

}  // namespace gdn::quant
