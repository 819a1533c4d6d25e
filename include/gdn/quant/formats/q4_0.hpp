// gdn/quant/formats/q4_0.hpp - ggml Q4_0 (type 2): blocks of 32, value d * (q - 8); element
// j < 16 is the low nibble of qs[j], element j + 16 its high nibble.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ4_0 {
    uint16_t d;      // f16 scale
    uint8_t qs[16];  // element j: low nibble of qs[j]; element j + 16: high nibble
};
}  // namespace quant

struct q4_0 : quant::BlockFormatBase<q4_0, quant::BlockQ4_0, DType::q4_0> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    /// Run r: nibbles of qs[8(r%2) ..], low for r < 2 (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 2 + 8 * (r & 1);
        const int shift = (r & 2) ? 4 : 0;
        quant::bytes8_as_floats((quant::ld_u32<2>(qs) >> shift) & 0x0f0f0f0fu,
                                (quant::ld_u32<2>(qs + 4) >> shift) & 0x0f0f0f0fu, 8.f, q);
        scale = quant::ld_f16(u);
        min = 0.f;
    }
};

}  // namespace gdn
