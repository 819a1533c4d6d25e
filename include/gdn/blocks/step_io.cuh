// gdn/blocks/step_io.cuh - the activations every block of a step reads and writes (device
// float32, `n` rows, each buffer 16-byte aligned), and the matrix product the blocks share.
//
// A step is one of two kinds:
//   decode   n independent sequences, one token each (row s = sequence s); the mixers run
//            their decode kernels with n_seq = n and per-sequence pos[s];
//   prefill  n consecutive tokens of ONE sequence (row t = position pos[0] + t); the mixers
//            run their chunked / causal prefill kernels on that sequence's state.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "gdn/core/tensor.hpp"
#include "gdn/kernels/gemm.cuh"
#include "gdn/kernels/persistent.cuh"

namespace gdn::cuda {

struct StepIO {
    float* x = nullptr;       ///< [n, n_embd] residual stream, updated in place by each block
    float* proj = nullptr;    ///< [n, max(conv_dim + Hv*dv + 2*Hv, 2*H*hd + 2*Hkv*hd)] in-projections
    float* sep[3] = {};       ///< unfused in-projection outputs (when a file mixes types):
                              ///< [n, max(Hv*dv, Hkv*hd)], [n, max(Hv, Hkv*hd)], [n, Hv]
    float* mix = nullptr;     ///< [n, max(Hv*dv, H*hd)] mixer output, the out-projection's input
    float* h = nullptr;       ///< [n, max(n_ff, n_expert_used * n_ff_exp + n_ff_shexp)] MLP hidden
    float* moe_logits = nullptr;  ///< MoE: [n, n_expert + 2] + 4 floats: router (+ shared gate) logits
    int32_t* moe_ids = nullptr;   ///< MoE: [n, n_expert_used] chosen experts
    const int32_t* pos = nullptr;  ///< decode: [n] positions; prefill: [1] the first token's
    int n = 1;                ///< rows: sequences (decode) or tokens (prefill)
    bool prefill = false;
    void* prefill_ws = nullptr;  ///< prefill: the mixers' workspace (any content)
    float rms_eps = 1e-6f;
    /// decode only: when set, the blocks record their work as stages of the persistent step
    /// kernel (kernels/persistent.cuh) instead of launching it
    kernels::persistent::StepProgram* program = nullptr;
};

/// One matrix product over the step's rows: y = [resid +] W rmsnorm?(x). Launches 1 kernel
/// (the GEMV for n <= 8 rows, the GEMM above), or records one stage into io.program.
inline void matmul(const TensorView& w, const float* x, float* y, const float* norm_w, const float* resid,
                   const StepIO& io, cudaStream_t stream) {
    kernels::GemmParams p = kernels::gemm_params(w);
    p.x = x;
    p.y = y;
    p.norm_w = norm_w;
    p.resid = resid;
    p.norm_eps = io.rms_eps;
    p.n_tok = io.n;
    if (io.program)
        io.program->gemv(kernels::gemm_detail::as_gemv(p), false, w.name);
    else
        kernels::launch_matmul(p, stream);
}

/// A float32 device vector behind a view the uploader converted (norms, conv taps, ...).
inline const float* f32(const TensorView& v) { return reinterpret_cast<const float*>(v.data); }

}  // namespace gdn::cuda
