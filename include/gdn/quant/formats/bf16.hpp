// gdn/quant/formats/bf16.hpp - ggml BF16 (type 30): the top 16 bits of a float32.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {

struct bf16 : quant::FormatBase<bf16, uint16_t, DType::bf16> {
    static constexpr bool has_min = false;
    GDN_HOST_DEVICE static void dequantize_block(const uint16_t& b, float* out) { out[0] = quant::bf16_to_f32(b); }
    GDN_HOST_DEVICE static float dot_block(const uint16_t& b, const float* x) { return quant::bf16_to_f32(b) * x[0]; }
    /// The 8 bf16 at u (16-aligned).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        for (int i = 0; i < 4; ++i) {
            const uint32_t w = quant::ld_u32<4>(u + 16 * r + 4 * i);
            q[2 * i] = quant::bits_float(w << 16);
            q[2 * i + 1] = quant::bits_float(w & 0xffff0000u);
        }
        scale = 1.f;
        min = 0.f;
    }
};

}  // namespace gdn
