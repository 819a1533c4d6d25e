// gdn/blocks/attn_block.cuh - the CUDA side of AttnBlock: one decode step of gated attention,
// x += o_proj(attention(in_proj(RMSNorm(x) * attn_norm))).
// Launches (AttnBlock<...>::launches = 3): the [q|k|v] GEMV with the norm prologue (3 GEMVs
// when the file stores them in different types), attention_decode (kernels/
// attention_decode.cuh: q/k norm, RoPE, KV append, split-K over the window padded to
// FAWindow, sigmoid gate), the out GEMV with the residual epilogue.
#pragma once

#include <cuda_runtime.h>

#include "gdn/blocks/attn_block.hpp"
#include "gdn/blocks/step_io.cuh"
#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/quant/formats.hpp"

namespace gdn::cuda {

/// An attention layer's cache on the device and the step's attention settings.
struct AttnLayerState {
    void* k_cache = nullptr;     ///< [max_ctx, Hkv, hd] in kv_type
    void* v_cache = nullptr;
    void* workspace = nullptr;   ///< kernels::attention_workspace_bytes, shared by the layers
    DType kv_type = DType::f16;  ///< f16, q8_0 or q4_0
    bool kv_wht = false;         ///< q and k rotated by the WHT before K is stored
    int max_ctx = 0;
    int window = 0;              ///< positions visited: pos + 1 rounded up to FAWindow
    const TensorView* fused_in = nullptr;  ///< [q|k|v] as one matrix, or null
};

/// Enqueues one attention mixer step; returns the launches.
template <int FAWindow>
int enqueue_attention(const ModelConfig& c, const LayerWeights& lw, const AttnLayerState& s, const StepIO& io,
                      cudaStream_t stream) {
    const AttnWeights& aw = lw.attn;
    const float* norm = f32(lw.attn_norm);
    float* q = io.proj;
    float* k = q + 2 * c.n_head * c.head_dim;
    float* v = k + c.n_head_kv * c.head_dim;
    int launches = AttnBlock<fa_window<FAWindow>, kv_f16>::launches;
    if (s.fused_in) {
        gemv(*s.fused_in, io.x, io.proj, norm, nullptr, io.rms_eps, stream);
    } else {
        gemv(aw.q, io.x, q, norm, nullptr, io.rms_eps, stream);
        gemv(aw.k, io.x, k, norm, nullptr, io.rms_eps, stream);
        gemv(aw.v, io.x, v, norm, nullptr, io.rms_eps, stream);
        launches += 2;
    }
    kernels::AttentionDecodeParams p;
    p.q_proj = q;
    p.k = k;
    p.v = v;
    p.q_norm = f32(aw.q_norm);
    p.k_norm = f32(aw.k_norm);
    p.pos = io.pos;
    p.k_cache = s.k_cache;
    p.v_cache = s.v_cache;
    p.out = io.mix;
    p.workspace = s.workspace;
    p.n_seq = 1;
    p.n_head = int(c.n_head);
    p.n_head_kv = int(c.n_head_kv);
    p.head_dim = int(c.head_dim);
    p.n_rot = int(c.n_rot);
    p.max_ctx = s.max_ctx;
    p.window_len = s.window;
    p.rope_theta = c.rope_theta;
    p.rms_eps = c.rms_eps;
    auto launch = [&](auto kv_tag) {
        using Kv = decltype(kv_tag);
        if (s.kv_wht)
            kernels::launch_attention_decode<FAWindow, Kv, kernels::KvRotation::wht>(p, stream);
        else
            kernels::launch_attention_decode<FAWindow, Kv, kernels::KvRotation::none>(p, stream);
    };
    switch (s.kv_type) {
        case DType::f16: launch(gdn::f16{}); break;
        case DType::q8_0: launch(gdn::q8_0{}); break;
        case DType::q4_0: launch(gdn::q4_0{}); break;
        default: fail("attention: KV cache type ", dtype_name(s.kv_type), " is not one of f16, q8_0, q4_0");
    }
    gemv(aw.out, io.mix, io.x, nullptr, io.x, io.rms_eps, stream);
    return launches;
}

}  // namespace gdn::cuda
