// gdn/quant/formats/q6_k.hpp - ggml Q6_K (type 14): super-blocks of 256 in two halves of 128;
// in half h, for l < 32 and k < 4 element 128h + 32k + l is
//   q = (4 bits of ql[64h + l + 32(k&1)], low nibble for k < 2, high for k >= 2)
//       | ((qh[32h + l] >> 2k) & 3) << 4,   value d * scales[8h + 2k + l/16] * (q - 32).
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ6K {
    uint8_t ql[128];   // low 4 bits
    uint8_t qh[64];    // high 2 bits
    int8_t scales[16]; // one per 16 elements
    uint16_t d;        // f16 super-block scale
};

/// The 6-bit quant (0..63, before the -32 offset) of element j of b.
GDN_HOST_DEVICE GDN_FORCEINLINE int q6_k_quant(const BlockQ6K& b, int j) {
    const int h = j >> 7, k = (j >> 5) & 3, l = j & 31;
    const uint8_t lo = b.ql[64 * h + l + 32 * (k & 1)];
    const int low4 = k < 2 ? (lo & 0x0f) : (lo >> 4);
    const int high2 = (b.qh[32 * h + l] >> (2 * k)) & 3;
    return low4 | (high2 << 4);
}
}  // namespace quant

struct q6_k : quant::BlockFormatBase<q6_k, quant::BlockQ6K, DType::q6_k> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{208};
    /// Run r: half h = r / 16, quarter k = (r % 16) / 4, l0 = 8(r % 4): columns 128h + 32k + l0 ..
    /// (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const int h = r >> 4, k = (r >> 2) & 3, l0 = 8 * (r & 3);
        const uint8_t* ql = u + 64 * h + l0 + 32 * (k & 1);
        const uint8_t* qh = u + 128 + 32 * h + l0;
        const int lshift = (k >> 1) * 4, hshift = 2 * k;
        const uint32_t lo = ((quant::ld_u32<2>(ql) >> lshift) & 0x0f0f0f0fu) |
                            (((quant::ld_u32<2>(qh) >> hshift) & 0x03030303u) << 4);
        const uint32_t hi = ((quant::ld_u32<2>(ql + 4) >> lshift) & 0x0f0f0f0fu) |
                            (((quant::ld_u32<2>(qh + 4) >> hshift) & 0x03030303u) << 4);
        quant::bytes8_as_floats(lo, hi, 32.f, q);
        const int8_t sc = static_cast<int8_t>(u[192 + 8 * h + 2 * k + (l0 >> 4)]);
        scale = quant::ld_f16(u + 208) * static_cast<float>(sc);
        min = 0.f;
    }
};

}  // namespace gdn
