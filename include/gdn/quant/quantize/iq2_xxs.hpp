// gdn/quant/quantize/iq2_xxs.hpp - float -> IQ2_XXS (host only) with the simple codebook
// quantiser of quantize/iq_grid.hpp (not llama.cpp's imatrix search): groups of 32, signs with
// even parity per run, scale d * (0.5 + ls) * 0.25.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq2_xxs.hpp"
#include "gdn/quant/quantize/iq_grid.hpp"

namespace gdn::quant {

inline void quantize_block_iq2_xxs(const float* x, BlockIQ2XXS& y) {
    int ls[8];
    iq_grid::RunFit runs[32];
    y.d = iq_grid::fit_super_block<iq_grid::Iq2xxs>(x, 32, true, {0.125f, 0.25f}, ls, runs);
    uint8_t bytes[64];
    for (int s = 0; s < 8; ++s) {
        uint32_t w = static_cast<uint32_t>(ls[s]) << 28;
        for (int l = 0; l < 4; ++l) {
            bytes[8 * s + l] = static_cast<uint8_t>(runs[4 * s + l].entry[0]);
            w |= (runs[4 * s + l].signs & 127u) << (7 * l);  // bit 7 is the parity of these
        }
        std::memcpy(bytes + 8 * s + 4, &w, 4);
    }
    std::memcpy(y.qs, bytes, sizeof bytes);
}

inline void quantize_row_iq2_xxs(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 256 == 0, "quantize_row_iq2_xxs: n = ", n,
              " is not a multiple of the iq2_xxs super-block size 256");
    for (int64_t i = 0; i < n / 256; ++i) {
        BlockIQ2XXS b;
        quantize_block_iq2_xxs(src + 256 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
