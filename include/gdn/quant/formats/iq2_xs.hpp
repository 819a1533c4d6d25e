// gdn/quant/formats/iq2_xs.hpp - ggml IQ2_XS (type 17): super-blocks of 256 = 32 runs of 8. Run
// r is the uint16 qs[r]: bits 0..8 pick an iq2xs_grid entry (8 magnitudes), bits 9..15 are 7
// sign bits (the 8th is their parity, ksigns). Each 16 elements (runs 2k, 2k+1) share the
// 4-bit scale ls = nibble k%2 of scales[k/2]; value d * (0.5 + ls) * 0.25 * grid[i] * sign_i.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ2XS {
    uint16_t d;         // f16 super-block scale
    uint16_t qs[32];    // per run: 9-bit grid index | 7 sign bits << 9
    uint8_t scales[8];  // 4-bit scales, one per 16 elements, low nibble first
};
}  // namespace quant

struct iq2_xs : quant::BlockFormatBase<iq2_xs, quant::BlockIQ2XS, DType::iq2_xs> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 16;
    /// Run r: qs[r], scale nibble (r/2)%2 of scales[r/4] (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint32_t v = quant::ld_u16(u + 2 + 2 * r);
        uint32_t lo, hi;
        quant::iq::signed_run8(quant::iq::iq2xs_grid(v & 511u), quant::iq::ksigns(v >> 9), lo, hi);
        quant::sbytes8_as_floats(lo, hi, q);
        scale = quant::iq::iq2_scale(quant::ld_f16(u), (static_cast<uint32_t>(u[66 + (r >> 2)]) >> (2 * (r & 2))) & 15u);
        min = 0.f;
    }
    /// Group grp (16 columns, runs 2grp and 2grp+1): columns 4t.. are half t%2 of run 2grp + t/2.
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        const uint32_t v = quant::ld_u16(u + 2 + 2 * (2 * grp + (t >> 1)));
        const int sh = 4 * (t & 1);
        lo = quant::iq::apply_signs4(static_cast<uint32_t>(quant::iq::iq2xs_grid(v & 511u) >> (8 * sh)),
                                     (quant::iq::ksigns(v >> 9) >> sh) & 15u);
        hi = 0;
        scale = quant::iq::iq2_scale(quant::ld_f16(u), (static_cast<uint32_t>(u[66 + (grp >> 1)]) >> (4 * (grp & 1))) & 15u);
        min = 0.f;
    }
};

}  // namespace gdn
