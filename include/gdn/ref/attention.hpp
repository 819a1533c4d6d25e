// gdn/ref/attention.hpp - one decode step of the gated full-attention mixer (MODEL.md, HF
// Qwen3NextAttention): q/gate split, q/k RMSNorm, partial NeoX RoPE, KV cache, GQA softmax,
// sigmoid output gate, o_proj.
//
// KV cache (the layout the GPU mirrors, float32): K and V each
//   [n_attn_layers, max_ctx, Hkv, hd]; attention layer a's slice is [max_ctx, Hkv, hd].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/norm.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

struct KvCache {
    int64_t n_layers = 0;  ///< attention layers only
    int64_t max_ctx = 0;
    int64_t n_head_kv = 0;
    int64_t head_dim = 0;
    std::vector<float> k;  // [n_layers, max_ctx, Hkv, hd]
    std::vector<float> v;  // [n_layers, max_ctx, Hkv, hd]

    KvCache() = default;
    KvCache(int64_t layers, int64_t ctx, int64_t hkv, int64_t hd)
        : n_layers(layers), max_ctx(ctx), n_head_kv(hkv), head_dim(hd),
          k(static_cast<size_t>(layers * ctx * hkv * hd)),
          v(static_cast<size_t>(layers * ctx * hkv * hd)) {}

    [[nodiscard]] int64_t layer_floats() const { return max_ctx * n_head_kv * head_dim; }
    /// [max_ctx, Hkv, hd] of attention layer `a` (0-based among attention layers).
    [[nodiscard]] std::span<float> k_layer(int64_t a) { return {k.data() + offset(a), len()}; }
    [[nodiscard]] std::span<float> v_layer(int64_t a) { return {v.data() + offset(a), len()}; }
    [[nodiscard]] std::span<const float> k_layer(int64_t a) const {
        return {k.data() + offset(a), len()};
    }
    [[nodiscard]] std::span<const float> v_layer(int64_t a) const {
        return {v.data() + offset(a), len()};
    }

private:
    [[nodiscard]] int64_t offset(int64_t a) const {
        GDN_CHECK(a >= 0 && a < n_layers, "KV cache: attention layer ", a, " out of range (",
                  n_layers, " attention layers)");
        return a * layer_floats();
    }
    [[nodiscard]] size_t len() const { return static_cast<size_t>(layer_floats()); }
};

/// The per-layer attention norm weights as float (GGUF: "+1" folded in, plain multipliers).
struct AttnParams {
    std::vector<float> q_norm;  // [hd]
    std::vector<float> k_norm;  // [hd]

    static AttnParams from_weights(const AttnWeights& w) {
        return {dequantize(w.q_norm), dequantize(w.k_norm)};
    }
};

/// NeoX-style rotary embedding of the first n_rot dims of one head, in place: pairs
/// (x[i], x[i + n_rot/2]) for i < n_rot/2 rotate by pos * theta^(-2i/n_rot); the other dims pass.
/// Like HF (Qwen3_5TextRotaryEmbedding, rotate_half), the inverse frequency and the angle are
/// float32 (inv_freq = 1 / theta^(2i/n_rot), angle = float(pos) * inv_freq), cos/sin of that
/// float angle. Qwen3.5's interleaved M-RoPE gives the same angles for text, where the three
/// position ids are equal.
inline void rope_neox(std::span<float> head, int64_t n_rot, float theta, int64_t pos) {
    GDN_CHECK(n_rot % 2 == 0 && n_rot <= static_cast<int64_t>(head.size()), "rope: n_rot ",
              n_rot, " must be even and <= head_dim ", head.size());
    const int64_t half = n_rot / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float inv_freq =
            1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(n_rot));
        const float angle = static_cast<float>(pos) * inv_freq;
        const float cs = std::cos(angle), sn = std::sin(angle);
        const float x0 = head[static_cast<size_t>(i)], x1 = head[static_cast<size_t>(i + half)];
        head[static_cast<size_t>(i)] = x0 * cs - x1 * sn;
        head[static_cast<size_t>(i + half)] = x1 * cs + x0 * sn;
    }
}

/// Attention between the projections and o_proj, at position pos:
///   q_gate [H, 2, hd] (per head: query then gate, as q_proj emits them; normed and rotated
///   in place), k [Hkv*hd] (normed and rotated in place), v [Hkv*hd],
///   k_cache, v_cache [max_ctx, Hkv, hd] of this layer (row pos written), y [H*hd].
/// Query head h reads KV head h / (H/Hkv) (HF repeat_kv). Scale hd^-0.5; softmax over 0..pos.
inline void attention_core(const ModelConfig& c, const AttnParams& p, std::span<float> q_gate,
                           std::span<float> k, std::span<const float> v, int64_t pos,
                           std::span<float> k_cache, std::span<float> v_cache, Workspace& ws,
                           std::span<float> y) {
    const int64_t nh = c.n_head, nkv = c.n_head_kv, hd = c.head_dim;
    auto sz = [](int64_t x) { return static_cast<size_t>(x); };
    GDN_CHECK(q_gate.size() == sz(2 * nh * hd) && k.size() == sz(nkv * hd) &&
                  v.size() == sz(nkv * hd) && y.size() == sz(nh * hd),
              "attention_core: inputs do not match the config (q_gate ", q_gate.size(), ", k ",
              k.size(), ", v ", v.size(), ", y ", y.size(), ")");
    GDN_CHECK(k_cache.size() == v_cache.size() && k_cache.size() % sz(nkv * hd) == 0,
              "attention_core: K/V cache slices of ", k_cache.size(), " and ", v_cache.size(),
              " floats do not hold whole [Hkv, hd] rows");
    const auto ctx = static_cast<int64_t>(k_cache.size() / sz(nkv * hd));
    GDN_CHECK(pos >= 0 && pos < ctx, "attention: position ", pos,
              " is outside the context of ", ctx, " positions");
    GDN_CHECK(static_cast<int64_t>(ws.scores.size()) > pos, "attention: workspace holds ",
              ws.scores.size(), " scores, position ", pos, " needs more");

    for (int64_t h = 0; h < nh; ++h) {
        std::span<float> qh = q_gate.subspan(sz(h * 2 * hd), sz(hd));
        rms_norm(qh, p.q_norm, c.rms_eps, qh);
        rope_neox(qh, c.n_rot, c.rope_theta, pos);
    }
    for (int64_t h = 0; h < nkv; ++h) {
        std::span<float> kh = k.subspan(sz(h * hd), sz(hd));
        rms_norm(kh, p.k_norm, c.rms_eps, kh);
        rope_neox(kh, c.n_rot, c.rope_theta, pos);
    }
    std::copy(k.begin(), k.end(), k_cache.begin() + pos * nkv * hd);
    std::copy(v.begin(), v.end(), v_cache.begin() + pos * nkv * hd);

    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const int64_t group = nh / nkv;
    double* scores = ws.scores.data();
    double* acc = ws.acc.data();
    for (int64_t h = 0; h < nh; ++h) {
        const int64_t kvh = h / group;
        const float* qh = q_gate.data() + h * 2 * hd;
        const float* gate = qh + hd;
        double max_s = -INFINITY;
        for (int64_t t = 0; t <= pos; ++t) {
            const float* kt = k_cache.data() + (t * nkv + kvh) * hd;
            double s = 0.0;
            for (int64_t i = 0; i < hd; ++i) s += static_cast<double>(qh[i]) * kt[i];
            scores[t] = s * scale;
            max_s = std::max(max_s, scores[t]);
        }
        double denom = 0.0;
        for (int64_t t = 0; t <= pos; ++t) {
            scores[t] = std::exp(scores[t] - max_s);
            denom += scores[t];
        }
        for (int64_t i = 0; i < hd; ++i) acc[i] = 0.0;
        for (int64_t t = 0; t <= pos; ++t) {
            const float* vt = v_cache.data() + (t * nkv + kvh) * hd;
            const double wt = scores[t] / denom;
            for (int64_t i = 0; i < hd; ++i) acc[i] += wt * vt[i];
        }
        float* yh = y.data() + h * hd;
        // HF: attn_output * sigmoid(gate), before o_proj.
        for (int64_t i = 0; i < hd; ++i) yh[i] = static_cast<float>(acc[i]) * sigmoid(gate[i]);
    }
}

/// The whole attention mixer on the normed input x [n_embd] at position pos; out [n_embd].
inline void attention_step(const ModelConfig& c, const AttnWeights& w, const AttnParams& p,
                           std::span<const float> x, int64_t pos, std::span<float> k_cache,
                           std::span<float> v_cache, Workspace& ws, std::span<float> out) {
    matvec(w.q, x, ws.q_gate);
    matvec(w.k, x, ws.k);
    matvec(w.v, x, ws.v);
    std::span<float> y(ws.mixed.data(), static_cast<size_t>(c.n_head * c.head_dim));
    attention_core(c, p, ws.q_gate, ws.k, ws.v, pos, k_cache, v_cache, ws, y);
    matvec(w.out, y, out);
}

}  // namespace gdn::ref
