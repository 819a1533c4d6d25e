// gdn/ref/moe.hpp - the mixture-of-experts MLP of qwen35moe / qwen3next (HF
// Qwen3_5MoeSparseMoeBlock / Qwen3NextSparseMoeBlock, llama.cpp build_moe_ffn with softmax gating
// and renormalised weights, plus the sigmoid-gated shared expert).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/quant/dispatch.hpp"
#include "gdn/ref/mlp.hpp"
#include "gdn/ref/tensor_ops.hpp"
#include "gdn/ref/workspace.hpp"

namespace gdn::ref {

/// Routing of one token: probabilities p = softmax(logits) in float (max subtracted, the sum in
/// float64), the n_used largest first in `order` (ties: lower expert id first, a total order, so
/// the choice never depends on the sort), and their weights p_e / sum of the chosen p.
/// logits [n_expert] is overwritten with p; weights [n_used].
inline void moe_route(std::span<float> logits, int64_t n_used, std::span<int32_t> order,
                      std::span<float> weights) {
    const auto n = logits.size();
    GDN_CHECK(n > 0 && order.size() == n && n_used >= 1 && static_cast<size_t>(n_used) <= n &&
                  weights.size() == static_cast<size_t>(n_used),
              "moe_route: ", n, " experts, top-", n_used, ", order of ", order.size(), ", weights of ",
              weights.size());
    const float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (float& l : logits) {
        l = std::exp(l - mx);
        sum += l;
    }
    const auto inv = static_cast<float>(1.0 / sum);
    for (float& l : logits) l *= inv;
    std::iota(order.begin(), order.end(), 0);
    const auto k = static_cast<std::ptrdiff_t>(n_used);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
        const float pa = logits[static_cast<size_t>(a)], pb = logits[static_cast<size_t>(b)];
        return pa > pb || (pa == pb && a < b);
    });
    double chosen = 0.0;
    for (std::ptrdiff_t i = 0; i < k; ++i) chosen += logits[static_cast<size_t>(order[static_cast<size_t>(i)])];
    for (std::ptrdiff_t i = 0; i < k; ++i) {
        weights[static_cast<size_t>(i)] =
            static_cast<float>(logits[static_cast<size_t>(order[static_cast<size_t>(i)])] / chosen);
    }
}

/// x [n_embd] (already normed), out [n_embd] (no residual):
///   out = sum_{e in top-k} w_e * down_e(silu(gate_e x) * up_e x) + sigmoid(shexp_gate . x) * shexp(x)
inline void moe_step(const ModelConfig& c, const MoeWeights& w, std::span<const float> x, Workspace& ws,
                     std::span<float> out) {
    const int64_t n_exp = w.n_expert(), k = c.n_expert_used;
    GDN_CHECK(n_exp == c.n_expert && static_cast<int64_t>(ws.router.size()) >= n_exp &&
                  static_cast<int64_t>(ws.expert_out.size()) == c.n_embd && k <= k_max_experts_used,
              "moe_step: router '", w.router.name, "' has ", n_exp, " experts, config ", c.n_expert,
              ", workspace sized for ", ws.router.size());
    GDN_CHECK(static_cast<int64_t>(x.size()) == c.n_embd && out.size() == x.size(), "moe_step: x of ", x.size(),
              " and out of ", out.size(), " values, n_embd = ", c.n_embd);
    const std::span<float> probs(ws.router.data(), static_cast<size_t>(n_exp));
    const std::span<int32_t> order(ws.order.data(), static_cast<size_t>(n_exp));
    float weight[k_max_experts_used];
    matvec(w.router, x, probs);
    moe_route(probs, k, order, std::span<float>(weight, static_cast<size_t>(k)));

    std::fill(out.begin(), out.end(), 0.f);
    for (int64_t i = 0; i < k; ++i) {
        const int64_t e = order[static_cast<size_t>(i)];
        mlp_step(MlpWeights{w.gate(e), w.up(e), w.down(e)}, x, ws, ws.expert_out);
        for (size_t j = 0; j < out.size(); ++j) out[j] += weight[i] * ws.expert_out[j];
    }
    if (w.has_shared()) {
        GDN_CHECK(w.shexp_gate.cols() == c.n_embd, "moe_step: shared expert gate '", w.shexp_gate.name,
                  "' has ", w.shexp_gate.cols(), " values, n_embd = ", c.n_embd);
        const float g = sigmoid(gdn::dot_row(w.shexp_gate.type, w.shexp_gate.data, x.data(), c.n_embd));
        mlp_step(w.shexp, x, ws, ws.expert_out);
        for (size_t j = 0; j < out.size(); ++j) out[j] += g * ws.expert_out[j];
    }
}

/// A layer's MLP half, whichever kind it has: moe_step when the layer is_moe(), else mlp_step.
inline void ffn_step(const ModelConfig& c, const LayerWeights& l, std::span<const float> x, Workspace& ws,
                     std::span<float> out) {
    if (l.is_moe()) {
        moe_step(c, l.moe, x, ws, out);
    } else {
        mlp_step(l.mlp, x, ws, out);
    }
}

}  // namespace gdn::ref
