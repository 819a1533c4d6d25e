// gdn/blocks/step_io.cuh - the activations every block of a decode step reads and writes
// (device float32, n_seq = 1, each 16-byte aligned), and the GEMV call the blocks share.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "gdn/core/tensor.hpp"
#include "gdn/kernels/gemv.cuh"

namespace gdn::cuda {

struct StepIO {
    float* x = nullptr;       ///< [n_embd] residual stream, updated in place by each block
    float* proj = nullptr;    ///< [max(conv_dim + Hv*dv + 2*Hv, 2*H*hd + 2*Hkv*hd)] in-projections
    float* sep[3] = {};       ///< unfused DeltaNet z, b, a outputs (when the file mixes types)
    float* mix = nullptr;     ///< [max(Hv*dv, H*hd)] mixer output, the out-projection's input
    float* h = nullptr;       ///< [n_ff] MLP hidden
    const int32_t* pos = nullptr;  ///< [1] position of this step (device)
    float rms_eps = 1e-6f;
};

/// One GEMV: y = [resid +] W rmsnorm?(x). Launches 1 kernel.
inline void gemv(const TensorView& w, const float* x, float* y, const float* norm_w, const float* resid,
                 float eps, cudaStream_t stream) {
    kernels::GemvParams p = kernels::gemv_params(w);
    p.x = x;
    p.y = y;
    p.norm_w = norm_w;
    p.resid = resid;
    p.norm_eps = eps;
    kernels::launch_gemv(p, stream);
}

/// A float32 device vector behind a view the uploader converted (norms, conv taps, ...).
inline const float* f32(const TensorView& v) { return reinterpret_cast<const float*>(v.data); }

}  // namespace gdn::cuda
