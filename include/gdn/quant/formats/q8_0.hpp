// gdn/quant/formats/q8_0.hpp - ggml Q8_0 (type 8): blocks of 32, value d * qs[j].
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {
namespace quant {
struct BlockQ8_0 {
    uint16_t d;      // f16 scale
    int8_t qs[32];
};
}  // namespace quant

struct q8_0 : quant::BlockFormatBase<q8_0, quant::BlockQ8_0, DType::q8_0> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    /// Run r: qs[8r .. 8r+7] (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 2 + 8 * r;
        quant::sbytes8_as_floats(quant::ld_u32<2>(qs), quant::ld_u32<2>(qs + 4), q);
        scale = quant::ld_f16(u);
        min = 0.f;
    }
};

}  // namespace gdn
