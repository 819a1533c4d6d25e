// gdn/quant/formats/f32.hpp - ggml F32 (type 0): plain little-endian float32.
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"

namespace gdn {

struct f32 : quant::FormatBase<f32, float, DType::f32> {
    static constexpr bool has_min = false;
    GDN_HOST_DEVICE static void dequantize_block(const float& b, float* out) { out[0] = b; }
    GDN_HOST_DEVICE static float dot_block(const float& b, const float* x) { return b * x[0]; }
    /// Elements 8r.. of the 8 floats at u (16-aligned on the device: two 16-byte loads).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
#if defined(__CUDA_ARCH__)
        const float4* p = reinterpret_cast<const float4*>(u + 32 * r);
        const float4 a = p[0], b = p[1];
        q[0] = a.x; q[1] = a.y; q[2] = a.z; q[3] = a.w;
        q[4] = b.x; q[5] = b.y; q[6] = b.z; q[7] = b.w;
#else
        std::memcpy(q, u + 32 * r, sizeof q);
#endif
        scale = 1.f;
        min = 0.f;
    }
};

}  // namespace gdn
