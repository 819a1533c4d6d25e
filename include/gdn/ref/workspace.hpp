// gdn/ref/workspace.hpp - scratch buffers of the reference blocks, sized once from the config
// so that a decode step allocates nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "gdn/core/config.hpp"
#include "gdn/core/error.hpp"

namespace gdn::ref {

struct Workspace {
    // DeltaNet
    std::vector<float> qkv;       // [conv_dim]   projection, [q | k | v]
    std::vector<float> conv_out;  // [conv_dim]   silu(conv), then q and k normalised in place
    std::vector<float> z;         // [Hv*dv]
    std::vector<float> b;         // [Hv]
    std::vector<float> a;         // [Hv]
    std::vector<double> acc;      // [max(dv, hd)] per-head float64 accumulators
    // attention
    std::vector<float> q_gate;    // [H, 2, hd]   per head: query, then gate
    std::vector<float> k;         // [Hkv*hd]
    std::vector<float> v;         // [Hkv*hd]
    std::vector<double> scores;   // [max_ctx]
    // shared
    std::vector<float> mixed;     // [max(Hv*dv, H*hd)] mixer output before its out projection
    std::vector<float> gate;      // [max(n_ff, n_ff_exp, n_ff_shexp)] dense, expert or shared-expert MLP
    std::vector<float> up;        // [same]
    // mixture of experts
    std::vector<float> router;    // [n_expert]  logits, then probabilities
    std::vector<int32_t> order;   // [n_expert]  expert ids, the chosen first
    std::vector<float> expert_out;  // [n_embd] one expert's (or the shared expert's) output
    int64_t max_ctx = 0;

    Workspace() = default;
    Workspace(const ModelConfig& c, int64_t max_ctx_) : max_ctx(max_ctx_) {
        GDN_CHECK(max_ctx_ > 0, "workspace: max_ctx must be positive, got ", max_ctx_);
        auto n = [](int64_t v) { return static_cast<size_t>(v); };
        const int64_t vd = c.ssm_n_v_heads * c.ssm_d_v;
        qkv.resize(n(c.ssm_conv_dim()));
        conv_out.resize(n(c.ssm_conv_dim()));
        z.resize(n(vd));
        b.resize(n(c.ssm_n_v_heads));
        a.resize(n(c.ssm_n_v_heads));
        acc.resize(n(std::max(c.ssm_d_v, c.head_dim)));
        q_gate.resize(n(2 * c.n_head * c.head_dim));
        k.resize(n(c.n_head_kv * c.head_dim));
        v.resize(n(c.n_head_kv * c.head_dim));
        scores.resize(n(max_ctx_));
        mixed.resize(n(std::max(vd, c.n_head * c.head_dim)));
        const int64_t ff = std::max({c.n_ff, c.n_ff_exp, c.n_ff_shexp});
        gate.resize(n(ff));
        up.resize(n(ff));
        router.resize(n(c.n_expert));
        order.resize(n(c.n_expert));
        expert_out.resize(n(c.is_moe() ? c.n_embd : 0));
    }
};

}  // namespace gdn::ref
