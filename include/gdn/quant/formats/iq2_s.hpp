// gdn/quant/formats/iq2_s.hpp - ggml IQ2_S (type 22): super-blocks of 256 = 32 runs of 8. Run r
// uses the iq2s_grid entry (8 magnitudes) of the 10-bit index qs[r] | ((qh[r/4] >> 2(r%4)) & 3) << 8
// and the 8 sign bits signs[r] (all stored, no parity rule). Each 16 elements (runs 2k, 2k+1)
// share the 4-bit scale ls = nibble k%2 of scales[k/2]; value d * (0.5 + ls) * 0.25 * grid[i] * sign_i.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ2S {
    uint16_t d;         // f16 super-block scale
    uint8_t qs[32];     // low 8 bits of the grid index of each run
    uint8_t signs[32];  // 8 sign bits per run
    uint8_t qh[8];      // top 2 bits of the grid indices, 4 runs per byte
    uint8_t scales[8];  // 4-bit scales, one per 16 elements, low nibble first
};

/// The grid index of run r of the IQ2_S block at u.
GDN_HOST_DEVICE GDN_FORCEINLINE uint32_t iq2_s_index(const uint8_t* u, int r) {
    return u[2 + r] | (((static_cast<uint32_t>(u[66 + (r >> 2)]) >> (2 * (r & 3))) & 3u) << 8);
}
}  // namespace quant

struct iq2_s : quant::BlockFormatBase<iq2_s, quant::BlockIQ2S, DType::iq2_s> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 16;
    /// Run r: grid index iq2_s_index(u, r), signs[r], scale nibble (r/2)%2 of scales[r/4].
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        uint32_t lo, hi;
        quant::iq::signed_run8(quant::iq::iq2s_grid(quant::iq2_s_index(u, r)), u[34 + r], lo, hi);
        quant::sbytes8_as_floats(lo, hi, q);
        scale = quant::iq::iq2_scale(quant::ld_f16(u), (static_cast<uint32_t>(u[74 + (r >> 2)]) >> (2 * (r & 2))) & 15u);
        min = 0.f;
    }
    /// Group grp (16 columns, runs 2grp and 2grp+1): columns 4t.. are half t%2 of run 2grp + t/2.
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        const int r = 2 * grp + (t >> 1), h = t & 1;
        lo = quant::iq::apply_signs4(static_cast<uint32_t>(quant::iq::iq2s_grid(quant::iq2_s_index(u, r)) >> (32 * h)),
                                     (static_cast<uint32_t>(u[34 + r]) >> (4 * h)) & 15u);
        hi = 0;
        scale = quant::iq::iq2_scale(quant::ld_f16(u), (static_cast<uint32_t>(u[74 + (grp >> 1)]) >> (4 * (grp & 1))) & 15u);
        min = 0.f;
    }
};

}  // namespace gdn
