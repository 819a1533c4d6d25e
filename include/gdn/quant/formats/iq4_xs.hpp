// gdn/quant/formats/iq4_xs.hpp - ggml IQ4_XS (type 23): super-blocks of 256 = 8 sub-blocks of 32.
// Sub-block s has the 6-bit scale ls = (low nibble s%2 of scales_l[s/2]) | (bits 2s..2s+1 of
// scales_h) << 4 and uses qs[16s .. 16s+15] in the nibble layout of IQ4_NL (element j < 16 of
// the sub-block: low nibble of qs[16s + j], j + 16: high nibble); value
// d * (ls - 32) * kvalues_iq4nl[nibble].
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ4XS {
    uint16_t d;           // f16 super-block scale
    uint16_t scales_h;    // top 2 bits of the 8 sub-block scales
    uint8_t scales_l[4];  // low 4 bits of the 8 sub-block scales, two per byte
    uint8_t qs[128];
};

/// d * (ls - 32) of sub-block s (0..7) of the IQ4_XS block at u.
GDN_HOST_DEVICE GDN_FORCEINLINE float iq4_xs_scale(const uint8_t* u, int s) {
    const uint32_t ls = ((static_cast<uint32_t>(u[4 + (s >> 1)]) >> (4 * (s & 1))) & 15u) |
                        (((ld_u16(u + 2) >> (2 * s)) & 3u) << 4);
    return ld_f16(u) * static_cast<float>(static_cast<int>(ls) - 32);
}
}  // namespace quant

struct iq4_xs : quant::BlockFormatBase<iq4_xs, quant::BlockIQ4XS, DType::iq4_xs> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 32;
    /// Run r: sub-block s = r / 4, nibbles of qs[16s + 8(r%2) ..], low for r%4 < 2 (8-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 8 + 16 * (r >> 2) + 8 * (r & 1);
        uint32_t lo, hi;
        quant::iq::iq4nl_lookup8(
            quant::iq::iq4nl_run_indices(quant::ld_u32<8>(qs), quant::ld_u32<4>(qs + 4), (r & 2) << 1), lo, hi);
        quant::sbytes8_as_floats(lo, hi, q);
        scale = quant::iq4_xs_scale(u, r >> 2);
        min = 0.f;
    }
    /// Group grp = sub-block grp: columns 4t.. are the low nibbles of qs[16grp + 4t ..], 16+4t..
    /// their high nibbles.
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        quant::iq::iq4nl_lookup8(quant::ld_u32<4>(u + 8 + 16 * grp + 4 * t), lo, hi);
        scale = quant::iq4_xs_scale(u, grp);
        min = 0.f;
    }
};

}  // namespace gdn
