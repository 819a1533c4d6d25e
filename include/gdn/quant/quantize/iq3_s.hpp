// gdn/quant/quantize/iq3_s.hpp - float -> IQ3_S (host only) with the simple codebook quantiser of
// quantize/iq_grid.hpp (not llama.cpp's imatrix search): groups of 32, two 4-element entries and
// free signs per run, scale d * (1 + 2 ls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "gdn/core/error.hpp"
#include "gdn/quant/formats/iq3_s.hpp"
#include "gdn/quant/quantize/iq_grid.hpp"

namespace gdn::quant {

inline void quantize_block_iq3_s(const float* x, BlockIQ3S& y) {
    int ls[8];
    iq_grid::RunFit runs[32];
    y.d = iq_grid::fit_super_block<iq_grid::Iq3s>(x, 32, false, {1.f, 2.f}, ls, runs);
    std::memset(y.qh, 0, sizeof y.qh);
    for (int r = 0; r < 32; ++r) {
        for (int h = 0; h < 2; ++h) {
            const int e = 2 * r + h;  // grid entry e of the block
            y.qs[e] = static_cast<uint8_t>(runs[r].entry[h] & 255u);
            y.qh[e / 8] = static_cast<uint8_t>(y.qh[e / 8] | ((runs[r].entry[h] >> 8) << (e % 8)));
        }
        y.signs[r] = static_cast<uint8_t>(runs[r].signs);
    }
    for (int k = 0; k < 4; ++k) y.scales[k] = static_cast<uint8_t>(ls[2 * k] | (ls[2 * k + 1] << 4));
}

inline void quantize_row_iq3_s(const float* src, std::byte* dst, int64_t n) {
    GDN_CHECK(n >= 0 && n % 256 == 0, "quantize_row_iq3_s: n = ", n,
              " is not a multiple of the iq3_s super-block size 256");
    for (int64_t i = 0; i < n / 256; ++i) {
        BlockIQ3S b;
        quantize_block_iq3_s(src + 256 * i, b);
        std::memcpy(dst + i * static_cast<int64_t>(sizeof b), &b, sizeof b);
    }
}

}  // namespace gdn::quant
