// gdn/ref/mtp.hpp - one multi-token-prediction (NextN) block on the CPU, as llama.cpp's
// qwen35 / qwen35moe graph_mtp computes it (src/models/qwen35.cpp, qwen35moe.cpp). Hugging Face
// transformers has no MTP module for Qwen3.5 (it drops the checkpoint's mtp.* weights on load),
// so llama.cpp is the only reference for these semantics.
//
// At position p the block takes the hidden state h handed over for position p - 1 and the token
// at p, and predicts the token at p + 1:
//   x  = eh_proj [enorm(embed(token)) ; hnorm(h)]       (embedding half first)
//   x += attn(attn_norm(x))                             (full attention at position p, own KV cache)
//   x += mlp(post_attn_norm(x))                         (dense, or MoE when the layer is_moe())
//   hidden = head_norm(x)                               (shared_head_norm, else output_norm)
//   logits = head(hidden)                               (shared_head_head, else the trunk's output)
// h is the trunk's hidden state after output_norm (RuntimeDecoder::hidden()) when the token is
// one the trunk has run or chosen, zeros at position 0 (llama.cpp's pending_h starts zeroed), and
// this block's own `hidden` of position p - 1 when drafts chain (k > 1).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/attention.hpp"
#include "gdn/ref/check.hpp"
#include "gdn/ref/moe.hpp"
#include "gdn/ref/norm.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

class MtpLayer {
public:
    /// Block `block` of weights.mtp (llama.cpp runs block 0 only and refuses files with more).
    MtpLayer(const ModelWeights& weights, int64_t max_ctx, int64_t block = 0) : w_(weights) {
        check_weights(w_);
        const ModelConfig& c = w_.config;
        GDN_CHECK(block >= 0 && block < c.n_mtp, "mtp: block ", block, " requested, the model has ", c.n_mtp,
                  " MTP block", c.n_mtp == 1 ? "" : "s");
        GDN_CHECK(max_ctx > 0, "mtp: max_ctx must be positive, got ", max_ctx);
        m_ = w_.mtp[static_cast<size_t>(block)];
        enorm_ = dequantize(m_.enorm);
        hnorm_ = dequantize(m_.hnorm);
        attn_norm_ = dequantize(m_.layer.attn_norm);
        post_attn_norm_ = dequantize(m_.layer.post_attn_norm);
        head_norm_ = dequantize(m_.shared_head_norm.empty() ? w_.output_norm : m_.shared_head_norm);
        attn_ = AttnParams::from_weights(m_.layer.attn);
        kv_ = KvCache(1, max_ctx, c.n_head_kv, c.head_dim);
        ws_ = Workspace(c, max_ctx);
        const auto e = static_cast<size_t>(c.n_embd);
        cat_.assign(2 * e, 0.f);
        x_.assign(e, 0.f);
        normed_.assign(e, 0.f);
        delta_.assign(e, 0.f);
        hidden_.assign(e, 0.f);
        logits_.assign(static_cast<size_t>(c.n_vocab), 0.f);
    }

    /// Runs the block at `pos` (h [n_embd] of position pos - 1, `token` at pos; h may be
    /// hidden()). Writes KV row pos; returns the logits [n_vocab] for position pos + 1 (valid
    /// until the next call).
    std::span<const float> step(std::span<const float> h, int32_t token, int64_t pos) {
        embed_and_attend(h, token, pos);
        const ModelConfig& c = w_.config;
        rms_norm(x_, post_attn_norm_, c.rms_eps, normed_);
        ffn_step(c, m_.layer, normed_, ws_, delta_);
        add(delta_);
        rms_norm(x_, head_norm_, c.rms_eps, hidden_);
        matvec(m_.shared_head_head.empty() ? w_.output : m_.shared_head_head, hidden_, logits_);
        return logits_;
    }

    /// Only what KV row pos depends on (the attention, which writes it), without the MLP and the
    /// head: llama.cpp's catch-up pass over tokens the trunk verified, whose logits nobody reads.
    void append(std::span<const float> h, int32_t token, int64_t pos) { embed_and_attend(h, token, pos); }

    /// After step(): the head-normed hidden state [n_embd] (llama.cpp's h_nextn of the MTP
    /// graph), the h of the next chained draft step.
    [[nodiscard]] std::span<const float> hidden() const { return hidden_; }
    [[nodiscard]] std::span<const float> logits() const { return logits_; }
    /// The block's K / V cache [max_ctx, Hkv, hd].
    [[nodiscard]] std::span<float> k_cache() { return kv_.k_layer(0); }
    [[nodiscard]] std::span<float> v_cache() { return kv_.v_layer(0); }
    [[nodiscard]] int64_t max_ctx() const { return kv_.max_ctx; }
    /// Zeroes the KV cache (nothing else carries over between calls).
    void reset() {
        std::fill(kv_.k.begin(), kv_.k.end(), 0.f);
        std::fill(kv_.v.begin(), kv_.v.end(), 0.f);
    }

private:
    // x = eh_proj [enorm(e) ; hnorm(h)], then the attention half of the layer with its residual.
    void embed_and_attend(std::span<const float> h, int32_t token, int64_t pos) {
        const ModelConfig& c = w_.config;
        const auto e = static_cast<size_t>(c.n_embd);
        GDN_CHECK(h.size() == e, "mtp: hidden state of ", h.size(), " values, n_embd = ", c.n_embd);
        GDN_CHECK(pos >= 0 && pos < kv_.max_ctx, "mtp: position ", pos, " does not fit max_ctx = ", kv_.max_ctx);
        const std::span<float> e_half(cat_.data(), e), h_half(cat_.data() + e, e);
        rms_norm(h, hnorm_, c.rms_eps, h_half);  // first: h may alias hidden_
        embed(m_.embed_tokens.empty() ? w_.tok_embd : m_.embed_tokens, token, e_half);
        rms_norm(e_half, enorm_, c.rms_eps, e_half);
        matvec(m_.eh_proj, cat_, x_);
        rms_norm(x_, attn_norm_, c.rms_eps, normed_);
        attention_step(c, m_.layer.attn, attn_, normed_, pos, kv_.k_layer(0), kv_.v_layer(0), ws_, delta_);
        add(delta_);
    }
    void add(std::span<const float> d) {
        for (size_t i = 0; i < x_.size(); ++i) x_[i] += d[i];
    }

    ModelWeights w_;  // a copy of the views; its `storage` keeps the bytes alive
    MtpWeights m_;
    std::vector<float> enorm_, hnorm_, attn_norm_, post_attn_norm_, head_norm_;  // [n_embd]
    AttnParams attn_;
    KvCache kv_;
    Workspace ws_;
    std::vector<float> cat_;                         // [2*n_embd] enorm(e) then hnorm(h)
    std::vector<float> x_, normed_, delta_, hidden_;  // [n_embd]
    std::vector<float> logits_;                       // [n_vocab]
};

}  // namespace gdn::ref
