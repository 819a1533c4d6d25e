// gdn/ref/decoder.hpp - the whole model, one token per step, on the CPU: the reference every
// GPU path is checked against. Layer kinds come from the weights at run time; the
// compile-time front end is gdn::ref::Decoder<Model> (gdn/schedule/ref_decoder.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/attention.hpp"
#include "gdn/ref/check.hpp"
#include "gdn/ref/deltanet.hpp"
#include "gdn/ref/moe.hpp"
#include "gdn/ref/norm.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

struct DecoderOptions {
    int64_t max_ctx = 4096;  ///< positions the KV cache holds; step() past it throws
    /// Per model layer: rotate q/k of that DeltaNet layer by the WHT and keep its state in the
    /// rotated basis. Empty means off everywhere; otherwise one entry per layer (entries of
    /// attention layers must be false).
    std::vector<bool> wht = {};
};

class RuntimeDecoder {
public:
    RuntimeDecoder(const ModelWeights& weights, DecoderOptions options)
        : w_(weights), opt_(std::move(options)) {
        check_weights(w_);
        const ModelConfig& c = w_.config;
        GDN_CHECK(opt_.max_ctx > 0, "decoder: max_ctx must be positive, got ", opt_.max_ctx);
        if (opt_.wht.empty()) opt_.wht.assign(static_cast<size_t>(c.n_layer), false);
        GDN_CHECK(static_cast<int64_t>(opt_.wht.size()) == c.n_layer, "decoder: ",
                  opt_.wht.size(), " WHT flags given for ", c.n_layer, " layers");

        const auto n_layer = static_cast<size_t>(c.n_layer);
        layers_.resize(n_layer);
        int64_t n_attn = 0;
        for (size_t i = 0; i < n_layer; ++i) {
            const LayerWeights& lw = w_.layers[i];
            Layer& l = layers_[i];
            l.attn_norm = dequantize(lw.attn_norm);
            l.post_attn_norm = dequantize(lw.post_attn_norm);
            if (lw.is_attention) {
                GDN_CHECK(!opt_.wht[i], "decoder: WHT requested for layer ", i,
                          ", which is an attention layer");
                l.attn_index = n_attn++;
                l.attn = AttnParams::from_weights(lw.attn);
            } else {
                if (opt_.wht[i]) check_wht_dims(c);
                l.deltanet = DeltaNetParams::from_weights(lw.deltanet);
                l.state.assign(static_cast<size_t>(c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v), 0.f);
                l.conv_state.assign(
                    static_cast<size_t>((c.ssm_conv_kernel - 1) * c.ssm_conv_dim()), 0.f);
            }
        }
        kv_ = KvCache(n_attn, opt_.max_ctx, c.n_head_kv, c.head_dim);
        ws_ = Workspace(c, opt_.max_ctx);
        x_.assign(static_cast<size_t>(c.n_embd), 0.f);
        normed_.assign(static_cast<size_t>(c.n_embd), 0.f);
        delta_.assign(static_cast<size_t>(c.n_embd), 0.f);
        logits_.assign(static_cast<size_t>(c.n_vocab), 0.f);
        output_norm_ = dequantize(w_.output_norm);
    }

    /// Runs `token` at position() and returns the logits [n_vocab] (valid until the next call).
    std::span<const float> step(int32_t token) {
        const ModelConfig& c = w_.config;
        GDN_CHECK(token >= 0 && token < c.n_vocab, "decoder: token id ", token,
                  " is out of range [0, ", c.n_vocab, ")");
        GDN_CHECK(pos_ < opt_.max_ctx, "decoder: context overflow, position ", pos_,
                  " does not fit max_ctx = ", opt_.max_ctx);
        embed(w_.tok_embd, token, x_);
        for (size_t i = 0; i < layers_.size(); ++i) {
            const LayerWeights& lw = w_.layers[i];
            Layer& l = layers_[i];
            rms_norm(x_, l.attn_norm, c.rms_eps, normed_);
            if (lw.is_attention) {
                attention_step(c, lw.attn, l.attn, normed_, pos_, kv_.k_layer(l.attn_index),
                               kv_.v_layer(l.attn_index), ws_, delta_);
            } else {
                deltanet_step(c, lw.deltanet, l.deltanet, normed_, l.conv_state, l.state,
                              opt_.wht[i], ws_, delta_);
            }
            add(delta_);
            rms_norm(x_, l.post_attn_norm, c.rms_eps, normed_);
            ffn_step(c, lw, normed_, ws_, delta_);
            add(delta_);
        }
        rms_norm(x_, output_norm_, c.rms_eps, normed_);
        matvec(w_.output, normed_, logits_);
        ++pos_;
        return logits_;
    }

    /// Back to position 0 with zero states (the KV cache is zeroed too, for comparisons).
    void reset() {
        pos_ = 0;
        for (Layer& l : layers_) {
            std::fill(l.state.begin(), l.state.end(), 0.f);
            std::fill(l.conv_state.begin(), l.conv_state.end(), 0.f);
        }
        std::fill(kv_.k.begin(), kv_.k.end(), 0.f);
        std::fill(kv_.v.begin(), kv_.v.end(), 0.f);
    }

    /// What speculative verification rolls back: the position and every DeltaNet layer's
    /// recurrent and conv state. KV rows are not part of it: attention at position p writes row
    /// p before it reads rows <= p, so rows at or past a restored position are rewritten before
    /// anything reads them.
    struct Snapshot {
        int64_t pos = 0;
        std::vector<float> recurrent;  // per DeltaNet layer in order: state [Hv, dk, dv], conv [K-1, conv_dim]
    };
    /// Copies the state into `s` (allocates only the first time a snapshot is filled).
    void save(Snapshot& s) const {
        s.recurrent.resize(recurrent_floats());
        auto out = s.recurrent.begin();
        for (const Layer& l : layers_) {
            out = std::copy(l.state.begin(), l.state.end(), out);
            out = std::copy(l.conv_state.begin(), l.conv_state.end(), out);
        }
        s.pos = pos_;
    }
    /// Puts back a state saved by this decoder: the next step() runs at s.pos, and decodes
    /// bit for bit as it did when the snapshot was taken.
    void restore(const Snapshot& s) {
        const size_t n = recurrent_floats();
        GDN_CHECK(s.recurrent.size() == n && s.pos >= 0 && s.pos <= opt_.max_ctx,
                  "decoder: snapshot of ", s.recurrent.size(), " floats at position ", s.pos,
                  " does not fit this decoder (", n, " floats, max_ctx ", opt_.max_ctx, ")");
        auto in = s.recurrent.begin();
        for (Layer& l : layers_) {
            std::copy_n(in, l.state.size(), l.state.begin());
            in += static_cast<std::ptrdiff_t>(l.state.size());
            std::copy_n(in, l.conv_state.size(), l.conv_state.begin());
            in += static_cast<std::ptrdiff_t>(l.conv_state.size());
        }
        pos_ = s.pos;
    }

    /// The position the next step() runs at (= tokens decoded since construction or reset()).
    [[nodiscard]] int64_t position() const { return pos_; }
    [[nodiscard]] int64_t max_ctx() const { return opt_.max_ctx; }
    [[nodiscard]] const ModelConfig& config() const { return w_.config; }
    [[nodiscard]] const ModelWeights& weights() const { return w_; }
    [[nodiscard]] bool wht(int64_t layer) const { return opt_.wht[index(layer)]; }
    [[nodiscard]] std::span<const float> logits() const { return logits_; }
    /// The last step's final-normed hidden state [n_embd] (input of the LM head).
    [[nodiscard]] std::span<const float> hidden() const { return normed_; }

    /// Recurrent state [Hv, dk, dv] of DeltaNet layer `layer` (model layer index); in the
    /// WHT-rotated key basis when that layer uses the WHT.
    [[nodiscard]] std::span<float> deltanet_state(int64_t layer) {
        return deltanet_layer(layer).state;
    }
    /// Conv state [K-1, conv_dim] of DeltaNet layer `layer` (row 0 oldest).
    [[nodiscard]] std::span<float> conv_state(int64_t layer) {
        return deltanet_layer(layer).conv_state;
    }
    /// This attention layer's K / V cache [max_ctx, Hkv, hd] (model layer index).
    [[nodiscard]] std::span<float> k_cache(int64_t layer) {
        return kv_.k_layer(attention_layer(layer).attn_index);
    }
    [[nodiscard]] std::span<float> v_cache(int64_t layer) {
        return kv_.v_layer(attention_layer(layer).attn_index);
    }
    /// All attention layers' caches, [n_attn_layers, max_ctx, Hkv, hd] each for K and V.
    [[nodiscard]] KvCache& kv_cache() { return kv_; }
    [[nodiscard]] const KvCache& kv_cache() const { return kv_; }

private:
    struct Layer {
        std::vector<float> attn_norm, post_attn_norm;  // [n_embd]
        DeltaNetParams deltanet;
        std::vector<float> state;       // [Hv, dk, dv]
        std::vector<float> conv_state;  // [K-1, conv_dim]
        AttnParams attn;
        int64_t attn_index = -1;  // among attention layers
    };

    [[nodiscard]] size_t index(int64_t layer) const {
        GDN_CHECK(layer >= 0 && layer < static_cast<int64_t>(layers_.size()), "decoder: layer ",
                  layer, " out of range (", layers_.size(), " layers)");
        return static_cast<size_t>(layer);
    }
    Layer& deltanet_layer(int64_t layer) {
        const size_t i = index(layer);
        GDN_CHECK(!w_.layers[i].is_attention, "decoder: layer ", layer,
                  " is an attention layer, it has no DeltaNet state");
        return layers_[i];
    }
    Layer& attention_layer(int64_t layer) {
        const size_t i = index(layer);
        GDN_CHECK(w_.layers[i].is_attention, "decoder: layer ", layer,
                  " is a DeltaNet layer, it has no KV cache");
        return layers_[i];
    }
    void add(std::span<const float> d) {
        for (size_t i = 0; i < x_.size(); ++i) x_[i] += d[i];
    }
    // Floats of a Snapshot: every DeltaNet layer's recurrent and conv state.
    [[nodiscard]] size_t recurrent_floats() const {
        size_t n = 0;
        for (const Layer& l : layers_) n += l.state.size() + l.conv_state.size();
        return n;
    }

    ModelWeights w_;  // a copy of the views; its `storage` keeps the bytes alive
    DecoderOptions opt_;
    std::vector<Layer> layers_;
    KvCache kv_;
    Workspace ws_;
    std::vector<float> x_, normed_, delta_;  // [n_embd] residual stream, normed input, mixer/MLP out
    std::vector<float> output_norm_;         // [n_embd]
    std::vector<float> logits_;              // [n_vocab]
    int64_t pos_ = 0;
};

}  // namespace gdn::ref
