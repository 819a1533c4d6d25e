// gdn/kernels/norm.cuh - standalone RMSNorm, for the places where it cannot be fused into the
// GEMV that follows (gdn/kernels/gemv.cuh fuses it otherwise):
//   y[r] = x[r] * rsqrt(mean(x[r]^2) + eps) * w      (w: the GGUF weight, "+1" already folded)
// grid = n_rows blocks, block = 256 threads; bytes = 2 * n_rows * n * 4 + n * 4.
// y may alias x.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "gdn/core/error.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"

namespace gdn::kernels {

struct RmsNormParams {
    const float* x = nullptr;  ///< [n_rows, n]
    const float* w = nullptr;  ///< [n]
    float* y = nullptr;        ///< [n_rows, n]; may equal x
    int64_t n = 0;
    int64_t n_rows = 1;        ///< sequences (or heads) normalised independently
    float eps = 1e-6f;
};

namespace norm_detail {

constexpr int k_threads = 256;

template <int Threads>
__global__ void __launch_bounds__(Threads) rms_norm_kernel(const RmsNormParams p) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    __shared__ float warp_sums[Threads / 32];
    __shared__ float scale;
    const float* x = p.x + blockIdx.x * p.n;
    float* y = p.y + blockIdx.x * p.n;
    float ss = 0.f;
    for (int64_t i = threadIdx.x; i < p.n; i += Threads) ss = fmaf(x[i], x[i], ss);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float t = 0.f;
        for (int j = 0; j < Threads / 32; ++j) t += warp_sums[j];
        scale = rsqrtf(t / static_cast<float>(p.n) + p.eps);
    }
    __syncthreads();
    const float s = scale;
    for (int64_t i = threadIdx.x; i < p.n; i += Threads) y[i] = x[i] * s * p.w[i];
}

}  // namespace norm_detail

inline void launch_rms_norm(const RmsNormParams& p, cudaStream_t stream) {
    GDN_CHECK(p.x != nullptr && p.w != nullptr && p.y != nullptr, "launch_rms_norm: x, w or y is null");
    GDN_CHECK(p.n > 0, "launch_rms_norm: n = ", p.n, " must be positive");
    GDN_CHECK(p.n_rows >= 1 && p.n_rows < (int64_t(1) << 31), "launch_rms_norm: n_rows = ", p.n_rows);
    GDN_CHECK(p.eps > 0.f, "launch_rms_norm: eps must be positive, got ", p.eps);
    launch_kernel("launch_rms_norm", norm_detail::rms_norm_kernel<norm_detail::k_threads>,
                  dim3(static_cast<unsigned>(p.n_rows)), dim3(norm_detail::k_threads), 0, stream, p);
}

}  // namespace gdn::kernels
