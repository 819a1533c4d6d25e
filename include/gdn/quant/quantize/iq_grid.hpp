// gdn/quant/quantize/iq_grid.hpp - a simple quantiser for ggml's codebook i-quants (iq2_xxs,
// iq2_xs, iq2_s, iq3_xxs, iq3_s; host only, slow: every codebook entry is tried for every run).
// NOT llama.cpp's method: llama.cpp quantises these with an importance matrix and a search over
// each point's grid neighbours (and refuses iq2_xxs / iq2_xs without one); this one writes
// valid blocks that decode close to the input, for tests and small files. Per super-block of 256:
//   1. each scale group (16 or 32 values) tries 17 scales s = max|x| / (largest codebook
//      magnitude) * f, f = 0.6 .. 1.4; at each, every run takes its nearest codebook entries
//      and signs (fit_run), then the group's least-squares scale for those quants; the trial of
//      least squared error wins;
//   2. d (f16) maps the largest group scale to the 4-bit level 15, the others round to their
//      nearest level;
//   3. every run is fitted again at its group's stored scale.
// Signs follow the format: free per element (iq2_s, iq3_s), or an even number of minus signs
// per run of 8 (iq2_xxs, iq2_xs, iq3_xxs, whose 8th sign is the parity of 7 stored ones), met by
// flipping the element whose flip costs least.
#pragma once

#include <math.h>

#include <bit>
#include <cstdint>

#include "gdn/quant/formats/iq_grids.hpp"
#include "gdn/quant/half.hpp"

namespace gdn::quant::iq_grid {

/// A codebook of `size` entries of `elems` (8 or 4) magnitudes, byte j = element j.
template <const auto& Table, int Elems>
struct Codebook {
    static constexpr int size = static_cast<int>(sizeof(Table) / sizeof(Table[0]));
    static constexpr int elems = Elems;
    static constexpr int magnitude(uint32_t entry, int j) {
        return static_cast<int>((Table[entry] >> (8 * j)) & 0xffu);
    }
    /// The largest magnitude of the codebook.
    static constexpr int largest() {
        int m = 0;
        for (uint32_t e = 0; e < size; ++e)
            for (int j = 0; j < elems; ++j) m = magnitude(e, j) > m ? magnitude(e, j) : m;
        return m;
    }
};
using Iq2xxs = Codebook<iq::iq2xxs_grid_table, 8>;
using Iq2xs = Codebook<iq::iq2xs_grid_table, 8>;
using Iq2s = Codebook<iq::iq2s_grid_table, 8>;
using Iq3xxs = Codebook<iq::iq3xxs_grid_table, 4>;
using Iq3s = Codebook<iq::iq3s_grid_table, 4>;

/// A run of 8: its codebook entries (entry[1] unused for 8-element codebooks), sign bits (bit j:
/// element j negative) and squared error at the scale it was fitted with.
struct RunFit {
    uint32_t entry[2] = {0, 0};
    uint32_t signs = 0;
    float err = 0.f;
};

/// The nearest entries and signs for the run x[0..8) at scale s > 0: the least squared error
/// over the entries and the signs the format allows. With even_parity, an odd count of negative
/// values flips the sign of one element j (which adds 4 s g_j |x_j| to the squared error), the
/// cheapest over every choice of entries and j.
template <class Book>
RunFit fit_run(const float* x, float s, bool even_parity) {
    uint32_t neg = 0;
    for (int j = 0; j < 8; ++j) neg |= (x[j] < 0.f ? 1u : 0u) << j;
    const bool odd = even_parity && (std::popcount(neg) & 1);
    RunFit f;
    f.err = INFINITY;
    if constexpr (Book::elems == 8) {
        for (int e = 0; e < Book::size; ++e) {
            float sum = 0.f, cheapest = INFINITY;
            int flip = 0;
            for (int j = 0; j < 8; ++j) {
                const float g = s * static_cast<float>(Book::magnitude(static_cast<uint32_t>(e), j));
                const float d = g - fabsf(x[j]);
                sum += d * d;
                if (odd && g * fabsf(x[j]) < cheapest) {
                    cheapest = g * fabsf(x[j]);
                    flip = j;
                }
            }
            if (odd) sum += 4.f * cheapest;
            if (sum < f.err) {
                f.err = sum;
                f.entry[0] = static_cast<uint32_t>(e);
                f.signs = odd ? neg ^ (1u << flip) : neg;
            }
        }
    } else {
        // per half h: the best entry with no flip, and for each of its elements j the best
        // entry with j flipped; then the cheaper of (half 0 as is, half 1 with a flip) and the
        // reverse, or both as is when no flip is needed
        float plain[2], flipped[2] = {INFINITY, INFINITY};
        uint32_t plain_e[2] = {0, 0}, flipped_e[2] = {0, 0};
        int flipped_j[2] = {0, 0};
        for (int h = 0; h < 2; ++h) {
            plain[h] = INFINITY;
            for (int e = 0; e < Book::size; ++e) {
                float sum = 0.f, g[4];
                for (int j = 0; j < 4; ++j) {
                    g[j] = s * static_cast<float>(Book::magnitude(static_cast<uint32_t>(e), j));
                    const float d = g[j] - fabsf(x[4 * h + j]);
                    sum += d * d;
                }
                if (sum < plain[h]) {
                    plain[h] = sum;
                    plain_e[h] = static_cast<uint32_t>(e);
                }
                for (int j = 0; odd && j < 4; ++j) {
                    const float c = sum + 4.f * g[j] * fabsf(x[4 * h + j]);
                    if (c < flipped[h]) {
                        flipped[h] = c;
                        flipped_e[h] = static_cast<uint32_t>(e);
                        flipped_j[h] = 4 * h + j;
                    }
                }
            }
        }
        f.signs = neg;
        if (!odd) {
            f.entry[0] = plain_e[0];
            f.entry[1] = plain_e[1];
            f.err = plain[0] + plain[1];
        } else if (flipped[0] + plain[1] <= plain[0] + flipped[1]) {
            f.entry[0] = flipped_e[0];
            f.entry[1] = plain_e[1];
            f.err = flipped[0] + plain[1];
            f.signs ^= 1u << flipped_j[0];
        } else {
            f.entry[0] = plain_e[0];
            f.entry[1] = flipped_e[1];
            f.err = plain[0] + flipped[1];
            f.signs ^= 1u << flipped_j[1];
        }
    }
    return f;
}

/// The signed quant of element j of a fitted run.
template <class Book>
float quant_of(const RunFit& f, int j) {
    const float g = static_cast<float>(Book::magnitude(f.entry[Book::elems == 8 ? 0 : j >> 2], Book::elems == 8 ? j : j & 3));
    return (f.signs >> j) & 1u ? -g : g;
}

/// Step 1 of the file comment for the group x[0..n) (n = 16 or 32): its scale (>= 0; 0 for an
/// all-zero group) and the fits of its runs at the winning trial.
template <class Book>
float fit_group(const float* x, int n, bool even_parity, RunFit* runs) {
    float amax = 0.f;
    for (int j = 0; j < n; ++j) amax = fmaxf(amax, fabsf(x[j]));
    if (amax == 0.f) {
        for (int r = 0; r < n / 8; ++r) runs[r] = fit_run<Book>(x + 8 * r, 1.f, even_parity);
        return 0.f;
    }
    constexpr float largest = static_cast<float>(Book::largest());
    float best_err = INFINITY, best_scale = 0.f;
    RunFit trial[4];
    for (int k = 0; k <= 16; ++k) {
        const float s = amax / largest * (0.6f + 0.05f * static_cast<float>(k));
        float sqx = 0.f, sq2 = 0.f;
        for (int r = 0; r < n / 8; ++r) {
            trial[r] = fit_run<Book>(x + 8 * r, s, even_parity);
            for (int j = 0; j < 8; ++j) {
                const float q = quant_of<Book>(trial[r], j);
                sqx += q * x[8 * r + j];
                sq2 += q * q;
            }
        }
        const float ls = sqx > 0.f ? sqx / sq2 : 0.f;  // least squares for these quants
        float err = 0.f;
        for (int r = 0; r < n / 8; ++r) {
            for (int j = 0; j < 8; ++j) {
                const float d = ls * quant_of<Book>(trial[r], j) - x[8 * r + j];
                err += d * d;
            }
        }
        if (err < best_err) {
            best_err = err;
            best_scale = ls;
            for (int r = 0; r < n / 8; ++r) runs[r] = trial[r];
        }
    }
    return best_scale;
}

/// A format's rule for its 4-bit group scale: scale = d * (a + b * ls).
struct ScaleRule {
    float a, b;
    float at(float d, int ls) const { return d * (a + b * static_cast<float>(ls)); }
};

/// Steps 1-3 of the file comment for one super-block of 256 in groups of n: the f16 d, each
/// group's 4-bit level, and each run's fit at its group's stored scale (ls[256 / n], runs[32]).
template <class Book>
uint16_t fit_super_block(const float* x, int n, bool even_parity, ScaleRule rule, int* ls, RunFit* runs) {
    float scale[16], max_scale = 0.f;
    for (int g = 0; g < 256 / n; ++g) {
        scale[g] = fit_group<Book>(x + n * g, n, even_parity, runs + g * (n / 8));
        max_scale = fmaxf(max_scale, scale[g]);
    }
    const uint16_t dh = f32_to_f16(max_scale / (rule.a + 15.f * rule.b));
    const float d = f16_to_f32(dh);
    for (int g = 0; g < 256 / n; ++g) {
        int l = d > 0.f ? static_cast<int>(nearbyintf((scale[g] / d - rule.a) / rule.b)) : 0;
        l = l < 0 ? 0 : (l > 15 ? 15 : l);
        ls[g] = l;
        const float s = rule.at(d, l);
        if (s > 0.f) {
            for (int r = 0; r < n / 8; ++r) runs[g * (n / 8) + r] = fit_run<Book>(x + n * g + 8 * r, s, even_parity);
        }
    }
    return dh;
}

}  // namespace gdn::quant::iq_grid
