// gdn/blocks/mlp_block.cuh - the CUDA side of MlpBlock: x += W_down(silu(W_gate n) * (W_up n)),
// n = RMSNorm(x) * post_attn_norm, over the rows of a StepIO. MlpBlock<Q>::launches kernels:
// gate/up (norm prologue, both matrices in one pass), down (residual epilogue).
#pragma once

#include <cuda_runtime.h>

#include "gdn/blocks/mlp_block.hpp"
#include "gdn/blocks/step_io.cuh"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/kernels/gemm.cuh"

namespace gdn::cuda {

/// Enqueues the MLP of one layer; returns the launches (MlpBlock<...>::launches).
inline int enqueue_mlp(const LayerWeights& lw, const StepIO& io, cudaStream_t stream) {
    const MlpWeights& m = lw.mlp;
    GDN_CHECK(m.gate.type == m.up.type, "cuda decoder: ", m.gate.name, " is ", dtype_name(m.gate.type), " but ",
              m.up.name, " is ", dtype_name(m.up.type), "; the fused gate/up GEMV needs one type");
    kernels::GemmParams p = kernels::gemm_params(m.gate);
    p.w_up = m.up.data;
    p.x = io.x;
    p.y = io.h;
    p.norm_w = f32(lw.post_attn_norm);
    p.norm_eps = io.rms_eps;
    p.n_tok = io.n;
    if (io.program)
        io.program->gemv(kernels::gemm_detail::as_gemv(p), true, m.gate.name + " + " + m.up.name);
    else
        kernels::launch_matmul_gate_up(p, stream);
    matmul(m.down, io.h, io.x, nullptr, io.x, io, stream);
    return MlpBlock<any_format>::launches;
}

}  // namespace gdn::cuda
