// gdn/quant/formats/q4_1.hpp - ggml Q4_1 (type 3): blocks of 32, value d * q + m with q in 0..15
// (gdn's scale d, min -m); element j < 16 is the low nibble of qs[j], element j + 16 its high
// nibble.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ4_1 {
    uint16_t d;      // f16 scale
    uint16_t m;      // f16 offset (the block's minimum): value = d * q + m
    uint8_t qs[16];  // element j: low nibble of qs[j]; element j + 16: high nibble
};
}  // namespace quant

struct q4_1 : quant::BlockFormatBase<q4_1, quant::BlockQ4_1, DType::q4_1> {
    static constexpr std::array<int, 2> f16_fields{0, 2};
    /// Run r: nibbles of qs[8(r%2) ..], low for r < 2 (4-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 4 + 8 * (r & 1);
        const int shift = (r & 2) ? 4 : 0;
        quant::bytes8_as_floats((quant::ld_u32<4>(qs) >> shift) & 0x0f0f0f0fu,
                                (quant::ld_u32<4>(qs + 4) >> shift) & 0x0f0f0f0fu, 0.f, q);
        scale = quant::ld_f16(u);
        min = -quant::ld_f16(u + 2);
    }
    /// One group per block (grp 0): columns 4t.. are the low nibbles of qs[4t ..], columns
    /// 16 + 4t.. their high nibbles.
    static constexpr int mma_group = 32;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int /*grp*/, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const uint32_t w = quant::ld_u32<4>(u + 4 + 4 * t);
        lo = w & 0x0f0f0f0fu;
        hi = (w >> 4) & 0x0f0f0f0fu;
        scale = quant::ld_f16(u);
        min = -quant::ld_f16(u + 2);
    }
};

}  // namespace gdn
