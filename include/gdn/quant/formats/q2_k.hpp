// gdn/quant/formats/q2_k.hpp - ggml Q2_K (type 10): super-blocks of 256 = 16 sub-blocks of 16.
// Sub-block s has a 4-bit scale (low nibble of scales[s]) and 4-bit min (high nibble); in half
// h, for k < 4 and l < 32, element 128h + 32k + l has q = (qs[32h + l] >> 2k) & 3 in sub-block
// 8h + 2k + l/16; value d * sc[s] * q - dmin * m[s].
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ2K {
    uint8_t scales[16];  // sub-block s: scale in the low nibble, min in the high nibble
    uint8_t qs[64];      // 2-bit quants, four per byte (see the file comment)
    uint16_t d;          // f16 scale of the 4-bit scales
    uint16_t dmin;       // f16 scale of the 4-bit mins
};
}  // namespace quant

struct q2_k : quant::BlockFormatBase<q2_k, quant::BlockQ2K, DType::q2_k> {
    static constexpr std::array<int, 2> f16_fields{80, 82};
    /// Run r: half h = r / 16, k = (r % 16) / 4, l0 = 8(r % 4): columns 128h + 32k + l0 .. of
    /// sub-block r / 2 (4-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const int h = r >> 4, k = (r >> 2) & 3, l0 = 8 * (r & 3);
        const uint8_t* qs = u + 16 + 32 * h + l0;
        quant::bytes8_as_floats((quant::ld_u32<4>(qs) >> (2 * k)) & 0x03030303u,
                                (quant::ld_u32<4>(qs + 4) >> (2 * k)) & 0x03030303u, 0.f, q);
        const uint32_t sc = u[r >> 1];
        scale = quant::ld_f16(u + 80) * static_cast<float>(sc & 0x0fu);
        min = quant::ld_f16(u + 82) * static_cast<float>(sc >> 4);
    }
    /// Group grp = sub-block (16 per block): h = grp / 8, k = (grp % 8) / 2; columns 4t.. are
    /// quants of qs[32h + 16(grp % 2) + 4t ..] (hi unused).
    static constexpr int mma_group = 16;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const int h = grp >> 3, k = (grp >> 1) & 3;
        lo = (quant::ld_u32<4>(u + 16 + 32 * h + 16 * (grp & 1) + 4 * t) >> (2 * k)) & 0x03030303u;
        hi = 0u;
        const uint32_t sc = u[grp];
        scale = quant::ld_f16(u + 80) * static_cast<float>(sc & 0x0fu);
        min = quant::ld_f16(u + 82) * static_cast<float>(sc >> 4);
    }
};

}  // namespace gdn
