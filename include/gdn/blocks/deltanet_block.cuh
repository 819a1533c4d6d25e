// gdn/blocks/deltanet_block.cuh - the CUDA side of DeltaNetBlock: one decode step of a Gated
// DeltaNet mixer, x += out_proj(deltanet_step(in_proj(RMSNorm(x) * attn_norm))).
// Launches (DeltaNetBlock<...>::launches = 3): the [qkv|z|b|a] GEMV with the norm prologue
// (4 GEMVs when the file stores the four matrices in different types), deltanet_step
// (kernels/deltanet_step.cuh: conv ring and state updated in place), the out GEMV with the
// residual epilogue.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "gdn/blocks/deltanet_block.hpp"
#include "gdn/blocks/step_io.cuh"
#include "gdn/core/config.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/deltanet_step.cuh"

namespace gdn::cuda {

/// A DeltaNet layer's state on the device (allocated once, updated in place).
struct DeltaNetLayerState {
    void* state = nullptr;        ///< [Hv, dk, dv] float32, or bf16 when state_bf16
    float* conv_ring = nullptr;   ///< [4, conv_dim]
    bool state_bf16 = false;
    bool wht = false;             ///< state kept in the WHT-rotated key basis
    const TensorView* fused_in = nullptr;  ///< [qkv|z|b|a] as one matrix, or null
};

/// Enqueues one DeltaNet mixer step; returns the launches.
inline int enqueue_deltanet(const ModelConfig& c, const LayerWeights& lw, const DeltaNetLayerState& s,
                            const StepIO& io, cudaStream_t stream) {
    const DeltaNetWeights& d = lw.deltanet;
    const float* norm = f32(lw.attn_norm);
    const int64_t vdim = c.ssm_n_v_heads * c.ssm_d_v;
    float *z, *b, *a;
    int launches = DeltaNetBlock<any_format>::launches;
    if (s.fused_in) {
        gemv(*s.fused_in, io.x, io.proj, norm, nullptr, io.rms_eps, stream);
        z = io.proj + c.ssm_conv_dim();
        b = z + vdim;
        a = b + c.ssm_n_v_heads;
    } else {
        z = io.sep[0];
        b = io.sep[1];
        a = io.sep[2];
        gemv(d.qkv, io.x, io.proj, norm, nullptr, io.rms_eps, stream);
        gemv(d.z, io.x, z, norm, nullptr, io.rms_eps, stream);
        gemv(d.beta, io.x, b, norm, nullptr, io.rms_eps, stream);
        gemv(d.alpha, io.x, a, norm, nullptr, io.rms_eps, stream);
        launches += 3;
    }
    auto launch = [&](auto state_tag) {
        using StateT = decltype(state_tag);
        kernels::DeltaNetStepParams<StateT> p;
        p.n_seq = 1;
        p.n_k_heads = int(c.ssm_n_k_heads);
        p.n_v_heads = int(c.ssm_n_v_heads);
        p.d_k = int(c.ssm_d_k);
        p.d_v = int(c.ssm_d_v);
        p.order = c.v_head_order;
        p.norm_eps = c.rms_eps;
        p.qkv = io.proj;
        p.z = z;
        p.b = b;
        p.a = a;
        p.conv_w = f32(d.conv);
        p.dt_bias = f32(d.dt_bias);
        p.ssm_a = f32(d.ssm_a);
        p.norm_w = f32(d.ssm_norm);
        p.pos = io.pos;
        p.conv_ring = s.conv_ring;
        p.state = static_cast<StateT*>(s.state);
        p.y = io.mix;
        if (s.wht)
            kernels::launch_deltanet_step<StateT, true>(p, stream);
        else
            kernels::launch_deltanet_step<StateT, false>(p, stream);
    };
    if (s.state_bf16)
        launch(__nv_bfloat16{});
    else
        launch(float{});
    gemv(d.out, io.mix, io.x, nullptr, io.x, io.rms_eps, stream);
    return launches;
}

}  // namespace gdn::cuda
