// gdn/quant/formats/iq4_nl.hpp - ggml IQ4_NL (type 20): blocks of 32, value d * kvalues[n_j] with
// the 16 non-uniform int8 values kvalues_iq4nl (iq_grids.hpp); index n_j of element j < 16 is the
// low nibble of qs[j], of element j + 16 its high nibble (the nibble layout of Q4_0).
#pragma once

#include <cstdint>

#include "gdn/quant/formats/base.hpp"
#include "gdn/quant/formats/iq_common.hpp"

namespace gdn {
namespace quant {
struct BlockIQ4NL {
    uint16_t d;      // f16 scale
    uint8_t qs[16];  // element j: low nibble of qs[j]; element j + 16: high nibble
};
}  // namespace quant

struct iq4_nl : quant::BlockFormatBase<iq4_nl, quant::BlockIQ4NL, DType::iq4_nl> {
    static constexpr bool has_min = false;
    static constexpr std::array<int, 1> f16_fields{0};
    static constexpr int mma_group = 32;
    /// Run r: nibbles of qs[8(r%2) ..], low for r < 2 (2-aligned block).
    GDN_HOST_DEVICE static void decode8(const uint8_t* u, int r, float (&q)[8], float& scale, float& min) {
        const uint8_t* qs = u + 2 + 8 * (r & 1);
        uint32_t lo, hi;
        quant::iq::iq4nl_lookup8(
            quant::iq::iq4nl_run_indices(quant::ld_u32<2>(qs), quant::ld_u32<2>(qs + 4), (r & 2) << 1), lo, hi);
        quant::sbytes8_as_floats(lo, hi, q);
        scale = quant::ld_f16(u);
        min = 0.f;
    }
    /// The block is the group: columns 4t.. are the low nibbles of qs[4t .. 4t+3], columns
    /// 16+4t.. their high nibbles.
    GDN_HOST_DEVICE static void mma_frag(const uint8_t* u, int grp, int t, uint32_t& lo, uint32_t& hi, float& scale,
                                         float& min) {
        (void)grp;
        quant::iq::iq4nl_lookup8(quant::ld_u32<2>(u + 2 + 4 * t), lo, hi);
        scale = quant::ld_f16(u);
        min = 0.f;
    }
};

}  // namespace gdn
