// gdn/quant/quantize/iq2_xs.hpp - float -> IQ2_XS (host only) with the simple codebook quantiser
// of quantize/iq_grid.hpp (not llama.cpp's imatrix search): groups of 16, signs with even parity
// per run, scale d * (0.5 + ls) * 0.25.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq2_xs.hpp"
#include "gdn/quant/quantize/iq_grid.hpp"

namespace gdn::quant {

inline void quantize_block_iq2_xs(const float* x, BlockIQ2XS& y) {
    int ls[16];
    iq_grid::RunFit runs[32];
    y.d = iq_grid::fit_super_block<iq_grid::Iq2xs>(x, 16, true, {0.125f, 0.25f}, ls, runs);
    for (int r = 0; r < 32; ++r) y.qs[r] = static_cast<uint16_t>(runs[r].entry[0] | ((runs[r].signs & 127u) << 9));
    for (int k = 0; k < 8; ++k) y.scales[k] = static_cast<uint8_t>(ls[2 * k] | (ls[2 * k + 1] << 4));
}

inline void quantize_row_iq2_xs(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 256 == 0, "quantize_row_iq2_xs: n = ", n,
              " is not a multiple of the iq2_xs super-block size 256");
    for (int64_t i = 0; i < n / 256; ++i) {
        BlockIQ2XS b;
        quantize_block_iq2_xs(src + 256 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
