// gdn/quant/quantize/iq3_xxs.hpp - float -> IQ3_XXS (host only) with the simple codebook
// quantiser of quantize/iq_grid.hpp (not llama.cpp's imatrix search): groups of 32, two
// 4-element entries and signs with even parity per run, scale d * (0.5 + ls) * 0.5.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq3_xxs.hpp"
#include "gdn/quant/quantize/iq_grid.hpp"

namespace gdn::quant {

inline void quantize_block_iq3_xxs(const float* x, BlockIQ3XXS& y) {
    int ls[8];
    iq_grid::RunFit runs[32];
    y.d = iq_grid::fit_super_block<iq_grid::Iq3xxs>(x, 32, true, {0.25f, 0.5f}, ls, runs);
    for (int r = 0; r < 32; ++r) {
        y.qs[2 * r] = static_cast<uint8_t>(runs[r].entry[0]);
        y.qs[2 * r + 1] = static_cast<uint8_t>(runs[r].entry[1]);
    }
    for (int s = 0; s < 8; ++s) {
        uint32_t w = static_cast<uint32_t>(ls[s]) << 28;
        for (int l = 0; l < 4; ++l) w |= (runs[4 * s + l].signs & 127u) << (7 * l);  // bit 7: their parity
        std::memcpy(y.qs + 64 + 4 * s, &w, 4);
    }
}

inline void quantize_row_iq3_xxs(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 256 == 0, "quantize_row_iq3_xxs: n = ", n,
              " is not a multiple of the iq3_xxs super-block size 256");
    for (int64_t i = 0; i < n / 256; ++i) {
        BlockIQ3XXS b;
        quantize_block_iq3_xxs(src + 256 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
