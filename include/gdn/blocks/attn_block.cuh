// gdn/blocks/attn_block.cuh - the CUDA side of AttnBlock: one step of gated attention over the
// rows of a StepIO, x += o_proj(attention(in_proj(RMSNorm(x) * attn_norm))).
// Launches (AttnBlock<...>::launches = 3 in a decode step): the [q|k|v] matrix product with the
// norm prologue (3 when the file stores them in different types), the attention kernel, the
// out product with the residual epilogue.
//   decode:  kernels/attention_decode.cuh over n sequences (q/k norm, RoPE, KV append, split-K
//            over the window padded to FAWindow, sigmoid gate)
//   prefill: kernels/attention_prefill.cuh, causal attention of n tokens of one sequence after
//            appending their K/V rows (the same rows n decode steps would store)
#pragma once

#include <cuda_runtime.h>

#include "gdn/blocks/attn_block.hpp"
#include "gdn/blocks/step_io.cuh"
#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/attention_decode.cuh"
#include "gdn/kernels/attention_prefill.cuh"
#include "gdn/quant/formats.hpp"

namespace gdn::cuda {

/// An attention layer's cache on the device and the step's attention settings.
struct AttnLayerState {
    void* k_cache = nullptr;     ///< [n_seq, max_ctx, Hkv, hd] in kv_type
    void* v_cache = nullptr;
    void* workspace = nullptr;   ///< kernels::attention_workspace_bytes, shared by the layers
    DType kv_type = DType::f16;  ///< f16, q8_0 or q4_0
    bool kv_wht = false;         ///< q and k rotated by the WHT before K is stored
    int max_ctx = 0;
    int window = 0;              ///< decode: positions visited, max pos + 1 rounded up to FAWindow
    const TensorView* fused_in = nullptr;  ///< [q|k|v] as one matrix, or null

    /// The same layer's cache of sequence `seq` alone (for a prefill of that sequence).
    [[nodiscard]] AttnLayerState sequence(const ModelConfig& c, int seq) const {
        AttnLayerState s = *this;
        const int64_t bytes = int64_t(max_ctx) * c.n_head_kv * dtype_row_bytes(kv_type, c.head_dim);
        s.k_cache = static_cast<std::byte*>(k_cache) + seq * bytes;
        s.v_cache = static_cast<std::byte*>(v_cache) + seq * bytes;
        return s;
    }
};

/// Enqueues one attention mixer step; returns its launches in a decode step (a prefill's
/// attention may launch more than one kernel).
template <int FAWindow>
int enqueue_attention(const ModelConfig& c, const LayerWeights& lw, const AttnLayerState& s, const StepIO& io,
                      cudaStream_t stream) {
    const AttnWeights& aw = lw.attn;
    const float* norm = f32(lw.attn_norm);
    const int64_t q_width = 2 * c.n_head * c.head_dim, kv_width = c.n_head_kv * c.head_dim;
    const float *q = io.proj, *k, *v;
    int64_t q_stride = 0, kv_stride = 0;  // 0: dense rows
    int launches = 2;
    if (s.fused_in) {
        matmul(*s.fused_in, io.x, io.proj, norm, nullptr, io, stream);
        k = q + q_width;
        v = k + kv_width;
        q_stride = kv_stride = s.fused_in->rows();
        launches += 1;
    } else {
        matmul(aw.q, io.x, io.proj, norm, nullptr, io, stream);
        matmul(aw.k, io.x, io.sep[0], norm, nullptr, io, stream);
        matmul(aw.v, io.x, io.sep[1], norm, nullptr, io, stream);
        k = io.sep[0];
        v = io.sep[1];
        launches += 3;
    }
    auto fill = [&](auto& p) {
        p.q_proj = q;
        p.k = k;
        p.v = v;
        p.q_stride = q_stride;
        p.k_stride = p.v_stride = kv_stride;
        p.q_norm = f32(aw.q_norm);
        p.k_norm = f32(aw.k_norm);
        p.pos = io.pos;
        p.k_cache = s.k_cache;
        p.v_cache = s.v_cache;
        p.out = io.mix;
        p.n_head = int(c.n_head);
        p.n_head_kv = int(c.n_head_kv);
        p.head_dim = int(c.head_dim);
        p.n_rot = int(c.n_rot);
        p.max_ctx = s.max_ctx;
        p.rope_theta = c.rope_theta;
        p.rms_eps = c.rms_eps;
    };
    auto launch = [&](auto kv_tag) {
        using Kv = decltype(kv_tag);
        if (io.prefill) {
            kernels::AttentionPrefillParams p;
            fill(p);
            p.n_tok = io.n;
            p.workspace = io.prefill_ws;
            if (s.kv_wht)
                kernels::launch_attention_prefill<Kv, kernels::KvRotation::wht>(p, stream);
            else
                kernels::launch_attention_prefill<Kv, kernels::KvRotation::none>(p, stream);
        } else {
            kernels::AttentionDecodeParams p;
            fill(p);
            p.n_seq = io.n;
            p.workspace = s.workspace;
            p.window_len = s.window;
            if (io.program) {
                kernels::check_attention_decode<FAWindow>(p);
                io.program->attention(p, s.kv_type, s.kv_wht);
            } else if (s.kv_wht)
                kernels::launch_attention_decode<FAWindow, Kv, kernels::KvRotation::wht>(p, stream);
            else
                kernels::launch_attention_decode<FAWindow, Kv, kernels::KvRotation::none>(p, stream);
        }
    };
    switch (s.kv_type) {
        case DType::f16: launch(gdn::f16{}); break;
        case DType::q8_0: launch(gdn::q8_0{}); break;
        case DType::q4_0: launch(gdn::q4_0{}); break;
        default: fail("attention: KV cache type ", dtype_name(s.kv_type), " is not one of f16, q8_0, q4_0");
    }
    matmul(aw.out, io.mix, io.x, nullptr, io.x, io, stream);
    return launches;
}

}  // namespace gdn::cuda
