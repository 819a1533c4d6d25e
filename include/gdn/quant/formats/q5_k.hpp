// gdn/quant/formats/q5_k.hpp - ggml Q5_K (type 13): super-blocks of 256 = 8 sub-blocks of 32,
// value d * sc[s] * q - dmin * m[s] with q in 0..31 and the 6-bit sc, m of Q4_K
// (q4_k_scale_min). The low 4 bits of element 32s + l are as in Q4_K (pair p = s / 2 uses
// qs[32p + l], low nibble for even s, high for odd), its fifth bit is bit s of qh[l].
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/q4_k.hpp"

namespace gdn {
namespace quant {
struct BlockQ5K {
    uint16_t d;           // f16 scale of the 6-bit sub-block scales
    uint16_t dmin;        // f16 scale of the 6-bit sub-block mins
    uint8_t scales[12];   // 8 scales + 8 mins, 6 bits each (q4_k_scale_min)
    uint8_t qh[32];       // element 32s + l: fifth bit is bit s of qh[l]
    uint8_t qs[128];      // low 4 bits, as Q4_K
};
}  // namespace quant

struct q5_k : quant::BlockFormatBase<q5_k, quant::BlockQ5K, DType::q5_k> {
    static constexpr std::array<int, 2> f16_fields{0, 2};
    /// Run r: sub-block s = r / 4, l0 = 8(r % 4): nibbles of qs[32(s / 2) + l0 ..] (low for even
    /// s) and bit s of qh[l0 ..] (16-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const int s = r >> 2, l0 = 8 * (r & 3);
        const uint8_t* qs = u + 48 + 32 * (s >> 1) + l0;
        const uint8_t* qh = u + 16 + l0;
        const int shift = 4 * (s & 1);
        const uint32_t lo = ((quant::ld_u32<8>(qs) >> shift) & 0x0f0f0f0fu) |
                            (((quant::ld_u32<8>(qh) >> s) & 0x01010101u) << 4);
        const uint32_t hi = ((quant::ld_u32<4>(qs + 4) >> shift) & 0x0f0f0f0fu) |
                            (((quant::ld_u32<4>(qh + 4) >> s) & 0x01010101u) << 4);
        quant::bytes8_as_floats(lo, hi, 0.f, q);
        int sc, m;
        quant::q4_k_scale_min(s, u + 4, sc, m);
        scale = quant::ld_f16(u) * static_cast<float>(sc);
        min = quant::ld_f16(u + 2) * static_cast<float>(m);
    }
    /// Group grp = sub-block (8 per block): columns 4t.. from qs[32(grp / 2) + 4t ..] and bit grp
    /// of qh[4t ..], columns 16 + 4t.. from 16 bytes on (q <= 31 fits int8).
    static constexpr int mma_group = 32;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const uint8_t* qs = u + 48 + 32 * (grp >> 1) + 4 * t;
        const uint8_t* qh = u + 16 + 4 * t;
        const int shift = 4 * (grp & 1);
        lo = ((quant::ld_u32<4>(qs) >> shift) & 0x0f0f0f0fu) | (((quant::ld_u32<4>(qh) >> grp) & 0x01010101u) << 4);
        hi = ((quant::ld_u32<4>(qs + 16) >> shift) & 0x0f0f0f0fu) |
             (((quant::ld_u32<4>(qh + 16) >> grp) & 0x01010101u) << 4);
        int sc, m;
        quant::q4_k_scale_min(grp, u + 4, sc, m);
        scale = quant::ld_f16(u) * static_cast<float>(sc);
        min = quant::ld_f16(u + 2) * static_cast<float>(m);
    }
};

}  // namespace gdn
