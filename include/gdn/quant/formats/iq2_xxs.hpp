// gdn/quant/formats/iq2_xxs.hpp - ggml IQ2_XXS (type 16): super-blocks of 256 = 8 sub-blocks of
// 32, each 8 bytes at qs + 8s: bytes 0..3 pick one iq2xxs_grid entry (8 magnitudes) for each of
// the sub-block's four runs of 8; the word w at bytes 4..7 holds, for run l, 7 sign bits at
// 7l..7l+6 (the 8th is their parity, ksigns) and in bits 28..31 the 4-bit scale ls; element i
// of run l is  d * (0.5 + ls) * 0.25 * grid[i] * (sign bit i ? -1 : 1).
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ2XXS {
    uint16_t d;       // f16 super-block scale
    uint16_t qs[32];  // per sub-block: 4 grid indices, then signs and scale (one uint32)
};
}  // namespace quant

struct iq2_xxs : quant::BlockFormatBase<iq2_xxs, quant::BlockIQ2XXS, DType::iq2_xxs> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 32;
    /// Run r: sub-block r / 4, run l = r % 4 of it (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* sb = u + 2 + 8 * (r >> 2);
        const uint32_t w = quant::ld_u32<2>(sb + 4);
        const uint64_t g = quant::iq::iq2xxs_grid(sb[r & 3]);
        const uint32_t s = quant::iq::ksigns((w >> (7 * (r & 3))) & 127u);
        uint32_t lo, hi;
        quant::iq::signed_run8(g, s, lo, hi);
        quant::sbytes8_as_floats(lo, hi, q);
        scale = quant::iq::iq2_scale(quant::ld_f16(u), w >> 28);
        min = 0.f;
    }
    /// Group grp = sub-block grp: columns 4t.. are half t%2 of run t/2, columns 16+4t.. the same
    /// half of run 2 + t/2.
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        const uint8_t* sb = u + 2 + 8 * grp;
        const uint32_t w = quant::ld_u32<2>(sb + 4);
        const int l = t >> 1, half = 32 * (t & 1), sh = 4 * (t & 1);
        const uint32_t s0 = quant::iq::ksigns((w >> (7 * l)) & 127u) >> sh;
        const uint32_t s1 = quant::iq::ksigns((w >> (7 * l + 14)) & 127u) >> sh;
        lo = quant::iq::apply_signs4(static_cast<uint32_t>(quant::iq::iq2xxs_grid(sb[l]) >> half), s0 & 15u);
        hi = quant::iq::apply_signs4(static_cast<uint32_t>(quant::iq::iq2xxs_grid(sb[l + 2]) >> half), s1 & 15u);
        scale = quant::iq::iq2_scale(quant::ld_f16(u), w >> 28);
        min = 0.f;
    }
};

}  // namespace gdn
