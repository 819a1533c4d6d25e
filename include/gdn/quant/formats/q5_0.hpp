// gdn/quant/formats/q5_0.hpp - ggml Q5_0 (type 6): blocks of 32, value d * (q - 16) with q in
// 0..31; the low 4 bits of element j are the low nibble of qs[j] for j < 16 and the high nibble
// of qs[j - 16] otherwise (as Q4_0), its fifth bit is bit j of the little-endian word qh.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ5_0 {
    uint16_t d;      // f16 scale
    uint8_t qh[4];   // bit j: fifth bit of element j
    uint8_t qs[16];  // low 4 bits: element j low nibble of qs[j], element j + 16 high nibble
};

/// Bits 0..3 of b moved to bit 4 of bytes 0..3 (the fifth bits of 4 elements of Q5_0 / Q5_1):
/// the multiply places copies of b at bits 4, 11, 18 and 25, which do not overlap.
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t q5_fifth_bits(uint32_t b) {
    return ((b & 0x0fu) * 0x02040810u) & 0x10101010u;
}
}  // namespace quant

struct q5_0 : quant::BlockFormatBase<q5_0, quant::BlockQ5_0, DType::q5_0> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    /// Run r: nibbles of qs[8(r%2) ..], low for r < 2, and bits 8r .. 8r+7 of qh (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 6 + 8 * (r & 1);
        const int shift = (r & 2) ? 4 : 0;
        const uint32_t qh = quant::ld_u32<2>(u + 2) >> (8 * r);
        quant::bytes8_as_floats(((quant::ld_u32<2>(qs) >> shift) & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh),
                                ((quant::ld_u32<2>(qs + 4) >> shift) & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh >> 4),
                                16.f, q);
        scale = quant::ld_f16(u);
        min = 0.f;
    }
    /// One group per block (grp 0): columns 4t.. from the low nibbles of qs[4t ..] and bits 4t..
    /// of qh, columns 16 + 4t.. from the high nibbles and bits 16 + 4t..; q - 16 as int8 is
    /// (q + 0x70) ^ 0x80 per byte (no carry: q + 0x70 <= 0x8f).
    static constexpr int mma_group = 32;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int /*grp*/, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const uint32_t w = quant::ld_u32<2>(u + 6 + 4 * t);
        const uint32_t qh = quant::ld_u32<2>(u + 2) >> (4 * t);
        lo = (((w & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh)) + 0x70707070u) ^ 0x80808080u;
        hi = ((((w >> 4) & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh >> 16)) + 0x70707070u) ^ 0x80808080u;
        scale = quant::ld_f16(u);
        min = 0.f;
    }
};

}  // namespace gdn
