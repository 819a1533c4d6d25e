// gdn/blocks/moe_block.cuh - the CUDA side of MoeBlock: over the rows of a StepIO,
//   n = RMSNorm(x) * post_attn_norm
//   logits = [router ; shexp_gate] n                  router GEMV (norm prologue)       1
//   h = routing weight * silu(G_j n) * (U_j n)         experts' gate/up (kernels/moe.cuh) 1
//   x += sum_j D_j h_j                                 experts' down (residual)           1
// where j runs over the top-k experts chosen on the device from the logits and the shared
// expert (weight sigmoid(its gate logit)). No host synchronisation: the choice stays on the
// device (StepIO::moe_ids), so the three launches replay in the step's CUDA graph.
// A file that stores the shared expert's gate apart from the router (not adjacent in device
// memory, or another type) costs one more GEMV; shared-expert matrices in a format other than
// the routed experts' one more gate/up and/or down launch (MoeBlock<...>::launches counts the
// common case).
#pragma once

#include <cuda_runtime.h>

#include "gdn/blocks/moe_block.hpp"
#include "gdn/blocks/step_io.cuh"
#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/moe.cuh"

namespace gdn::cuda {

/// What the decoder decided for a layer at upload: the router and the shared gate as one
/// [n_embd, n_expert + 1] matrix (null: two GEMVs).
struct MoeLayerState {
    const TensorView* router_fused = nullptr;
};

/// Launches enqueue_moe makes for this layer.
inline int moe_launches(const MoeWeights& m, const MoeLayerState& st) {
    int n = MoeBlock<any_format>::launches;
    if (!m.has_shared()) return n;
    if (st.router_fused == nullptr) ++n;
    if (m.shexp.gate.type != m.gate_exps.type) ++n;
    if (m.shexp.down.type != m.down_exps.type) ++n;
    return n;
}

/// Enqueues the MoE MLP of one layer; returns the launches (moe_launches).
inline int enqueue_moe(const ModelConfig& c, const LayerWeights& lw, const MoeLayerState& st, const StepIO& io,
                       cudaStream_t stream) {
    const MoeWeights& m = lw.moe;
    const bool shared = m.has_shared();
    const int64_t ne = m.n_expert();
    GDN_CHECK(m.gate_up_fused || m.gate_exps.type == m.up_exps.type, "cuda decoder: ", m.gate_exps.name, " is ",
              dtype_name(m.gate_exps.type), " but ", m.up_exps.name, " is ", dtype_name(m.up_exps.type),
              "; the experts' gate/up kernel needs one type");
    GDN_CHECK(!shared || m.shexp.gate.type == m.shexp.up.type, "cuda decoder: ", m.shexp.gate.name, " is ",
              dtype_name(m.shexp.gate.type), " but ", m.shexp.up.name, " is ", dtype_name(m.shexp.up.type),
              "; the shared expert's gate/up needs one type");
    int launches = 1;

    kernels::MoeParams p;
    p.n = io.n;
    p.n_embd = static_cast<int>(c.n_embd);
    p.n_expert = static_cast<int>(ne);
    p.top_k = static_cast<int>(c.n_expert_used);
    p.ids = io.moe_ids;
    p.logits = io.moe_logits;
    if (st.router_fused != nullptr) {
        matmul(*st.router_fused, io.x, io.moe_logits, f32(lw.post_attn_norm), nullptr, io, stream);
        p.logit_stride = static_cast<int>(ne + 1);
        p.sh_logit = io.moe_logits + ne;
        p.sh_stride = p.logit_stride;
    } else {
        matmul(m.router, io.x, io.moe_logits, f32(lw.post_attn_norm), nullptr, io, stream);
        p.logit_stride = static_cast<int>(ne);
        if (shared) {
            float* sh = io.moe_logits + (static_cast<int64_t>(io.n) * ne + 3) / 4 * 4;  // 16-byte aligned
            matmul(m.shexp_gate, io.x, sh, f32(lw.post_attn_norm), nullptr, io, stream);
            ++launches;
            p.sh_logit = sh;
            p.sh_stride = 1;
        }
    }
    p.gate = m.gate_exps.data;
    p.up = m.gate_up_fused ? m.gate_exps.data + m.n_ff_exp() * m.gate_exps.row_bytes() : m.up_exps.data;
    p.gate_up_expert_bytes = m.gate_up_expert_bytes();
    p.down = m.down_exps.data;
    p.down_expert_bytes = m.down_expert_bytes();
    p.n_ff = static_cast<int>(m.n_ff_exp());
    if (shared) {
        p.sh_gate = m.shexp.gate.data;
        p.sh_up = m.shexp.up.data;
        p.sh_down = m.shexp.down.data;
        p.n_ff_sh = static_cast<int>(m.shexp.gate.rows());
    }
    p.x = io.x;
    p.norm_w = f32(lw.post_attn_norm);
    p.norm_eps = io.rms_eps;
    p.h = io.h;
    p.h_stride = p.top_k * p.n_ff + p.n_ff_sh;
    p.y = io.x;

    // The routed experts, with the shared expert when it has their format; then the shared
    // expert alone in its own.
    auto both = [&](DType routed, DType sh, auto&& launch) {
        p.slot_begin = 0;
        p.slot_end = p.top_k + (shared && sh == routed ? 1 : 0);
        p.type = routed;
        launch(p, stream);
        ++launches;
        if (shared && sh != routed) {
            p.slot_begin = p.top_k;
            p.slot_end = p.top_k + 1;
            p.type = sh;
            launch(p, stream);
            ++launches;
        }
    };
    both(m.gate_exps.type, shared ? m.shexp.gate.type : m.gate_exps.type,
         [](const kernels::MoeParams& q, cudaStream_t s) { kernels::launch_moe_gate_up(q, s); });
    both(m.down_exps.type, shared ? m.shexp.down.type : m.down_exps.type,
         [](const kernels::MoeParams& q, cudaStream_t s) { kernels::launch_moe_down(q, s); });
    return launches;
}

}  // namespace gdn::cuda
