// tests/gpu/matmul_ref.cuh - the float64 host reference of the GEMV and GEMM tests: random
// GGUF weight matrices of every format, exact products of (selected) dequantised rows with
// every token's x and their error scale sum |w| |x|, the RMSNorm prologue in double, and the
// expected silu(g) * u of the gate/up kernels with its first-order error scale.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "gdn/quant/dispatch.hpp"
#include "gdn/quant/half.hpp"
#include "gdn/quant/quantizers.hpp"

namespace gdn::test {

/// Host copy of a random [rows, cols] matrix of type t, as GGUF bytes. Block formats: random
/// bytes (every bit pattern of quants, sub-block scales and codebook indices is a valid block)
/// with the format's f16 scales (F::f16_fields) set to 1e-3..1e-2 and its e8m0 exponents
/// (F::e8m0_fields) to 2^-9..2^-6, so values stay finite and of a realistic size; plain formats:
/// uniform(-1, 1) values stored in the format.
inline std::vector<std::byte> random_matrix(DType t, int64_t rows, int64_t cols, uint64_t seed) {
    const int64_t rb = gdn::dtype_row_bytes(t, cols);
    std::vector<std::byte> bytes(static_cast<size_t>(rb * rows));
    std::mt19937_64 rng(seed);
    const bool block_format = gdn::dtype_traits(t).block_elems > 1;
    if (block_format) {
        for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
            const uint64_t r = rng();
            std::memcpy(&bytes[i], &r, 8);
        }
        std::uniform_real_distribution<float> d(1e-3f, 1e-2f);
        std::uniform_int_distribution<int> e(127 - 9, 127 - 6);
        gdn::dispatch_format(t, [&](auto tag) {
            using F = decltype(tag);
            for (int64_t off = 0; off < static_cast<int64_t>(bytes.size()); off += F::block_bytes) {
                for (int f : F::f16_fields) {
                    const uint16_t h = gdn::quant::f32_to_f16(d(rng));
                    std::memcpy(&bytes[static_cast<size_t>(off + f)], &h, 2);
                }
                for (int f : F::e8m0_fields) bytes[static_cast<size_t>(off + f)] = static_cast<std::byte>(e(rng));
            }
        });
        return bytes;
    }
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (auto& v : row) v = u(rng);
        gdn::quant::quantize_row(t, row.data(), bytes.data() + r * rb, cols);
    }
    return bytes;
}

/// Rows to check: all of them (sample <= 0 or >= rows), or `sample` rows (the first and last 4
/// and random ones between), ascending.
inline std::vector<int64_t> select_rows(int64_t rows, int sample, uint64_t seed) {
    std::vector<int64_t> sel;
    if (sample <= 0 || sample >= rows) {
        for (int64_t r = 0; r < rows; ++r) sel.push_back(r);
        return sel;
    }
    for (int64_t r = 0; r < 4; ++r) sel.push_back(r), sel.push_back(rows - 1 - r);
    std::mt19937_64 rng(seed);
    while (static_cast<int>(sel.size()) < sample) sel.push_back(static_cast<int64_t>(rng() % rows));
    std::sort(sel.begin(), sel.end());
    sel.erase(std::unique(sel.begin(), sel.end()), sel.end());
    return sel;
}

/// Exact products of the selected rows with every token row of x, and their error scale
/// sum |w| |x|: dot[tok * n_sel + j] for row sel[j] (with every row selected, [tok][row]).
struct Products {
    std::vector<double> dot, scale;
};

/// Rows of w (type t, `cols` wide) dequantised by gdn::dequantize_row, times x [n_tok, cols]
/// in double; rows split over host threads.
inline Products reference_products(DType t, const std::vector<std::byte>& w, const std::vector<int64_t>& sel,
                                   int64_t cols, const std::vector<double>& x, int n_tok) {
    const size_t n_sel = sel.size();
    Products p;
    p.dot.assign(n_sel * n_tok, 0.0);
    p.scale.assign(n_sel * n_tok, 0.0);
    const int64_t rb = gdn::dtype_row_bytes(t, cols);
    const unsigned n_threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    auto work = [&](unsigned id) {
        std::vector<float> wr(static_cast<size_t>(cols));
        for (size_t j = id; j < n_sel; j += n_threads) {
            gdn::dequantize_row(t, w.data() + sel[j] * rb, wr.data(), cols);
            for (int s = 0; s < n_tok; ++s) {
                double d = 0, a = 0;
                const double* xs = x.data() + static_cast<int64_t>(s) * cols;
                for (int64_t c = 0; c < cols; ++c) {
                    const double pr = double(wr[c]) * xs[c];
                    d += pr;
                    a += std::fabs(pr);
                }
                p.dot[s * n_sel + j] = d;
                p.scale[s * n_sel + j] = a;
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned i = 0; i < n_threads; ++i) pool.emplace_back(work, i);
    for (auto& th : pool) th.join();
    return p;
}

/// x [n_tok, cols] normalised in double: x * rsqrt(mean(x^2) + eps) * w
inline std::vector<double> normed(const std::vector<float>& x, const std::vector<float>& w, int n_tok,
                                  int64_t cols, double eps) {
    std::vector<double> out(x.size());
    for (int s = 0; s < n_tok; ++s) {
        double ss = 0;
        for (int64_t c = 0; c < cols; ++c) ss += double(x[s * cols + c]) * x[s * cols + c];
        const double inv = 1.0 / std::sqrt(ss / double(cols) + eps);
        for (int64_t c = 0; c < cols; ++c) out[s * cols + c] = x[s * cols + c] * inv * w[c];
    }
    return out;
}

/// Expected outputs and their error scales, element by element.
struct Expected {
    std::vector<double> want, scale;
};

/// The gate/up kernels' h = silu(g) * u from the gate and up products, with the first-order
/// propagation of their scales through silu(g) * u as the error scale.
inline Expected gate_up_expected(const Products& g, const Products& u) {
    Expected e;
    e.want.resize(g.dot.size());
    e.scale.resize(g.dot.size());
    for (size_t i = 0; i < g.dot.size(); ++i) {
        const double gi = g.dot[i], ui = u.dot[i];
        const double sig = 1.0 / (1.0 + std::exp(-gi));
        const double silu = gi * sig;
        const double dsilu = sig * (1.0 + gi * (1.0 - sig));
        e.want[i] = silu * ui;
        // floor: for g < -88 float32 silu underflows to 0 where the true h is ~1e-36
        e.scale[i] = std::fabs(dsilu * ui) * g.scale[i] + std::fabs(silu) * u.scale[i] + 1e-20;
    }
    return e;
}

}  // namespace gdn::test
