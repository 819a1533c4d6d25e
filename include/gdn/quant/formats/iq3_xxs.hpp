// gdn/quant/formats/iq3_xxs.hpp - ggml IQ3_XXS (type 18): super-blocks of 256 = 8 sub-blocks of
// 32 = 32 runs of 8. Run r takes two iq3xxs_grid entries (4 magnitudes each) at qs[2r] and
// qs[2r+1]; sub-block s = r / 4 has the word w = bytes 64 + 4s .. of qs, whose bits 7l..7l+6 are
// the 7 sign bits of its run l = r % 4 (the 8th is their parity, ksigns) and bits 28..31 the
// 4-bit scale ls; value d * (0.5 + ls) * 0.5 * grid[i] * sign_i.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ3XXS {
    uint16_t d;      // f16 super-block scale
    uint8_t qs[96];  // 64 grid indices (two per run), then 8 sign-and-scale words
};

/// d * (0.5 + ls) * 0.5 (gguf's order of operations).
GDN_HOST_DEVICE GDN_FORCEINLINE float iq3_xxs_scale(float d, uint32_t ls) {
    return d * (0.5f + static_cast<float>(ls)) * 0.5f;
}
}  // namespace quant

struct iq3_xxs : quant::BlockFormatBase<iq3_xxs, quant::BlockIQ3XXS, DType::iq3_xxs> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 32;
    /// Run r: grid entries qs[2r], qs[2r+1], word w of sub-block r / 4 (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint32_t w = quant::ld_u32<2>(u + 66 + 4 * (r >> 2));
        const uint32_t s = quant::iq::ksigns((w >> (7 * (r & 3))) & 127u);
        quant::sbytes8_as_floats(quant::iq::apply_signs4(quant::iq::iq3xxs_grid(u[2 + 2 * r]), s & 15u),
                                 quant::iq::apply_signs4(quant::iq::iq3xxs_grid(u[3 + 2 * r]), s >> 4), q);
        scale = quant::iq3_xxs_scale(quant::ld_f16(u), w >> 28);
        min = 0.f;
    }
    /// Group grp = sub-block grp; a grid entry is 4 columns: columns 4t.. are entry qs[8grp + t]
    /// with half t%2 of the signs of run t/2, columns 16+4t.. entry qs[8grp + 4 + t] with the
    /// same half of the signs of run 2 + t/2.
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        const uint32_t w = quant::ld_u32<2>(u + 66 + 4 * grp);
        const int l = t >> 1, sh = 4 * (t & 1);
        const uint32_t s0 = quant::iq::ksigns((w >> (7 * l)) & 127u) >> sh;
        const uint32_t s1 = quant::iq::ksigns((w >> (7 * l + 14)) & 127u) >> sh;
        lo = quant::iq::apply_signs4(quant::iq::iq3xxs_grid(u[2 + 8 * grp + t]), s0 & 15u);
        hi = quant::iq::apply_signs4(quant::iq::iq3xxs_grid(u[6 + 8 * grp + t]), s1 & 15u);
        scale = quant::iq3_xxs_scale(quant::ld_f16(u), w >> 28);
        min = 0.f;
    }
};

}  // namespace gdn
