// gdn/quant/formats/f16.hpp - ggml F16 (type 1): IEEE binary16.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {

struct f16 : quant::FormatBase<f16, uint16_t, DType::f16> {
    static constexpr bool has_min = false;
    GDN_HOST_DEVICE static void dequantize_block(const uint16_t& b, float* out) { out[0] = quant::f16_to_f32(b); }
    GDN_HOST_DEVICE static float dot_block(const uint16_t& b, const float* x) { return quant::f16_to_f32(b) * x[0]; }
    /// The 8 halves at u (16-aligned).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        for (int i = 0; i < 4; ++i) {
            const uint32_t w = quant::ld_u32<4>(u + 16 * r + 4 * i);
            q[2 * i] = quant::f16_to_f32(static_cast<uint16_t>(w & 0xffffu));
            q[2 * i + 1] = quant::f16_to_f32(static_cast<uint16_t>(w >> 16));
        }
        scale = 1.f;
        min = 0.f;
    }
};

}  // namespace gdn
