// tests/gpu/attention_ref.cuh - the host side of the attention decode and prefill tests' tight
// check: a stored KV-cache row dequantised on the host, and the float64 gated attention of one
// query head over the rows the kernel stored (softmax(q.k / sqrt(hd)) V * sigmoid(gate)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "gdn/quant/blocks.hpp"
#include "gdn/quant/formats.hpp"
#include "gdn/quant/half.hpp"

namespace gdn::test::attention {

constexpr int kHd = 256;  // head_dim

template <class Kv>
const char* kv_name() {
    if constexpr (std::is_same_v<Kv, gdn::f16>) return "f16";
    else if constexpr (std::is_same_v<Kv, gdn::q8_0>) return "q8_0";
    else return "q4_0";
}

/// Host copy of one stored [hd] row, dequantised.
template <class Kv>
void dequant_row(const uint8_t* row, float* out) {
    if constexpr (std::is_same_v<Kv, gdn::f16>) {
        for (int i = 0; i < kHd; ++i) {
            uint16_t h;
            std::memcpy(&h, row + 2 * i, 2);
            out[i] = gdn::quant::f16_to_f32(h);
        }
    } else {
        using Block = typename Kv::block_type;
        for (int b = 0; b < kHd / 32; ++b) {
            Block blk;
            std::memcpy(&blk, row + sizeof(Block) * b, sizeof(Block));
            Kv::dequantize_block(blk, out + 32 * b);
        }
    }
}

/// One query head's output in float64 over positions 0..last: q [hd] as the kernel scores it
/// (normed, roped, WHT-rotated where the cache is), key(j) / value(j) the dequantised [hd] K / V
/// rows of position j (pointers valid until the next call), gate [hd] the head's output gate.
/// want [hd] = sum_j softmax_j(q.k_j / 16) v_j * sigmoid(gate).
template <class KeyRow, class ValueRow>
void attend_f64(const float* q, int last, KeyRow&& key, ValueRow&& value, const float* gate, double* want) {
    std::vector<double> sc(static_cast<size_t>(last) + 1), acc(kHd, 0.0);
    double mx = -INFINITY;
    for (int j = 0; j <= last; ++j) {
        const float* kr = key(j);
        double d = 0;
        for (int i = 0; i < kHd; ++i) d += double(q[i]) * kr[i];
        sc[size_t(j)] = d / 16.0;
        mx = std::max(mx, sc[size_t(j)]);
    }
    double den = 0;
    for (int j = 0; j <= last; ++j) {
        const double w = std::exp(sc[size_t(j)] - mx);
        den += w;
        const float* vr = value(j);
        for (int i = 0; i < kHd; ++i) acc[size_t(i)] += w * vr[i];
    }
    for (int i = 0; i < kHd; ++i) want[i] = acc[size_t(i)] / den / (1.0 + std::exp(-double(gate[i])));
}

}  // namespace gdn::test::attention
