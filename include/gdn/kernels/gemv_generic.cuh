// gdn/kernels/gemv_generic.cuh - the GEMV and embedding for widths the streaming kernels of
// gemv.cuh / embedding.cuh do not take (cols not a multiple of 256: tiny test models, odd
// shapes of other Qwen3.5-family files). Same semantics, same fusions; not tuned.
//
// GEMV:  grid = ceil(rows / 8) blocks of 8 warps, one warp per output row (and its up row
//        for gate/up); lanes take whole quant blocks of the row in turn, copy each into
//        registers byte by byte (rows may sit at any byte offset) and use the format's
//        dot_block against x, which the block first normalises into shared memory.
//        Bytes: rows * row_bytes (x2 for gate/up) + n_seq * (cols + rows) * 4.
// Embedding: grid = n_seq, block 256; threads dequantise the row's blocks in turn.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/kernels/cuda_check.cuh"
#include "gdn/kernels/launch.cuh"
#include "gdn/kernels/ptx.cuh"
#include "gdn/quant/formats.hpp"

namespace gdn::kernels {

namespace gemv_generic_detail {

constexpr int k_warps = 8;
constexpr int k_max_seq = 8;
constexpr int k_max_x_floats = 12 * 1024;  // n_seq * cols staged in 48 KB of shared memory

template <class F>
GDN_DEVICE GDN_FORCEINLINE typename F::block_type load_block(const uint8_t* src) {
    typename F::block_type b;
    auto* dst = reinterpret_cast<uint8_t*>(&b);
#pragma unroll 4
    for (int i = 0; i < F::block_bytes; ++i) dst[i] = src[i];
    return b;
}


struct Args {
    const uint8_t* w;
    const uint8_t* w_up;  // gate/up: the up matrix (then y = silu(W x) * (W_up x))
    int64_t row_bytes;
    int rows, cols, n_seq;
    const float* x;
    float* y;
    const float* resid;
    const float* norm_w;
    float norm_eps;
};

template <class F>
__global__ void __launch_bounds__(32 * k_warps) gemv_kernel(const Args a) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    extern __shared__ float xs[];  // [n_seq, cols], normalised when norm_w is set
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int s = 0; s < a.n_seq; ++s) {
        float scale = 1.f;
        if (a.norm_w) {
            __shared__ float part[k_warps];
            float ss = 0.f;
            for (int i = threadIdx.x; i < a.cols; i += blockDim.x) ss += a.x[s * a.cols + i] * a.x[s * a.cols + i];
            ss = warp_sum(ss);
            if (lane == 0) part[warp] = ss;
            __syncthreads();
            float tot = 0.f;
#pragma unroll
            for (int k = 0; k < k_warps; ++k) tot += part[k];
            scale = rsqrtf(tot / float(a.cols) + a.norm_eps);
            __syncthreads();  // part is reused by the next sequence
        }
        for (int i = threadIdx.x; i < a.cols; i += blockDim.x) {
            const float v = a.x[s * a.cols + i] * scale;
            xs[s * a.cols + i] = a.norm_w ? v * a.norm_w[i] : v;
        }
    }
    __syncthreads();
    const int row = blockIdx.x * k_warps + warp;
    if (row >= a.rows) return;
    const int n_blocks = a.cols / F::block_elems;
    float acc[k_max_seq], acc_up[k_max_seq];
#pragma unroll
    for (int s = 0; s < k_max_seq; ++s) acc[s] = acc_up[s] = 0.f;
    const uint8_t* wr = a.w + row * a.row_bytes;
    const uint8_t* ur = a.w_up ? a.w_up + row * a.row_bytes : nullptr;
    for (int b = lane; b < n_blocks; b += 32) {
        const auto blk = load_block<F>(wr + int64_t(b) * F::block_bytes);
#pragma unroll
        for (int s = 0; s < k_max_seq; ++s)
            if (s < a.n_seq) acc[s] += F::dot_block(blk, xs + s * a.cols + b * F::block_elems);
        if (ur) {
            const auto bu = load_block<F>(ur + int64_t(b) * F::block_bytes);
#pragma unroll
            for (int s = 0; s < k_max_seq; ++s)
                if (s < a.n_seq) acc_up[s] += F::dot_block(bu, xs + s * a.cols + b * F::block_elems);
        }
    }
#pragma unroll
    for (int s = 0; s < k_max_seq; ++s) {
        if (s >= a.n_seq) break;
        const float v = warp_sum(acc[s]);
        const float u = ur ? warp_sum(acc_up[s]) : 0.f;
        if (lane == 0) {
            const int64_t o = int64_t(s) * a.rows + row;
            if (ur) {
                a.y[o] = v / (1.f + __expf(-v)) * u;
            } else {
                a.y[o] = (a.resid ? a.resid[o] : 0.f) + v;
            }
        }
    }
}

template <class F>
__global__ void __launch_bounds__(256) embedding_kernel(const uint8_t* table, int64_t row_bytes, int64_t n_vocab,
                                                        int n_embd, const int32_t* token, float* out) {
    pdl_wait();  // launch.cuh: nothing of the predecessors is touched before this
    pdl_launch_dependents();
    const int s = blockIdx.x;
    const int32_t t = token[s];
    float* o = out + int64_t(s) * n_embd;
    if (t < 0 || t >= n_vocab) {
        for (int i = threadIdx.x; i < n_embd; i += blockDim.x) o[i] = __int_as_float(0x7fc00000);
        return;
    }
    const uint8_t* row = table + t * row_bytes;
    for (int b = threadIdx.x; b < n_embd / F::block_elems; b += blockDim.x) {
        const auto blk = load_block<F>(row + int64_t(b) * F::block_bytes);
        F::dequantize_block(blk, o + b * F::block_elems);
    }
}

}  // namespace gemv_generic_detail

/// The generic GEMV (see the file comment); `dual` selects gate/up. The caller's params
/// follow GemvParams of gemv.cuh, passed field by field so this file stands alone.
template <QuantFormat F>
void launch_gemv_generic(const std::byte* w, const std::byte* w_up, int64_t rows, int64_t cols, const float* x,
                         float* y, const float* resid, const float* norm_w, float norm_eps, int n_seq,
                         cudaStream_t stream) {
    namespace d = gemv_generic_detail;
    const char* what = "launch_gemv_generic";
    GDN_CHECK(w && x && y, what, ": w, x or y is null");
    GDN_CHECK(rows > 0 && rows < (int64_t(1) << 31), what, ": rows = ", rows, " out of range");
    GDN_CHECK(cols > 0 && cols % F::block_elems == 0, what, ": cols = ", cols, " is not a positive multiple of the ",
              dtype_name(F::dtype), " block size ", F::block_elems);
    GDN_CHECK(n_seq >= 1 && n_seq <= d::k_max_seq, what, ": n_seq = ", n_seq, " not in 1..", d::k_max_seq);
    GDN_CHECK(n_seq * cols <= d::k_max_x_floats, what, ": n_seq * cols = ", n_seq * cols,
              " exceeds the ", d::k_max_x_floats, " floats this kernel stages");
    d::Args a{reinterpret_cast<const uint8_t*>(w), reinterpret_cast<const uint8_t*>(w_up),
              dtype_row_bytes(F::dtype, cols), int(rows), int(cols), n_seq, x, y, resid, norm_w, norm_eps};
    const int grid = int((rows + d::k_warps - 1) / d::k_warps);
    const size_t smem = size_t(n_seq) * size_t(cols) * sizeof(float);
    launch_kernel(what, d::gemv_kernel<F>, dim3(grid), dim3(32 * d::k_warps), smem, stream, a);
}

template <QuantFormat F>
void launch_embedding_generic(const std::byte* table, int64_t n_vocab, int64_t n_embd, const int32_t* token,
                              float* out, int n_seq, cudaStream_t stream) {
    GDN_CHECK(table && token && out, "launch_embedding_generic: table, token or out is null");
    GDN_CHECK(n_embd > 0 && n_embd % F::block_elems == 0, "launch_embedding_generic: n_embd = ", n_embd,
              " is not a positive multiple of the ", dtype_name(F::dtype), " block size ", F::block_elems);
    GDN_CHECK(n_seq >= 1 && n_seq <= 65535, "launch_embedding_generic: n_seq = ", n_seq);
    launch_kernel("launch_embedding_generic", gemv_generic_detail::embedding_kernel<F>, dim3(n_seq), dim3(256), 0,
                  stream, reinterpret_cast<const uint8_t*>(table), dtype_row_bytes(F::dtype, n_embd), n_vocab,
                  int(n_embd), token, out);
}

}  // namespace gdn::kernels
