// gdn/quant/formats/q4_k.hpp - ggml Q4_K (type 12): super-blocks of 256 = 8 sub-blocks of 32.
// Sub-block s has a 6-bit scale sc[s] and min m[s] (q4_k_scale_min); pair p = s / 2 uses
// qs[32p .. 32p+31], low nibbles for the even sub-block, high for the odd one; value
// d * sc[s] * q - dmin * m[s].
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ4K {
    uint16_t d;           // f16 scale of the 6-bit sub-block scales
    uint16_t dmin;        // f16 scale of the 6-bit sub-block mins
    uint8_t scales[12];   // 8 scales + 8 mins, 6 bits each (q4_k_scale_min)
    uint8_t qs[128];
};

/// Scale and min of sub-block s (0..7) of the 12 packed bytes shared by Q4_K and Q5_K. Bytes
/// 0-3 hold the scales of sub-blocks 0-3 in their low 6 bits, bytes 4-7 the mins of 0-3;
/// sub-blocks 4-7 take their low 4 bits from bytes 8-11 (scale: low nibble, min: high nibble)
/// and their top 2 bits from the top 2 bits of bytes 0-3 (scale) and 4-7 (min).
GDN_HOST_DEVICE GDN_FORCEINLINE void q4_k_scale_min(int s, const uint8_t* scales, int& sc, int& m) {
    if (s < 4) {
        sc = scales[s] & 63;
        m = scales[s + 4] & 63;
    } else {
        sc = (scales[s + 4] & 0x0f) | ((scales[s - 4] >> 6) << 4);
        m = (scales[s + 4] >> 4) | ((scales[s] >> 6) << 4);
    }
}
}  // namespace quant

struct q4_k : quant::BlockFormatBase<q4_k, quant::BlockQ4K, DType::q4_k> {
    static constexpr std::array<int, 2> f16_fields{0, 2};
    /// Run r: pair g = r / 8 of sub-blocks, columns 64g + 8(r % 8) ..: the first 4 runs of a
    /// pair are low nibbles of qs[32g + 8(r % 4) ..], the next 4 the high nibbles (16-aligned).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const int g = r >> 3, e = 8 * (r & 7);
        const int sub = 2 * g + (e >> 5);
        const uint8_t* qs = u + 16 + 32 * g + (e & 31);
        const int shift = (e >> 5) ? 4 : 0;
        quant::bytes8_as_floats((quant::ld_u32<8>(qs) >> shift) & 0x0f0f0f0fu,
                                (quant::ld_u32<4>(qs + 4) >> shift) & 0x0f0f0f0fu, 0.f, q);
        int sc, m;
        quant::q4_k_scale_min(sub, u + 4, sc, m);
        scale = quant::ld_f16(u) * static_cast<float>(sc);
        min = quant::ld_f16(u + 2) * static_cast<float>(m);
    }
};

}  // namespace gdn
