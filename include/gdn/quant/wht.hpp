// gdn/quant/wht.hpp - in-place fast Walsh-Hadamard transform with orthonormal scaling:
// x <- H_n x / sqrt(n), H_n the Sylvester Hadamard matrix (H_1 = [1], H_2n = [[H, H], [H, -H]]),
// so entry (i, j) is (-1)^popcount(i & j). The transform is symmetric and orthogonal, hence
// its own inverse and norm-preserving: rotating q and k (or a weight row and its input)
// by it leaves dot products unchanged while spreading outliers before quantisation.
#pragma once

#include <cstdint>

#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"

namespace gdn::quant {

/// 1 / sqrt(n) for n a power of two, exact up to float rounding.
GDN_HOST_DEVICE constexpr float wht_scale(int64_t n) {
    float s = 1.f;
    while (n >= 4) {
        s *= 0.5f;
        n /= 4;
    }
    return n == 2 ? s * 0.70710678118654752440f : s;
}

/// x[0..N) <- H_N x / sqrt(N); log2(N) butterfly passes, N*log2(N) adds.
template <int N>
GDN_HOST_DEVICE GDN_FORCEINLINE void wht(float* x) {
    static_assert(N >= 2 && (N & (N - 1)) == 0, "wht: N must be a power of two");
    for (int h = 1; h < N; h *= 2) {
        for (int i = 0; i < N; i += 2 * h) {
            for (int j = i; j < i + h; ++j) {
                const float a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
    }
    constexpr float s = wht_scale(N);
    for (int i = 0; i < N; ++i) x[i] *= s;
}

/// Host version for a runtime n: 64, 128 or 256 (the head sizes gdn rotates).
inline void wht(float* x, int64_t n) {
    switch (n) {
        case 64: wht<64>(x); return;
        case 128: wht<128>(x); return;
        case 256: wht<256>(x); return;
        default: break;
    }
    fail("wht: n = ", n, " is not one of 64, 128, 256");
}

}  // namespace gdn::quant
