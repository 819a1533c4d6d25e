// gdn/ref/tensor_ops.hpp - the reference's access to weight tensors of any supported dtype:
// whole-tensor dequantization (small vectors, done once), y = W x, and the embedding lookup.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/quant/dispatch.hpp"

namespace gdn::ref {

GDN_FORCEINLINE float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
GDN_FORCEINLINE float silu(float x) { return x / (1.f + std::exp(-x)); }

/// torch.nn.functional.softplus with its defaults (beta 1, threshold 20: linear above 20).
GDN_FORCEINLINE float softplus(float x) { return x > 20.f ? x : std::log1p(std::exp(x)); }

/// Throws unless `t` is present, of a supported dtype, and its rows split into whole blocks.
inline void check_rows_decodable(const TensorView& t) {
    GDN_CHECK(!t.empty(), "tensor '", t.name, "' is missing");
    GDN_CHECK(dtype_supported(static_cast<uint32_t>(t.type)), "tensor '", t.name,
              "' has unsupported dtype id ", static_cast<uint32_t>(t.type));
    const int64_t blk = dtype_traits(t.type).block_elems;
    GDN_CHECK(t.ne[0] % blk == 0, "tensor '", t.name, "': row length ", t.ne[0],
              " is not a multiple of the ", dtype_name(t.type), " block size ", blk);
}

/// All elements as float, row-major [rows][cols] (ggml order: row r = ne[1..] index r).
inline std::vector<float> dequantize(const TensorView& t) {
    check_rows_decodable(t);
    std::vector<float> out(static_cast<size_t>(t.elems()));
    for (int64_t r = 0; r < t.rows(); ++r) {
        gdn::dequantize_row(t.type, t.row(r), out.data() + r * t.cols(), t.cols());
    }
    return out;
}

/// y[r] = dot(W row r, x): W is [cols = x.size(), rows = y.size()] in ggml order.
inline void matvec(const TensorView& w, std::span<const float> x, std::span<float> y) {
    GDN_CHECK(static_cast<int64_t>(x.size()) == w.cols() &&
                  static_cast<int64_t>(y.size()) == w.rows(),
              "matvec with '", w.name, "' [", w.cols(), ", ", w.rows(), "]: got x of ", x.size(),
              " and y of ", y.size());
    for (int64_t r = 0; r < w.rows(); ++r) {
        y[static_cast<size_t>(r)] = gdn::dot_row(w.type, w.row(r), x.data(), w.cols());
    }
}

/// out = row `token` of the embedding table tok_embd [n_embd, n_vocab].
inline void embed(const TensorView& tok_embd, int32_t token, std::span<float> out) {
    GDN_CHECK(token >= 0 && token < tok_embd.rows(), "token id ", token,
              " is out of range for '", tok_embd.name, "' with ", tok_embd.rows(), " rows");
    GDN_CHECK(static_cast<int64_t>(out.size()) == tok_embd.cols(), "embedding of '",
              tok_embd.name, "' has ", tok_embd.cols(), " values, output holds ", out.size());
    gdn::dequantize_row(tok_embd.type, tok_embd.row(token), out.data(), tok_embd.cols());
}

}  // namespace gdn::ref
