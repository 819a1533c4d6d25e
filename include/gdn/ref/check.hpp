// gdn/ref/check.hpp - shape and dtype validation of a whole ModelWeights against its config,
// done once before decoding so that a bad file fails with a message naming the tensor.
#pragma once

#include <cstdint>
#include <string>

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/core/weights.hpp"

namespace gdn::ref {

namespace detail {
/// `where` names the role ("layer 3 deltanet.qkv"); the tensor's own name follows if set.
inline void check_tensor(const TensorView& t, const std::string& where, int64_t cols,
                         int64_t rows = 1) {
    const std::string who =
        t.name.empty() ? where : where + " (tensor '" + t.name + "')";
    GDN_CHECK(!t.empty(), who, " is missing");
    GDN_CHECK(dtype_supported(static_cast<uint32_t>(t.type)), who, " has unsupported dtype id ",
              static_cast<uint32_t>(t.type));
    GDN_CHECK(t.ne[0] == cols && t.rows() == rows, who, " has shape [", t.ne[0], ", ", t.ne[1],
              ", ", t.ne[2], ", ", t.ne[3], "], expected [", cols, ", ", rows, "]");
    const int64_t blk = dtype_traits(t.type).block_elems;
    GDN_CHECK(cols % blk == 0, who, ": row length ", cols, " is not a multiple of the ",
              dtype_name(t.type), " block size ", blk);
}
}  // namespace detail

/// Throws gdn::Error naming the first tensor whose presence, dtype or shape disagrees with
/// w.config (and the first layer whose kind disagrees with the config's layer pattern).
inline void check_weights(const ModelWeights& w) {
    const ModelConfig& c = w.config;
    c.validate();
    const int64_t e = c.n_embd;
    detail::check_tensor(w.tok_embd, "token embedding", e, c.n_vocab);
    detail::check_tensor(w.output_norm, "output norm", e);
    detail::check_tensor(w.output, "output (LM head)", e, c.n_vocab);
    GDN_CHECK(static_cast<int64_t>(w.layers.size()) == c.n_layer, "weights hold ",
              w.layers.size(), " layers, config says n_layer = ", c.n_layer);
    const int64_t vd = c.ssm_n_v_heads * c.ssm_d_v;
    const int64_t hd = c.head_dim;
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const LayerWeights& l = w.layers[static_cast<size_t>(i)];
        const std::string at = "layer " + std::to_string(i) + " ";
        GDN_CHECK(l.is_attention == c.is_attention(i), "layer ", i, ": weights are ",
                  l.is_attention ? "attention" : "DeltaNet", " but the config's pattern (attention where (i + 1) % ",
                  c.full_attention_interval, " == 0) says ",
                  c.is_attention(i) ? "attention" : "DeltaNet");
        detail::check_tensor(l.attn_norm, at + "attn_norm", e);
        detail::check_tensor(l.post_attn_norm, at + "post_attn_norm", e);
        if (l.is_attention) {
            const AttnWeights& a = l.attn;
            detail::check_tensor(a.q, at + "attn.q", e, 2 * c.n_head * hd);
            detail::check_tensor(a.k, at + "attn.k", e, c.n_head_kv * hd);
            detail::check_tensor(a.v, at + "attn.v", e, c.n_head_kv * hd);
            detail::check_tensor(a.q_norm, at + "attn.q_norm", hd);
            detail::check_tensor(a.k_norm, at + "attn.k_norm", hd);
            detail::check_tensor(a.out, at + "attn.out", c.n_head * hd, e);
        } else {
            const DeltaNetWeights& d = l.deltanet;
            detail::check_tensor(d.qkv, at + "deltanet.qkv", e, c.ssm_conv_dim());
            detail::check_tensor(d.z, at + "deltanet.z", e, vd);
            detail::check_tensor(d.beta, at + "deltanet.beta", e, c.ssm_n_v_heads);
            detail::check_tensor(d.alpha, at + "deltanet.alpha", e, c.ssm_n_v_heads);
            detail::check_tensor(d.conv, at + "deltanet.conv", c.ssm_conv_kernel, c.ssm_conv_dim());
            detail::check_tensor(d.dt_bias, at + "deltanet.dt_bias", c.ssm_n_v_heads);
            detail::check_tensor(d.ssm_a, at + "deltanet.ssm_a", c.ssm_n_v_heads);
            detail::check_tensor(d.ssm_norm, at + "deltanet.ssm_norm", c.ssm_d_v);
            detail::check_tensor(d.out, at + "deltanet.out", vd, e);
        }
        detail::check_tensor(l.mlp.gate, at + "mlp.gate", e, c.n_ff);
        detail::check_tensor(l.mlp.up, at + "mlp.up", e, c.n_ff);
        detail::check_tensor(l.mlp.down, at + "mlp.down", c.n_ff, e);
    }
}

}  // namespace gdn::ref
