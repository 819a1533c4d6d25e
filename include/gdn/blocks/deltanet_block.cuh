// gdn/blocks/deltanet_block.cuh - the CUDA side of DeltaNetBlock: one step of a Gated DeltaNet
// mixer over the rows of a StepIO, x += out_proj(mixer(in_proj(RMSNorm(x) * attn_norm))).
// Launches (DeltaNetBlock<...>::launches = 3 in a decode step): the [qkv|z|b|a] matrix product
// with the norm prologue (4 when the file stores the four matrices in different types), the
// mixer kernel, the out product with the residual epilogue.
//   decode:  kernels/deltanet_step.cuh over n sequences (conv ring and state in place)
//   prefill: kernels/deltanet_prefill.cuh, the chunked form over n tokens of one sequence
//            (its own launch count: deltanet_prefill_launches)
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "gdn/blocks/deltanet_block.hpp"
#include "gdn/blocks/step_io.cuh"
#include "gdn/core/config.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/deltanet_prefill.cuh"
#include "gdn/kernels/deltanet_step.cuh"

namespace gdn::cuda {

/// A DeltaNet layer's state on the device (allocated once, updated in place).
struct DeltaNetLayerState {
    void* state = nullptr;        ///< [n_seq, Hv, dv, dk] float32, or bf16 when state_bf16: V-major,
                                  ///< row j = value column j of S, contiguous over the keys
    float* conv_ring = nullptr;   ///< [n_seq, 4, conv_dim]
    bool state_bf16 = false;
    bool wht = false;             ///< state kept in the WHT-rotated key basis
    const TensorView* fused_in = nullptr;  ///< [qkv|z|b|a] as one matrix, or null

    /// The same layer's state of sequence `seq` alone (for a prefill of that sequence).
    [[nodiscard]] DeltaNetLayerState sequence(const ModelConfig& c, int seq) const {
        DeltaNetLayerState s = *this;
        const int64_t elems = c.ssm_n_v_heads * c.ssm_d_k * c.ssm_d_v;
        s.state = static_cast<std::byte*>(state) + seq * elems * (state_bf16 ? 2 : 4);
        s.conv_ring = conv_ring + seq * int64_t(kernels::kDeltaNetConvKernel) * c.ssm_conv_dim();
        return s;
    }
};

/// Enqueues one DeltaNet mixer step; returns its launches in a decode step (a prefill's mixer
/// kernel may launch more than one).
inline int enqueue_deltanet(const ModelConfig& c, const LayerWeights& lw, const DeltaNetLayerState& s,
                            const StepIO& io, cudaStream_t stream) {
    const DeltaNetWeights& d = lw.deltanet;
    const float* norm = f32(lw.attn_norm);
    const int64_t vdim = c.ssm_n_v_heads * c.ssm_d_v;
    const float *z, *b, *a;
    int64_t qkv_stride = 0, zba_stride = 0;  // 0: dense rows
    int launches = 2;
    if (s.fused_in) {
        matmul(*s.fused_in, io.x, io.proj, norm, nullptr, io, stream);
        z = io.proj + c.ssm_conv_dim();
        b = z + vdim;
        a = b + c.ssm_n_v_heads;
        qkv_stride = zba_stride = s.fused_in->rows();
        launches += 1;
    } else {
        z = io.sep[0];
        b = io.sep[1];
        a = io.sep[2];
        matmul(d.qkv, io.x, io.proj, norm, nullptr, io, stream);
        matmul(d.z, io.x, io.sep[0], norm, nullptr, io, stream);
        matmul(d.beta, io.x, io.sep[1], norm, nullptr, io, stream);
        matmul(d.alpha, io.x, io.sep[2], norm, nullptr, io, stream);
        launches += 4;
    }
    auto fill = [&](auto& p) {
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
        p.qkv_stride = qkv_stride;
        p.z_stride = p.b_stride = p.a_stride = zba_stride;
        p.conv_w = f32(d.conv);
        p.dt_bias = f32(d.dt_bias);
        p.ssm_a = f32(d.ssm_a);
        p.norm_w = f32(d.ssm_norm);
        p.pos = io.pos;
        p.conv_ring = s.conv_ring;
        p.y = io.mix;
    };
    auto launch = [&](auto state_tag) {
        using StateT = decltype(state_tag);
        if (io.prefill) {
            kernels::DeltaNetPrefillParams<StateT> p;
            fill(p);
            p.n_tok = io.n;
            p.wht = s.wht;
            p.state = static_cast<StateT*>(s.state);
            p.workspace = io.prefill_ws;
            kernels::launch_deltanet_prefill<StateT>(p, stream);
        } else {
            kernels::DeltaNetStepParams<StateT> p;
            fill(p);
            p.n_seq = io.n;
            p.state = static_cast<StateT*>(s.state);
            if (io.program)
                io.program->deltanet(p, s.wht);
            else if (s.wht)
                kernels::launch_deltanet_step<StateT, true>(p, stream);
            else
                kernels::launch_deltanet_step<StateT, false>(p, stream);
        }
    };
    if (s.state_bf16)
        launch(__nv_bfloat16{});
    else
        launch(float{});
    matmul(d.out, io.mix, io.x, nullptr, io.x, io, stream);
    return launches;
}

}  // namespace gdn::cuda
