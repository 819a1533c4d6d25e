// gdn/quant/formats/iq3_s.hpp - ggml IQ3_S (type 21): super-blocks of 256 = 8 sub-blocks of 32 =
// 32 runs of 8. Grid entry e (0..63, 4 magnitudes of iq3s_grid) has the 9-bit index
// qs[e] | ((qh[e/8] >> e%8) & 1) << 8; run r takes entries 2r and 2r+1 and the 8 sign bits
// signs[r] (all stored). Sub-block s has the 4-bit scale ls = nibble s%2 of scales[s/2];
// value d * (1 + 2 ls) * grid[i] * sign_i.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ3S {
    uint16_t d;         // f16 super-block scale
    uint8_t qs[64];     // low 8 bits of the 64 grid indices
    uint8_t qh[8];      // bit 8 of the grid indices, 8 per byte
    uint8_t signs[32];  // 8 sign bits per run
    uint8_t scales[4];  // 4-bit scales, one per sub-block, low nibble first
};

/// The iq3s_grid entry of grid index e (0..63) of the IQ3_S block at u.
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t iq3_s_entry(const uint8_t* u, int e) {
    return iq::iq3s_grid(u[2 + e] | (((static_cast<uint32_t>(u[66 + (e >> 3)]) >> (e & 7)) & 1u) << 8));
}

/// d * (1 + 2 ls) of sub-block s (gguf's order of operations).
GDN_HOST_DEVICE GDN_FORCEINLINE float iq3_s_scale(const uint8_t* u, int s) {
    const uint32_t ls = (static_cast<uint32_t>(u[106 + (s >> 1)]) >> (4 * (s & 1))) & 15u;
    return ld_f16(u) * static_cast<float>(1 + 2 * ls);
}
}  // namespace quant

struct iq3_s : quant::BlockFormatBase<iq3_s, quant::BlockIQ3S, DType::iq3_s> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 32;
    /// Run r: entries 2r, 2r+1, signs[r], scale of sub-block r / 4 (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint32_t s = u[74 + r];
        quant::sbytes8_as_floats(quant::iq::apply_signs4(quant::iq3_s_entry(u, 2 * r), s & 15u),
                                 quant::iq::apply_signs4(quant::iq3_s_entry(u, 2 * r + 1), s >> 4), q);
        scale = quant::iq3_s_scale(u, r >> 2);
        min = 0.f;
    }
    /// Group grp = sub-block grp; a grid entry is 4 columns: columns 4t.. are entry 8grp + t with
    /// half t%2 of signs[4grp + t/2], columns 16+4t.. entry 8grp + 4 + t with the same half of
    /// signs[4grp + 2 + t/2].
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        const int sh = 4 * (t & 1), r = 4 * grp + (t >> 1);
        lo = quant::iq::apply_signs4(quant::iq3_s_entry(u, 8 * grp + t), (static_cast<uint32_t>(u[74 + r]) >> sh) & 15u);
        hi = quant::iq::apply_signs4(quant::iq3_s_entry(u, 8 * grp + 4 + t),
                                     (static_cast<uint32_t>(u[76 + r]) >> sh) & 15u);
        scale = quant::iq3_s_scale(u, grp);
        min = 0.f;
    }
};

}  // namespace gdn
