// gdn/quant/quantize/iq2_s.hpp - float -> IQ2_S (host only) with the simple codebook quantiser of
// quantize/iq_grid.hpp (not llama.cpp's imatrix search): groups of 16, free signs, scale
// d * (0.5 + ls) * 0.25.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq2_s.hpp"
#include "gdn/quant/quantize/iq_grid.hpp"

namespace gdn::quant {

inline void quantize_block_iq2_s(const float* x, BlockIQ2S& y) {
    int ls[16];
    iq_grid::RunFit runs[32];
    y.d = iq_grid::fit_super_block<iq_grid::Iq2s>(x, 16, false, {0.125f, 0.25f}, ls, runs);
    std::memset(y.qh, 0, sizeof y.qh);
    for (int r = 0; r < 32; ++r) {
        y.qs[r] = static_cast<uint8_t>(runs[r].entry[0] & 255u);
        y.qh[r / 4] = static_cast<uint8_t>(y.qh[r / 4] | ((runs[r].entry[0] >> 8) << (2 * (r % 4))));
        y.signs[r] = static_cast<uint8_t>(runs[r].signs);
    }
    for (int k = 0; k < 8; ++k) y.scales[k] = static_cast<uint8_t>(ls[2 * k] | (ls[2 * k + 1] << 4));
}

inline void quantize_row_iq2_s(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 256 == 0, "quantize_row_iq2_s: n = ", n,
              " is not a multiple of the iq2_s super-block size 256");
    for (int64_t i = 0; i < n / 256; ++i) {
        BlockIQ2S b;
        quantize_block_iq2_s(src + 256 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
