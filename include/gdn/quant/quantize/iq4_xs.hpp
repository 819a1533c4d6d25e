// gdn/quant/quantize/iq4_xs.hpp - float -> IQ4_XS (host only), by the method of llama.cpp's
// quantize_iq4_xs without an importance matrix (also its quantize_row_iq4_xs_ref): each sub-block
// of 32 gets the signed scale of the IQ4_NL search (quantize/iq4_nl.hpp); the scale of largest
// magnitude maps to the 6-bit level -32, so d = -(that scale) / 32 (f16); the others round to
// levels -32..31 against d; then every value is rounded to the table entry nearest to
// x / (d * level). As for IQ4_NL, the roundings here use the stored f16 d (llama.cpp's the float
// one), so the bytes are valid and close to the input but not promised equal to llama.cpp's.
#pragma once

#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq4_xs.hpp"
#include "gdn/quant/half.hpp"
#include "gdn/quant/quantize/iq4_nl.hpp"

namespace gdn::quant {

/// One IQ4_XS super-block of 256 (see the file comment). A super-block whose sub-block scales
/// are all 0 stores d = 0 and decodes to zeros.
inline void quantize_block_iq4_xs(const float* x, BlockIQ4XS& y) {
    uint8_t L[256];
    float scale[8];
    float max_scale = 0.f, amax_scale = 0.f;
    for (int s = 0; s < 8; ++s) {
        scale[s] = iq4_detail::fit_group(x + 32 * s, L + 32 * s);
        if (fabsf(scale[s]) > amax_scale) {
            amax_scale = fabsf(scale[s]);
            max_scale = scale[s];
        }
    }
    y.d = f32_to_f16(amax_scale > 0.f ? -max_scale / 32.f : 0.f);
    const float d = f16_to_f32(y.d);
    const float inv = d != 0.f ? 1.f / d : 0.f;
    y.scales_h = 0;
    std::memset(y.scales_l, 0, sizeof y.scales_l);
    for (int s = 0; s < 8; ++s) {
        int l = static_cast<int>(nearbyintf(inv * scale[s]));  // ties to even, as ggml's nearest_int
        l = l < -32 ? -32 : (l > 31 ? 31 : l);
        iq4_detail::round_to_scale(x + 32 * s, 32, d * static_cast<float>(l), L + 32 * s);
        const int ls = l + 32;
        y.scales_l[s / 2] = static_cast<uint8_t>(y.scales_l[s / 2] | ((ls & 15) << (4 * (s % 2))));
        y.scales_h = static_cast<uint16_t>(y.scales_h | ((ls >> 4) << (2 * s)));
        iq4_detail::pack_group(L + 32 * s, y.qs + 16 * s);
    }
}

/// n values from src into the bytes of dst (n / 256 blocks of 136 bytes, any alignment).
inline void quantize_row_iq4_xs(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 256 == 0, "quantize_row_iq4_xs: n = ", n,
              " is not a multiple of the iq4_xs super-block size 256");
    for (int64_t i = 0; i < n / 256; ++i) {
        BlockIQ4XS b;
        quantize_block_iq4_xs(src + 256 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
