// gdn/quant/formats/mxfp4.hpp - ggml MXFP4 (type 39, OCP microscaling FP4): blocks of 32 =
// one e8m0 exponent e and 32 e2m1 nibbles; element j < 16 is the low nibble of qs[j], element
// j + 16 its high nibble. A nibble (sign bit 3, magnitude 0..7) stands for +-{0, .5, 1, 1.5,
// 2, 3, 4, 6}; as ggml (kvalues_mxfp4, GGML_E8M0_TO_FP32_HALF) gdn keeps twice that, the
// integer q in {0, 1, 2, 3, 4, 6, 8, 12} with its sign, and halves the scale: value
// 2^(e - 128) * q, for every e in 0..255 (e = 0, 1: subnormal floats; no nan code).
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockMXFP4 {
    uint8_t e;       // e8m0 exponent: scale 2^(e - 127) of the e2m1 values
    uint8_t qs[16];  // element j: low nibble of qs[j]; element j + 16: high nibble
};

/// Bytes k of x then of y (k = 0..7) picked by the 3-bit fields 4n .. 4n+2 of s for result
/// byte n (the device's PRMT, its selector bit 3 always clear here).
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t byte_perm(uint32_t x, uint32_t y, uint32_t s) {
#if defined(__CUDA_ARCH__)
    return __byte_perm(x, y, s);
#else
    const uint64_t v = (static_cast<uint64_t>(y) << 32) | x;
    uint32_t r = 0;
    for (int n = 0; n < 4; ++n) r |= static_cast<uint32_t>((v >> (8 * ((s >> (4 * n)) & 7u))) & 0xffu) << (8 * n);
    return r;
#endif
}

/// The e2m1 nibbles in the low 4 bits of the bytes of w as int8 doubled values (kvalues_mxfp4):
/// magnitude and negated magnitude looked up by two PRMTs of the nibbles' low 3 bits, then a
/// third PRMT picks per byte by the sign bit.
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t e2m1x2_as_s8(uint32_t w) {
    const uint32_t t = w | (w >> 4);                         // bytes 0, 2: two nibbles each
    const uint32_t sel = (t & 0xffu) | ((t >> 8) & 0xff00u);  // nibble n: element n's code
    const uint32_t pos = byte_perm(0x03020100u, 0x0c080604u, sel & 0x7777u);  // 0 1 2 3 4 6 8 12
    const uint32_t neg = byte_perm(0xfdfeff00u, 0xf4f8fafcu, sel & 0x7777u);  // their negatives
    return byte_perm(pos, neg, 0x3210u | ((sel & 0x8888u) >> 1));
}

/// 2^(e - 128), GGML_E8M0_TO_FP32_HALF: the float's exponent field e - 1, or for e < 2 the
/// subnormal 2^-128 (e = 0) / 2^-127 (e = 1).
GDN_HOST_DEVICE GDN_FORCEINLINE float e8m0_half(uint32_t e) {
    return bits_float(e >= 2u ? (e - 1u) << 23 : 0x00200000u << e);
}
}  // namespace quant

struct mxfp4 : quant::BlockFormatBase<mxfp4, quant::BlockMXFP4, DType::mxfp4> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> e8m0_fields{0};
    /// Run r: nibbles of qs[8(r%2) ..], low for r < 2 (byte-aligned block: 17 bytes).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 1 + 8 * (r & 1);
        const int shift = (r & 2) ? 4 : 0;
        quant::sbytes8_as_floats(quant::e2m1x2_as_s8((quant::ld_u32<1>(qs) >> shift) & 0x0f0f0f0fu),
                                 quant::e2m1x2_as_s8((quant::ld_u32<1>(qs + 4) >> shift) & 0x0f0f0f0fu), q);
        scale = quant::e8m0_half(u[0]);
        min = 0.f;
    }
    /// One group per block (grp 0): columns 4t.. are the low nibbles of qs[4t ..], columns
    /// 16 + 4t.. their high nibbles.
    static constexpr int mma_group = 32;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int /*grp*/, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const uint32_t w = quant::ld_u32<1>(u + 1 + 4 * t);
        lo = quant::e2m1x2_as_s8(w & 0x0f0f0f0fu);
        hi = quant::e2m1x2_as_s8((w >> 4) & 0x0f0f0f0fu);
        scale = quant::e8m0_half(u[0]);
        min = 0.f;
    }
};

}  // namespace gdn
