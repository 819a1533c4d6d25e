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
/// A 3-D expert tensor [cols, rows_per_expert, n_expert] (ggml's ne[2] = expert).
inline void check_experts(const TensorView& t, const std::string& where, int64_t cols, int64_t rows_per_expert,
                          int64_t n_expert) {
    check_tensor(t, where, cols, rows_per_expert * n_expert);
    const std::string who = t.name.empty() ? where : where + " (tensor '" + t.name + "')";
    GDN_CHECK(t.ne[1] == rows_per_expert && t.ne[2] == n_expert && t.ne[3] == 1, who, " has shape [", t.ne[0],
              ", ", t.ne[1], ", ", t.ne[2], ", ", t.ne[3], "], expected [", cols, ", ", rows_per_expert, ", ",
              n_expert, "]");
}
}  // namespace detail

namespace detail {
/// The tensors of one layer (trunk layer or the layer of an MTP block); `at` ends with a space.
inline void check_layer(const LayerWeights& l, const ModelConfig& c, const std::string& at) {
    const int64_t e = c.n_embd;
    const int64_t vd = c.ssm_n_v_heads * c.ssm_d_v;
    const int64_t hd = c.head_dim;
    check_tensor(l.attn_norm, at + "attn_norm", e);
    check_tensor(l.post_attn_norm, at + "post_attn_norm", e);
    if (l.is_attention) {
        const AttnWeights& a = l.attn;
        check_tensor(a.q, at + "attn.q", e, 2 * c.n_head * hd);
        check_tensor(a.k, at + "attn.k", e, c.n_head_kv * hd);
        check_tensor(a.v, at + "attn.v", e, c.n_head_kv * hd);
        check_tensor(a.q_norm, at + "attn.q_norm", hd);
        check_tensor(a.k_norm, at + "attn.k_norm", hd);
        check_tensor(a.out, at + "attn.out", c.n_head * hd, e);
    } else {
        const DeltaNetWeights& d = l.deltanet;
        check_tensor(d.qkv, at + "deltanet.qkv", e, c.ssm_conv_dim());
        check_tensor(d.z, at + "deltanet.z", e, vd);
        check_tensor(d.beta, at + "deltanet.beta", e, c.ssm_n_v_heads);
        check_tensor(d.alpha, at + "deltanet.alpha", e, c.ssm_n_v_heads);
        check_tensor(d.conv, at + "deltanet.conv", c.ssm_conv_kernel, c.ssm_conv_dim());
        check_tensor(d.dt_bias, at + "deltanet.dt_bias", c.ssm_n_v_heads);
        check_tensor(d.ssm_a, at + "deltanet.ssm_a", c.ssm_n_v_heads);
        check_tensor(d.ssm_norm, at + "deltanet.ssm_norm", c.ssm_d_v);
        check_tensor(d.out, at + "deltanet.out", vd, e);
    }
    if (!c.is_moe()) {
        GDN_CHECK(!l.is_moe(), at, "has a mixture-of-experts MLP, but the config is dense (n_expert = 0)");
        check_tensor(l.mlp.gate, at + "mlp.gate", e, c.n_ff);
        check_tensor(l.mlp.up, at + "mlp.up", e, c.n_ff);
        check_tensor(l.mlp.down, at + "mlp.down", c.n_ff, e);
        return;
    }
    GDN_CHECK(l.is_moe(), at, "has a dense MLP (no router), but the config is mixture-of-experts (n_expert = ",
              c.n_expert, ")");
    const MoeWeights& m = l.moe;
    const int64_t n = c.n_expert, f = c.n_ff_exp;
    check_tensor(m.router, at + "moe.router", e, n);
    if (m.gate_up_fused) {
        check_experts(m.gate_exps, at + "moe.gate_up_exps", e, 2 * f, n);
        GDN_CHECK(m.up_exps.empty(), at, "moe.up_exps is set although gate and up are fused");
    } else {
        check_experts(m.gate_exps, at + "moe.gate_exps", e, f, n);
        check_experts(m.up_exps, at + "moe.up_exps", e, f, n);
    }
    check_experts(m.down_exps, at + "moe.down_exps", f, e, n);
    if (c.n_ff_shexp > 0) {
        check_tensor(m.shexp_gate, at + "moe.shexp_gate", e);
        check_tensor(m.shexp.gate, at + "moe.shexp.gate", e, c.n_ff_shexp);
        check_tensor(m.shexp.up, at + "moe.shexp.up", e, c.n_ff_shexp);
        check_tensor(m.shexp.down, at + "moe.shexp.down", c.n_ff_shexp, e);
    } else {
        GDN_CHECK(!m.has_shared() && m.shexp_gate.empty(), at,
                  "has a shared expert, but the config says n_ff_shexp = 0");
    }
}
}  // namespace detail

/// Throws gdn::Error naming the first tensor whose presence, dtype or shape disagrees with
/// w.config (and the first layer whose kind disagrees with the config's layer pattern). The
/// MTP blocks are checked too (ref::MtpLayer runs them; the plain decoders ignore them).
inline void check_weights(const ModelWeights& w) {
    const ModelConfig& c = w.config;
    c.validate();
    const int64_t e = c.n_embd;
    detail::check_tensor(w.tok_embd, "token embedding", e, c.n_vocab);
    detail::check_tensor(w.output_norm, "output norm", e);
    detail::check_tensor(w.output, "output (LM head)", e, c.n_vocab);
    GDN_CHECK(static_cast<int64_t>(w.layers.size()) == c.n_layer, "weights hold ",
              w.layers.size(), " layers, config says n_layer = ", c.n_layer);
    for (int64_t i = 0; i < c.n_layer; ++i) {
        const LayerWeights& l = w.layers[static_cast<size_t>(i)];
        GDN_CHECK(l.is_attention == c.is_attention(i), "layer ", i, ": weights are ",
                  l.is_attention ? "attention" : "DeltaNet", " but the config's pattern (attention where (i + 1) % ",
                  c.full_attention_interval, " == 0) says ",
                  c.is_attention(i) ? "attention" : "DeltaNet");
        detail::check_layer(l, c, "layer " + std::to_string(i) + " ");
    }
    GDN_CHECK(static_cast<int64_t>(w.mtp.size()) == c.n_mtp, "weights hold ", w.mtp.size(),
              " MTP blocks, config says n_mtp = ", c.n_mtp);
    for (int64_t j = 0; j < c.n_mtp; ++j) {
        const MtpWeights& m = w.mtp[static_cast<size_t>(j)];
        const std::string at = "MTP block " + std::to_string(j) + " ";
        GDN_CHECK(m.layer.is_attention, "MTP block ", j, ": its layer is DeltaNet; MTP blocks are full attention");
        detail::check_layer(m.layer, c, at);
        detail::check_tensor(m.eh_proj, at + "eh_proj", 2 * e, e);
        detail::check_tensor(m.enorm, at + "enorm", e);
        detail::check_tensor(m.hnorm, at + "hnorm", e);
        if (!m.shared_head_norm.empty()) detail::check_tensor(m.shared_head_norm, at + "shared_head_norm", e);
        if (!m.shared_head_head.empty()) detail::check_tensor(m.shared_head_head, at + "shared_head_head", e, c.n_vocab);
        if (!m.embed_tokens.empty()) detail::check_tensor(m.embed_tokens, at + "embed_tokens", e, c.n_vocab);
    }
}

}  // namespace gdn::ref
