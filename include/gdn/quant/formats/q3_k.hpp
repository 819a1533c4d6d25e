// gdn/quant/formats/q3_k.hpp - ggml Q3_K (type 11): super-blocks of 256 = 16 sub-blocks of 16,
// value d * (sc[s] - 32) * (q - 4) with q in 0..7. In half h, for k < 4 and l < 32, element
// e = 128h + 32k + l has low bits (qs[32h + l] >> 2k) & 3 and third bit (hmask[e % 32] >> e / 32)
// & 1, in sub-block e / 16. Its 6-bit scale sc[s] (q3_k_scale) takes its low 4 bits from
// scales[s % 8] (low nibble for s < 8, high nibble after) and its top 2 bits from bits
// 2(s / 4) .. of scales[8 + s % 4].
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ3K {
    uint8_t hmask[32];   // third bit of the quants: element e is bit e / 32 of hmask[e % 32]
    uint8_t qs[64];      // low 2 bits, four per byte (see the file comment)
    uint8_t scales[12];  // 16 scales of 6 bits, biased by 32 (q3_k_scale)
    uint16_t d;          // f16 super-block scale
};

/// The signed scale (-32..31) of sub-block s (0..15) from the 12 packed bytes.
GDN_HOST_DEVICE GDN_FORCEINLINE int q3_k_scale(int s, const uint8_t* scales) {
    const int low = (scales[s & 7] >> (4 * (s >> 3))) & 0x0f;
    const int high = (scales[8 + (s & 3)] >> (2 * (s >> 2))) & 3;
    return (low | (high << 4)) - 32;
}
}  // namespace quant

struct q3_k : quant::BlockFormatBase<q3_k, quant::BlockQ3K, DType::q3_k> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{108};
    /// Run r: half h = r / 16, k = (r % 16) / 4, l0 = 8(r % 4): columns 128h + 32k + l0 .. of
    /// sub-block r / 2, third bits at bit r / 4 of hmask[l0 ..] (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const int h = r >> 4, k = (r >> 2) & 3, l0 = 8 * (r & 3);
        const uint8_t* qs = u + 32 + 32 * h + l0;
        const uint8_t* hm = u + l0;
        const int hb = r >> 2;
        const uint32_t lo = ((quant::ld_u32<2>(qs) >> (2 * k)) & 0x03030303u) |
                            (((quant::ld_u32<2>(hm) >> hb) & 0x01010101u) << 2);
        const uint32_t hi = ((quant::ld_u32<2>(qs + 4) >> (2 * k)) & 0x03030303u) |
                            (((quant::ld_u32<2>(hm + 4) >> hb) & 0x01010101u) << 2);
        quant::bytes8_as_floats(lo, hi, 4.f, q);
        scale = quant::ld_f16(u + 108) * static_cast<float>(quant::q3_k_scale(r >> 1, u + 96));
        min = 0.f;
    }
    /// Group grp = sub-block (16 per block): h = grp / 8, k = (grp % 8) / 2, l = 16(grp % 2) + 4t;
    /// columns 4t.. from qs[32h + l ..] and bit grp / 2 of hmask[l ..] (hi unused); q - 4 as
    /// int8 is (q + 0x7c) ^ 0x80 per byte (no carry: q + 0x7c <= 0x83).
    static constexpr int mma_group = 16;
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi,
                                         float& scale, float& min) {
        const int h = grp >> 3, k = (grp >> 1) & 3, l = 16 * (grp & 1) + 4 * t;
        const uint32_t v = ((quant::ld_u32<2>(u + 32 + 32 * h + l) >> (2 * k)) & 0x03030303u) |
                           (((quant::ld_u32<2>(u + l) >> (grp >> 1)) & 0x01010101u) << 2);
        lo = (v + 0x7c7c7c7cu) ^ 0x80808080u;
        hi = 0u;
        scale = quant::ld_f16(u + 108) * static_cast<float>(quant::q3_k_scale(grp, u + 96));
        min = 0.f;
    }
};

}  // namespace gdn
