// gdn/quant/formats/q5_1.hpp - ggml Q5_1 (type 7): blocks of 32, value d * q + m with q in 0..31
// (gdn's scale d, min -m); bits as Q5_0: low 4 bits in the nibbles of qs (element j < 16 low
// nibble of qs[j], j >= 16 high nibble of qs[j - 16]), fifth bit j of the word qh.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/q5_0.hpp"

namespace gdn {
namespace quant {
struct BlockQ5_1 {
    uint16_t d;      // f16 scale
    uint16_t m;      // f16 offset (the block's minimum): value = d * q + m
    uint8_t qh[4];   // bit j: fifth bit of element j
    uint8_t qs[16];  // low 4 bits: element j low nibble of qs[j], element j + 16 high nibble
};
}  // namespace quant

struct q5_1 : quant::BlockFormatBase<q5_1, quant::BlockQ5_1, DType::q5_1> {
    static constexpr std::array<int, 2> f16_fields{0, 2};
    /// Run r: nibbles of qs[8(r%2) ..], low for r < 2, and bits 8r .. 8r+7 of qh (8-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 8 + 8 * (r & 1);
        const int shift = (r & 2) ? 4 : 0;
        const uint32_t qh = quant::ld_u32<4>(u + 4) >> (8 * r);
        quant::bytes8_as_floats(((quant::ld_u32<8>(qs) >> shift) & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh),
                                ((quant::ld_u32<4>(qs + 4) >> shift) & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh >> 4),
                                0.f, q);
        scale = quant::ld_f16(u);
        min = -quant::ld_f16(u + 2);
    }
    /// One group per block (grp 0): columns 4t.. from the low nibbles of qs[4t ..] and bits 4t..
    /// of qh, columns 16 + 4t.. from the high nibbles and bits 16 + 4t.. (q <= 31 fits int8).
    static constexpr int mma_group = 32;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int /*grp*/, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const uint32_t w = quant::ld_u32<4>(u + 8 + 4 * t);
        const uint32_t qh = quant::ld_u32<4>(u + 4) >> (4 * t);
        lo = (w & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh);
        hi = ((w >> 4) & 0x0f0f0f0fu) | quant::q5_fifth_bits(qh >> 16);
        scale = quant::ld_f16(u);
        min = -quant::ld_f16(u + 2);
    }
};

}  // namespace gdn
